//! Where key records live. The authorizer needs one question answered, so the trait has one
//! method; the DynamoDB adapter also offers the writes the CLI needs.

pub mod cache;
pub mod dynamodb;
pub mod item;

use crate::core::api_key::KeyHash;
use crate::core::key_record::KeyRecord;
use std::future::Future;
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The store did not answer in time, refused, throttled or failed. `detail` names the
    /// error kind or service code only, never request data.
    #[error("the key store could not be read ({detail})")]
    Unavailable { detail: String },
    /// A record exists but cannot be trusted; it is never used to allow.
    #[error("the record of key {key_id} is invalid: {field}: {reason}")]
    InvalidRecord {
        key_id: String,
        field: &'static str,
        reason: String,
    },
    /// A conditional write found the record in a state it did not expect.
    #[error("the write was refused: {0}")]
    Conflict(String),
}

pub trait KeyStore {
    /// The record stored under `hash`, `None` when there is none.
    fn find(
        &self,
        hash: &KeyHash,
    ) -> impl Future<Output = Result<Option<Arc<KeyRecord>>, StoreError>> + Send;

    /// How many lookups have reached the backing store so far (cache hits do not count).
    fn reads(&self) -> u64;
}
