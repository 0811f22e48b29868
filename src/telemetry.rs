//! Logging: JSON lines on stdout, which Lambda sends to CloudWatch Logs.
//!
//! Libraries below keyfence may print request bodies at debug and trace level (the Lambda
//! runtime prints whole events, which carry keys), so they are held at `info` whatever the
//! filter asks: the most verbose setting never writes a secret.

use tracing_subscriber::EnvFilter;

const LIBRARY_CAPS: [&str; 9] = [
    "lambda_runtime=info",
    // It logs every returned error at ERROR level, so each 401 would look like a fault;
    // keyfence's own decision line already records every outcome with its level.
    "lambda_runtime::layers::panic=off",
    "lambda_runtime_api_client=info",
    "aws_smithy_runtime=info",
    "aws_smithy_runtime_api=info",
    "aws_sdk_dynamodb=info",
    "aws_config=info",
    "hyper=info",
    "hyper_util=info",
];

/// The filter: `RUST_LOG` (or `AWS_LAMBDA_LOG_LEVEL`), default `info`, with library caps.
pub fn filter() -> EnvFilter {
    let requested = std::env::var("RUST_LOG")
        .or_else(|_| std::env::var("AWS_LAMBDA_LOG_LEVEL"))
        .unwrap_or_else(|_| "info".into())
        .to_ascii_lowercase();
    let mut directives = vec![requested];
    directives.extend(LIBRARY_CAPS.iter().map(|d| d.to_string()));
    EnvFilter::try_new(directives.join(",")).unwrap_or_else(|_| {
        EnvFilter::new(
            ["info"]
                .into_iter()
                .chain(LIBRARY_CAPS)
                .collect::<Vec<_>>()
                .join(","),
        )
    })
}

/// Installs the JSON subscriber for the authorizer.
pub fn init_json() {
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_env_filter(filter())
        .with_writer(std::io::stdout)
        .init();
}
