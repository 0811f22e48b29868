//! The floor for `make bench-cold`: a Lambda function that answers `{}` and does nothing else,
//! with the same runtime, profile and logging set-up as keyfence's authorizer.

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    keyfence::telemetry::init_json();
    lambda_runtime::run(service_fn(|_: LambdaEvent<Value>| async {
        Ok::<_, lambda_runtime::Error>(Value::Object(Default::default()))
    }))
    .await
}
