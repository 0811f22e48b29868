//! What the table holds about one key: who it belongs to and what it may do.
//! Built only from parsed parts, so the decision never sees a raw string.

use crate::core::cidr_set::CidrSet;
use crate::core::route::RoutePattern;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// Context names keyfence sets itself; a record may not override them.
pub const RESERVED_CONTEXT_NAMES: [&str; 3] = ["keyId", "principal", "reason"];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordFieldError {
    #[error("key id {0:?} must be 1 to 64 characters of a-z, 0-9, '-' and '_'")]
    KeyId(String),
    #[error("principal must be 1 to 128 printable characters")]
    Principal,
    #[error("status {0:?} must be 'active' or 'revoked'")]
    Status(String),
    #[error(
        "usage key must be 20 to 128 printable characters without spaces (an API Gateway API key value)"
    )]
    UsageKey,
    #[error(
        "context name {0:?} must be 1 to 64 characters of letters, digits and '_', and not one of keyId, principal, reason"
    )]
    ContextName(String),
}

/// The public id of a key: safe to log, print and put in the backend's context.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(String);

impl KeyId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for KeyId {
    type Err = RecordFieldError;
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let ok = (1..=64).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(RecordFieldError::KeyId(raw.to_owned()))
        }
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The partner a key belongs to; the `principalId` API Gateway records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal(String);

impl Principal {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Principal {
    type Err = RecordFieldError;
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let ok = (1..=128).contains(&raw.chars().count()) && !raw.chars().any(char::is_control);
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(RecordFieldError::Principal)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    Active,
    Revoked,
}

impl KeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "active",
            KeyStatus::Revoked => "revoked",
        }
    }
}

impl FromStr for KeyStatus {
    type Err = RecordFieldError;
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        match raw {
            "active" => Ok(KeyStatus::Active),
            "revoked" => Ok(KeyStatus::Revoked),
            other => Err(RecordFieldError::Status(other.to_owned())),
        }
    }
}

/// The API Gateway API key value a usage plan knows, returned as `usageIdentifierKey`.
/// It is a credential of API Gateway's, so `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct UsageKey(String);

impl UsageKey {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl FromStr for UsageKey {
    type Err = RecordFieldError;
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let ok = (20..=128).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_graphic());
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(RecordFieldError::UsageKey)
        }
    }
}

impl fmt::Debug for UsageKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UsageKey(<redacted>)")
    }
}

/// A value passed to the backend in the authorizer context: API Gateway accepts only
/// strings, numbers and booleans there. Serializes as the bare JSON value.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum ContextValue {
    Text(String),
    Number(serde_json::Number),
    Bool(bool),
}

/// A context entry's name, checked so it cannot shadow keyfence's own entries.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ContextName(String);

impl ContextName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for ContextName {
    type Err = RecordFieldError;
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let ok = (1..=64).contains(&raw.len())
            && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !RESERVED_CONTEXT_NAMES.contains(&raw);
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(RecordFieldError::ContextName(raw.to_owned()))
        }
    }
}

/// Which routes a key may call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Routes {
    /// No `routes` attribute: every route of the API.
    All,
    /// Only these (never empty: an empty list is refused when the record is read).
    Only(Vec<RoutePattern>),
}

impl Routes {
    /// A route list in canonical order, without repeats: the set a record means.
    pub fn only(mut patterns: Vec<RoutePattern>) -> Self {
        patterns.sort();
        patterns.dedup();
        Routes::Only(patterns)
    }
}

/// Seconds since the Unix epoch.
pub type UnixSeconds = i64;

#[derive(Debug, Clone, PartialEq)]
pub struct KeyRecord {
    pub key_id: KeyId,
    pub principal: Principal,
    pub status: KeyStatus,
    pub cidrs: CidrSet,
    pub routes: Routes,
    pub not_before: Option<UnixSeconds>,
    pub expires_at: Option<UnixSeconds>,
    pub usage_key: Option<UsageKey>,
    pub context: BTreeMap<ContextName, ContextValue>,
    pub description: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_ids_are_lower_case_tokens() {
        assert!("acme-prod_01".parse::<KeyId>().is_ok());
        for bad in ["", "ACME", "a b", "a/b", &"a".repeat(65)] {
            assert!(bad.parse::<KeyId>().is_err(), "{bad}");
        }
    }

    #[test]
    fn principal_refuses_empty_and_control_characters() {
        assert!("Acme Corp".parse::<Principal>().is_ok());
        assert!("".parse::<Principal>().is_err());
        assert!("Acme\nCorp".parse::<Principal>().is_err());
    }

    #[test]
    fn status_is_active_or_revoked_only() {
        assert_eq!("active".parse(), Ok(KeyStatus::Active));
        assert_eq!("revoked".parse(), Ok(KeyStatus::Revoked));
        assert!("Active".parse::<KeyStatus>().is_err());
    }

    #[test]
    fn usage_key_follows_api_gateway_rules_and_hides_itself() {
        let key: UsageKey = "usage-plan-key-0123456789".parse().unwrap();
        assert!(!format!("{key:?}").contains("0123456789"));
        assert!("short".parse::<UsageKey>().is_err());
        assert!("has a space in it 0123456789".parse::<UsageKey>().is_err());
    }

    #[test]
    fn context_names_cannot_shadow_keyfence_entries() {
        assert!("tenant".parse::<ContextName>().is_ok());
        for reserved in RESERVED_CONTEXT_NAMES {
            assert!(reserved.parse::<ContextName>().is_err());
        }
        assert!("a-b".parse::<ContextName>().is_err());
    }
}
