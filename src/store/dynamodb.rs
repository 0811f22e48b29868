//! The DynamoDB adapter: one GetItem by key hash for the authorizer, and the few writes the
//! CLI needs. Timeouts and retries come from the settings so a slow table fails fast.

use crate::config::{ConfigError, Settings};
use crate::core::api_key::KeyHash;
use crate::core::key_record::{KeyId, KeyRecord};
use crate::store::item::{self, StoredKey, item_from_stored, record_from_item, stored_from_item};
use crate::store::{KeyStore, StoreError};
use aws_config::BehaviorVersion;
use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::Region;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, Projection, ProjectionType, ScalarAttributeType, TableStatus,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Name of the index that finds a key's record by its public id.
pub const KEY_ID_INDEX: &str = "key_id-index";
/// A hash no key can have (it is not hex), read once at start-up to open the connection.
const WARM_UP_HASH: &str = "warm-up";
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
/// The SDK's own variable for a DynamoDB endpoint other than AWS's (local runs).
const ENDPOINT_URL: &str = "AWS_ENDPOINT_URL_DYNAMODB";
const TABLE_READY_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Debug, Clone)]
pub struct DynamoDbStore {
    client: Client,
    table: String,
    /// GetItem calls made by `find`, for tests and benchmarks that count reads.
    reads: Arc<AtomicU64>,
}

impl DynamoDbStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            reads: Arc::default(),
        }
    }

    /// The client the CLI uses: AWS's full configuration chain (profiles, SSO, environment,
    /// instance roles), and `endpoint_url` or `AWS_ENDPOINT_URL_DYNAMODB` for a local server.
    pub async fn from_settings(settings: &Settings, endpoint_url: Option<&str>) -> Self {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .timeout_config(timeouts(settings))
            .retry_config(retries(settings));
        if let Some(url) = endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let config = loader.load().await;
        Self::new(Client::new(&config), settings.table_name.clone())
    }

    /// The client the authorizer uses in Lambda, which always provides the region and the
    /// function role's credentials in the environment. Skipping the full chain (profile files,
    /// SSO, instance metadata) takes milliseconds off every cold start.
    pub fn from_lambda_environment(settings: &Settings) -> Result<Self, ConfigError> {
        let region = std::env::var("AWS_REGION").map_err(|_| ConfigError {
            variable: "AWS_REGION",
            value: String::new(),
            reason: "must name the region of the key table (Lambda sets it)".into(),
        })?;
        let mut config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region))
            .credentials_provider(EnvironmentVariableCredentialsProvider::new())
            .timeout_config(timeouts(settings))
            .retry_config(retries(settings));
        if let Ok(url) = std::env::var(ENDPOINT_URL) {
            config = config.endpoint_url(url);
        }
        Ok(Self::new(
            Client::from_conf(config.build()),
            settings.table_name.clone(),
        ))
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

    /// Stores a new key; refuses to overwrite an existing one.
    pub async fn insert(&self, stored: &StoredKey) -> Result<(), StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item_from_stored(stored)))
            .condition_expression("attribute_not_exists(#hash)")
            .expression_attribute_names("#hash", item::KEY_HASH)
            .send()
            .await;
        conditional(result, || {
            format!(
                "key {} (or the very same key) already exists",
                stored.record.key_id
            )
        })
    }

    /// Replaces a key's item as a whole, only if nobody wrote it since it was read at
    /// `read_version`: a change is all-or-nothing, and two operators cannot overwrite each
    /// other unnoticed.
    pub async fn replace(&self, stored: &StoredKey, read_version: u64) -> Result<(), StoreError> {
        let request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item_from_stored(stored)));
        let result = with_version_condition(request, read_version).send().await;
        conditional(result, || {
            format!(
                "key {} changed since it was read; run the command again",
                stored.record.key_id
            )
        })
    }

    /// Deletes a key's item, only if it is still at `read_version`.
    pub async fn delete(&self, stored: &StoredKey) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(item::KEY_HASH, AttributeValue::S(stored.hash.to_hex()))
            .condition_expression("#version = :version")
            .expression_attribute_names("#version", item::VERSION)
            .expression_attribute_values(
                ":version",
                AttributeValue::N(stored.meta.version.to_string()),
            )
            .send()
            .await;
        conditional(result, || {
            format!("key {} changed since it was read", stored.record.key_id)
        })
    }

    /// The key with this public id, read consistently.
    pub async fn find_by_key_id(&self, key_id: &KeyId) -> Result<Option<StoredKey>, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(KEY_ID_INDEX)
            .key_condition_expression("#id = :id")
            .expression_attribute_names("#id", item::KEY_ID)
            .expression_attribute_values(":id", AttributeValue::S(key_id.to_string()))
            .send()
            .await
            .map_err(unavailable)?;
        let hashes: Vec<String> = output
            .items()
            .iter()
            .filter_map(|item| {
                item.get(item::KEY_HASH)
                    .and_then(|v| v.as_s().ok())
                    .cloned()
            })
            .collect();
        match hashes.as_slice() {
            [] => Ok(None),
            [hash] => self.get_stored(hash).await,
            _ => Err(StoreError::InvalidRecord {
                key_id: key_id.to_string(),
                field: item::KEY_ID,
                reason: format!("{} records share this key id", hashes.len()),
            }),
        }
    }

    /// Every key in the table; records that do not parse come back as errors, in place.
    pub async fn list(&self) -> Result<Vec<Result<StoredKey, StoreError>>, StoreError> {
        let mut keys = Vec::new();
        let mut pages = self
            .client
            .scan()
            .table_name(&self.table)
            .consistent_read(true)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(unavailable)?;
            keys.extend(page.items().iter().map(stored_from_item));
        }
        Ok(keys)
    }

    async fn get_stored(&self, hash_hex: &str) -> Result<Option<StoredKey>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(item::KEY_HASH, AttributeValue::S(hash_hex.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        output.item().map(stored_from_item).transpose()
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
            .map_err(|err| match err.as_service_error().and_then(|e| e.code()) {
                Some("ResourceInUseException") => {
                    StoreError::Conflict(format!("table {} already exists", self.table))
                }
                _ => unavailable(err),
            })?;
        self.wait_until_active().await
    }

    /// A new table refuses reads and writes until it is ACTIVE. The SDK's waiter sleeps 20 s
    /// between polls; a local server is ready in milliseconds, so poll from 50 ms up.
    async fn wait_until_active(&self) -> Result<(), StoreError> {
        let deadline = Instant::now() + TABLE_READY_TIMEOUT;
        let mut pause = Duration::from_millis(50);
        loop {
            let output = self
                .client
                .describe_table()
                .table_name(&self.table)
                .send()
                .await
                .map_err(unavailable)?;
            if output.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
                return Ok(());
            }
            if Instant::now() + pause > deadline {
                return Err(StoreError::Unavailable {
                    detail: format!(
                        "table {} did not become active within {TABLE_READY_TIMEOUT:?}",
                        self.table
                    ),
                });
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(2));
        }
    }
}

/// Each attempt gets an equal share of the budget, so retries never overrun the whole.
fn timeouts(settings: &Settings) -> TimeoutConfig {
    let attempt_timeout = settings.store_timeout / settings.store_max_attempts;
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT.min(attempt_timeout))
        .operation_attempt_timeout(attempt_timeout)
        .operation_timeout(settings.store_timeout)
        .build()
}

fn retries(settings: &Settings) -> RetryConfig {
    RetryConfig::standard().with_max_attempts(settings.store_max_attempts)
}

impl KeyStore for DynamoDbStore {
    async fn find(&self, hash: &KeyHash) -> Result<Option<Arc<KeyRecord>>, StoreError> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(item::KEY_HASH, AttributeValue::S(hash.to_hex()))
            .send()
            .await
            .map_err(unavailable)?;
        output
            .item()
            .map(|item| record_from_item(item).map(Arc::new))
            .transpose()
    }

    fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }
}

/// Writes to an item read at version 0 (written by hand, without bookkeeping) require that it
/// still has no version; later ones require the version read.
fn with_version_condition(
    request: PutItemFluentBuilder,
    read_version: u64,
) -> PutItemFluentBuilder {
    let request = request
        .expression_attribute_names("#hash", item::KEY_HASH)
        .expression_attribute_names("#version", item::VERSION);
    if read_version == 0 {
        request.condition_expression("attribute_exists(#hash) AND attribute_not_exists(#version)")
    } else {
        request
            .condition_expression("attribute_exists(#hash) AND #version = :version")
            .expression_attribute_values(":version", AttributeValue::N(read_version.to_string()))
    }
}

/// The outcome of a conditional write: a failed condition is a conflict with `message`.
fn conditional<T, E: ProvideErrorMetadata, R>(
    result: Result<T, SdkError<E, R>>,
    message: impl FnOnce() -> String,
) -> Result<(), StoreError> {
    match result {
        Ok(_) => Ok(()),
        Err(err)
            if err.as_service_error().and_then(|e| e.code())
                == Some("ConditionalCheckFailedException") =>
        {
            Err(StoreError::Conflict(message()))
        }
        Err(err) => Err(unavailable(err)),
    }
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
