//! The in-process tier in front of Redis: hot reads (sessions, profiles, token lookups, file
//! rows and URLs, namespace versions, lists) are answered from a bounded moka cache in this
//! process, so a cached request pays no Redis round trip.
//!
//! Coherence across instances: every write through this cache (set, delete, tombstone, version
//! bump, …) drops the key here and is published on a Redis pub/sub channel; every instance
//! subscribes and drops the keys it hears of. The tier is trusted only while the subscription
//! is up and Redis is not degraded: while either is down every read goes to Redis (or to the
//! source, as before), and the tier is emptied before it is trusted again, since what was
//! published meanwhile was not heard.
//!
//! Races: a reader that fetched a value from Redis before a write must not put it into the
//! tier after the write's invalidation. Every invalidation moves an epoch under a write lock;
//! a reader notes the epoch before asking Redis and fills the tier (under the read lock) only
//! if the epoch has not moved since.
//!
//! In front of the tier, each thread keeps its own copies of what it read from it (a
//! [`Front`]), dropped by the same invalidations, so a hot read touches no memory that the
//! other worker threads write.
//!
//! Values that go stale by themselves (a signed URL) still say so: the cache layer checks
//! `usable` on every read, whichever tier answered. Entries live here at most
//! `CACHE_LOCAL_TTL`, so an expiry in Redis (which is not published) is followed soon.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use futures::StreamExt;
use moka::sync::Cache as Moka;
use serde::{Deserialize, Serialize};
use tessera_domain::shared::cache::{Cache, CacheBackend, CacheError, CacheInfo, CachedValue};
use thread_local::ThreadLocal;
use tokio::sync::oneshot;

use crate::cache::front::{is_volatile, Front};
use crate::cache::memory::KeyHasher;
use crate::cache::redis::RedisCache;

/// A write of more keys than this is published as "drop everything" (an admin clear).
const MAX_KEYS_PER_MESSAGE: usize = 1000;
/// Reconnection backoff of the subscription.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// How the tier is sized.
#[derive(Debug, Clone, Copy)]
pub struct TierSettings {
    /// How long an entry lives in the tier at most (`CACHE_LOCAL_TTL`).
    pub ttl: Duration,
    /// How many bytes of keys and values the tier holds at most (`CACHE_LOCAL_MAX_BYTES`).
    pub max_bytes: u64,
}

/// What the tier has done since start, for stats and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TierStats {
    /// Reads answered by the tier.
    pub hits: u64,
    /// Reads that went to Redis (the tier did not have the key, or was not trusted).
    pub misses: u64,
    /// Entries held now.
    pub entries: u64,
    /// Whether the tier is trusted now (subscribed, Redis answering).
    pub trusted: bool,
    /// Invalidation messages heard (this instance's own included).
    pub messages: u64,
    /// How many times the tier has subscribed (1 + how often it had to subscribe again).
    pub subscriptions: u64,
    /// How late the last message arrived after it was sent, in microseconds (clocks of two
    /// hosts may differ; on one host it is the pub/sub lag).
    pub last_lag_us: u64,
}

/// Reads of one namespace (the key's first part, `file_url` of `file_url:7`) in the tier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierNamespaceStats {
    /// The namespace.
    pub namespace: String,
    /// Reads the tier answered.
    pub hits: u64,
    /// Reads that went to Redis.
    pub misses: u64,
    /// Entries held now.
    pub entries: u64,
}

/// The reads one thread made: hits and misses in all, and per namespace. Each thread counts
/// its own under a lock only the stats take besides it, so a read writes no memory that
/// another thread writes.
#[derive(Default)]
struct ThreadCounts {
    hits: u64,
    misses: u64,
    by_namespace: HashMap<String, (u64, u64), KeyHasher>,
}

/// Told how late each invalidation message arrived (the metrics' lag histogram).
pub type LagObserver = Box<dyn Fn(Duration) + Send + Sync>;

/// One invalidation message: who sent it, when, and which keys (none: every key).
#[derive(Debug, Serialize, Deserialize)]
struct Message {
    /// The sending instance.
    from: String,
    /// Unix microseconds when it was sent.
    at: u64,
    /// The keys written; absent means every key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    keys: Option<Vec<String>>,
}

/// Redis with an in-process tier in front, kept coherent through pub/sub.
#[derive(Clone)]
pub struct TieredCache {
    inner: Arc<Inner>,
}

/// What the tier holds for a key: Redis's answer (`None`: no such key), and when the tier
/// drops it.
#[derive(Clone)]
struct Local {
    value: Option<CachedValue>,
    until: Instant,
}

struct Inner {
    remote: RedisCache,
    local: Moka<String, Local, KeyHasher>,
    /// How long an entry lives in the tier.
    local_ttl: Duration,
    /// Each thread's copies of what it read from the tier.
    front: Front,
    /// Moved by every invalidation; see the module docs.
    epoch: AtomicU64,
    /// Fills take it shared, invalidations exclusive.
    fill: RwLock<()>,
    subscribed: AtomicBool,
    /// Set while Redis was seen degraded: the tier is emptied before it is trusted again.
    missed_writes: AtomicBool,
    instance: String,
    channel: String,
    /// Reads counted per thread; see [`ThreadCounts`].
    counts: ThreadLocal<Mutex<ThreadCounts>>,
    messages: AtomicU64,
    subscriptions: AtomicU64,
    last_lag_us: AtomicU64,
    lag_observer: OnceLock<LagObserver>,
    /// Dropped with the cache, which stops the subscriber.
    _stop: oneshot::Sender<()>,
}

impl TieredCache {
    /// The tier over `remote`; starts the subscriber (the tier is trusted once it has
    /// subscribed).
    pub fn new(remote: RedisCache, settings: TierSettings) -> Self {
        let (stop, stopped) = oneshot::channel();
        let local = Moka::builder()
            .max_capacity(settings.max_bytes)
            .weigher(|key: &String, local: &Local| {
                let size = 64 + key.len() + local.value.as_ref().map_or(0, |v| v.len());
                u32::try_from(size).unwrap_or(u32::MAX)
            })
            .time_to_live(settings.ttl)
            .build_with_hasher(KeyHasher::default());
        let inner = Arc::new(Inner {
            channel: remote.invalidation_channel(),
            remote,
            local,
            local_ttl: settings.ttl,
            front: Front::default(),
            epoch: AtomicU64::new(0),
            fill: RwLock::new(()),
            subscribed: AtomicBool::new(false),
            missed_writes: AtomicBool::new(false),
            instance: uuid::Uuid::new_v4().simple().to_string(),
            counts: ThreadLocal::new(),
            messages: AtomicU64::new(0),
            subscriptions: AtomicU64::new(0),
            last_lag_us: AtomicU64::new(0),
            lag_observer: OnceLock::new(),
            _stop: stop,
        });
        tokio::spawn(subscribe(Arc::downgrade(&inner), stopped));
        Self { inner }
    }

    /// What the tier has done since start.
    pub fn stats(&self) -> TierStats {
        let inner = &self.inner;
        inner.local.run_pending_tasks();
        TierStats {
            hits: inner.sum(|c| c.hits),
            misses: inner.sum(|c| c.misses),
            entries: inner.local.entry_count(),
            trusted: inner.trusted(),
            messages: inner.messages.load(Ordering::Relaxed),
            subscriptions: inner.subscriptions.load(Ordering::Relaxed),
            last_lag_us: inner.last_lag_us.load(Ordering::Relaxed),
        }
    }

    /// Reads and entries of each namespace the tier has seen (entries are counted by walking
    /// the tier: for a scrape, not for every request).
    pub fn namespace_stats(&self) -> Vec<TierNamespaceStats> {
        let inner = &self.inner;
        let mut entries: HashMap<String, u64> = HashMap::new();
        for (key, _) in inner.local.iter() {
            *entries.entry(namespace_of(&key).to_owned()).or_default() += 1;
        }
        let mut reads: HashMap<String, (u64, u64)> = HashMap::new();
        for counts in inner.counts.iter() {
            let counts = counts.lock().unwrap_or_else(PoisonError::into_inner);
            for (namespace, (hits, misses)) in &counts.by_namespace {
                let total = reads.entry(namespace.clone()).or_default();
                total.0 += hits;
                total.1 += misses;
            }
        }
        let mut stats: Vec<TierNamespaceStats> = reads
            .into_iter()
            .map(|(namespace, (hits, misses))| TierNamespaceStats {
                entries: entries.get(&namespace).copied().unwrap_or(0),
                namespace,
                hits,
                misses,
            })
            .collect();
        stats.sort_by(|a, b| a.namespace.cmp(&b.namespace));
        stats
    }

    /// Tells `observer` how late every invalidation message arrives from now on (once).
    pub fn observe_lag(&self, observer: LagObserver) {
        let _ = self.inner.lag_observer.set(observer);
    }

    /// The Redis cache behind the tier.
    pub fn remote(&self) -> &RedisCache {
        &self.inner.remote
    }

    /// Drops `keys` here, then tells the other instances.
    async fn written(&self, keys: &[&str]) {
        let keys: Vec<String> = keys
            .iter()
            .filter(|k| tiered(k))
            .map(|k| (*k).to_owned())
            .collect();
        if keys.is_empty() {
            return;
        }
        let everything = keys.len() > MAX_KEYS_PER_MESSAGE;
        if everything {
            self.inner.drop_all();
        } else {
            self.inner.drop_keys(&keys);
        }
        let message = Message {
            from: self.inner.instance.clone(),
            at: unix_micros(),
            keys: (!everything).then_some(keys),
        };
        let Ok(payload) = serde_json::to_string(&message) else {
            return;
        };
        if let Err(e) = self
            .inner
            .remote
            .publish(&self.inner.channel, &payload)
            .await
        {
            // The others keep what they hold for at most CACHE_LOCAL_TTL, unless their
            // subscription breaks too (then they drop everything).
            tracing::warn!(error = %e, "could not publish a cache invalidation to the other instances");
        }
    }
}

impl Inner {
    /// Whether reads may be answered here.
    fn trusted(&self) -> bool {
        if self.remote.is_degraded() {
            self.missed_writes.store(true, Ordering::Release);
            return false;
        }
        if !self.subscribed.load(Ordering::Acquire) {
            return false;
        }
        // Read first: a swap on every read would write a cache line every thread reads.
        if self.missed_writes.load(Ordering::Acquire)
            && self.missed_writes.swap(false, Ordering::AcqRel)
        {
            // Writes made while Redis was degraded could not be published.
            self.drop_all();
        }
        true
    }

    fn drop_keys(&self, keys: &[String]) {
        let _exclusive = self.fill.write().unwrap_or_else(PoisonError::into_inner);
        self.epoch.fetch_add(1, Ordering::AcqRel);
        for key in keys {
            self.local.invalidate(key);
        }
        self.front.invalidate();
    }

    fn drop_all(&self) {
        let _exclusive = self.fill.write().unwrap_or_else(PoisonError::into_inner);
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.local.invalidate_all();
        self.front.invalidate();
    }

    /// Keeps what Redis answered for `key`, unless an invalidation came since `epoch`.
    fn fill(&self, epoch: u64, key: &str, value: Option<&CachedValue>) {
        let _shared = self.fill.read().unwrap_or_else(PoisonError::into_inner);
        if self.epoch.load(Ordering::Acquire) == epoch && self.subscribed.load(Ordering::Acquire) {
            let local = Local {
                value: value.cloned(),
                until: Instant::now() + self.local_ttl,
            };
            self.local.insert(key.to_owned(), local);
        }
    }

    /// What the tier holds for `key`, if anything: this thread's copy, else the tier's entry
    /// (then copied). Only while the tier is trusted.
    fn read(&self, key: &str) -> Option<Option<CachedValue>> {
        let ticket = match self.front.get(key, Instant::now()) {
            Ok(value) => return Some(Some(value)),
            Err(ticket) => ticket,
        };
        let local = self.local.get(key)?;
        if let Some(value) = &local.value {
            self.front.keep(ticket, key, value, local.until);
        }
        Some(local.value)
    }

    /// Counts a read of `key`, in all and in its namespace, on this thread's counts.
    fn count(&self, key: &str, hit: bool) {
        let mut counts = self
            .counts
            .get_or_default()
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let namespace = namespace_of(key);
        let reads = match counts.by_namespace.get_mut(namespace) {
            Some(reads) => reads,
            None => counts.by_namespace.entry(namespace.to_owned()).or_default(),
        };
        if hit {
            reads.0 += 1;
            counts.hits += 1;
        } else {
            reads.1 += 1;
            counts.misses += 1;
        }
    }

    /// The sum over every thread's counts of what `of` picks.
    fn sum(&self, of: impl Fn(&ThreadCounts) -> u64) -> u64 {
        self.counts
            .iter()
            .map(|counts| of(&counts.lock().unwrap_or_else(PoisonError::into_inner)))
            .sum()
    }

    fn heard(&self, payload: &str) {
        let Ok(message) = serde_json::from_str::<Message>(payload) else {
            tracing::warn!("ignored a malformed cache invalidation message");
            return;
        };
        self.messages.fetch_add(1, Ordering::Relaxed);
        let lag_us = unix_micros().saturating_sub(message.at);
        self.last_lag_us.store(lag_us, Ordering::Relaxed);
        if let Some(observe) = self.lag_observer.get() {
            observe(Duration::from_micros(lag_us));
        }
        if message.from == self.instance {
            return;
        }
        match message.keys {
            Some(keys) => self.drop_keys(&keys),
            None => self.drop_all(),
        }
    }
}

/// The message that makes every instance empty its tier, sent by `from`.
pub(crate) fn drop_everything_message(from: &str) -> String {
    serde_json::json!({ "from": from, "at": unix_micros() }).to_string()
}

/// Keeps the subscription up while the cache lives; the tier is trusted only while it is.
async fn subscribe(inner: Weak<Inner>, mut stop: oneshot::Receiver<()>) {
    let mut backoff = FIRST_BACKOFF;
    loop {
        let Some(pubsub) = inner.upgrade().map(|i| i.remote.clone()) else {
            return;
        };
        let channel = match inner.upgrade() {
            Some(i) => i.channel.clone(),
            None => return,
        };
        let connected = tokio::select! {
            _ = &mut stop => return,
            connected = pubsub.subscribe(&channel) => connected,
        };
        match connected {
            Ok(mut messages) => {
                backoff = FIRST_BACKOFF;
                if let Some(inner) = inner.upgrade() {
                    // Whatever was published before now was not heard: start empty.
                    inner.drop_all();
                    inner.subscribed.store(true, Ordering::Release);
                    inner.subscriptions.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!("subscribed to cache invalidations; the in-process tier is on");
                }
                loop {
                    let message = tokio::select! {
                        _ = &mut stop => return,
                        message = messages.next() => message,
                    };
                    let Some(message) = message else { break };
                    let Some(inner) = inner.upgrade() else { return };
                    match message.get_payload::<String>() {
                        Ok(payload) => inner.heard(&payload),
                        Err(_) => inner.drop_all(),
                    }
                }
                if let Some(inner) = inner.upgrade() {
                    inner.subscribed.store(false, Ordering::Release);
                    inner.drop_all();
                }
                tracing::warn!("lost the cache invalidation channel; reading through to Redis until it is back");
            }
            Err(e) => {
                tracing::debug!(error = %e, "could not subscribe to cache invalidations; retrying");
            }
        }
        tokio::select! {
            _ = &mut stop => return,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// The namespace of a key: its first part.
fn namespace_of(key: &str) -> &str {
    key.split(':').next().unwrap_or(key)
}

/// Whether `key` is kept in the tier and its writes published ([`is_volatile`]).
fn tiered(key: &str) -> bool {
    !is_volatile(key)
}

fn unix_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[async_trait]
impl Cache for TieredCache {
    fn backend(&self) -> CacheBackend {
        CacheBackend::Redis
    }

    fn is_degraded(&self) -> bool {
        self.inner.remote.is_degraded()
    }

    async fn ping(&self) -> Result<(), CacheError> {
        self.inner.remote.ping().await
    }

    async fn get(&self, key: &str) -> Result<Option<CachedValue>, CacheError> {
        let inner = &self.inner;
        if !tiered(key) {
            return inner.remote.get(key).await;
        }
        let trusted = inner.trusted();
        if trusted {
            if let Some(value) = inner.read(key) {
                inner.count(key, true);
                return Ok(value);
            }
        }
        inner.count(key, false);
        let epoch = inner.epoch.load(Ordering::Acquire);
        let value = inner.remote.get(key).await?;
        if trusted {
            inner.fill(epoch, key, value.as_ref());
        }
        Ok(value)
    }

    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<CachedValue>>, CacheError> {
        let inner = &self.inner;
        let trusted = inner.trusted();
        let mut found: Vec<Option<Option<CachedValue>>> = vec![None; keys.len()];
        if trusted {
            for (slot, key) in found.iter_mut().zip(keys) {
                if tiered(key) {
                    *slot = inner.read(key);
                }
            }
        }
        let missing: Vec<usize> = (0..keys.len()).filter(|i| found[*i].is_none()).collect();
        for (key, slot) in keys.iter().zip(&found) {
            if tiered(key) {
                inner.count(key, slot.is_some());
            }
        }
        if !missing.is_empty() {
            let epoch = inner.epoch.load(Ordering::Acquire);
            let asked: Vec<String> = missing.iter().map(|i| keys[*i].clone()).collect();
            let answered = inner.remote.get_many(&asked).await?;
            for (i, value) in missing.into_iter().zip(answered) {
                if trusted && tiered(&keys[i]) {
                    inner.fill(epoch, &keys[i], value.as_ref());
                }
                found[i] = Some(value);
            }
        }
        Ok(found.into_iter().map(Option::flatten).collect())
    }

    async fn set(&self, key: &str, value: &str, ttl: Duration) -> Result<(), CacheError> {
        let result = self.inner.remote.set(key, value, ttl).await;
        self.written(&[key]).await;
        result
    }

    async fn set_many(&self, entries: &[(String, String, Duration)]) -> Result<(), CacheError> {
        let result = self.inner.remote.set_many(entries).await;
        let keys: Vec<&str> = entries.iter().map(|(k, _, _)| k.as_str()).collect();
        self.written(&keys).await;
        result
    }

    async fn set_if_absent(
        &self,
        key: &str,
        value: &str,
        ttl: Duration,
    ) -> Result<bool, CacheError> {
        let stored = self.inner.remote.set_if_absent(key, value, ttl).await?;
        if stored {
            self.written(&[key]).await;
        }
        Ok(stored)
    }

    async fn delete(&self, keys: &[String]) -> Result<u64, CacheError> {
        let result = self.inner.remote.delete(keys).await;
        let written: Vec<&str> = keys.iter().map(String::as_str).collect();
        self.written(&written).await;
        result
    }

    async fn add_member(&self, key: &str, member: &str, ttl: Duration) -> Result<(), CacheError> {
        self.inner.remote.add_member(key, member, ttl).await
    }

    async fn members(&self, key: &str) -> Result<Vec<String>, CacheError> {
        self.inner.remote.members(key).await
    }

    async fn remove_member(&self, key: &str, member: &str) -> Result<(), CacheError> {
        self.inner.remote.remove_member(key, member).await
    }

    async fn count_hits(
        &self,
        key: &str,
        hits: u64,
        window: Duration,
    ) -> Result<(u64, Duration), CacheError> {
        let result = self.inner.remote.count_hits(key, hits, window).await;
        self.written(&[key]).await;
        result
    }

    async fn incr_by(&self, key: &str, by: i64) -> Result<i64, CacheError> {
        let result = self.inner.remote.incr_by(key, by).await;
        self.written(&[key]).await;
        result
    }

    async fn take(&self, key: &str) -> Result<Option<String>, CacheError> {
        let result = self.inner.remote.take(key).await;
        self.written(&[key]).await;
        result
    }

    async fn delete_if_equal(&self, key: &str, expected: &str) -> Result<bool, CacheError> {
        let removed = self.inner.remote.delete_if_equal(key, expected).await?;
        if removed {
            self.written(&[key]).await;
        }
        Ok(removed)
    }

    async fn zincr_by(
        &self,
        key: &str,
        member: &str,
        by: f64,
        ttl: Duration,
    ) -> Result<f64, CacheError> {
        self.inner.remote.zincr_by(key, member, by, ttl).await
    }

    async fn zset_scores(
        &self,
        key: &str,
        scores: &[(String, f64)],
        ttl: Duration,
    ) -> Result<(), CacheError> {
        self.inner.remote.zset_scores(key, scores, ttl).await
    }

    async fn zrev_range(
        &self,
        key: &str,
        limit: Option<usize>,
    ) -> Result<Vec<(String, f64)>, CacheError> {
        self.inner.remote.zrev_range(key, limit).await
    }

    async fn zrem(&self, key: &str, members: &[String]) -> Result<u64, CacheError> {
        self.inner.remote.zrem(key, members).await
    }

    async fn scan_prefix(&self, prefix: &str) -> Result<Vec<String>, CacheError> {
        self.inner.remote.scan_prefix(prefix).await
    }

    async fn ttls(&self, keys: &[String]) -> Result<Vec<Option<Duration>>, CacheError> {
        self.inner.remote.ttls(keys).await
    }

    async fn info(&self) -> Result<CacheInfo, CacheError> {
        self.inner.remote.info().await
    }

    async fn zrange_by_score(&self, key: &str, max: f64) -> Result<Vec<(String, f64)>, CacheError> {
        self.inner.remote.zrange_by_score(key, max).await
    }

    async fn replace_many(
        &self,
        entries: &[(String, String, Duration)],
    ) -> Result<Vec<bool>, CacheError> {
        let result = self.inner.remote.replace_many(entries).await;
        let keys: Vec<&str> = entries.iter().map(|(k, _, _)| k.as_str()).collect();
        self.written(&keys).await;
        result
    }
}
