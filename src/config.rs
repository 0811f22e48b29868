//! Settings, read from environment variables once at start-up into typed values. A bad value
//! stops the function at init with a message naming the variable.

use crate::core::cidr_set::CidrSet;
use crate::store::cache::CachePolicy;
use std::time::Duration;

pub const TABLE_NAME: &str = "KEYFENCE_TABLE_NAME";
pub const KEY_HEADER: &str = "KEYFENCE_KEY_HEADER";
pub const KEY_QUERY_PARAM: &str = "KEYFENCE_KEY_QUERY_PARAM";
pub const DENY_CIDRS: &str = "KEYFENCE_DENY_CIDRS";
pub const TRUSTED_PROXY_HOPS: &str = "KEYFENCE_TRUSTED_PROXY_HOPS";
pub const HTTP_API_RESPONSE: &str = "KEYFENCE_HTTP_API_RESPONSE";
pub const STORE_TIMEOUT_MS: &str = "KEYFENCE_STORE_TIMEOUT_MS";
pub const STORE_MAX_ATTEMPTS: &str = "KEYFENCE_STORE_MAX_ATTEMPTS";
pub const CACHE_TTL_SECONDS: &str = "KEYFENCE_CACHE_TTL_SECONDS";
pub const CACHE_NEGATIVE_TTL_SECONDS: &str = "KEYFENCE_CACHE_NEGATIVE_TTL_SECONDS";
pub const CACHE_MAX_ENTRIES: &str = "KEYFENCE_CACHE_MAX_ENTRIES";

pub const DEFAULT_TABLE_NAME: &str = "keyfence-keys";
pub const DEFAULT_KEY_HEADER: &str = "x-api-key";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}={value:?}: {reason}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub value: String,
    pub reason: String,
}

/// How an HTTP API (payload 2.0) is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpApiResponse {
    /// `principalId` + `policyDocument`: route grants survive API Gateway's cache.
    Iam,
    /// `isAuthorized` + `context`, for an authorizer with simple responses enabled.
    Simple,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub table_name: String,
    /// Lower case: headers are matched without regard to case.
    pub key_header: String,
    pub key_query_param: Option<String>,
    pub deny_list: CidrSet,
    pub trusted_proxy_hops: u8,
    pub http_api_response: HttpApiResponse,
    pub store_timeout: Duration,
    pub store_max_attempts: u32,
    pub cache: CachePolicy,
}

impl Settings {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(&lookup);
        Ok(Self {
            table_name: env.parse(TABLE_NAME, DEFAULT_TABLE_NAME.into(), table_name)?,
            key_header: env.parse(KEY_HEADER, DEFAULT_KEY_HEADER.into(), header_name)?,
            key_query_param: env.parse(KEY_QUERY_PARAM, None, |v| query_param(v).map(Some))?,
            deny_list: env.parse(DENY_CIDRS, CidrSet::default(), |v| {
                CidrSet::parse_all(v.split([',', ' ', '\n']).filter(|s| !s.is_empty()))
                    .map_err(|e| e.to_string())
            })?,
            trusted_proxy_hops: env
                .parse(TRUSTED_PROXY_HOPS, 0, |v| bounded(v, 0, 5).map(|n| n as u8))?,
            http_api_response: env.parse(HTTP_API_RESPONSE, HttpApiResponse::Iam, |v| match v {
                "iam" => Ok(HttpApiResponse::Iam),
                "simple" => Ok(HttpApiResponse::Simple),
                _ => Err("must be 'iam' or 'simple'".into()),
            })?,
            store_timeout: env.parse(STORE_TIMEOUT_MS, Duration::from_millis(1500), |v| {
                bounded(v, 50, 9000).map(Duration::from_millis)
            })?,
            store_max_attempts: env.parse(STORE_MAX_ATTEMPTS, 2, |v| {
                bounded(v, 1, 5).map(|n| n as u32)
            })?,
            cache: CachePolicy {
                ttl: env.seconds(CACHE_TTL_SECONDS, 60, 3600)?,
                negative_ttl: env.seconds(CACHE_NEGATIVE_TTL_SECONDS, 10, 300)?,
                max_entries: env.parse(CACHE_MAX_ENTRIES, 10_000, |v| {
                    bounded(v, 1, 1_000_000).map(|n| n as usize)
                })?,
            },
        })
    }
}

/// The environment, read one setting at a time; a blank value means the default.
struct Env<'a, F>(&'a F);

impl<F: Fn(&str) -> Option<String>> Env<'_, F> {
    fn parse<T>(
        &self,
        variable: &'static str,
        default: T,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<T, ConfigError> {
        match (self.0)(variable).filter(|v| !v.trim().is_empty()) {
            None => Ok(default),
            Some(value) => parse(value.trim()).map_err(|reason| err(variable, &value, reason)),
        }
    }

    fn seconds(
        &self,
        variable: &'static str,
        default: u64,
        max: u64,
    ) -> Result<Duration, ConfigError> {
        self.parse(variable, Duration::from_secs(default), |v| {
            bounded(v, 0, max).map(Duration::from_secs)
        })
    }
}

fn err(variable: &'static str, value: &str, reason: String) -> ConfigError {
    ConfigError {
        variable,
        value: value.to_owned(),
        reason,
    }
}

fn bounded(value: &str, min: u64, max: u64) -> Result<u64, String> {
    match value.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!("must be a whole number from {min} to {max}")),
    }
}

/// Letters, digits, `_`, `-` and `.`, with a length in `lengths`: the shape of both table names
/// and query-parameter names.
fn name_token(
    value: &str,
    lengths: std::ops::RangeInclusive<usize>,
    expected: &str,
) -> Result<String, String> {
    let ok = lengths.contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if ok {
        Ok(value.to_owned())
    } else {
        Err(format!("must be {expected}"))
    }
}

fn table_name(value: &str) -> Result<String, String> {
    name_token(
        value,
        3..=255,
        "a DynamoDB table name: 3 to 255 of a-z A-Z 0-9 _ - .",
    )
}

/// RFC 9110 token characters; stored lower-cased for case-insensitive matching.
fn header_name(value: &str) -> Result<String, String> {
    let tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if !value.is_empty() && value.len() <= 128 && value.bytes().all(tchar) {
        Ok(value.to_ascii_lowercase())
    } else {
        Err("must be an HTTP header name such as x-api-key".into())
    }
}

fn query_param(value: &str) -> Result<String, String> {
    name_token(
        value,
        1..=128,
        "a query-string parameter name of letters, digits, _ - .",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let env: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|name| env.get(name).cloned())
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.table_name, "keyfence-keys");
        assert_eq!(s.key_header, "x-api-key");
        assert_eq!(s.key_query_param, None);
        assert!(s.deny_list.is_empty());
        assert_eq!(s.trusted_proxy_hops, 0);
        assert_eq!(s.http_api_response, HttpApiResponse::Iam);
        assert_eq!(s.store_timeout, Duration::from_millis(1500));
        assert_eq!(s.store_max_attempts, 2);
        assert_eq!(s.cache.ttl, Duration::from_secs(60));
        assert_eq!(s.cache.negative_ttl, Duration::from_secs(10));
        assert_eq!(s.cache.max_entries, 10_000);
    }

    #[test]
    fn every_setting_is_read() {
        let s = settings(&[
            (TABLE_NAME, "partners"),
            (KEY_HEADER, "X-Partner-Key"),
            (KEY_QUERY_PARAM, "api_key"),
            (DENY_CIDRS, "192.0.2.0/24, 2001:db8:dead::/48"),
            (TRUSTED_PROXY_HOPS, "1"),
            (HTTP_API_RESPONSE, "simple"),
            (STORE_TIMEOUT_MS, "800"),
            (STORE_MAX_ATTEMPTS, "3"),
            (CACHE_TTL_SECONDS, "0"),
            (CACHE_NEGATIVE_TTL_SECONDS, "2"),
            (CACHE_MAX_ENTRIES, "50"),
        ])
        .unwrap();
        assert_eq!(s.table_name, "partners");
        assert_eq!(s.key_header, "x-partner-key");
        assert_eq!(s.key_query_param.as_deref(), Some("api_key"));
        assert_eq!(s.deny_list.blocks().len(), 2);
        assert_eq!(s.trusted_proxy_hops, 1);
        assert_eq!(s.http_api_response, HttpApiResponse::Simple);
        assert_eq!(s.store_timeout, Duration::from_millis(800));
        assert_eq!(s.store_max_attempts, 3);
        assert_eq!(s.cache.ttl, Duration::ZERO);
        assert_eq!(s.cache.negative_ttl, Duration::from_secs(2));
        assert_eq!(s.cache.max_entries, 50);
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (variable, value) in [
            (TABLE_NAME, "a"),
            (KEY_HEADER, "x api key"),
            (KEY_QUERY_PARAM, "a&b"),
            (DENY_CIDRS, "10.0.0.1/8"),
            (TRUSTED_PROXY_HOPS, "-1"),
            (TRUSTED_PROXY_HOPS, "9"),
            (HTTP_API_RESPONSE, "IAM-ish"),
            (STORE_TIMEOUT_MS, "10"),
            (STORE_MAX_ATTEMPTS, "0"),
            (CACHE_TTL_SECONDS, "3601"),
            (CACHE_NEGATIVE_TTL_SECONDS, "1h"),
            (CACHE_MAX_ENTRIES, "0"),
        ] {
            let error = settings(&[(variable, value)]).unwrap_err();
            assert_eq!(error.variable, variable);
            assert!(error.to_string().starts_with(variable), "{error}");
        }
    }

    #[test]
    fn blank_values_mean_default() {
        let s = settings(&[(KEY_HEADER, "  "), (DENY_CIDRS, "")]).unwrap();
        assert_eq!(s.key_header, "x-api-key");
        assert!(s.deny_list.is_empty());
    }
}
