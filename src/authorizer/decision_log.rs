//! The one line each invocation writes: a JSON log line that is also a CloudWatch Embedded
//! Metric Format record, so CloudWatch turns it into metrics with no agent and no API call.
//!
//! Written directly rather than through `tracing`'s formatter: it is on every request's path,
//! its fields are fixed, and it must never hold a key or hash, which a fixed struct makes plain.

use crate::core::reason::{Outcome, Reason};
use serde::Serialize;
use serde_json::value::RawValue;
use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

/// The metrics CloudWatch extracts from each line: counts and timings by decision and by
/// reason. Names refer to fields of the line itself.
const METRICS: &str = r#"[{"Namespace":"keyfence","Dimensions":[["decision"],["reason"]],"Metrics":[{"Name":"decisions","Unit":"Count"},{"Name":"duration_us","Unit":"Microseconds"},{"Name":"cache_hits","Unit":"Count"},{"Name":"cache_misses","Unit":"Count"},{"Name":"store_ms","Unit":"Milliseconds"}]}]"#;

/// How the key's record was found.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Lookup {
    /// No lookup: the key was missing or malformed, or the event unusable.
    #[default]
    None,
    /// Served from the function's key cache.
    CacheHit,
    /// Read from DynamoDB, taking this long.
    StoreRead { millis: f64 },
}

/// What is known of one invocation when it ends.
#[derive(Debug, Default)]
pub struct DecisionEntry {
    pub reason: Option<Reason>,
    pub shape: &'static str,
    pub key_id: String,
    pub principal: String,
    pub source_ip: String,
    pub client_ip: String,
    pub route: String,
    pub detail: String,
    pub lookup: Lookup,
}

#[derive(Serialize)]
struct Line<'a> {
    level: &'static str,
    message: &'static str,
    decision: &'static str,
    reason: &'static str,
    key_id: &'a str,
    principal: &'a str,
    shape: &'a str,
    source_ip: &'a str,
    client_ip: &'a str,
    route: &'a str,
    detail: &'a str,
    duration_us: u64,
    decisions: u8,
    cache_hits: u8,
    cache_misses: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    store_ms: Option<f64>,
    #[serde(rename = "_aws")]
    aws: Emf<'a>,
}

#[derive(Serialize)]
struct Emf<'a> {
    #[serde(rename = "Timestamp")]
    timestamp: u64,
    #[serde(rename = "CloudWatchMetrics")]
    metrics: &'a RawValue,
}

type Sink = Box<dyn Fn(&[u8]) + Send + Sync>;

/// Where decision lines go: stdout in Lambda, anywhere in tests and benchmarks.
pub struct DecisionLog {
    sink: Sink,
    metrics: Box<RawValue>,
}

impl DecisionLog {
    pub fn stdout() -> Self {
        Self::to(|line| {
            // A lost log line must not fail the request; there is nowhere to report it.
            let _ = std::io::stdout().lock().write_all(line);
        })
    }

    pub fn to(sink: impl Fn(&[u8]) + Send + Sync + 'static) -> Self {
        Self {
            sink: Box::new(sink),
            metrics: RawValue::from_string(METRICS.to_owned())
                .expect("the metric definition is valid JSON"),
        }
    }

    pub fn write(&self, entry: &DecisionEntry, duration_us: u64) {
        let reason = entry.reason.unwrap_or(Reason::EventInvalid);
        let outcome = reason.outcome();
        let (cache_hits, cache_misses, store_ms) = match entry.lookup {
            Lookup::None => (0, 0, None),
            Lookup::CacheHit => (1, 0, None),
            Lookup::StoreRead { millis } => (0, 1, Some(millis)),
        };
        let line = Line {
            level: if outcome == Outcome::Error {
                "ERROR"
            } else {
                "INFO"
            },
            message: "decision",
            decision: outcome.name(),
            reason: reason.code(),
            key_id: &entry.key_id,
            principal: &entry.principal,
            shape: entry.shape,
            source_ip: &entry.source_ip,
            client_ip: &entry.client_ip,
            route: &entry.route,
            detail: &entry.detail,
            duration_us,
            decisions: 1,
            cache_hits,
            cache_misses,
            store_ms,
            aws: Emf {
                timestamp: SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as u64),
                metrics: &self.metrics,
            },
        };
        let mut buffer = Vec::with_capacity(768);
        if serde_json::to_writer(&mut buffer, &line).is_ok() {
            buffer.push(b'\n');
            (self.sink)(&buffer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use std::sync::{Arc, Mutex};

    fn written(entry: &DecisionEntry) -> Value {
        let captured = Arc::new(Mutex::new(Vec::new()));
        let sink = captured.clone();
        DecisionLog::to(move |line| sink.lock().unwrap().extend_from_slice(line)).write(entry, 42);
        let bytes = captured.lock().unwrap().clone();
        assert_eq!(
            bytes.iter().filter(|&&b| b == b'\n').count(),
            1,
            "exactly one line"
        );
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn a_line_is_a_valid_emf_record_whose_metrics_name_its_own_fields() {
        let entry = DecisionEntry {
            reason: Some(Reason::Allowed),
            key_id: "acme".into(),
            lookup: Lookup::StoreRead { millis: 3.5 },
            ..DecisionEntry::default()
        };
        let line = written(&entry);
        assert_eq!(line["decision"], "allow");
        assert_eq!(line["reason"], "allowed");
        assert_eq!(line["level"], "INFO");
        let emf = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(emf["Namespace"], "keyfence");
        for dimension in emf["Dimensions"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|d| d.as_array().unwrap())
        {
            assert!(line[dimension.as_str().unwrap()].is_string(), "{dimension}");
        }
        for metric in emf["Metrics"].as_array().unwrap() {
            assert!(
                line[metric["Name"].as_str().unwrap()].is_number(),
                "{metric}"
            );
        }
        assert!(line["_aws"]["Timestamp"].as_u64().unwrap() > 1_700_000_000_000);
    }

    #[test]
    fn cache_hits_and_misses_are_counted_and_errors_logged_as_errors() {
        let hit = written(&DecisionEntry {
            reason: Some(Reason::Allowed),
            lookup: Lookup::CacheHit,
            ..DecisionEntry::default()
        });
        assert_eq!(
            (hit["cache_hits"].as_u64(), hit["cache_misses"].as_u64()),
            (Some(1), Some(0))
        );
        assert!(hit.get("store_ms").is_none());
        let error = written(&DecisionEntry {
            reason: Some(Reason::StoreUnavailable),
            ..DecisionEntry::default()
        });
        assert_eq!(error["level"], "ERROR");
        assert_eq!(error["decision"], "error");
        assert_eq!(error["cache_misses"], 0);
    }

    #[test]
    fn an_entry_never_filled_in_reads_as_an_unusable_event() {
        assert_eq!(
            written(&DecisionEntry::default())["reason"],
            "event_invalid"
        );
    }
}
