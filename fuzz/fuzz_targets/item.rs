#![no_main]
//! DynamoDB item to record: never panics, and whatever parses survives a round trip.
//! The input is JSON; each value becomes the DynamoDB attribute of its shape, so the fuzzer
//! reaches every attribute type and every field.

use aws_sdk_dynamodb::types::AttributeValue;
use keyfence::core::api_key::ApiKey;
use keyfence::store::item::{Item, item_from_record, record_from_item};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fn attribute(value: &Value) -> AttributeValue {
    match value {
        Value::Null => AttributeValue::Null(true),
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::Number(n) => AttributeValue::N(n.to_string()),
        Value::String(s) => AttributeValue::S(s.clone()),
        Value::Array(items) if items.iter().all(Value::is_string) && !items.is_empty() => {
            AttributeValue::Ss(items.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
        }
        Value::Array(items) => AttributeValue::L(items.iter().map(attribute).collect()),
        Value::Object(map) => AttributeValue::M(map.iter().map(|(k, v)| (k.clone(), attribute(v))).collect()),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(data) else { return };
    let item: Item = fields.iter().map(|(k, v)| (k.clone(), attribute(v))).collect();
    if let Ok(record) = record_from_item(&item) {
        let hash = ApiKey::parse("fuzz-partner-key-000001").unwrap().hash();
        let again = record_from_item(&item_from_record(&hash, &record)).expect("a stored record reads back");
        assert_eq!(again, record);
    }
});
