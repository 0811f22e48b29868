//! The public sample events that ship with aws_lambda_events: the library's types and
//! keyfence's parser read the same ARN and source IP from each, and the handler answers each
//! (they carry no x-api-key) with `Unauthorized`, never a panic.

use crate::helpers::*;
use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerRequestTypeRequest, ApiGatewayV2CustomAuthorizerV2Request,
};
use keyfence::authorizer::event::{AuthorizerRequest, EventShape};
use keyfence::authorizer::handler::Refusal;
use keyfence::core::reason::Reason;
use serde_json::Value;
use std::path::PathBuf;

/// The fixtures folder of the aws_lambda_events package this build uses, found by asking cargo.
fn fixtures_dir() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = std::process::Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--manifest-path"])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
        .output()
        .expect("run cargo metadata");
    assert!(output.status.success(), "cargo metadata failed");
    let metadata: Value = serde_json::from_slice(&output.stdout).unwrap();
    let package = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "aws_lambda_events")
        .expect("aws_lambda_events in the dependency graph");
    let manifest = PathBuf::from(package["manifest_path"].as_str().unwrap());
    manifest.parent().unwrap().join("src/fixtures")
}

fn load(name: &str) -> Value {
    let path = fixtures_dir().join(name);
    serde_json::from_str(
        &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap()
}

fn parse(event: &Value) -> AuthorizerRequest {
    AuthorizerRequest::from_event(event, &settings(&[])).unwrap()
}

#[test]
fn rest_request_fixture_agrees_with_the_library() {
    let event = load("example-apigw-custom-auth-request-type-request.json");
    let library: ApiGatewayCustomAuthorizerRequestTypeRequest =
        serde_json::from_value(event.clone()).unwrap();
    let ours = parse(&event);
    assert_eq!(ours.shape, EventShape::Rest);
    assert_eq!(ours.arn.resource(), library.method_arn.unwrap());
    assert_eq!(
        ours.source_ip_text,
        library.request_context.identity.unwrap().source_ip.unwrap()
    );
    assert!(
        ours.client_ip.is_err(),
        "the fixture's sourceIp is a placeholder"
    );
}

#[test]
fn http_v2_fixture_agrees_with_the_library() {
    let event = load("example-apigw-v2-custom-authorizer-v2-request.json");
    let library: ApiGatewayV2CustomAuthorizerV2Request =
        serde_json::from_value(event.clone()).unwrap();
    let ours = parse(&event);
    assert_eq!(ours.shape, EventShape::HttpV2);
    assert_eq!(ours.arn.resource(), library.route_arn.unwrap());
    assert_eq!(
        ours.source_ip_text,
        library.request_context.http.source_ip.unwrap()
    );
}

#[test]
fn websocket_fixture_is_a_websocket_connect() {
    let event = load("example-apigw-v2-custom-authorizer-websocket-request.json");
    let library: ApiGatewayCustomAuthorizerRequestTypeRequest =
        serde_json::from_value(event.clone()).unwrap();
    let ours = parse(&event);
    assert_eq!(ours.shape, EventShape::WebSocket);
    assert_eq!(ours.arn.resource(), library.method_arn.unwrap());
    assert_eq!(ours.arn.target().arn_tail(), "$connect");
    assert_eq!(ours.client_ip, Ok("1.2.3.4".parse().unwrap()));
}

#[test]
fn http_v1_fixture_is_payload_1_0() {
    let event = load("example-apigw-v2-custom-authorizer-v1-request.json");
    assert_eq!(parse(&event).shape, EventShape::HttpV1);
}

#[tokio::test]
async fn every_authorizer_fixture_is_answered_unauthorized_without_a_key() {
    let table = TestTable::new().await;
    let authorizer = table.authorizer();
    for name in [
        "example-apigw-custom-auth-request-type-request.json",
        "example-apigw-v2-custom-authorizer-v1-request.json",
        "example-apigw-v2-custom-authorizer-v2-request.json",
        "example-apigw-v2-custom-authorizer-v2-request-null-maps.json",
        "example-apigw-v2-custom-authorizer-v2-request-without-cookies.json",
        "example-apigw-v2-custom-authorizer-v2-request-without-identity-source.json",
        "example-apigw-v2-custom-authorizer-websocket-request.json",
    ] {
        let answer = invoke(&authorizer, &load(name)).await;
        assert_eq!(
            answer,
            Err(Refusal::Unauthorized(Reason::KeyMissing)),
            "{name}"
        );
    }
}
