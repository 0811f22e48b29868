use keyfence::authorizer::decision_log::DecisionLog;
use keyfence::authorizer::handler::{Authorizer, Refusal};
use keyfence::clock::ManualClock;
use keyfence::config::Settings;
use keyfence::core::api_key::ApiKey;
use keyfence::core::cidr_set::CidrSet;
use keyfence::core::key_record::{KeyRecord, KeyStatus, Routes};
use keyfence::core::reason::Reason;
use keyfence::store::KeyStore;
use keyfence::store::dynamodb::DynamoDbStore;
use keyfence::store::item::{KeyMeta, StoredKey};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

pub const ACCOUNT_API: &str = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5";
pub const NOW: i64 = 1_800_000_000;

pub fn dynamodb_endpoint() -> String {
    std::env::var("KEYFENCE_TEST_DYNAMODB")
        .expect("KEYFENCE_TEST_DYNAMODB is not set: run these tests with `make test`, which starts a local DynamoDB")
}

pub fn settings(pairs: &[(&str, &str)]) -> Settings {
    let env: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Settings::from_lookup(|name| env.get(name).cloned()).unwrap()
}

/// A fresh table on the local server, so tests running at once never see each other's keys.
pub struct TestTable {
    pub store: DynamoDbStore,
    pub settings: Settings,
}

impl TestTable {
    pub async fn new() -> Self {
        Self::with_settings(&[]).await
    }

    pub async fn with_settings(pairs: &[(&str, &str)]) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "keyfence-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut pairs = pairs.to_vec();
        pairs.push((keyfence::config::TABLE_NAME, &name));
        let settings = settings(&pairs);
        let store = DynamoDbStore::from_settings(&settings, Some(&dynamodb_endpoint())).await;
        store.create_table().await.expect("create the test table");
        Self { store, settings }
    }

    pub async fn add(&self, key: &str, record: &KeyRecord) {
        let stored = StoredKey {
            hash: ApiKey::parse(key).unwrap().hash(),
            record: record.clone(),
            meta: KeyMeta::new(NOW),
        };
        self.store
            .insert(&stored)
            .await
            .expect("insert the test record");
    }

    /// The authorizer straight on the table (no key cache), with the clock at `NOW`.
    pub fn authorizer(&self) -> Authorizer<DynamoDbStore> {
        let clock = Arc::new(ManualClock::at(NOW));
        quiet(Authorizer::new(
            self.settings.clone(),
            self.store.clone(),
            clock,
        ))
    }
}

/// Decision lines kept in memory, for tests that read them.
#[derive(Clone, Default)]
pub struct CapturedLines(Arc<Mutex<Vec<u8>>>);

impl CapturedLines {
    pub fn log(&self) -> DecisionLog {
        let buffer = self.0.clone();
        DecisionLog::to(move |line| buffer.lock().unwrap().extend_from_slice(line))
    }

    pub fn lines(&self) -> Vec<Value> {
        let bytes = self.0.lock().unwrap().clone();
        bytes
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).unwrap())
            .collect()
    }
}

/// Keeps decision lines out of the test output.
pub fn quiet<S: KeyStore>(authorizer: Authorizer<S>) -> Authorizer<S> {
    authorizer.with_log(DecisionLog::to(|_| {}))
}

pub fn record(key_id: &str, cidrs: &[&str], routes: Option<&[&str]>) -> KeyRecord {
    KeyRecord {
        key_id: key_id.parse().unwrap(),
        principal: format!("{key_id} partner").parse().unwrap(),
        status: KeyStatus::Active,
        cidrs: CidrSet::parse_all(cidrs.iter().copied()).unwrap(),
        routes: match routes {
            None => Routes::All,
            Some(patterns) => Routes::only(patterns.iter().map(|p| p.parse().unwrap()).collect()),
        },
        not_before: None,
        expires_at: None,
        usage_key: None,
        context: BTreeMap::new(),
        description: None,
    }
}

pub fn rest_event(key: Option<&str>, ip: &str, method: &str, path: &str) -> Value {
    let mut headers = serde_json::Map::new();
    if let Some(key) = key {
        headers.insert("X-Api-Key".into(), key.into());
    }
    json!({
        "type": "REQUEST",
        "methodArn": format!("{ACCOUNT_API}/prod/{method}{path}"),
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "requestContext": {"stage": "prod", "identity": {"sourceIp": ip}}
    })
}

pub fn http_event(key: &str, ip: &str, method: &str, path: &str) -> Value {
    json!({
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": format!("{ACCOUNT_API}/$default/{method}{path}"),
        "routeKey": format!("{method} {path}"),
        "rawPath": path,
        "headers": {"x-api-key": key},
        "requestContext": {"http": {"method": method, "path": path, "sourceIp": ip}, "stage": "$default"}
    })
}

pub fn websocket_event(key: &str, ip: &str) -> Value {
    json!({
        "type": "REQUEST",
        "methodArn": format!("{ACCOUNT_API}/prod/$connect"),
        "headers": {"X-Api-Key": key},
        "requestContext": {"eventType": "CONNECT", "routeKey": "$connect", "connectionId": "abc=", "identity": {"sourceIp": ip}}
    })
}

/// What API Gateway does with an answer, evaluated independently of keyfence's own matcher:
/// an explicit Deny wins, then any Allow whose Resource matches the ARN.
pub fn gateway_allows(answer: &Result<Value, Refusal>, arn: &str) -> bool {
    let Ok(answer) = answer else { return false };
    if let Some(authorized) = answer.get("isAuthorized") {
        return authorized == &json!(true);
    }
    let statements = answer["policyDocument"]["Statement"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let matching = |effect: &str| {
        statements.iter().any(|s| {
            s["Effect"] == effect
                && s["Action"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|a| a == "execute-api:Invoke")
                && s["Resource"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|r| glob(r.as_str().unwrap().as_bytes(), arn.as_bytes()))
        })
    };
    !matching("Deny") && matching("Allow")
}

fn glob(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => (0..=text.len()).any(|skip| glob(rest, &text[skip..])),
        Some((c, rest)) => text.first() == Some(c) && glob(rest, &text[1..]),
    }
}

/// The reason code of an answer: from the context of a policy, or from the refusal.
pub fn reason_of(answer: &Result<Value, Refusal>) -> Reason {
    match answer {
        Ok(value) => {
            let code = value["context"]["reason"].as_str().unwrap();
            *Reason::ALL.iter().find(|r| r.code() == code).unwrap()
        }
        Err(refusal) => refusal.reason(),
    }
}

/// Runs the handler and serializes its answer as Lambda would.
pub async fn invoke<S: KeyStore>(
    authorizer: &Authorizer<S>,
    event: &Value,
) -> Result<Value, Refusal> {
    authorizer
        .handle(event)
        .await
        .map(|response| serde_json::to_value(response).unwrap())
}
