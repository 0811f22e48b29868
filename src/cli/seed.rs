//! Fixture files for `keyfence table seed`: a JSON array of objects, each with the plain
//! `key` and the item's other attributes in plain JSON (strings, numbers, booleans, lists of
//! strings, and a `context` object). Each entry goes through the same item parser the
//! authorizer uses, so a fixture can never hold a record the authorizer would reject.

use crate::cli::CliError;
use crate::core::api_key::ApiKey;
use crate::core::key_record::UnixSeconds;
use crate::store::item::{Item, KeyMeta, StoredKey, record_from_item};
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;

/// Parses the file; entries are stamped as created `now`.
pub fn parse(text: &str, now: UnixSeconds) -> Result<Vec<StoredKey>, CliError> {
    let bad = |message: String| CliError::BadInput(message);
    let entries: Vec<serde_json::Map<String, Value>> = serde_json::from_str(text)
        .map_err(|e| bad(format!("the seed file is not a JSON array of objects: {e}")))?;
    entries
        .into_iter()
        .enumerate()
        .map(|(index, mut entry)| {
            let key = entry
                .remove("key")
                .and_then(|v| v.as_str().map(ApiKey::parse))
                .ok_or_else(|| bad(format!("entry {index}: no \"key\" string")))?
                .map_err(|e| bad(format!("entry {index}: key: {e}")))?;
            let item: Item = entry
                .into_iter()
                .map(|(name, value)| {
                    attribute(&value).map(|a| (name.clone(), a)).ok_or_else(|| {
                        bad(format!("entry {index}: {name}: unsupported JSON value"))
                    })
                })
                .collect::<Result<_, _>>()?;
            Ok(StoredKey {
                hash: key.hash(),
                record: record_from_item(&item)?,
                meta: KeyMeta::new(now),
            })
        })
        .collect()
}

/// Plain JSON to a DynamoDB attribute: a list of strings becomes a string set.
fn attribute(value: &Value) -> Option<AttributeValue> {
    Some(match value {
        Value::String(s) => AttributeValue::S(s.clone()),
        Value::Number(n) => AttributeValue::N(n.to_string()),
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::Array(values) => AttributeValue::Ss(
            values
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<_>>()?,
        ),
        Value::Object(map) => AttributeValue::M(
            map.iter()
                .map(|(k, v)| attribute(v).map(|a| (k.clone(), a)))
                .collect::<Option<_>>()?,
        ),
        Value::Null => return None,
    })
}
