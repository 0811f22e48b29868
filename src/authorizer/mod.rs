//! The Lambda adapter: authorizer events in, API Gateway answers out.

pub mod decision_log;
pub mod event;
pub mod handler;
pub mod judge;
pub mod response;
