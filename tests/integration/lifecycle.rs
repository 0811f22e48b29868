//! Key lifecycle against the local table: the CLI's operations, then the authorizer's answer.

use crate::helpers::*;
use keyfence::authorizer::handler::{Authorizer, Refusal};
use keyfence::cli::CliError;
use keyfence::cli::keys::{self, GrantArgs, UpdateArgs};
use keyfence::clock::ManualClock;
use keyfence::core::reason::Reason;
use keyfence::store::cache::CachedStore;
use keyfence::store::{KeyStore, StoreError};
use std::sync::Arc;
use std::time::Duration;

fn grants(cidrs: &[&str]) -> GrantArgs {
    GrantArgs {
        principal: "Acme Corp".into(),
        cidrs: cidrs.iter().map(|c| c.to_string()).collect(),
        ..GrantArgs::default()
    }
}

async fn ask(table: &TestTable, key: &str, ip: &str) -> Reason {
    reason_of(
        &invoke(
            &table.authorizer(),
            &rest_event(Some(key), ip, "GET", "/pets"),
        )
        .await,
    )
}

#[tokio::test]
async fn create_authorize_revoke() {
    let table = TestTable::new().await;
    let (key, stored) = keys::create(&table.store, &grants(&["203.0.113.0/24"]), NOW)
        .await
        .unwrap();
    assert_eq!(key.embedded_key_id(), Some(stored.record.key_id.as_str()));
    assert_eq!(
        ask(&table, key.expose(), "203.0.113.9").await,
        Reason::Allowed
    );
    assert_eq!(
        ask(&table, key.expose(), "198.51.100.9").await,
        Reason::SourceIpNotAllowed
    );

    keys::revoke(&table.store, stored.record.key_id.as_str(), NOW)
        .await
        .unwrap();
    assert_eq!(
        ask(&table, key.expose(), "203.0.113.9").await,
        Reason::KeyRevoked
    );
}

#[tokio::test]
async fn rotation_keeps_both_keys_during_the_overlap_then_only_the_new_one() {
    let table = TestTable::new().await;
    let (old_key, old) = keys::create(&table.store, &grants(&["203.0.113.0/24"]), NOW)
        .await
        .unwrap();
    let id = old.record.key_id.to_string();
    let (new_key, new, shortened) = keys::rotate(&table.store, &id, Duration::from_secs(3600), NOW)
        .await
        .unwrap();
    assert_eq!(new.record.cidrs, old.record.cidrs);
    assert_eq!(
        shortened.meta.replaced_by.as_ref(),
        Some(&new.record.key_id)
    );

    let clock = Arc::new(ManualClock::at(NOW));
    let authorizer = quiet(Authorizer::new(
        table.settings.clone(),
        table.store.clone(),
        clock.clone(),
    ));
    let at = |key: &str| rest_event(Some(key), "203.0.113.9", "GET", "/pets");
    assert_eq!(
        reason_of(&invoke(&authorizer, &at(old_key.expose())).await),
        Reason::Allowed
    );
    assert_eq!(
        reason_of(&invoke(&authorizer, &at(new_key.expose())).await),
        Reason::Allowed
    );
    clock.advance(Duration::from_secs(3600));
    assert_eq!(
        reason_of(&invoke(&authorizer, &at(old_key.expose())).await),
        Reason::KeyExpired
    );
    assert_eq!(
        reason_of(&invoke(&authorizer, &at(new_key.expose())).await),
        Reason::Allowed
    );

    let again = keys::rotate(&table.store, &id, Duration::from_secs(60), NOW).await;
    assert!(matches!(again, Err(CliError::BadInput(m)) if m.contains("already rotated")));
}

#[tokio::test]
async fn an_existing_key_can_be_imported_and_then_works() {
    let table = TestTable::new().await;
    let legacy = "legacy-partner-key-4f3e2d1c";
    let stored = keys::import(
        &table.store,
        &format!("{legacy}\n"),
        Some("acme-legacy"),
        &grants(&["203.0.113.0/24"]),
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(stored.record.key_id.as_str(), "acme-legacy");
    assert_eq!(ask(&table, legacy, "203.0.113.9").await, Reason::Allowed);

    let twice = keys::import(
        &table.store,
        legacy,
        Some("acme-other"),
        &grants(&["203.0.113.0/24"]),
        NOW,
    )
    .await;
    assert!(
        matches!(twice, Err(CliError::Store(StoreError::Conflict(_)))),
        "{twice:?}"
    );
    let same_id = keys::import(
        &table.store,
        "another-legacy-key-0001",
        Some("acme-legacy"),
        &grants(&["203.0.113.0/24"]),
        NOW,
    )
    .await;
    assert!(
        matches!(same_id, Err(CliError::Store(StoreError::Conflict(_)))),
        "{same_id:?}"
    );
}

#[tokio::test]
async fn an_issued_key_keeps_its_embedded_id_on_import() {
    let table = TestTable::new().await;
    let key = keyfence::core::api_key::ApiKey::generate().unwrap();
    let embedded = key.embedded_key_id().unwrap().to_owned();
    let wrong = keys::import(
        &table.store,
        key.expose(),
        Some("other-id"),
        &grants(&["203.0.113.0/24"]),
        NOW,
    )
    .await;
    assert!(matches!(wrong, Err(CliError::BadInput(m)) if m.contains("--key-id")));
    let stored = keys::import(
        &table.store,
        key.expose(),
        None,
        &grants(&["203.0.113.0/24"]),
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(stored.record.key_id.as_str(), embedded);
}

#[tokio::test]
async fn bad_input_names_the_field_and_writes_nothing() {
    let table = TestTable::new().await;
    let with = |edit: fn(&mut GrantArgs)| {
        let mut g = grants(&["203.0.113.0/24"]);
        edit(&mut g);
        g
    };
    let cases: Vec<(GrantArgs, &str)> = vec![
        (with(|g| g.cidrs = vec!["203.0.113.0/33".into()]), "--cidr"),
        (
            with(|g| g.cidrs = vec!["203.0.113.7/24".into()]),
            "did you mean 203.0.113.0/24",
        ),
        (
            with(|g| g.cidrs = vec!["203.0.113.0/24".into(), "203.0.113.0/24".into()]),
            "given twice",
        ),
        (with(|g| g.cidrs = vec![]), "--cidr"),
        (with(|g| g.routes = vec!["GET pets".into()]), "--route"),
        (with(|g| g.routes = vec!["FETCH /pets".into()]), "--route"),
        (
            with(|g| g.expires = Some("2020-01-01".into())),
            "in the past",
        ),
        (with(|g| g.expires = Some("next week".into())), "--expires"),
        (with(|g| g.usage_key = Some("short".into())), "--usage-key"),
        (
            with(|g| g.context = vec!["no-equals-sign".into()]),
            "--context",
        ),
        (
            with(|g| g.context = vec!["keyId=spoof".into()]),
            "--context",
        ),
        (with(|g| g.principal = String::new()), "--principal"),
    ];
    for (grants, expected) in cases {
        match keys::create(&table.store, &grants, NOW).await {
            Err(CliError::BadInput(message)) => {
                assert!(message.contains(expected), "{message:?} lacks {expected:?}")
            }
            other => panic!(
                "{grants:?}: expected bad input, got {:?}",
                other.map(|(_, s)| s.record.key_id)
            ),
        }
    }
    assert!(
        keys::list(&table.store, None).await.unwrap().is_empty(),
        "nothing was written"
    );

    let unknown = keys::revoke(&table.store, "nosuchkey1", NOW).await;
    assert!(matches!(unknown, Err(CliError::NotFound(_))), "{unknown:?}");
}

#[tokio::test]
async fn updates_change_grants_and_refuse_what_does_not_fit() {
    let table = TestTable::new().await;
    let (key, stored) = keys::create(&table.store, &grants(&["203.0.113.0/24"]), NOW)
        .await
        .unwrap();
    let id = stored.record.key_id.to_string();
    let add = UpdateArgs {
        add_cidrs: vec!["198.51.100.0/24".into()],
        ..UpdateArgs::default()
    };
    keys::update(&table.store, &id, &add, NOW).await.unwrap();
    assert_eq!(
        ask(&table, key.expose(), "198.51.100.9").await,
        Reason::Allowed
    );

    let remove = UpdateArgs {
        remove_cidrs: vec!["203.0.113.0/24".into()],
        ..UpdateArgs::default()
    };
    keys::update(&table.store, &id, &remove, NOW).await.unwrap();
    assert_eq!(
        ask(&table, key.expose(), "203.0.113.9").await,
        Reason::SourceIpNotAllowed
    );

    let routes = UpdateArgs {
        add_routes: vec!["POST /orders".into()],
        ..UpdateArgs::default()
    };
    keys::update(&table.store, &id, &routes, NOW).await.unwrap();
    assert_eq!(
        ask(&table, key.expose(), "198.51.100.9").await,
        Reason::RouteNotAllowed
    );

    for (args, expected) in [
        (
            UpdateArgs {
                remove_cidrs: vec!["198.51.100.0/24".into()],
                ..UpdateArgs::default()
            },
            "no range",
        ),
        (
            UpdateArgs {
                remove_cidrs: vec!["192.0.2.0/24".into()],
                ..UpdateArgs::default()
            },
            "does not have it",
        ),
        (
            UpdateArgs {
                add_cidrs: vec!["198.51.100.0/24".into()],
                ..UpdateArgs::default()
            },
            "already has it",
        ),
        (
            UpdateArgs {
                expires: Some("2001-01-01".into()),
                ..UpdateArgs::default()
            },
            "in the past",
        ),
        (UpdateArgs::default(), "nothing to change"),
    ] {
        let result = keys::update(&table.store, &id, &args, NOW).await;
        assert!(
            matches!(&result, Err(CliError::BadInput(m)) if m.contains(expected)),
            "{expected}: {result:?}"
        );
    }
}

#[tokio::test]
async fn a_write_based_on_a_stale_read_is_refused() {
    let table = TestTable::new().await;
    let (_, stored) = keys::create(&table.store, &grants(&["203.0.113.0/24"]), NOW)
        .await
        .unwrap();
    let id = stored.record.key_id.to_string();
    let read_by_first_operator = keys::show(&table.store, &id).await.unwrap();
    keys::revoke(&table.store, &id, NOW).await.unwrap();
    let mut late = read_by_first_operator.clone();
    late.record.description = Some("late edit".into());
    late.meta.version += 1;
    let result = table
        .store
        .replace(&late, read_by_first_operator.meta.version)
        .await;
    assert!(matches!(result, Err(StoreError::Conflict(_))), "{result:?}");
    let now = keys::show(&table.store, &id).await.unwrap();
    assert_eq!(
        now.record.status.as_str(),
        "revoked",
        "the revocation survived"
    );
}

#[tokio::test]
async fn the_key_cache_reads_once_per_key_and_never_for_a_mistyped_key() {
    let table = TestTable::new().await;
    let (key, _) = keys::create(&table.store, &grants(&["203.0.113.0/24"]), NOW)
        .await
        .unwrap();
    let cache = CachedStore::new(
        table.store.clone(),
        table.settings.cache,
        Arc::new(ManualClock::at(NOW)),
    );
    let lines = CapturedLines::default();
    let authorizer = Authorizer::new(
        table.settings.clone(),
        cache,
        Arc::new(ManualClock::at(NOW)),
    )
    .with_log(lines.log());
    let reads = || authorizer.store().reads();

    let mut typo = key.expose().to_owned();
    let last = typo.pop().unwrap();
    typo.push(if last == 'a' { 'b' } else { 'a' });
    let answer = invoke(
        &authorizer,
        &rest_event(Some(&typo), "203.0.113.9", "GET", "/"),
    )
    .await;
    assert_eq!(answer, Err(Refusal::Unauthorized(Reason::KeyMalformed)));
    assert_eq!(reads(), 0, "a mistyped key never reaches the table");

    for expected_reads in [1, 1, 1] {
        let answer = invoke(
            &authorizer,
            &rest_event(Some(key.expose()), "203.0.113.9", "GET", "/"),
        )
        .await;
        assert_eq!(reason_of(&answer), Reason::Allowed);
        assert_eq!(reads(), expected_reads);
    }
    let other_ip = invoke(
        &authorizer,
        &rest_event(Some(key.expose()), "198.51.100.9", "GET", "/"),
    )
    .await;
    assert_eq!(reason_of(&other_ip), Reason::SourceIpNotAllowed);
    assert_eq!(reads(), 1, "another address reuses the cached record");

    let unknown = "partner-unknown-key-000001";
    for _ in 0..2 {
        let answer = invoke(
            &authorizer,
            &rest_event(Some(unknown), "203.0.113.9", "GET", "/"),
        )
        .await;
        assert_eq!(answer, Err(Refusal::Unauthorized(Reason::KeyUnknown)));
    }
    assert_eq!(reads(), 2, "an unknown key is cached too");

    // The decision lines count the same hits and misses, as CloudWatch metrics.
    let counted: Vec<(u64, u64)> = lines
        .lines()
        .iter()
        .map(|l| {
            (
                l["cache_hits"].as_u64().unwrap(),
                l["cache_misses"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        counted,
        [(0, 0), (0, 1), (1, 0), (1, 0), (1, 0), (0, 1), (1, 0)]
    );
}
