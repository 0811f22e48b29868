//! The DynamoDB adapter: one GetItem by key hash for the authorizer, and the few writes the
//! CLI needs. Timeouts and retries come from the settings so a slow table fails fast.

use crate::config::Settings;
use crate::core::api_key::KeyHash;
use crate::core::key_record::KeyRecord;
use crate::store::item::{self, item_from_record, record_from_item};
use crate::store::{KeyStore, StoreError};
use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, Projection, ProjectionType, ScalarAttributeType,
};
use std::time::Duration;

/// Name of the index that finds a key's record by its public id.
pub const KEY_ID_INDEX: &str = "key_id-index";
/// A hash no key can have (it is not hex), read once at start-up to open the connection.
const WARM_UP_HASH: &str = "warm-up";
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

#[derive(Debug, Clone)]
pub struct DynamoDbStore {
    client: Client,
    table: String,
}

impl DynamoDbStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Builds the SDK client from the environment (region, credentials, and
    /// `AWS_ENDPOINT_URL_DYNAMODB` or `endpoint_url` for a local server) with the settings' time budget: each
    /// attempt gets an equal share, so retries never overrun the whole.
    pub async fn from_settings(settings: &Settings, endpoint_url: Option<&str>) -> Self {
        let attempt_timeout = settings.store_timeout / settings.store_max_attempts;
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(CONNECT_TIMEOUT.min(attempt_timeout))
            .operation_attempt_timeout(attempt_timeout)
            .operation_timeout(settings.store_timeout)
            .build();
        let retries = RetryConfig::standard().with_max_attempts(settings.store_max_attempts);
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .timeout_config(timeouts)
            .retry_config(retries);
        if let Some(url) = endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let config = loader.load().await;
        Self::new(Client::new(&config), settings.table_name.clone())
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Opens the connection (TLS handshake included) so the first request does not pay for it.
    /// A failure here is only reported: the request path has its own error handling.
    pub async fn warm_up(&self) -> Result<(), StoreError> {
        self.client
            .get_item()
            .table_name(&self.table)
            .key(item::KEY_HASH, AttributeValue::S(WARM_UP_HASH.into()))
            .send()
            .await
            .map(|_| ())
            .map_err(unavailable)
    }

    /// Stores a new record; refuses to overwrite an existing key.
    pub async fn insert(&self, hash: &KeyHash, record: &KeyRecord) -> Result<(), StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item_from_record(hash, record)))
            .condition_expression("attribute_not_exists(#h)")
            .expression_attribute_names("#h", item::KEY_HASH)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if is_condition_failure(&err) => Err(StoreError::Conflict(format!(
                "a record for key {} (or the same key) already exists",
                record.key_id
            ))),
            Err(err) => Err(unavailable(err)),
        }
    }

    /// Creates the table with the schema the SAM template declares.
    pub async fn create_table(&self) -> Result<(), StoreError> {
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .expect("attribute name and key type are set")
        };
        let attribute = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("attribute name and type are set")
        };
        let index = GlobalSecondaryIndex::builder()
            .index_name(KEY_ID_INDEX)
            .key_schema(key(item::KEY_ID, KeyType::Hash))
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::All)
                    .build(),
            )
            .build()
            .expect("index name, key schema and projection are set");
        self.client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attribute(item::KEY_HASH))
            .attribute_definitions(attribute(item::KEY_ID))
            .key_schema(key(item::KEY_HASH, KeyType::Hash))
            .global_secondary_indexes(index)
            .send()
            .await
            .map(|_| ())
            .map_err(|err| match err.as_service_error().and_then(|e| e.code()) {
                Some("ResourceInUseException") => {
                    StoreError::Conflict(format!("table {} already exists", self.table))
                }
                _ => unavailable(err),
            })
    }
}

impl KeyStore for DynamoDbStore {
    async fn find(&self, hash: &KeyHash) -> Result<Option<KeyRecord>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(item::KEY_HASH, AttributeValue::S(hash.to_hex()))
            .send()
            .await
            .map_err(unavailable)?;
        output.item().map(record_from_item).transpose()
    }
}

fn is_condition_failure<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    err.as_service_error().and_then(|e| e.code()) == Some("ConditionalCheckFailedException")
}

/// Names what went wrong without echoing the request: SDK messages may quote parameters.
fn unavailable<E: ProvideErrorMetadata, R>(err: SdkError<E, R>) -> StoreError {
    let detail = match &err {
        SdkError::TimeoutError(_) => "timeout".to_owned(),
        SdkError::DispatchFailure(failure) if failure.is_timeout() => "timeout".to_owned(),
        SdkError::DispatchFailure(failure) if failure.is_io() => "connection failed".to_owned(),
        SdkError::DispatchFailure(_) => "request could not be sent".to_owned(),
        SdkError::ResponseError(_) => "unreadable response".to_owned(),
        SdkError::ServiceError(service) => {
            format!(
                "service error {}",
                service.err().code().unwrap_or("without a code")
            )
        }
        _ => "request could not be built".to_owned(),
    };
    StoreError::Unavailable { detail }
}
