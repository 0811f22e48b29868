//! The incoming authorizer event, turned into a typed request at the edge.
//!
//! One function serves every REQUEST authorizer shape, so the event is read as JSON and only
//! the fields keyfence needs are picked out: the ARN, the key (header or query parameter, any
//! letter case, single- or multi-value) and the source IP. Nothing else is trusted or kept.

use crate::authorizer::judge::PresentedKey;
use crate::config::Settings;
use crate::core::method_arn::{MethodArn, MethodArnError};
use crate::core::source_ip::{self, SourceIpError};
use serde_json::{Map, Value};
use std::net::IpAddr;

/// Longest source IP text copied into a log line; API Gateway's are far shorter.
const MAX_LOGGED_IP_LEN: usize = 64;

/// Which API Gateway flavour sent the event; it decides the response form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventShape {
    /// REST API REQUEST authorizer (`methodArn`).
    Rest,
    /// WebSocket API `$connect` authorizer.
    WebSocket,
    /// HTTP API, payload format 1.0 (`methodArn`, `version: "1.0"`).
    HttpV1,
    /// HTTP API, payload format 2.0 (`routeArn`).
    HttpV2,
}

impl EventShape {
    pub fn as_str(self) -> &'static str {
        match self {
            EventShape::Rest => "rest",
            EventShape::WebSocket => "websocket",
            EventShape::HttpV1 => "http-1.0",
            EventShape::HttpV2 => "http-2.0",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("the event is not a JSON object")]
    NotAnObject,
    #[error("the event has neither methodArn nor routeArn")]
    NoArn,
    #[error(transparent)]
    Arn(#[from] MethodArnError),
}

#[derive(Debug, Clone)]
pub struct AuthorizerRequest {
    pub shape: EventShape,
    pub arn: MethodArn,
    pub key: PresentedKey,
    pub client_ip: Result<IpAddr, SourceIpError>,
    /// The source IP as the event gave it, shortened, for the log line.
    pub source_ip_text: String,
}

impl AuthorizerRequest {
    pub fn from_event(event: &Value, settings: &Settings) -> Result<Self, EventError> {
        let event = event.as_object().ok_or(EventError::NotAnObject)?;
        let context = event.get("requestContext").and_then(Value::as_object);
        let (shape, arn_text, source_ip) = if let Some(route_arn) = text(event, "routeArn") {
            let ip = context
                .and_then(|c| object(c, "http"))
                .and_then(|h| text(h, "sourceIp"));
            (EventShape::HttpV2, route_arn, ip)
        } else if let Some(method_arn) = text(event, "methodArn") {
            let ip = context
                .and_then(|c| object(c, "identity"))
                .and_then(|i| text(i, "sourceIp"));
            (method_arn_shape(event, context), method_arn, ip)
        } else {
            return Err(EventError::NoArn);
        };
        let arn = MethodArn::parse(arn_text)?;
        let source_ip = source_ip.unwrap_or("");
        // Read only when trusted: without trusted hops the header is never looked at.
        let forwarded_for = (settings.trusted_proxy_hops > 0)
            .then(|| forwarded_for(event))
            .filter(|joined| !joined.is_empty());
        Ok(Self {
            shape,
            key: presented_key(event, settings),
            client_ip: source_ip::client_address(
                source_ip,
                forwarded_for.as_deref(),
                settings.trusted_proxy_hops,
            ),
            source_ip_text: source_ip.chars().take(MAX_LOGGED_IP_LEN).collect(),
            arn,
        })
    }
}

fn method_arn_shape(
    event: &Map<String, Value>,
    context: Option<&Map<String, Value>>,
) -> EventShape {
    let websocket = context.and_then(|c| text(c, "eventType")) == Some("CONNECT")
        || context.and_then(|c| text(c, "connectionId")).is_some();
    if websocket {
        EventShape::WebSocket
    } else if text(event, "version") == Some("1.0") {
        EventShape::HttpV1
    } else {
        EventShape::Rest
    }
}

/// `X-Forwarded-For` as one comma-separated chain. REST events carry it twice (single- and
/// multi-value maps); joining both would repeat the chain and could make a short one look long
/// enough, so the multi-value map wins when it has the header.
fn forwarded_for(event: &Map<String, Value>) -> String {
    let multi = values_in(event, "multiValueHeaders", "x-forwarded-for", true);
    let values = if multi.is_empty() {
        values_in(event, "headers", "x-forwarded-for", true)
    } else {
        multi
    };
    values.join(",")
}

/// Every value of the key header, and of the key query parameter when one is configured.
fn presented_key(event: &Map<String, Value>, settings: &Settings) -> PresentedKey {
    let mut values = values_of(
        event,
        "headers",
        "multiValueHeaders",
        &settings.key_header,
        true,
    );
    if let Some(param) = &settings.key_query_param {
        values.extend(values_of(
            event,
            "queryStringParameters",
            "multiValueQueryStringParameters",
            param,
            false,
        ));
    }
    PresentedKey::from_values(values)
}

/// The string values named `name` in the single-value map and the multi-value map of the
/// event. Header names are compared without regard to case; query parameters exactly.
fn values_of<'a>(
    event: &'a Map<String, Value>,
    single: &str,
    multi: &str,
    name: &str,
    ignore_case: bool,
) -> Vec<&'a str> {
    let mut values = values_in(event, single, name, ignore_case);
    values.extend(values_in(event, multi, name, ignore_case));
    values
}

/// The string values named `name` in one map of the event, whether each entry holds a string
/// (`headers`) or a list of strings (`multiValueHeaders`).
fn values_in<'a>(
    event: &'a Map<String, Value>,
    map: &str,
    name: &str,
    ignore_case: bool,
) -> Vec<&'a str> {
    let matches = |candidate: &str| {
        if ignore_case {
            candidate.eq_ignore_ascii_case(name)
        } else {
            candidate == name
        }
    };
    let mut values = Vec::new();
    for (_, value) in object(event, map)
        .into_iter()
        .flatten()
        .filter(|(candidate, _)| matches(candidate))
    {
        match value {
            Value::String(text) => values.push(text.as_str()),
            Value::Array(items) => values.extend(items.iter().filter_map(Value::as_str)),
            _ => {}
        }
    }
    values
}

fn text<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    map.get(name).and_then(Value::as_str)
}

fn object<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a Map<String, Value>> {
    map.get(name).and_then(Value::as_object)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authorizer::judge::KeyProblem;
    use crate::core::api_key::{ApiKey, KeyFormatError};
    use serde_json::json;

    const ARN: &str = "arn:aws:execute-api:us-east-1:123456789012:api1/prod/GET/pets/1";
    const KEY: &str = "legacy-partner-key-0001";

    fn settings() -> Settings {
        Settings::from_lookup(|_| None).unwrap()
    }

    fn rest(headers: Value) -> Value {
        json!({
            "type": "REQUEST",
            "methodArn": ARN,
            "headers": headers,
            "requestContext": {"identity": {"sourceIp": "203.0.113.7"}}
        })
    }

    fn key_of(event: Value, settings: &Settings) -> PresentedKey {
        AuthorizerRequest::from_event(&event, settings).unwrap().key
    }

    #[test]
    fn rest_event_yields_shape_arn_key_and_ip() {
        let request =
            AuthorizerRequest::from_event(&rest(json!({"x-api-key": KEY})), &settings()).unwrap();
        assert_eq!(request.shape, EventShape::Rest);
        assert_eq!(request.arn.target().arn_tail(), "GET/pets/1");
        assert_eq!(
            request.key,
            PresentedKey::Present(ApiKey::parse(KEY).unwrap())
        );
        assert_eq!(request.client_ip, Ok("203.0.113.7".parse().unwrap()));
    }

    #[test]
    fn header_name_matches_in_any_case() {
        for name in ["X-API-KEY", "X-Api-Key", "x-api-key"] {
            let key = key_of(rest(json!({ name: KEY })), &settings());
            assert!(matches!(key, PresentedKey::Present(_)), "{name}");
        }
    }

    #[test]
    fn multi_value_headers_are_read() {
        let mut event = rest(json!({}));
        event["multiValueHeaders"] = json!({"X-Api-Key": [KEY]});
        assert!(matches!(
            key_of(event, &settings()),
            PresentedKey::Present(_)
        ));
    }

    #[test]
    fn two_different_keys_are_refused() {
        let mut event = rest(json!({"x-api-key": KEY}));
        event["multiValueHeaders"] = json!({"x-api-key": [KEY, "other-partner-key-0002"]});
        assert_eq!(
            key_of(event, &settings()),
            PresentedKey::Malformed(KeyProblem::Conflicting)
        );
    }

    #[test]
    fn the_same_key_repeated_is_accepted() {
        let mut event = rest(json!({"x-api-key": KEY}));
        event["multiValueHeaders"] = json!({"x-api-key": [KEY]});
        assert!(matches!(
            key_of(event, &settings()),
            PresentedKey::Present(_)
        ));
    }

    #[test]
    fn http_api_joined_duplicate_header_is_malformed() {
        let key = key_of(
            rest(json!({"x-api-key": format!("{KEY},{KEY}")})),
            &settings(),
        );
        assert_eq!(
            key,
            PresentedKey::Malformed(KeyProblem::Format(KeyFormatError::Alphabet))
        );
    }

    #[test]
    fn absent_empty_or_null_headers_mean_missing() {
        for headers in [
            json!({}),
            json!({"x-api-key": ""}),
            json!({"x-api-key": null}),
            json!(null),
        ] {
            assert_eq!(
                key_of(rest(headers.clone()), &settings()),
                PresentedKey::Missing,
                "{headers}"
            );
        }
    }

    #[test]
    fn query_parameter_is_read_only_when_configured() {
        let mut event = rest(json!({}));
        event["queryStringParameters"] = json!({"api_key": KEY});
        assert_eq!(key_of(event.clone(), &settings()), PresentedKey::Missing);
        let with_param = Settings::from_lookup(|n| {
            (n == crate::config::KEY_QUERY_PARAM).then(|| "api_key".into())
        })
        .unwrap();
        assert!(matches!(
            key_of(event, &with_param),
            PresentedKey::Present(_)
        ));
    }

    #[test]
    fn custom_header_name_is_used() {
        let custom = Settings::from_lookup(|n| {
            (n == crate::config::KEY_HEADER).then(|| "X-Partner-Key".into())
        })
        .unwrap();
        let key = key_of(rest(json!({"x-partner-key": KEY})), &custom);
        assert!(matches!(key, PresentedKey::Present(_)));
        assert_eq!(
            key_of(rest(json!({"x-api-key": KEY})), &custom),
            PresentedKey::Missing
        );
    }

    #[test]
    fn http_v2_event_reads_route_arn_and_http_source_ip() {
        let event = json!({
            "version": "2.0",
            "type": "REQUEST",
            "routeArn": "arn:aws:execute-api:us-east-1:123456789012:api1/$default/GET/pets",
            "headers": {"x-api-key": KEY},
            "requestContext": {"http": {"sourceIp": "2001:db8::1", "method": "GET"}}
        });
        let request = AuthorizerRequest::from_event(&event, &settings()).unwrap();
        assert_eq!(request.shape, EventShape::HttpV2);
        assert_eq!(request.client_ip, Ok("2001:db8::1".parse().unwrap()));
    }

    #[test]
    fn websocket_connect_is_recognised() {
        let event = json!({
            "type": "REQUEST",
            "methodArn": "arn:aws:execute-api:us-east-1:123456789012:api1/prod/$connect",
            "headers": {"x-api-key": KEY},
            "requestContext": {"eventType": "CONNECT", "identity": {"sourceIp": "203.0.113.7"}}
        });
        assert_eq!(
            AuthorizerRequest::from_event(&event, &settings())
                .unwrap()
                .shape,
            EventShape::WebSocket
        );
    }

    #[test]
    fn forwarded_for_is_ignored_unless_hops_are_trusted() {
        let event = rest(json!({"x-api-key": KEY, "X-Forwarded-For": "198.51.100.9"}));
        let request = AuthorizerRequest::from_event(&event, &settings()).unwrap();
        assert_eq!(request.client_ip, Ok("203.0.113.7".parse().unwrap()));
        let one_hop =
            Settings::from_lookup(|n| (n == crate::config::TRUSTED_PROXY_HOPS).then(|| "1".into()))
                .unwrap();
        let request = AuthorizerRequest::from_event(&event, &one_hop).unwrap();
        assert_eq!(request.client_ip, Ok("198.51.100.9".parse().unwrap()));
    }

    #[test]
    fn forwarded_for_in_both_header_maps_is_read_once() {
        let two_hops =
            Settings::from_lookup(|n| (n == crate::config::TRUSTED_PROXY_HOPS).then(|| "2".into()))
                .unwrap();
        let mut event = rest(json!({"x-api-key": KEY, "X-Forwarded-For": "198.51.100.9"}));
        event["multiValueHeaders"] = json!({"X-Forwarded-For": ["198.51.100.9"]});
        let request = AuthorizerRequest::from_event(&event, &two_hops).unwrap();
        assert_eq!(
            request.client_ip,
            Err(SourceIpError::TooFewForwardedHops(2))
        );
    }

    #[test]
    fn odd_source_ips_become_errors_not_addresses() {
        for ip in [
            "test-invoke-source-ip",
            "1.2.3.4:5678",
            "",
            "fe80::1%eth0",
            "01.2.3.4",
        ] {
            let mut event = rest(json!({"x-api-key": KEY}));
            event["requestContext"]["identity"]["sourceIp"] = json!(ip);
            assert!(
                AuthorizerRequest::from_event(&event, &settings())
                    .unwrap()
                    .client_ip
                    .is_err(),
                "{ip}"
            );
        }
        let mut event = rest(json!({"x-api-key": KEY}));
        event["requestContext"] = json!(null);
        assert_eq!(
            AuthorizerRequest::from_event(&event, &settings())
                .unwrap()
                .client_ip,
            Err(SourceIpError::Missing)
        );
    }

    #[test]
    fn events_without_a_usable_arn_are_errors() {
        assert_eq!(
            AuthorizerRequest::from_event(&json!([]), &settings()).unwrap_err(),
            EventError::NotAnObject
        );
        assert_eq!(
            AuthorizerRequest::from_event(&json!({}), &settings()).unwrap_err(),
            EventError::NoArn
        );
        let bad = json!({"methodArn": "arn:aws:execute-api:nope", "headers": {}});
        assert!(matches!(
            AuthorizerRequest::from_event(&bad, &settings()),
            Err(EventError::Arn(_))
        ));
        let wrong_type = json!({"methodArn": 42});
        assert_eq!(
            AuthorizerRequest::from_event(&wrong_type, &settings()).unwrap_err(),
            EventError::NoArn
        );
    }
}
