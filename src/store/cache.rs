//! A key cache in front of a store, inside the authorizer process.
//!
//! API Gateway caches answers per key *and* source IP; this caches records per key, so a busy
//! partner calling from many addresses costs one DynamoDB read per TTL, not one per address.
//! Unknown keys are cached too, for a shorter time. Concurrent misses on one key share a
//! single read. Failed reads are never cached: the next request tries the store again.
//!
//! Written here rather than taken from a cache crate because it needs a clock the tests
//! control, a different TTL for negative answers, and nothing else.

use crate::clock::Clock;
use crate::core::api_key::KeyHash;
use crate::core::key_record::KeyRecord;
use crate::store::{KeyStore, StoreError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;

type Found = Option<Arc<KeyRecord>>;
type Load = Arc<OnceCell<Result<Found, StoreError>>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CachePolicy {
    /// How long a found record is reused; zero turns the cache off.
    pub ttl: Duration,
    /// How long "no such key" is reused.
    pub negative_ttl: Duration,
    pub max_entries: usize,
}

enum Slot {
    Ready { found: Found, expires: Instant },
    Loading(Load),
}

pub struct CachedStore<S> {
    store: S,
    policy: CachePolicy,
    clock: Arc<dyn Clock>,
    slots: Mutex<HashMap<KeyHash, Slot>>,
}

impl<S: KeyStore + Sync> CachedStore<S> {
    pub fn new(store: S, policy: CachePolicy, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            policy,
            clock,
            slots: Mutex::new(HashMap::new()),
        }
    }

    pub fn inner(&self) -> &S {
        &self.store
    }

    fn slots(&self) -> MutexGuard<'_, HashMap<KeyHash, Slot>> {
        // A panic while holding the lock cannot leave a half-written map: every critical
        // section is a single insert or remove.
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The cached answer, or the load to join (starting one if none is running).
    fn lookup(&self, hash: &KeyHash) -> Result<Found, Load> {
        let now = self.clock.instant();
        let mut slots = self.slots();
        match slots.get(hash) {
            Some(Slot::Ready { found, expires }) if *expires > now => return Ok(found.clone()),
            Some(Slot::Loading(load)) => return Err(load.clone()),
            _ => {}
        }
        let load = Load::default();
        slots.insert(*hash, Slot::Loading(load.clone()));
        Err(load)
    }

    fn settle(&self, hash: &KeyHash, load: &Load, result: &Result<Found, StoreError>) {
        let mut slots = self.slots();
        let still_ours = matches!(slots.get(hash), Some(Slot::Loading(l)) if Arc::ptr_eq(l, load));
        if !still_ours {
            return;
        }
        let ttl = match result {
            Ok(Some(_)) => self.policy.ttl,
            Ok(None) => self.policy.negative_ttl,
            Err(_) => Duration::ZERO,
        };
        match result {
            Ok(found) if !ttl.is_zero() => {
                let now = self.clock.instant();
                if slots.len() > self.policy.max_entries {
                    evict(&mut slots, now, self.policy.max_entries);
                }
                slots.insert(
                    *hash,
                    Slot::Ready {
                        found: found.clone(),
                        expires: now + ttl,
                    },
                );
            }
            _ => {
                slots.remove(hash);
            }
        }
    }
}

/// Drops expired entries, then the soonest to expire, until there is room for one more.
/// Loads in flight are kept: their callers are waiting on them.
fn evict(slots: &mut HashMap<KeyHash, Slot>, now: Instant, max_entries: usize) {
    slots.retain(|_, slot| !matches!(slot, Slot::Ready { expires, .. } if *expires <= now));
    while slots.len() > max_entries {
        let soonest = slots
            .iter()
            .filter_map(|(hash, slot)| match slot {
                Slot::Ready { expires, .. } => Some((*expires, *hash)),
                Slot::Loading(_) => None,
            })
            .min_by_key(|(expires, _)| *expires);
        match soonest {
            Some((_, hash)) => {
                slots.remove(&hash);
            }
            None => break,
        }
    }
}

impl<S: KeyStore + Sync> KeyStore for CachedStore<S> {
    async fn find(&self, hash: &KeyHash) -> Result<Found, StoreError> {
        if self.policy.ttl.is_zero() {
            return self.store.find(hash).await;
        }
        let load = match self.lookup(hash) {
            Ok(found) => return Ok(found),
            Err(load) => load,
        };
        let result = load.get_or_init(|| self.store.find(hash)).await.clone();
        self.settle(hash, &load, &result);
        result
    }

    fn reads(&self) -> u64 {
        self.store.reads()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::core::api_key::ApiKey;
    use crate::core::test_support::record;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A store that counts reads and can be told to fail or to hold its answer.
    #[derive(Default)]
    struct CountingStore {
        reads: AtomicUsize,
        records: Mutex<HashMap<KeyHash, Arc<KeyRecord>>>,
        failing: std::sync::atomic::AtomicBool,
        gate: tokio::sync::Notify,
        gated: std::sync::atomic::AtomicBool,
    }

    impl KeyStore for CountingStore {
        async fn find(&self, hash: &KeyHash) -> Result<Found, StoreError> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            if self.gated.load(Ordering::SeqCst) {
                self.gate.notified().await;
            }
            if self.failing.load(Ordering::SeqCst) {
                return Err(StoreError::Unavailable {
                    detail: "test".into(),
                });
            }
            Ok(self.records.lock().unwrap().get(hash).cloned())
        }

        fn reads(&self) -> u64 {
            self.reads.load(Ordering::SeqCst) as u64
        }
    }

    const POLICY: CachePolicy = CachePolicy {
        ttl: Duration::from_secs(60),
        negative_ttl: Duration::from_secs(5),
        max_entries: 3,
    };

    fn key(n: usize) -> KeyHash {
        ApiKey::parse(&format!("cache-test-key-{n:08}"))
            .unwrap()
            .hash()
    }

    fn cache_with(
        keys: &[usize],
        policy: CachePolicy,
    ) -> (CachedStore<CountingStore>, Arc<ManualClock>) {
        let store = CountingStore::default();
        for &n in keys {
            store
                .records
                .lock()
                .unwrap()
                .insert(key(n), Arc::new(record()));
        }
        let clock = Arc::new(ManualClock::at(1_800_000_000));
        (CachedStore::new(store, policy, clock.clone()), clock)
    }

    #[tokio::test]
    async fn a_found_record_is_read_once_per_ttl() {
        let (cache, clock) = cache_with(&[1], POLICY);
        for _ in 0..3 {
            assert!(cache.find(&key(1)).await.unwrap().is_some());
        }
        assert_eq!(cache.reads(), 1);
        clock.advance(Duration::from_secs(60));
        assert!(cache.find(&key(1)).await.unwrap().is_some());
        assert_eq!(cache.reads(), 2);
    }

    #[tokio::test]
    async fn an_unknown_key_is_cached_for_the_shorter_ttl() {
        let (cache, clock) = cache_with(&[], POLICY);
        assert!(cache.find(&key(9)).await.unwrap().is_none());
        clock.advance(Duration::from_secs(4));
        assert!(cache.find(&key(9)).await.unwrap().is_none());
        assert_eq!(cache.reads(), 1);
        clock.advance(Duration::from_secs(1));
        assert!(cache.find(&key(9)).await.unwrap().is_none());
        assert_eq!(cache.reads(), 2);
    }

    #[tokio::test]
    async fn failures_are_not_cached() {
        let (cache, _) = cache_with(&[1], POLICY);
        cache.inner().failing.store(true, Ordering::SeqCst);
        assert!(cache.find(&key(1)).await.is_err());
        cache.inner().failing.store(false, Ordering::SeqCst);
        assert!(cache.find(&key(1)).await.unwrap().is_some());
        assert_eq!(cache.reads(), 2);
    }

    #[tokio::test]
    async fn zero_ttl_reads_every_time() {
        let (cache, _) = cache_with(
            &[1],
            CachePolicy {
                ttl: Duration::ZERO,
                ..POLICY
            },
        );
        cache.find(&key(1)).await.unwrap();
        cache.find(&key(1)).await.unwrap();
        assert_eq!(cache.reads(), 2);
    }

    #[tokio::test]
    async fn concurrent_misses_on_one_key_share_one_read() {
        let (cache, _) = cache_with(&[1], POLICY);
        cache.inner().gated.store(true, Ordering::SeqCst);
        let hash = key(1);
        let waiters = futures::future::join_all((0..20).map(|_| cache.find(&hash)));
        let release = async {
            // Let every waiter reach the cache before the single read answers.
            for _ in 0..50 {
                tokio::task::yield_now().await;
            }
            cache.inner().gate.notify_waiters();
        };
        let (results, ()) = tokio::join!(waiters, release);
        assert!(results.iter().all(|r| matches!(r, Ok(Some(_)))));
        assert_eq!(cache.reads(), 1);
    }

    #[tokio::test]
    async fn the_cache_stays_bounded() {
        let (cache, clock) = cache_with(&[1, 2, 3, 4, 5, 6], POLICY);
        for n in 1..=6 {
            cache.find(&key(n)).await.unwrap();
            clock.advance(Duration::from_secs(1));
        }
        assert!(cache.slots().len() <= POLICY.max_entries + 1);
        // The most recent key is still cached.
        cache.find(&key(6)).await.unwrap();
        assert_eq!(cache.reads(), 6);
    }
}
