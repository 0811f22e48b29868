//! Integration tests: the authorizer's handler and store against a real DynamoDB-compatible
//! server over HTTP. `make test` starts that server and passes its address in
//! `KEYFENCE_TEST_DYNAMODB`.

mod authorizer;
mod cli;
mod faults;
mod fixtures;
mod helpers;
mod lifecycle;
mod store;
