use crate::helpers::*;
use keyfence::authorizer::handler::Refusal;
use keyfence::config::{DENY_CIDRS, HTTP_API_RESPONSE, KEY_QUERY_PARAM, TRUSTED_PROXY_HOPS};
use keyfence::core::key_record::{ContextValue, KeyStatus};
use keyfence::core::reason::Reason;
use serde_json::{Value, json};

const KEY: &str = "partner-test-key-0000000001";
const ROUTES: &[&str] = &["GET /pets", "GET /pets/*", "POST /orders", "$connect"];
const INSIDE: &str = "203.0.113.7";
const OUTSIDE: &str = "198.51.100.7";

async fn table_with_key() -> TestTable {
    let table = TestTable::new().await;
    table
        .add(
            KEY,
            &record("acme", &["203.0.113.0/24", "2001:db8::/32"], Some(ROUTES)),
        )
        .await;
    table
}

fn contains_null(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.iter().any(contains_null),
        Value::Object(map) => map.values().any(contains_null),
        _ => false,
    }
}

#[tokio::test]
async fn rest_allowed_ip_gets_a_policy_that_also_covers_the_keys_other_routes() {
    let table = table_with_key().await;
    let answer = invoke(
        &table.authorizer(),
        &rest_event(Some(KEY), INSIDE, "GET", "/pets/42"),
    )
    .await;
    assert_eq!(reason_of(&answer).code(), "allowed");
    assert_eq!(answer.as_ref().unwrap()["principalId"], "acme");
    // API Gateway reuses this cached answer for the next route of the same key and IP.
    assert!(gateway_allows(
        &answer,
        &format!("{ACCOUNT_API}/prod/GET/pets/42")
    ));
    assert!(gateway_allows(
        &answer,
        &format!("{ACCOUNT_API}/prod/POST/orders")
    ));
    assert!(gateway_allows(
        &answer,
        &format!("{ACCOUNT_API}/prod/GET/pets")
    ));
    // ... but never for a route the key was not given, another stage or another API.
    assert!(!gateway_allows(
        &answer,
        &format!("{ACCOUNT_API}/prod/DELETE/pets/42")
    ));
    assert!(!gateway_allows(
        &answer,
        &format!("{ACCOUNT_API}/dev/GET/pets/42")
    ));
    assert!(!gateway_allows(
        &answer,
        "arn:aws:execute-api:us-east-1:123456789012:otherapi/prod/GET/pets"
    ));
}

enum Shape {
    Rest,
    Http,
    WebSocket,
}

#[tokio::test]
async fn ip_outside_the_keys_cidrs_is_denied_on_every_event_shape_and_allowed_inside() {
    let table = table_with_key().await;
    let simple = TestTable::with_settings(&[(HTTP_API_RESPONSE, "simple")]).await;
    simple
        .add(KEY, &record("acme", &["203.0.113.0/24"], Some(ROUTES)))
        .await;
    let cases = [
        (
            "rest",
            &table,
            Shape::Rest,
            format!("{ACCOUNT_API}/prod/GET/pets/1"),
        ),
        (
            "http iam",
            &table,
            Shape::Http,
            format!("{ACCOUNT_API}/$default/GET/pets/1"),
        ),
        ("http simple", &simple, Shape::Http, String::new()),
        (
            "websocket",
            &table,
            Shape::WebSocket,
            format!("{ACCOUNT_API}/prod/$connect"),
        ),
    ];
    for (shape, table, event_shape, arn) in cases {
        let authorizer = table.authorizer();
        let event = |ip| match event_shape {
            Shape::Rest => rest_event(Some(KEY), ip, "GET", "/pets/1"),
            Shape::Http => http_event(KEY, ip, "GET", "/pets/1"),
            Shape::WebSocket => websocket_event(KEY, ip),
        };
        let denied = invoke(&authorizer, &event(OUTSIDE)).await;
        assert_eq!(
            reason_of(&denied).code(),
            "source_ip_not_allowed",
            "{shape}"
        );
        assert!(!gateway_allows(&denied, &arn), "{shape}");
        let allowed = invoke(&authorizer, &event(INSIDE)).await;
        assert_eq!(reason_of(&allowed).code(), "allowed", "{shape}");
        assert!(gateway_allows(&allowed, &arn), "{shape}");
        assert!(
            !contains_null(allowed.as_ref().unwrap()),
            "{shape}: {allowed:?}"
        );
    }
}

#[tokio::test]
async fn ipv6_and_ipv4_mapped_sources_match_their_ranges() {
    let table = table_with_key().await;
    let authorizer = table.authorizer();
    for (ip, reason) in [
        ("2001:db8:1::1", "allowed"),
        ("::ffff:203.0.113.7", "allowed"),
        ("2001:db9::1", "source_ip_not_allowed"),
        ("::ffff:198.51.100.7", "source_ip_not_allowed"),
    ] {
        let answer = invoke(&authorizer, &rest_event(Some(KEY), ip, "GET", "/pets")).await;
        assert_eq!(reason_of(&answer).code(), reason, "{ip}");
    }
}

#[tokio::test]
async fn source_ips_that_are_not_addresses_are_denied_not_crashed_on() {
    let table = table_with_key().await;
    let authorizer = table.authorizer();
    for ip in [
        "test-invoke-source-ip",
        "203.0.113.7:5678",
        "",
        "fe80::1%eth0",
        "203.000.113.7",
        "[2001:db8::1]",
    ] {
        let answer = invoke(&authorizer, &rest_event(Some(KEY), ip, "GET", "/pets")).await;
        assert_eq!(reason_of(&answer).code(), "source_ip_invalid", "{ip:?}");
        assert!(!gateway_allows(
            &answer,
            &format!("{ACCOUNT_API}/prod/GET/pets")
        ));
    }
}

#[tokio::test]
async fn a_refused_route_keeps_the_grants_so_the_cached_answer_stays_right() {
    let table = table_with_key().await;
    let answer = invoke(
        &table.authorizer(),
        &rest_event(Some(KEY), INSIDE, "DELETE", "/pets/1"),
    )
    .await;
    assert_eq!(reason_of(&answer).code(), "route_not_allowed");
    assert_eq!(answer.as_ref().unwrap()["principalId"], "acme");
    assert!(!gateway_allows(
        &answer,
        &format!("{ACCOUNT_API}/prod/DELETE/pets/1")
    ));
    assert!(gateway_allows(
        &answer,
        &format!("{ACCOUNT_API}/prod/GET/pets/1")
    ));
}

#[tokio::test]
async fn missing_malformed_and_unknown_keys_fail_with_exactly_unauthorized() {
    let table = table_with_key().await;
    let authorizer = table.authorizer();
    let issued_typo = "kf_acmepartnr_abcdefghijklmnopqrstuvwxyzaaaaaa";
    for (key, reason) in [
        (None, Reason::KeyMissing),
        (Some(""), Reason::KeyMissing),
        (Some("short"), Reason::KeyMalformed),
        (Some(issued_typo), Reason::KeyMalformed),
        (Some("key with spaces in it 000"), Reason::KeyMalformed),
        (Some("partner-test-key-0000000002"), Reason::KeyUnknown),
    ] {
        let answer = invoke(&authorizer, &rest_event(key, INSIDE, "GET", "/pets")).await;
        assert_eq!(answer, Err(Refusal::Unauthorized(reason)), "{key:?}");
        let diagnostic: lambda_runtime::Diagnostic = answer.unwrap_err().into();
        assert_eq!(diagnostic.error_message, "Unauthorized");
    }
}

#[tokio::test]
async fn revoked_expired_and_not_yet_valid_keys_get_an_explicit_deny_naming_the_key() {
    let table = TestTable::new().await;
    let mut revoked = record("revoked", &["0.0.0.0/0"], None);
    revoked.status = KeyStatus::Revoked;
    let mut expired = record("expired", &["0.0.0.0/0"], None);
    expired.expires_at = Some(NOW - 1);
    let mut early = record("early", &["0.0.0.0/0"], None);
    early.not_before = Some(NOW + 60);
    let cases = [
        ("revoked-key-000000000001", revoked, "key_revoked"),
        ("expired-key-000000000001", expired, "key_expired"),
        ("early-key-00000000000001", early, "key_not_yet_valid"),
    ];
    for (key, record, _) in &cases {
        table.add(key, record).await;
    }
    let authorizer = table.authorizer();
    for (key, record, reason) in &cases {
        let answer = invoke(&authorizer, &rest_event(Some(key), INSIDE, "GET", "/x")).await;
        assert_eq!(reason_of(&answer).code(), *reason);
        let answer = answer.unwrap();
        assert_eq!(answer["principalId"], record.key_id.as_str());
        assert_eq!(answer["policyDocument"]["Statement"][0]["Effect"], "Deny");
        assert_eq!(
            answer["policyDocument"]["Statement"][0]["Resource"],
            json!([format!("{ACCOUNT_API}/prod/*")])
        );
    }
}

#[tokio::test]
async fn usage_plan_key_and_context_reach_api_gateway_only_on_allow() {
    let table = TestTable::new().await;
    let mut with_usage = record("metered", &["203.0.113.0/24"], None);
    with_usage.usage_key = Some("usage-plan-key-000000000001".parse().unwrap());
    with_usage
        .context
        .insert("tier".parse().unwrap(), ContextValue::Text("gold".into()));
    with_usage
        .context
        .insert("quota".parse().unwrap(), ContextValue::Number(17.into()));
    with_usage
        .context
        .insert("beta".parse().unwrap(), ContextValue::Bool(true));
    table.add("metered-key-0000000000001", &with_usage).await;
    table
        .add(KEY, &record("plain", &["203.0.113.0/24"], None))
        .await;
    let authorizer = table.authorizer();

    let allowed = invoke(
        &authorizer,
        &rest_event(Some("metered-key-0000000000001"), INSIDE, "GET", "/"),
    )
    .await
    .unwrap();
    assert_eq!(allowed["usageIdentifierKey"], "usage-plan-key-000000000001");
    assert_eq!(
        allowed["context"],
        json!({"keyId": "metered", "principal": "metered partner", "reason": "allowed", "tier": "gold", "quota": 17, "beta": true})
    );
    let denied = invoke(
        &authorizer,
        &rest_event(Some("metered-key-0000000000001"), OUTSIDE, "GET", "/"),
    )
    .await
    .unwrap();
    assert!(denied.get("usageIdentifierKey").is_none());
    let plain = invoke(&authorizer, &rest_event(Some(KEY), INSIDE, "GET", "/"))
        .await
        .unwrap();
    assert!(
        plain.get("usageIdentifierKey").is_none(),
        "no null usageIdentifierKey: {plain}"
    );
    let http = invoke(
        &authorizer,
        &http_event("metered-key-0000000000001", INSIDE, "GET", "/"),
    )
    .await
    .unwrap();
    assert!(
        http.get("usageIdentifierKey").is_none(),
        "HTTP APIs have no usage plans"
    );
}

#[tokio::test]
async fn the_global_deny_list_overrides_a_keys_cidrs() {
    let table = TestTable::with_settings(&[(DENY_CIDRS, "203.0.113.0/28")]).await;
    table
        .add(KEY, &record("acme", &["203.0.113.0/24"], None))
        .await;
    let authorizer = table.authorizer();
    let answer = invoke(
        &authorizer,
        &rest_event(Some(KEY), "203.0.113.5", "GET", "/"),
    )
    .await;
    assert_eq!(reason_of(&answer).code(), "source_ip_denylisted");
    let answer = invoke(
        &authorizer,
        &rest_event(Some(KEY), "203.0.113.50", "GET", "/"),
    )
    .await;
    assert_eq!(reason_of(&answer).code(), "allowed");
}

#[tokio::test]
async fn forwarded_for_counts_only_with_trusted_hops() {
    let spoofed = |table: &TestTable| {
        let mut event = rest_event(Some(KEY), OUTSIDE, "GET", "/pets");
        event["headers"]["X-Forwarded-For"] = json!(INSIDE);
        (table.authorizer(), event)
    };
    let untrusting = table_with_key().await;
    let (authorizer, event) = spoofed(&untrusting);
    assert_eq!(
        reason_of(&invoke(&authorizer, &event).await).code(),
        "source_ip_not_allowed"
    );

    let behind_proxy = TestTable::with_settings(&[(TRUSTED_PROXY_HOPS, "1")]).await;
    behind_proxy
        .add(KEY, &record("acme", &["203.0.113.0/24"], None))
        .await;
    let (authorizer, event) = spoofed(&behind_proxy);
    assert_eq!(
        reason_of(&invoke(&authorizer, &event).await).code(),
        "allowed"
    );
    let no_header = rest_event(Some(KEY), OUTSIDE, "GET", "/pets");
    assert_eq!(
        reason_of(&invoke(&authorizer, &no_header).await).code(),
        "source_ip_invalid"
    );
}

#[tokio::test]
async fn key_in_the_query_string_when_configured() {
    let table = TestTable::with_settings(&[(KEY_QUERY_PARAM, "api_key")]).await;
    table
        .add(KEY, &record("acme", &["203.0.113.0/24"], None))
        .await;
    let mut event = rest_event(None, INSIDE, "GET", "/pets");
    event["queryStringParameters"] = json!({"api_key": KEY});
    assert_eq!(
        reason_of(&invoke(&table.authorizer(), &event).await).code(),
        "allowed"
    );
    event["headers"] = json!({"x-api-key": "partner-test-key-0000000002"});
    assert_eq!(
        invoke(&table.authorizer(), &event).await,
        Err(Refusal::Unauthorized(Reason::KeyMalformed)),
        "a header and a query parameter that disagree are refused"
    );
}

#[tokio::test]
async fn events_without_a_usable_arn_fail_without_being_unauthorized() {
    let table = table_with_key().await;
    for event in [
        json!({}),
        json!("text"),
        json!({"methodArn": "arn:aws:s3:::bucket", "headers": {"x-api-key": KEY}}),
    ] {
        let answer = invoke(&table.authorizer(), &event).await;
        assert_eq!(
            answer,
            Err(Refusal::Undecided(Reason::EventInvalid)),
            "{event}"
        );
        assert_ne!(answer.unwrap_err().to_string(), "Unauthorized");
    }
}
