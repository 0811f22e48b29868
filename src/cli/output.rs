//! How keys are shown: a readable table or block for people, JSON for scripts. A key's
//! secret appears only in the output of `keys create` and `keys rotate`; the usage-plan key's
//! value never appears (only whether one is set).

use crate::cli::keys::CheckOutcome;
use crate::cli::when::format_time;
use crate::core::api_key::ApiKey;
use crate::core::key_record::{KeyStatus, Routes, UnixSeconds};
use crate::store::StoreError;
use crate::store::item::StoredKey;
use serde::Serialize;
use serde_json::{Value, json};

/// One key as shown to operators.
#[derive(Debug, Serialize)]
pub struct KeyView {
    pub key_id: String,
    pub principal: String,
    pub status: &'static str,
    /// `active`, `revoked`, `expired` or `not_yet_valid`, at the time of the command.
    pub state: &'static str,
    pub cidrs: Vec<String>,
    /// `["*"]` when the key may call every route.
    pub routes: Vec<String>,
    pub not_before: Option<String>,
    pub expires_at: Option<String>,
    pub usage_key_set: bool,
    pub context: serde_json::Map<String, Value>,
    pub description: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub replaced_by: Option<String>,
}

impl KeyView {
    pub fn new(stored: &StoredKey, now: UnixSeconds) -> Self {
        let record = &stored.record;
        let state = match record.status {
            KeyStatus::Revoked => "revoked",
            KeyStatus::Active if record.expires_at.is_some_and(|t| now >= t) => "expired",
            KeyStatus::Active if record.not_before.is_some_and(|t| now < t) => "not_yet_valid",
            KeyStatus::Active => "active",
        };
        Self {
            key_id: record.key_id.to_string(),
            principal: record.principal.as_str().to_owned(),
            status: record.status.as_str(),
            state,
            cidrs: record
                .cidrs
                .blocks()
                .iter()
                .map(ToString::to_string)
                .collect(),
            routes: match &record.routes {
                Routes::All => vec!["*".to_owned()],
                Routes::Only(patterns) => patterns.iter().map(ToString::to_string).collect(),
            },
            not_before: record.not_before.map(format_time),
            expires_at: record.expires_at.map(format_time),
            usage_key_set: record.usage_key.is_some(),
            context: record
                .context
                .iter()
                .map(|(name, value)| (name.as_str().to_owned(), json!(value)))
                .collect(),
            description: record.description.clone(),
            created_at: format_time(stored.meta.created_at),
            updated_at: format_time(stored.meta.updated_at),
            replaced_by: stored.meta.replaced_by.as_ref().map(ToString::to_string),
        }
    }

    /// A block of `name: value` lines.
    pub fn render(&self) -> String {
        let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
        let context = if self.context.is_empty() {
            "-".to_owned()
        } else {
            self.context
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let lines = [
            ("key id", self.key_id.clone()),
            ("principal", self.principal.clone()),
            ("state", self.state.to_owned()),
            ("cidrs", self.cidrs.join(", ")),
            ("routes", self.routes.join(", ")),
            ("not before", or_dash(&self.not_before)),
            ("expires", or_dash(&self.expires_at)),
            (
                "usage key",
                if self.usage_key_set { "set" } else { "-" }.to_owned(),
            ),
            ("context", context),
            ("description", or_dash(&self.description)),
            ("created", self.created_at.clone()),
            ("updated", self.updated_at.clone()),
            ("replaced by", or_dash(&self.replaced_by)),
        ];
        lines
            .iter()
            .map(|(name, value)| format!("{name:<12} {value}\n"))
            .collect()
    }
}

/// A table of keys; records that do not parse are listed with the reason.
pub fn render_list(keys: &[Result<StoredKey, StoreError>], now: UnixSeconds) -> String {
    let mut rows =
        vec![["KEY ID", "PRINCIPAL", "STATE", "CIDRS", "ROUTES", "EXPIRES"].map(String::from)];
    for key in keys {
        rows.push(match key {
            Ok(stored) => {
                let view = KeyView::new(stored, now);
                [
                    view.key_id,
                    view.principal,
                    view.state.to_owned(),
                    view.cidrs.join(","),
                    view.routes.join(","),
                    view.expires_at.unwrap_or_else(|| "-".into()),
                ]
            }
            Err(error) => invalid_row(error),
        });
    }
    let widths: Vec<usize> = (0..6)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    rows.iter()
        .map(|row| {
            let cells: Vec<String> = row
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect();
            format!("{}\n", cells.join("  ").trim_end())
        })
        .collect()
}

fn invalid_row(error: &StoreError) -> [String; 6] {
    let key_id = match error {
        StoreError::InvalidRecord { key_id, .. } => key_id.clone(),
        _ => "?".into(),
    };
    [
        key_id,
        "?".into(),
        "invalid".into(),
        error.to_string(),
        String::new(),
        String::new(),
    ]
}

pub fn list_json(keys: &[Result<StoredKey, StoreError>], now: UnixSeconds) -> Value {
    Value::Array(
        keys.iter()
            .map(|key| match key {
                Ok(stored) => json!(KeyView::new(stored, now)),
                Err(error) => json!({"state": "invalid", "error": error.to_string()}),
            })
            .collect(),
    )
}

/// The one place a key is printed: right after it is made.
pub fn new_key(key: &ApiKey, stored: &StoredKey, now: UnixSeconds, json: bool) -> String {
    let view = KeyView::new(stored, now);
    if json {
        let mut value = json!(view);
        value["key"] = json!(key.expose());
        format!("{value:#}\n")
    } else {
        format!(
            "{}\nkey          {}\n\nThis is the only time the key is shown. Hand it to {} over a secure channel.\n",
            view.render(),
            key.expose(),
            view.principal
        )
    }
}

pub fn check(outcome: &CheckOutcome, json: bool) -> String {
    let decision = outcome.reason.outcome().name();
    if json {
        let value = json!({
            "decision": decision,
            "reason": outcome.reason.code(),
            "key_id": outcome.key_id,
            "principal": outcome.principal,
            "detail": outcome.detail,
        });
        return format!("{value:#}\n");
    }
    let mut text = format!(
        "decision     {decision}\nreason       {}\n",
        outcome.reason.code()
    );
    if let Some(key_id) = &outcome.key_id {
        text.push_str(&format!("key id       {key_id}\n"));
    }
    if let Some(principal) = &outcome.principal {
        text.push_str(&format!("principal    {principal}\n"));
    }
    if !outcome.detail.is_empty() {
        text.push_str(&format!("detail       {}\n", outcome.detail));
    }
    text
}
