//! `make bench`: the request path against its floor, CIDR matching against a linear scan, and
//! key parsing and hashing. The request path reads its key once from the local DynamoDB that
//! `make bench` starts (KEYFENCE_BENCH_DYNAMODB), then from the key cache, as a warm Lambda does.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use keyfence::authorizer::decision_log::DecisionLog;
use keyfence::authorizer::handler::Authorizer;
use keyfence::clock::SystemClock;
use keyfence::config::{CACHE_TTL_SECONDS, Settings, TABLE_NAME};
use keyfence::core::api_key::ApiKey;
use keyfence::core::cidr_set::{Cidr, CidrSet};
use keyfence::store::KeyStore;
use keyfence::store::cache::CachedStore;
use keyfence::store::dynamodb::DynamoDbStore;
use serde_json::Value;
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The authorizer as the Lambda builds it, on a fresh table holding the demo keys.
async fn authorizer() -> Authorizer<CachedStore<DynamoDbStore>> {
    // `make test` runs each benchmark once as a test, against its own local table.
    let endpoint = std::env::var("KEYFENCE_BENCH_DYNAMODB")
        .or_else(|_| std::env::var("KEYFENCE_TEST_DYNAMODB"))
        .expect("no local DynamoDB: run the benchmarks with `make bench`");
    let table = format!("keyfence-bench-{}", std::process::id());
    let env = [(TABLE_NAME, table.as_str()), (CACHE_TTL_SECONDS, "3600")];
    let settings = Settings::from_lookup(|n| {
        env.iter()
            .find(|(k, _)| *k == n)
            .map(|(_, v)| v.to_string())
    })
    .unwrap();
    let store = DynamoDbStore::from_settings(&settings, Some(&endpoint)).await;
    store.create_table().await.unwrap();
    let seed = std::fs::read_to_string(format!("{ROOT}/events/demo-keys.json")).unwrap();
    for stored in keyfence::cli::seed::parse(&seed, 0).unwrap() {
        store.insert(&stored).await.unwrap();
    }
    let cache = CachedStore::new(store, settings.cache, Arc::new(SystemClock));
    // Decision lines are formatted as in Lambda, then dropped: formatting is part of the cost.
    let log = DecisionLog::to(|line| {
        black_box(line);
    });
    Authorizer::new(settings, cache, Arc::new(SystemClock)).with_log(log)
}

fn request_path(c: &mut Criterion) {
    let rt = runtime();
    let authorizer = rt.block_on(authorizer());
    let mut group = c.benchmark_group("request_path");
    for shape in ["rest", "http"] {
        let event = std::fs::read(format!("{ROOT}/events/{shape}-allowed.json")).unwrap();
        // One call fills the key cache and gives the floor a response of the same size.
        let response = rt.block_on(async {
            let value: Value = serde_json::from_slice(&event).unwrap();
            serde_json::to_value(authorizer.handle(&value).await.unwrap()).unwrap()
        });
        assert_eq!(
            response["context"]["reason"], "allowed",
            "{shape}: the demo key must be allowed"
        );
        assert_eq!(
            authorizer.store().reads(),
            1,
            "both events carry the same key"
        );

        group.bench_function(BenchmarkId::new("keyfence", shape), |b| {
            b.to_async(&rt).iter(|| async {
                let value: Value = serde_json::from_slice(black_box(&event)).unwrap();
                let answer = authorizer.handle(&value).await.unwrap();
                black_box(serde_json::to_vec(&answer).unwrap())
            })
        });
        group.bench_function(BenchmarkId::new("floor", shape), |b| {
            b.to_async(&rt).iter(|| async {
                let value: Value = serde_json::from_slice(black_box(&event)).unwrap();
                black_box(&value);
                black_box(serde_json::to_vec(black_box(&response)).unwrap())
            })
        });
    }
    group.finish();
    let reads = authorizer.store().reads();
    println!(
        "DynamoDB reads during the request-path benchmarks: {reads} (one per key, at warm-up)"
    );
}

/// Deterministic pseudo-random numbers, so every run matches the same lists.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 11
    }
}

/// `n` prefixes, three IPv4 to one IPv6, of typical partner-range lengths.
fn prefixes(n: usize, rng: &mut Lcg) -> Vec<Cidr> {
    (0..n)
        .map(|i| {
            let text = if i % 4 == 3 {
                let addr = Ipv6Addr::from(u128::from(rng.next()) << 64 | u128::from(rng.next()));
                format!("{addr}/{}", 32 + rng.next() % 33)
            } else {
                let addr = Ipv4Addr::from(rng.next() as u32);
                format!("{addr}/{}", 16 + rng.next() % 17)
            };
            let net: ipnet::IpNet = text.parse().unwrap();
            net.trunc().to_string().parse().unwrap()
        })
        .collect()
}

/// Probes: half inside a listed prefix, half random.
fn probes(blocks: &[Cidr], rng: &mut Lcg) -> Vec<IpAddr> {
    (0..1024)
        .map(|i| {
            if i % 2 == 0 {
                let block = blocks[rng.next() as usize % blocks.len()].net();
                block.network()
            } else if i % 8 == 1 {
                IpAddr::V6(Ipv6Addr::from(
                    u128::from(rng.next()) << 64 | u128::from(rng.next()),
                ))
            } else {
                IpAddr::V4(Ipv4Addr::from(rng.next() as u32))
            }
        })
        .collect()
}

fn cidr_matching(c: &mut Criterion) {
    let mut group = c.benchmark_group("cidr_match");
    let mut rng = Lcg(0x6b65_7966_656e_6365);
    for n in [1usize, 10, 1_000, 100_000] {
        let blocks = prefixes(n, &mut rng);
        let set = CidrSet::new(blocks.iter().copied());
        let nets: Vec<ipnet::IpNet> = blocks.iter().map(Cidr::net).collect();
        let probes = probes(&blocks, &mut rng);
        let agree = probes
            .iter()
            .all(|ip| set.contains(*ip) == nets.iter().any(|net| net.contains(ip)));
        assert!(
            agree,
            "the set and the linear scan disagree at {n} prefixes"
        );
        group.throughput(Throughput::Elements(probes.len() as u64));
        group.bench_with_input(BenchmarkId::new("cidr_set", n), &probes, |b, probes| {
            b.iter(|| probes.iter().filter(|ip| set.contains(**ip)).count())
        });
        if n <= 1_000 || std::env::var_os("KEYFENCE_BENCH_LINEAR_100K").is_some() {
            group.bench_with_input(BenchmarkId::new("linear_scan", n), &probes, |b, probes| {
                b.iter(|| {
                    probes
                        .iter()
                        .filter(|ip| nets.iter().any(|net| net.contains(*ip)))
                        .count()
                })
            });
        }
    }
    group.finish();
}

fn keys(c: &mut Criterion) {
    let mut group = c.benchmark_group("key");
    let issued = ApiKey::generate().unwrap().expose().to_owned();
    let imported = "legacy-partner-key-4f3e2d1c0b9a".to_owned();
    group.bench_function("parse_issued", |b| {
        b.iter(|| ApiKey::parse(black_box(&issued)).unwrap())
    });
    group.bench_function("parse_and_hash_issued", |b| {
        b.iter(|| ApiKey::parse(black_box(&issued)).unwrap().hash())
    });
    group.bench_function("parse_and_hash_imported", |b| {
        b.iter(|| ApiKey::parse(black_box(&imported)).unwrap().hash())
    });
    let mut typo = issued.clone();
    typo.replace_range(20..21, if &issued[20..21] == "a" { "b" } else { "a" });
    group.bench_function("refuse_mistyped", |b| {
        b.iter(|| ApiKey::parse(black_box(&typo)).is_err())
    });
    group.finish();
}

criterion_group!(benches, request_path, cidr_matching, keys);
criterion_main!(benches);
