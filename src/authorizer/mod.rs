//! The Lambda adapter: authorizer events in, API Gateway answers out.

pub mod event;
pub mod handler;
pub mod response;
