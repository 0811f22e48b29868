//! The store failing: the answer is an error that is not `Unauthorized` (API Gateway answers
//! 500 and caches nothing), never an Allow, and it comes inside the configured time budget.

use crate::helpers::*;
use keyfence::authorizer::handler::{Authorizer, Refusal};
use keyfence::clock::ManualClock;
use keyfence::config::{STORE_MAX_ATTEMPTS, STORE_TIMEOUT_MS};
use keyfence::core::reason::Reason;
use keyfence::store::KeyStore;
use keyfence::store::cache::CachedStore;
use keyfence::store::dynamodb::DynamoDbStore;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const KEY: &str = "partner-test-key-0000000001";
const BUDGET: &[(&str, &str)] = &[(STORE_TIMEOUT_MS, "400"), (STORE_MAX_ATTEMPTS, "2")];

/// The authorizer as deployed (key cache included) on a store at `endpoint`, its decision
/// lines captured.
async fn authorizer_at(endpoint: &str) -> (Authorizer<CachedStore<DynamoDbStore>>, CapturedLines) {
    let settings = settings(BUDGET);
    let store = DynamoDbStore::from_settings(&settings, Some(endpoint)).await;
    let cache = CachedStore::new(store, settings.cache, Arc::new(ManualClock::at(NOW)));
    let lines = CapturedLines::default();
    let authorizer =
        Authorizer::new(settings, cache, Arc::new(ManualClock::at(NOW))).with_log(lines.log());
    (authorizer, lines)
}

/// Two requests against a failing store: each a 500 (not `Unauthorized`, never an Allow),
/// each within the time budget, each one ERROR line with the reason code, and nothing cached:
/// the second request tries the store again.
async fn assert_store_unavailable(endpoint: &str) {
    let (authorizer, lines) = authorizer_at(endpoint).await;
    for attempt in 1..=2u64 {
        let started = Instant::now();
        let answer = invoke(
            &authorizer,
            &rest_event(Some(KEY), "203.0.113.7", "GET", "/"),
        )
        .await;
        let took = started.elapsed();
        assert_eq!(answer, Err(Refusal::Undecided(Reason::StoreUnavailable)));
        assert_ne!(answer.unwrap_err().to_string(), "Unauthorized");
        // The budget is 400 ms; allow scheduling slack on a loaded machine, far below 10 s.
        assert!(took < Duration::from_secs(3), "took {took:?}");
        assert_eq!(
            authorizer.store().reads(),
            attempt,
            "a failed read is not cached"
        );
    }
    let lines = lines.lines();
    assert_eq!(lines.len(), 2, "one line per request");
    for line in lines {
        assert_eq!(line["level"], "ERROR");
        assert_eq!(line["decision"], "error");
        assert_eq!(line["reason"], "store_unavailable");
        assert!(
            line["detail"]
                .as_str()
                .unwrap()
                .contains("could not be read"),
            "{line}"
        );
    }
}

/// A loopback port with nothing listening on it.
async fn closed_port() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{address}")
}

/// A server that answers every request with `response` (or never, when `None`).
async fn canned_server(response: Option<(&'static str, &'static str)>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 65536];
                let _ = socket.read(&mut buffer).await;
                match response {
                    Some((status, body)) => {
                        let reply = format!(
                            "HTTP/1.1 {status}\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        let _ = socket.write_all(reply.as_bytes()).await;
                    }
                    None => tokio::time::sleep(Duration::from_secs(30)).await,
                }
            });
        }
    });
    format!("http://{address}")
}

#[tokio::test]
async fn unreachable_store_is_an_error_not_unauthorized() {
    assert_store_unavailable(&closed_port().await).await;
}

#[tokio::test]
async fn store_that_never_answers_times_out_within_the_budget() {
    assert_store_unavailable(&canned_server(None).await).await;
}

#[tokio::test]
async fn throttled_store_is_an_error_not_unauthorized() {
    let throttled = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"Rate exceeded"}"#;
    assert_store_unavailable(&canned_server(Some(("400 Bad Request", throttled))).await).await;
}

#[tokio::test]
async fn failing_store_is_an_error_not_unauthorized() {
    let failing = r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"Internal server error"}"#;
    assert_store_unavailable(&canned_server(Some(("500 Internal Server Error", failing))).await)
        .await;
}

#[tokio::test]
async fn garbage_from_the_store_is_an_error_not_unauthorized() {
    assert_store_unavailable(&canned_server(Some(("200 OK", "{not json"))).await).await;
}

#[tokio::test]
async fn missing_table_is_an_error_not_unauthorized() {
    let settings = settings(&[(keyfence::config::TABLE_NAME, "no-such-table")]);
    let store = DynamoDbStore::from_settings(&settings, Some(&dynamodb_endpoint())).await;
    let answer = invoke(
        &quiet(Authorizer::new(
            settings,
            store,
            Arc::new(ManualClock::at(NOW)),
        )),
        &rest_event(Some(KEY), "203.0.113.7", "GET", "/"),
    )
    .await;
    assert_eq!(answer, Err(Refusal::Undecided(Reason::StoreUnavailable)));
}
