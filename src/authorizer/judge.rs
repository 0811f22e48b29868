//! From a presented key and a client address to a reason: the part of an authorization that
//! the Lambda handler and `keyfence check` share. It reads the store once (or the cache) and
//! leaves the decision itself to the pure core.

use crate::authorizer::decision_log::Lookup;
use crate::core::api_key::{ApiKey, KeyFormatError};
use crate::core::cidr_set::CidrSet;
use crate::core::decision::{AccessRequest, decide};
use crate::core::key_record::{KeyRecord, UnixSeconds};
use crate::core::reason::Reason;
use crate::core::route::RouteTarget;
use crate::core::source_ip::SourceIpError;
use crate::store::{KeyStore, StoreError};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

/// The key as found in a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PresentedKey {
    Missing,
    Malformed(KeyProblem),
    Present(ApiKey),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyProblem {
    #[error(transparent)]
    Format(#[from] KeyFormatError),
    #[error("the request carries two different keys")]
    Conflicting,
}

impl PresentedKey {
    /// Every value offered as the key (headers, query parameters). Blank values are ignored;
    /// the rest must all be the same key, or the request is refused rather than picked from.
    pub fn from_values<'a>(values: impl IntoIterator<Item = &'a str>) -> Self {
        let mut present = values.into_iter().map(str::trim).filter(|v| !v.is_empty());
        let Some(first) = present.next() else {
            return PresentedKey::Missing;
        };
        if present.any(|other| other != first) {
            return PresentedKey::Malformed(KeyProblem::Conflicting);
        }
        match ApiKey::parse(first) {
            Ok(key) => PresentedKey::Present(key),
            Err(problem) => PresentedKey::Malformed(problem.into()),
        }
    }
}

/// What is asked: who (key), from where (address) and for what (route), at what time.
pub struct Question<'a> {
    pub key: &'a PresentedKey,
    pub client_ip: &'a Result<IpAddr, SourceIpError>,
    pub target: Option<&'a RouteTarget>,
    pub now: UnixSeconds,
}

#[derive(Debug, Clone)]
pub enum Judgement {
    /// The key's record was found and judged: Allow or Deny.
    Decided {
        record: Arc<KeyRecord>,
        reason: Reason,
    },
    /// No record to judge: 401 (missing, malformed, unknown key) or 500 (store failure).
    Refused {
        reason: Reason,
        /// The key id when a record was found but could not be read.
        key_id: Option<String>,
        /// More for the log, never a key or hash.
        detail: String,
    },
}

impl Judgement {
    pub fn reason(&self) -> Reason {
        match self {
            Judgement::Decided { reason, .. } | Judgement::Refused { reason, .. } => *reason,
        }
    }
}

fn refused(reason: Reason, detail: String) -> Judgement {
    Judgement::Refused {
        reason,
        key_id: None,
        detail,
    }
}

/// Judges the question, and says how the key's record was found.
pub async fn judge<S: KeyStore>(
    store: &S,
    deny_list: &CidrSet,
    question: &Question<'_>,
) -> (Judgement, Lookup) {
    let key = match question.key {
        PresentedKey::Present(key) => key,
        PresentedKey::Missing => return (refused(Reason::KeyMissing, String::new()), Lookup::None),
        PresentedKey::Malformed(problem) => {
            return (
                refused(Reason::KeyMalformed, problem.to_string()),
                Lookup::None,
            );
        }
    };
    // One request at a time per Lambda instance, so a read counted meanwhile is this one's.
    let reads_before = store.reads();
    let started = Instant::now();
    let found = store.find(&key.hash()).await;
    let lookup = if store.reads() > reads_before {
        Lookup::StoreRead {
            millis: (started.elapsed().as_secs_f64() * 1_000_000.0).round() / 1000.0,
        }
    } else {
        Lookup::CacheHit
    };
    (decide_found(found, deny_list, question), lookup)
}

fn decide_found(
    found: Result<Option<Arc<KeyRecord>>, StoreError>,
    deny_list: &CidrSet,
    question: &Question<'_>,
) -> Judgement {
    let record = match found {
        Ok(Some(record)) => record,
        Ok(None) => return refused(Reason::KeyUnknown, String::new()),
        Err(error) => {
            let (reason, key_id) = match &error {
                StoreError::InvalidRecord { key_id, .. } => {
                    (Reason::RecordInvalid, Some(key_id.clone()))
                }
                _ => (Reason::StoreUnavailable, None),
            };
            return Judgement::Refused {
                reason,
                key_id,
                detail: error.to_string(),
            };
        }
    };
    let access = AccessRequest {
        client_ip: question.client_ip.clone(),
        target: question.target,
        now: question.now,
    };
    let reason = decide(&record, &access, deny_list);
    Judgement::Decided { record, reason }
}
