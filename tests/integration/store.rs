//! The DynamoDB adapter against the local server: records round-trip, and items that cannot
//! be trusted are refused with the field named, and never allow.

use crate::helpers::*;
use aws_sdk_dynamodb::types::AttributeValue;
use keyfence::authorizer::handler::Refusal;
use keyfence::core::api_key::ApiKey;
use keyfence::core::key_record::ContextValue;
use keyfence::core::reason::Reason;
use keyfence::store::item::{self, Item, KeyMeta, StoredKey, item_from_record};
use keyfence::store::{KeyStore, StoreError};

const KEY: &str = "partner-test-key-0000000001";

async fn raw_client() -> aws_sdk_dynamodb::Client {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(dynamodb_endpoint())
        .load()
        .await;
    aws_sdk_dynamodb::Client::new(&config)
}

async fn put_raw(table: &TestTable, item: Item) {
    raw_client()
        .await
        .put_item()
        .table_name(table.store.table())
        .set_item(Some(item))
        .send()
        .await
        .expect("raw put");
}

fn good_item() -> Item {
    let mut record = record("acme", &["203.0.113.0/24"], Some(&["GET /pets/*"]));
    record.expires_at = Some(NOW + 3600);
    item_from_record(&ApiKey::parse(KEY).unwrap().hash(), &record)
}

#[tokio::test]
async fn a_record_round_trips_through_the_table() {
    let table = TestTable::new().await;
    let mut record = record(
        "acme",
        &["203.0.113.0/24", "2001:db8::/32"],
        Some(&["GET /pets/*", "$connect"]),
    );
    record.not_before = Some(NOW - 10);
    record.expires_at = Some(NOW + 10);
    record.usage_key = Some("usage-plan-key-000000000001".parse().unwrap());
    record
        .context
        .insert("tier".parse().unwrap(), ContextValue::Text("gold".into()));
    record.description = Some("round trip".into());
    table.add(KEY, &record).await;
    let found = table
        .store
        .find(&ApiKey::parse(KEY).unwrap().hash())
        .await
        .unwrap();
    assert_eq!(found.as_deref(), Some(&record));
}

#[tokio::test]
async fn an_unknown_hash_finds_nothing() {
    let table = TestTable::new().await;
    let found = table
        .store
        .find(&ApiKey::parse(KEY).unwrap().hash())
        .await
        .unwrap();
    assert_eq!(found, None);
}

#[tokio::test]
async fn inserting_the_same_key_twice_is_a_conflict() {
    let table = TestTable::new().await;
    let record = record("acme", &["203.0.113.0/24"], None);
    table.add(KEY, &record).await;
    let stored = StoredKey {
        hash: ApiKey::parse(KEY).unwrap().hash(),
        record,
        meta: KeyMeta::new(NOW),
    };
    let again = table.store.insert(&stored).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
}

#[tokio::test]
async fn lists_of_strings_are_read_like_string_sets() {
    let table = TestTable::new().await;
    let mut item = good_item();
    item.insert(
        item::CIDRS.into(),
        AttributeValue::L(vec![AttributeValue::S("203.0.113.0/24".into())]),
    );
    put_raw(&table, item).await;
    let answer = invoke(
        &table.authorizer(),
        &rest_event(Some(KEY), "203.0.113.7", "GET", "/pets/1"),
    )
    .await;
    assert_eq!(answer.unwrap()["context"]["reason"], "allowed");
}

#[tokio::test]
async fn untrustworthy_items_are_refused_naming_the_field_and_never_allow() {
    let table = TestTable::new().await;
    let authorizer = table.authorizer();
    let s = |v: &str| AttributeValue::S(v.into());
    let ss = |v: &[&str]| AttributeValue::Ss(v.iter().map(|s| s.to_string()).collect());
    let cases: Vec<(&str, Option<AttributeValue>)> = vec![
        (item::CIDRS, Some(ss(&["203.0.113.7/24"]))),
        (item::CIDRS, Some(ss(&["not-a-cidr"]))),
        (item::CIDRS, Some(s("203.0.113.0/24"))),
        (item::CIDRS, Some(AttributeValue::L(vec![]))),
        (item::CIDRS, None),
        (item::STATUS, Some(s("enabled"))),
        (item::STATUS, None),
        (item::PRINCIPAL, Some(AttributeValue::N("7".into()))),
        (item::ROUTES, Some(ss(&["GET pets"]))),
        (item::ROUTES, Some(AttributeValue::L(vec![]))),
        (item::EXPIRES_AT, Some(s("tomorrow"))),
        (item::EXPIRES_AT, Some(AttributeValue::N("1.5".into()))),
        (item::USAGE_KEY, Some(s("short"))),
        (
            item::CONTEXT,
            Some(AttributeValue::M(
                [("nested".to_string(), AttributeValue::M(Default::default()))].into(),
            )),
        ),
        (
            item::CONTEXT,
            Some(AttributeValue::M(
                [("keyId".to_string(), s("spoofed"))].into(),
            )),
        ),
        (item::KEY_ID, Some(s("Not A Key Id"))),
    ];
    for (field, value) in cases {
        let mut item = good_item();
        match &value {
            Some(v) => item.insert(field.into(), v.clone()),
            None => item.remove(field),
        };
        put_raw(&table, item).await;
        let found = table.store.find(&ApiKey::parse(KEY).unwrap().hash()).await;
        match found {
            Err(StoreError::InvalidRecord { field: named, .. }) => {
                assert_eq!(named, field, "{value:?}")
            }
            other => panic!("{field} = {value:?}: expected an invalid record, got {other:?}"),
        }
        let answer = invoke(
            &authorizer,
            &rest_event(Some(KEY), "203.0.113.7", "GET", "/pets/1"),
        )
        .await;
        assert_eq!(
            answer,
            Err(Refusal::Undecided(Reason::RecordInvalid)),
            "{field} = {value:?}"
        );
    }
}
