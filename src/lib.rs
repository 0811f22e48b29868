//! keyfence: an API Gateway REQUEST authorizer that admits a partner by one API key and the
//! source IP ranges recorded for that key in DynamoDB.
//!
//! `core` decides and does no I/O; `store`, `authorizer` and `cli` are adapters around it.

pub mod authorizer;
pub mod cli;
pub mod clock;
pub mod config;
pub mod core;
pub mod store;
pub mod telemetry;
