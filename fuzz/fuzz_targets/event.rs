#![no_main]
//! The whole event-to-response path: never panics, and never allows unless the event carries
//! the one known key from inside its range.

use keyfence::authorizer::decision_log::DecisionLog;
use keyfence::authorizer::handler::Authorizer;
use keyfence::clock::ManualClock;
use keyfence::config::Settings;
use keyfence::core::api_key::{ApiKey, KeyHash};
use keyfence::core::key_record::KeyRecord;
use keyfence::store::item::record_from_item;
use keyfence::store::{KeyStore, StoreError};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use std::net::IpAddr;
use std::sync::{Arc, LazyLock};

const KEY: &str = "fuzz-partner-key-000001";

/// One record, held in memory: the fuzzer explores the event, not the store.
struct OneKey {
    hash: KeyHash,
    record: Arc<KeyRecord>,
}

impl KeyStore for OneKey {
    async fn find(&self, hash: &KeyHash) -> Result<Option<Arc<KeyRecord>>, StoreError> {
        Ok((*hash == self.hash).then(|| self.record.clone()))
    }

    fn reads(&self) -> u64 {
        0
    }
}

static AUTHORIZER: LazyLock<Authorizer<OneKey>> = LazyLock::new(|| {
    let item = [
        ("key_id", "fuzz"),
        ("principal", "Fuzz"),
        ("status", "active"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), aws_sdk_dynamodb::types::AttributeValue::S(v.to_owned())))
    .chain([(
        "cidrs".to_owned(),
        aws_sdk_dynamodb::types::AttributeValue::Ss(vec!["203.0.113.0/24".into()]),
    )])
    .collect();
    let store = OneKey {
        hash: ApiKey::parse(KEY).unwrap().hash(),
        record: Arc::new(record_from_item(&item).unwrap()),
    };
    let settings = Settings::from_lookup(|_| None).unwrap();
    Authorizer::new(settings, store, Arc::new(ManualClock::at(1_800_000_000))).with_log(DecisionLog::to(|_| {}))
});

fuzz_target!(|data: &[u8]| {
    let Ok(event) = serde_json::from_slice::<Value>(data) else { return };
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let Ok(answer) = runtime.block_on(AUTHORIZER.handle(&event)) else { return };
    let answer = serde_json::to_value(answer).unwrap();
    let reason = answer["context"]["reason"].as_str().unwrap_or_default().to_owned();
    let grants = answer["policyDocument"]["Statement"]
        .as_array()
        .is_some_and(|s| s.iter().any(|st| st["Effect"] == "Allow"));
    // Only an Allow, or a refused route keeping the key's grants, carries Allow statements.
    assert!(!grants || reason == "allowed" || reason == "route_not_allowed", "{answer}");
    assert_eq!(answer["isAuthorized"] == Value::Bool(true), reason == "allowed" && answer.get("isAuthorized").is_some());
    if grants || reason == "allowed" {
        let text = event.to_string();
        assert!(text.contains(KEY), "granted without the key: {text}");
        let context = &event["requestContext"];
        let inside = [&context["identity"]["sourceIp"], &context["http"]["sourceIp"]]
            .iter()
            .filter_map(|v| v.as_str()?.trim().parse::<IpAddr>().ok())
            .any(|ip| matches!(ip.to_canonical(), IpAddr::V4(v4) if v4.octets()[..3] == [203, 0, 113]));
        assert!(inside, "granted from outside the range: {text}");
    }
});
