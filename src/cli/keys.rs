//! The key operations behind `keyfence keys ...` and `keyfence check`. They take the time as
//! an argument and print nothing, so tests drive them directly against a local table.

use crate::authorizer::judge::{Judgement, PresentedKey, Question, judge};
use crate::cli::CliError;
use crate::cli::when::parse_when;
use crate::core::api_key::ApiKey;
use crate::core::cidr_set::{Cidr, CidrSet};
use crate::core::key_record::{ContextValue, KeyId, KeyRecord, KeyStatus, Routes, UnixSeconds};
use crate::core::reason::Reason;
use crate::core::route::{RoutePattern, RouteTarget};
use crate::core::source_ip;
use crate::store::dynamodb::DynamoDbStore;
use crate::store::item::{KeyMeta, StoredKey};
use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

fn bad(message: impl Into<String>) -> CliError {
    CliError::BadInput(message.into())
}

/// What a new key may do, as given on the command line.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct GrantArgs {
    /// The partner the key belongs to.
    #[arg(long)]
    pub principal: String,
    /// A source range the partner calls from (IPv4 or IPv6 CIDR); repeat for more.
    #[arg(long = "cidr", required = true)]
    pub cidrs: Vec<String>,
    /// A route the key may call, such as 'GET /pets/*'; repeat for more. None: every route.
    #[arg(long = "route")]
    pub routes: Vec<String>,
    /// When the key stops working: 2027-01-31, 2027-01-31T12:00:00Z, +90days, Unix seconds.
    #[arg(long)]
    pub expires: Option<String>,
    /// When the key starts working (same forms as --expires).
    #[arg(long)]
    pub not_before: Option<String>,
    /// The API Gateway API key value of the partner's usage plan.
    #[arg(long)]
    pub usage_key: Option<String>,
    /// A name=value handed to the backend in the authorizer context; repeat for more.
    #[arg(long = "context")]
    pub context: Vec<String>,
    /// Free text for operators.
    #[arg(long)]
    pub description: Option<String>,
}

/// Parses every grant, naming the first bad one; nothing is written when any is bad.
fn record_from_grants(
    key_id: KeyId,
    grants: &GrantArgs,
    now: UnixSeconds,
) -> Result<KeyRecord, CliError> {
    let principal = grants
        .principal
        .parse()
        .map_err(|e| bad(format!("--principal: {e}")))?;
    if grants.cidrs.is_empty() {
        return Err(bad(
            "--cidr: give at least one range the partner calls from",
        ));
    }
    let cidrs = unique::<Cidr>("--cidr", &grants.cidrs)?;
    let routes = if grants.routes.is_empty() {
        Routes::All
    } else {
        Routes::only(unique::<RoutePattern>("--route", &grants.routes)?)
    };
    let not_before = grants
        .not_before
        .as_deref()
        .map(|w| parse_when(w, now).map_err(|e| bad(format!("--not-before: {e}"))))
        .transpose()?;
    let expires_at = grants
        .expires
        .as_deref()
        .map(|w| future_expiry(w, now))
        .transpose()?;
    check_window(not_before, expires_at)?;
    let usage_key = grants
        .usage_key
        .as_deref()
        .map(|v| v.parse().map_err(|e| bad(format!("--usage-key: {e}"))))
        .transpose()?;
    let mut context = BTreeMap::new();
    for entry in &grants.context {
        let (name, value) = entry
            .split_once('=')
            .ok_or_else(|| bad(format!("--context {entry:?}: write it as name=value")))?;
        let name = name.parse().map_err(|e| bad(format!("--context: {e}")))?;
        if context
            .insert(name, ContextValue::Text(value.to_owned()))
            .is_some()
        {
            return Err(bad(format!(
                "--context {entry:?}: that name is given twice"
            )));
        }
    }
    Ok(KeyRecord {
        key_id,
        principal,
        status: KeyStatus::Active,
        cidrs: CidrSet::new(cidrs),
        routes,
        not_before,
        expires_at,
        usage_key,
        context,
        description: grants.description.clone(),
    })
}

/// Parses each value; a value given twice (after normalising) is an error, not a silent merge.
fn unique<T: FromStr + Ord + Clone + std::fmt::Display>(
    flag: &str,
    values: &[String],
) -> Result<Vec<T>, CliError>
where
    T::Err: std::fmt::Display,
{
    let mut parsed: Vec<T> = Vec::with_capacity(values.len());
    for value in values {
        let item: T = value.parse().map_err(|e| bad(format!("{flag}: {e}")))?;
        if parsed.contains(&item) {
            return Err(bad(format!("{flag} {item} is given twice")));
        }
        parsed.push(item);
    }
    Ok(parsed)
}

fn future_expiry(raw: &str, now: UnixSeconds) -> Result<UnixSeconds, CliError> {
    let expires = parse_when(raw, now).map_err(|e| bad(format!("--expires: {e}")))?;
    if expires <= now {
        return Err(bad(format!("--expires {raw:?} is in the past")));
    }
    Ok(expires)
}

fn check_window(
    not_before: Option<UnixSeconds>,
    expires_at: Option<UnixSeconds>,
) -> Result<(), CliError> {
    match (not_before, expires_at) {
        (Some(start), Some(end)) if start >= end => {
            Err(bad("--not-before must come before --expires"))
        }
        _ => Ok(()),
    }
}

fn generated_key() -> Result<ApiKey, CliError> {
    ApiKey::generate().map_err(|e| bad(format!("the operating system's random source failed: {e}")))
}

fn embedded_key_id(key: &ApiKey) -> Result<KeyId, CliError> {
    let id = key
        .embedded_key_id()
        .ok_or_else(|| bad("an issued key has a key id"))?;
    id.parse().map_err(|e| bad(format!("{e}")))
}

/// A new key; the caller shows it once. Only its hash is stored.
pub async fn create(
    store: &DynamoDbStore,
    grants: &GrantArgs,
    now: UnixSeconds,
) -> Result<(ApiKey, StoredKey), CliError> {
    let key = generated_key()?;
    let record = record_from_grants(embedded_key_id(&key)?, grants, now)?;
    let stored = StoredKey {
        hash: key.hash(),
        record,
        meta: KeyMeta::new(now),
    };
    store.insert(&stored).await?;
    Ok((key, stored))
}

/// Stores a key that a partner already holds. An issued key keeps its embedded id; any other
/// key gets `key_id`, or a fresh random id.
pub async fn import(
    store: &DynamoDbStore,
    key_text: &str,
    key_id: Option<&str>,
    grants: &GrantArgs,
    now: UnixSeconds,
) -> Result<StoredKey, CliError> {
    let key = ApiKey::parse(key_text.trim())
        .map_err(|e| bad(format!("the key on standard input: {e}")))?;
    let key_id = match (key.embedded_key_id(), key_id) {
        (Some(embedded), Some(given)) if embedded != given => {
            return Err(bad(format!(
                "--key-id {given:?}: this keyfence key carries the id {embedded:?}"
            )));
        }
        (Some(embedded), _) => embedded.parse().map_err(|e| bad(format!("{e}")))?,
        (None, Some(given)) => given.parse().map_err(|e| bad(format!("--key-id: {e}")))?,
        (None, None) => embedded_key_id(&generated_key()?)?,
    };
    if store.find_by_key_id(&key_id).await?.is_some() {
        return Err(CliError::Store(crate::store::StoreError::Conflict(
            format!("key id {key_id} is already used"),
        )));
    }
    let record = record_from_grants(key_id, grants, now)?;
    let stored = StoredKey {
        hash: key.hash(),
        record,
        meta: KeyMeta::new(now),
    };
    store.insert(&stored).await?;
    Ok(stored)
}

pub async fn show(store: &DynamoDbStore, key_id: &str) -> Result<StoredKey, CliError> {
    let key_id: KeyId = key_id.parse().map_err(|e| bad(format!("KEY_ID: {e}")))?;
    store
        .find_by_key_id(&key_id)
        .await?
        .ok_or_else(|| CliError::NotFound(format!("no key has the id {key_id}")))
}

pub async fn list(
    store: &DynamoDbStore,
    principal: Option<&str>,
) -> Result<Vec<Result<StoredKey, crate::store::StoreError>>, CliError> {
    let mut keys = store.list().await?;
    if let Some(principal) = principal {
        keys.retain(|k| matches!(k, Ok(stored) if stored.record.principal.as_str() == principal));
    }
    keys.sort_by(|a, b| match (a, b) {
        (Ok(a), Ok(b)) => (a.record.principal.as_str(), &a.record.key_id)
            .cmp(&(b.record.principal.as_str(), &b.record.key_id)),
        (Ok(_), Err(_)) => std::cmp::Ordering::Less,
        (Err(_), Ok(_)) => std::cmp::Ordering::Greater,
        (Err(_), Err(_)) => std::cmp::Ordering::Equal,
    });
    Ok(keys)
}

/// Writes `change` over the key as read, as one conditional write.
async fn change(
    store: &DynamoDbStore,
    key_id: &str,
    now: UnixSeconds,
    edit: impl FnOnce(&mut KeyRecord, &mut KeyMeta) -> Result<(), CliError>,
) -> Result<StoredKey, CliError> {
    let read = show(store, key_id).await?;
    let mut stored = read.clone();
    edit(&mut stored.record, &mut stored.meta)?;
    stored.meta.version = read.meta.version + 1;
    stored.meta.updated_at = now;
    store.replace(&stored, read.meta.version).await?;
    Ok(stored)
}

pub async fn revoke(
    store: &DynamoDbStore,
    key_id: &str,
    now: UnixSeconds,
) -> Result<StoredKey, CliError> {
    change(store, key_id, now, |record, _| {
        record.status = KeyStatus::Revoked;
        Ok(())
    })
    .await
}

/// Changes to a key, as given on the command line.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct UpdateArgs {
    #[arg(long = "add-cidr")]
    pub add_cidrs: Vec<String>,
    #[arg(long = "remove-cidr")]
    pub remove_cidrs: Vec<String>,
    #[arg(long = "add-route")]
    pub add_routes: Vec<String>,
    #[arg(long = "remove-route")]
    pub remove_routes: Vec<String>,
    /// Let the key call every route.
    #[arg(long)]
    pub all_routes: bool,
    #[arg(long, conflicts_with = "no_expiry")]
    pub expires: Option<String>,
    /// Remove the expiry.
    #[arg(long)]
    pub no_expiry: bool,
    #[arg(long)]
    pub description: Option<String>,
}

impl UpdateArgs {
    fn is_empty(&self) -> bool {
        self.add_cidrs.is_empty()
            && self.remove_cidrs.is_empty()
            && self.add_routes.is_empty()
            && self.remove_routes.is_empty()
            && !self.all_routes
            && self.expires.is_none()
            && !self.no_expiry
            && self.description.is_none()
    }
}

pub async fn update(
    store: &DynamoDbStore,
    key_id: &str,
    args: &UpdateArgs,
    now: UnixSeconds,
) -> Result<StoredKey, CliError> {
    if args.is_empty() {
        return Err(bad(
            "nothing to change: give --add-cidr, --remove-cidr, --add-route, --remove-route, --all-routes, --expires, --no-expiry or --description",
        ));
    }
    let add_cidrs = unique::<Cidr>("--add-cidr", &args.add_cidrs)?;
    let remove_cidrs = unique::<Cidr>("--remove-cidr", &args.remove_cidrs)?;
    let add_routes = unique::<RoutePattern>("--add-route", &args.add_routes)?;
    let remove_routes = unique::<RoutePattern>("--remove-route", &args.remove_routes)?;
    let expires = args
        .expires
        .as_deref()
        .map(|w| future_expiry(w, now))
        .transpose()?;
    change(store, key_id, now, |record, _| {
        let mut cidrs = record.cidrs.blocks().to_vec();
        edit_set("--add-cidr", "--remove-cidr", &mut cidrs, add_cidrs, remove_cidrs)?;
        if cidrs.is_empty() {
            return Err(bad("--remove-cidr would leave the key with no range to call from; revoke it instead"));
        }
        record.cidrs = CidrSet::new(cidrs);
        if args.all_routes {
            if !add_routes.is_empty() || !remove_routes.is_empty() {
                return Err(bad("--all-routes cannot be combined with --add-route or --remove-route"));
            }
            record.routes = Routes::All;
        } else if !add_routes.is_empty() || !remove_routes.is_empty() {
            let mut routes = match &record.routes {
                Routes::All if !remove_routes.is_empty() => {
                    return Err(bad("--remove-route: the key may call every route; give the routes it may call with --add-route"));
                }
                Routes::All => Vec::new(),
                Routes::Only(patterns) => patterns.clone(),
            };
            edit_set("--add-route", "--remove-route", &mut routes, add_routes, remove_routes)?;
            if routes.is_empty() {
                return Err(bad("--remove-route would leave the key with no route; use --all-routes or revoke it"));
            }
            record.routes = Routes::only(routes);
        }
        if args.no_expiry {
            record.expires_at = None;
        }
        if expires.is_some() {
            record.expires_at = expires;
        }
        check_window(record.not_before, record.expires_at)?;
        if let Some(description) = &args.description {
            record.description = Some(description.clone());
        }
        Ok(())
    })
    .await
}

fn edit_set<T: PartialEq + std::fmt::Display>(
    add_flag: &str,
    remove_flag: &str,
    set: &mut Vec<T>,
    add: Vec<T>,
    remove: Vec<T>,
) -> Result<(), CliError> {
    for item in remove {
        let before = set.len();
        set.retain(|present| *present != item);
        if set.len() == before {
            return Err(bad(format!(
                "{remove_flag} {item}: the key does not have it"
            )));
        }
    }
    for item in add {
        if set.contains(&item) {
            return Err(bad(format!("{add_flag} {item}: the key already has it")));
        }
        set.push(item);
    }
    Ok(())
}

/// A new key with the same grants; the old one stays valid for `overlap`, then expires.
///
/// Two conditional writes: the new key is inserted, then the old one is shortened. If the
/// second finds the old key changed, the new key is deleted again and nothing is left behind.
pub async fn rotate(
    store: &DynamoDbStore,
    key_id: &str,
    overlap: Duration,
    now: UnixSeconds,
) -> Result<(ApiKey, StoredKey, StoredKey), CliError> {
    let old = show(store, key_id).await?;
    if old.record.status == KeyStatus::Revoked {
        return Err(bad(format!(
            "key {key_id} is revoked; create a new key instead"
        )));
    }
    if let Some(successor) = &old.meta.replaced_by {
        return Err(bad(format!(
            "key {key_id} was already rotated to {successor}"
        )));
    }
    let key = generated_key()?;
    let mut record = old.record.clone();
    record.key_id = embedded_key_id(&key)?;
    record.not_before = None;
    let new = StoredKey {
        hash: key.hash(),
        record,
        meta: KeyMeta::new(now),
    };
    store.insert(&new).await?;

    let mut shortened = old.clone();
    let overlap_end = now.saturating_add(overlap.as_secs() as UnixSeconds);
    shortened.record.expires_at = Some(
        old.record
            .expires_at
            .map_or(overlap_end, |t| t.min(overlap_end)),
    );
    shortened.meta.replaced_by = Some(new.record.key_id.clone());
    shortened.meta.version = old.meta.version + 1;
    shortened.meta.updated_at = now;
    if let Err(error) = store.replace(&shortened, old.meta.version).await {
        // Best effort: the new key was never shown to anyone.
        let _ = store.delete(&new).await;
        return Err(error.into());
    }
    Ok((key, new, shortened))
}

/// The authorizer's own answer for a key, an address and optionally a route.
pub struct CheckOutcome {
    pub reason: Reason,
    pub key_id: Option<String>,
    pub principal: Option<String>,
    pub detail: String,
}

pub async fn check(
    store: &DynamoDbStore,
    deny_list: &CidrSet,
    key_text: &str,
    ip: &str,
    route: Option<&str>,
    now: UnixSeconds,
) -> Result<CheckOutcome, CliError> {
    let target = route
        .map(|r| RouteTarget::parse_request(r).map_err(|e| bad(format!("--route: {e}"))))
        .transpose()?;
    let key = PresentedKey::from_values([key_text]);
    let client_ip = source_ip::parse_address(ip);
    let question = Question {
        key: &key,
        client_ip: &client_ip,
        target: target.as_ref(),
        now,
    };
    Ok(match judge(store, deny_list, &question).await.0 {
        Judgement::Decided { record, reason } => CheckOutcome {
            reason,
            key_id: Some(record.key_id.to_string()),
            principal: Some(record.principal.as_str().to_owned()),
            detail: client_ip.err().map(|e| e.to_string()).unwrap_or_default(),
        },
        Judgement::Refused {
            reason,
            key_id,
            detail,
        } => CheckOutcome {
            reason,
            key_id,
            principal: None,
            detail,
        },
    })
}
