//! The DynamoDB item of a key, both ways. Reading parses every attribute into its typed value
//! and names the first bad attribute; nothing from the table reaches the core unparsed.

use crate::core::api_key::KeyHash;
use crate::core::cidr_set::CidrSet;
use crate::core::key_record::{ContextName, ContextValue, KeyId, KeyRecord, Routes, UnixSeconds};
use crate::core::route::RoutePattern;
use crate::store::StoreError;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Display;
use std::str::FromStr;

pub type Item = HashMap<String, AttributeValue>;

pub const KEY_HASH: &str = "key_hash";
pub const KEY_ID: &str = "key_id";
pub const PRINCIPAL: &str = "principal";
pub const STATUS: &str = "status";
pub const CIDRS: &str = "cidrs";
pub const ROUTES: &str = "routes";
pub const NOT_BEFORE: &str = "not_before";
pub const EXPIRES_AT: &str = "expires_at";
pub const USAGE_KEY: &str = "usage_key";
pub const CONTEXT: &str = "context";
pub const DESCRIPTION: &str = "description";
pub const VERSION: &str = "version";
pub const CREATED_AT: &str = "created_at";
pub const UPDATED_AT: &str = "updated_at";
pub const REPLACED_BY: &str = "replaced_by";

/// Bookkeeping the CLI keeps beside a record; the authorizer never reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyMeta {
    /// Bumped by every write; writes are conditional on the version they read.
    pub version: u64,
    pub created_at: UnixSeconds,
    pub updated_at: UnixSeconds,
    /// The key that replaced this one in a rotation.
    pub replaced_by: Option<KeyId>,
}

impl KeyMeta {
    /// The bookkeeping of a key first written at `now`.
    pub fn new(now: UnixSeconds) -> Self {
        Self {
            version: 1,
            created_at: now,
            updated_at: now,
            replaced_by: None,
        }
    }
}

/// A record as the table holds it, for the CLI.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredKey {
    pub hash: KeyHash,
    pub record: KeyRecord,
    pub meta: KeyMeta,
}

/// Parses an item with its bookkeeping. A record written by hand without bookkeeping reads as
/// version 0.
pub fn stored_from_item(item: &Item) -> Result<StoredKey, StoreError> {
    let record = record_from_item(item)?;
    let at = |field: &'static str| {
        let key_id = record.key_id.to_string();
        move |reason: String| StoreError::InvalidRecord {
            key_id,
            field,
            reason,
        }
    };
    let hash = string(item, KEY_HASH)
        .and_then(|hex| {
            KeyHash::from_hex(&hex).ok_or_else(|| "not 64 lower-case hex digits".to_owned())
        })
        .map_err(at(KEY_HASH))?;
    let meta = KeyMeta {
        version: time(item, VERSION)
            .and_then(|v| u64::try_from(v.unwrap_or(0)).map_err(|_| "negative".to_owned()))
            .map_err(at(VERSION))?,
        created_at: time(item, CREATED_AT).map_err(at(CREATED_AT))?.unwrap_or(0),
        updated_at: time(item, UPDATED_AT).map_err(at(UPDATED_AT))?.unwrap_or(0),
        replaced_by: optional(item, REPLACED_BY).map_err(at(REPLACED_BY))?,
    };
    Ok(StoredKey { hash, record, meta })
}

/// The item for a stored key, bookkeeping included.
pub fn item_from_stored(stored: &StoredKey) -> Item {
    let mut item = item_from_record(&stored.hash, &stored.record);
    let meta = &stored.meta;
    item.insert(VERSION.into(), AttributeValue::N(meta.version.to_string()));
    item.insert(
        CREATED_AT.into(),
        AttributeValue::N(meta.created_at.to_string()),
    );
    item.insert(
        UPDATED_AT.into(),
        AttributeValue::N(meta.updated_at.to_string()),
    );
    if let Some(replaced_by) = &meta.replaced_by {
        item.insert(
            REPLACED_BY.into(),
            AttributeValue::S(replaced_by.to_string()),
        );
    }
    item
}

/// Parses an item into a record. The key id is read first so every later error can name it.
pub fn record_from_item(item: &Item) -> Result<KeyRecord, StoreError> {
    let key_id_text = string(item, KEY_ID).unwrap_or_else(|_| "<unknown>".into());
    let key_id_text = &key_id_text;
    let at = |field: &'static str| {
        move |reason: String| StoreError::InvalidRecord {
            key_id: key_id_text.clone(),
            field,
            reason,
        }
    };
    Ok(KeyRecord {
        key_id: required(item, KEY_ID).map_err(at(KEY_ID))?,
        principal: required(item, PRINCIPAL).map_err(at(PRINCIPAL))?,
        status: required(item, STATUS).map_err(at(STATUS))?,
        cidrs: cidrs(item).map_err(at(CIDRS))?,
        routes: routes(item).map_err(at(ROUTES))?,
        not_before: time(item, NOT_BEFORE).map_err(at(NOT_BEFORE))?,
        expires_at: time(item, EXPIRES_AT).map_err(at(EXPIRES_AT))?,
        usage_key: optional(item, USAGE_KEY).map_err(at(USAGE_KEY))?,
        context: context(item).map_err(at(CONTEXT))?,
        description: optional(item, DESCRIPTION).map_err(at(DESCRIPTION))?,
    })
}

fn required<T: FromStr>(item: &Item, field: &str) -> Result<T, String>
where
    T::Err: Display,
{
    string(item, field)?
        .parse()
        .map_err(|e: T::Err| e.to_string())
}

fn optional<T: FromStr>(item: &Item, field: &str) -> Result<Option<T>, String>
where
    T::Err: Display,
{
    match item.get(field) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(_) => required(item, field).map(Some),
    }
}

fn cidrs(item: &Item) -> Result<CidrSet, String> {
    match strings(item, CIDRS)? {
        None => Err("missing".into()),
        Some(values) if values.is_empty() => Err("empty".into()),
        Some(values) => {
            CidrSet::parse_all(values.iter().map(String::as_str)).map_err(|e| e.to_string())
        }
    }
}

fn routes(item: &Item) -> Result<Routes, String> {
    match strings(item, ROUTES)? {
        None => Ok(Routes::All),
        Some(values) if values.is_empty() => {
            Err("empty: leave the attribute out to allow every route".into())
        }
        Some(values) => values
            .iter()
            .map(|v| RoutePattern::from_str(v).map_err(|e| e.to_string()))
            .collect::<Result<_, _>>()
            .map(Routes::only),
    }
}

/// The item for a record, stored under the hash of its key.
pub fn item_from_record(hash: &KeyHash, record: &KeyRecord) -> Item {
    let mut item = Item::new();
    let mut put = |name: &str, value: AttributeValue| {
        item.insert(name.to_owned(), value);
    };
    put(KEY_HASH, AttributeValue::S(hash.to_hex()));
    put(KEY_ID, AttributeValue::S(record.key_id.to_string()));
    put(
        PRINCIPAL,
        AttributeValue::S(record.principal.as_str().to_owned()),
    );
    put(STATUS, AttributeValue::S(record.status.as_str().to_owned()));
    put(
        CIDRS,
        AttributeValue::Ss(
            record
                .cidrs
                .blocks()
                .iter()
                .map(ToString::to_string)
                .collect(),
        ),
    );
    if let Routes::Only(patterns) = &record.routes {
        put(
            ROUTES,
            AttributeValue::Ss(patterns.iter().map(ToString::to_string).collect()),
        );
    }
    for (name, time) in [
        (NOT_BEFORE, record.not_before),
        (EXPIRES_AT, record.expires_at),
    ] {
        if let Some(t) = time {
            put(name, AttributeValue::N(t.to_string()));
        }
    }
    if let Some(usage_key) = &record.usage_key {
        put(USAGE_KEY, AttributeValue::S(usage_key.expose().to_owned()));
    }
    if !record.context.is_empty() {
        let map = record
            .context
            .iter()
            .map(|(name, value)| {
                let value = match value {
                    ContextValue::Text(s) => AttributeValue::S(s.clone()),
                    ContextValue::Number(n) => AttributeValue::N(n.to_string()),
                    ContextValue::Bool(b) => AttributeValue::Bool(*b),
                };
                (name.as_str().to_owned(), value)
            })
            .collect();
        put(CONTEXT, AttributeValue::M(map));
    }
    if let Some(description) = &record.description {
        put(DESCRIPTION, AttributeValue::S(description.clone()));
    }
    item
}

fn type_name(value: &AttributeValue) -> &'static str {
    match value {
        AttributeValue::S(_) => "S",
        AttributeValue::N(_) => "N",
        AttributeValue::B(_) => "B",
        AttributeValue::Bool(_) => "BOOL",
        AttributeValue::Null(_) => "NULL",
        AttributeValue::M(_) => "M",
        AttributeValue::L(_) => "L",
        AttributeValue::Ss(_) => "SS",
        AttributeValue::Ns(_) => "NS",
        AttributeValue::Bs(_) => "BS",
        _ => "an unknown type",
    }
}

fn string(item: &Item, field: &str) -> Result<String, String> {
    match item.get(field) {
        Some(AttributeValue::S(s)) => Ok(s.clone()),
        Some(other) => Err(format!("expected a string (S), found {}", type_name(other))),
        None => Err("missing".into()),
    }
}

/// A string set (SS) or a list (L) of strings; `None` when the attribute is absent.
fn strings(item: &Item, field: &str) -> Result<Option<Vec<String>>, String> {
    match item.get(field) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::Ss(values)) => Ok(Some(values.clone())),
        Some(AttributeValue::L(values)) => values
            .iter()
            .map(|v| match v {
                AttributeValue::S(s) => Ok(s.clone()),
                other => Err(format!(
                    "expected a list of strings, found a {}",
                    type_name(other)
                )),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(other) => Err(format!(
            "expected a string set (SS) or list (L), found {}",
            type_name(other)
        )),
    }
}

fn time(item: &Item, field: &str) -> Result<Option<UnixSeconds>, String> {
    match item.get(field) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::N(n)) => n
            .parse::<UnixSeconds>()
            .map(Some)
            .map_err(|_| format!("{n:?} is not whole seconds since the Unix epoch")),
        Some(other) => Err(format!(
            "expected a number (N) of epoch seconds, found {}",
            type_name(other)
        )),
    }
}

fn context(item: &Item) -> Result<BTreeMap<ContextName, ContextValue>, String> {
    let entries = match item.get(CONTEXT) {
        None | Some(AttributeValue::Null(_)) => return Ok(BTreeMap::new()),
        Some(AttributeValue::M(entries)) => entries,
        Some(other) => return Err(format!("expected a map (M), found {}", type_name(other))),
    };
    entries
        .iter()
        .map(|(name, value)| {
            let name: ContextName = name.parse().map_err(|e| format!("{e}"))?;
            let value = match value {
                AttributeValue::S(s) => ContextValue::Text(s.clone()),
                AttributeValue::Bool(b) => ContextValue::Bool(*b),
                AttributeValue::N(n) => ContextValue::Number(
                    serde_json::Number::from_str(n).map_err(|_| format!("{}: {n:?} is not a number", name.as_str()))?,
                ),
                other => {
                    return Err(format!(
                        "{}: only strings, numbers and booleans may be passed to the backend, found {}",
                        name.as_str(),
                        type_name(other)
                    ));
                }
            };
            Ok((name, value))
        })
        .collect()
}
