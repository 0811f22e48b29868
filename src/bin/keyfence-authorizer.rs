//! The Lambda function. Everything a request needs is built here, once: settings, the SDK
//! client and its open connection.

use keyfence::authorizer::handler::Authorizer;
use keyfence::clock::SystemClock;
use keyfence::config::Settings;
use keyfence::store::cache::CachedStore;
use keyfence::store::dynamodb::DynamoDbStore;
use keyfence::telemetry;
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use std::sync::Arc;

// One request at a time per Lambda instance: a single-threaded runtime starts faster.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init_json();
    let settings = Settings::from_env().inspect_err(|error| {
        tracing::error!(%error, "invalid setting; the function cannot start");
    })?;
    let store = DynamoDbStore::from_lambda_environment(&settings).inspect_err(|error| {
        tracing::error!(%error, "invalid setting; the function cannot start");
    })?;
    // Opens the connection (and its TLS handshake) while the runtime fetches the first event,
    // instead of before: the first request finds it ready or half-way there.
    let warm = store.clone();
    tokio::spawn(async move {
        if let Err(error) = warm.warm_up().await {
            tracing::warn!(%error, table = warm.table(), "could not reach the key table at start-up");
        }
    });
    let cache = CachedStore::new(store, settings.cache, Arc::new(SystemClock));
    let authorizer = Authorizer::new(settings, cache, Arc::new(SystemClock));
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let authorizer = &authorizer;
        async move { authorizer.handle(&event.payload).await }
    }))
    .await
}
