//! Logging for everything but the decision lines: start-up problems and diagnostics, as JSON
//! lines on stdout, which Lambda sends to CloudWatch Logs.
//!
//! The level comes from `RUST_LOG` or `AWS_LAMBDA_LOG_LEVEL` and applies to keyfence itself.
//! Every other crate stays at `info` or quieter whatever is asked: below that, the Lambda
//! runtime prints whole events (which carry keys) and the HTTP stack prints request bodies.

use tracing::level_filters::LevelFilter;
use tracing_subscriber::EnvFilter;

/// The level asked for, if it is one of the plain level names.
fn requested_level() -> Option<LevelFilter> {
    let raw = std::env::var("RUST_LOG")
        .or_else(|_| std::env::var("AWS_LAMBDA_LOG_LEVEL"))
        .ok()?;
    raw.trim().parse::<LevelFilter>().ok()
}

/// keyfence at the requested level (default `info`), every other crate at most at `info`.
pub fn filter() -> EnvFilter {
    let keyfence = requested_level().unwrap_or(LevelFilter::INFO);
    let others = keyfence.min(LevelFilter::INFO);
    EnvFilter::new(format!("{others},keyfence={keyfence}"))
}

/// Installs the JSON subscriber.
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
