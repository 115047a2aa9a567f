//! The one cache-aside helper every cached read goes through (the seeds' `@cached`, done
//! properly): a namespace, a key, a TTL class and a loader. It counts hits and misses per
//! namespace, loads each key once however many callers miss it at the same moment (in this
//! process, and across instances through a short lock in the cache), and invalidates a
//! namespace by moving its version or a key by a tombstone.
//!
//! A cache failure is never the caller's failure: the loader answers and the cache is skipped.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::OnceCell;

use crate::shared::cache::{Cache, CacheBackend, CachedValue};
use crate::shared::counters::NamespaceCounters;
use crate::shared::time::Clock;
use crate::shared::{DomainError, DomainResult};

/// How long a class of cached values lives, each set by its own setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TtlClass {
    /// Figures that change with every write but are costly to compute (`CACHE_TTL_DASHBOARD`).
    Dashboard,
    /// What users and their lists look like (`CACHE_TTL_USER_DATA`).
    UserData,
    /// What changes rarely: the org tree, the material catalogue (`CACHE_TTL_STATIC`).
    Static,
    /// Configuration (`CACHE_TTL_CONFIG`).
    Config,
    /// Signed file URLs (`FILE_URL_CACHE_TTL`).
    FileUrl,
}

/// The TTL of each class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TtlClasses {
    /// [`TtlClass::Dashboard`]: 5 minutes.
    pub dashboard: Duration,
    /// [`TtlClass::UserData`]: 30 minutes.
    pub user_data: Duration,
    /// [`TtlClass::Static`]: 1 hour.
    pub static_data: Duration,
    /// [`TtlClass::Config`]: 24 hours.
    pub config: Duration,
    /// [`TtlClass::FileUrl`]: 45 minutes.
    pub file_url: Duration,
}

impl Default for TtlClasses {
    fn default() -> Self {
        Self {
            dashboard: Duration::from_secs(5 * 60),
            user_data: Duration::from_secs(30 * 60),
            static_data: Duration::from_secs(3600),
            config: Duration::from_secs(24 * 3600),
            file_url: Duration::from_secs(45 * 60),
        }
    }
}

impl TtlClasses {
    /// The TTL of `class`.
    pub fn of(&self, class: TtlClass) -> Duration {
        match class {
            TtlClass::Dashboard => self.dashboard,
            TtlClass::UserData => self.user_data,
            TtlClass::Static => self.static_data,
            TtlClass::Config => self.config,
            TtlClass::FileUrl => self.file_url,
        }
    }
}

/// How a namespace's entries are dropped when what they were computed from changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalidation {
    /// Keys carry the namespace's version (`members:v7:…`); one `INCR` of `<ns>:version` drops
    /// every entry at once (they are never read again and age out). For values that many
    /// writes touch, such as lists and figures.
    Version,
    /// Keys are `<ns>:<key>`; [`CacheLayer::forget`] replaces one with a tombstone for the given
    /// time, and fills never overwrite an entry, so a reader that loaded the old row just
    /// before cannot cache it again. For who-may-do-what: profiles, token lookups.
    Tombstone(Duration),
    /// Keys are `<ns>:<key>`; [`CacheLayer::forget`] deletes one. For values whose key names
    /// exactly what they depend on, such as one file's URL.
    Delete,
}

/// A cache namespace: the first part of its keys, its TTL class and how it is invalidated.
#[derive(Debug, PartialEq, Eq)]
pub struct Namespace {
    /// The key prefix and the name in stats and `clear` (`members`, `file_url`).
    pub name: &'static str,
    /// How long its entries live.
    pub ttl: TtlClass,
    /// How its entries are dropped.
    pub invalidation: Invalidation,
}

impl Namespace {
    /// Whether an administrator may clear it: not when it keeps tombstones, which clearing would
    /// lose (a demotion must not be forgotten).
    pub fn clearable(&self) -> bool {
        !matches!(self.invalidation, Invalidation::Tombstone(_))
    }
}

/// A value that can be cached. Most types only opt in (`impl Cacheable for X {}`); a value that
/// goes stale by itself (a signed URL) says when it may no longer be served and how long to
/// keep it.
pub trait Cacheable: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    /// Whether a cached value may still be served at `now`.
    fn usable(&self, _now: DateTime<Utc>) -> bool {
        true
    }

    /// How long to keep this value, given its class's TTL; `None` not to cache it at all.
    fn ttl(&self, class: Duration, _now: DateTime<Utc>) -> Option<Duration> {
        Some(class)
    }
}

/// Lists of cacheable things are cacheable.
impl<T> Cacheable for Vec<T> where T: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {}

/// What a tombstone holds.
const TOMBSTONE: &str = "\u{0}stale";
/// How long the cross-instance load lock lives at most (a crashed loader frees it by then).
const LOCK_TTL: Duration = Duration::from_secs(5);
/// How long a caller that lost the lock waits for the winner's value before loading itself.
const LOCK_WAIT: Duration = Duration::from_millis(1500);
/// How often it looks meanwhile.
const LOCK_POLL: Duration = Duration::from_millis(15);
/// How long a namespace's version lives; far longer than any entry under it.
const VERSION_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// The outcome of one flight: the value, type-erased so one map holds every namespace's.
type Loaded = Arc<dyn Any + Send + Sync>;
type Flight = Arc<OnceCell<Loaded>>;

/// A value and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Found<T> {
    /// The value.
    pub value: T,
    /// Whether it was served from the cache (else it was loaded).
    pub hit: bool,
}

/// Hit and miss counts of one namespace, and the namespace itself.
#[derive(Debug, Clone)]
pub struct NamespaceCount {
    /// The namespace.
    pub namespace: &'static Namespace,
    /// Its counters.
    pub counters: Arc<NamespaceCounters>,
}

/// The cache-aside helper. Cloning is cheap and shares everything.
#[derive(Clone)]
pub struct CacheLayer {
    cache: Arc<dyn Cache>,
    clock: Arc<dyn Clock>,
    ttls: TtlClasses,
    namespaces: Arc<Mutex<Vec<NamespaceCount>>>,
    flights: Arc<Mutex<HashMap<String, Flight>>>,
}

impl CacheLayer {
    /// The helper over `cache`, with these TTLs.
    pub fn new(cache: Arc<dyn Cache>, clock: Arc<dyn Clock>, ttls: TtlClasses) -> Self {
        Self {
            cache,
            clock,
            ttls,
            namespaces: Arc::default(),
            flights: Arc::default(),
        }
    }

    /// The cache underneath, for what is not cache-aside (counters, sets, admin scans).
    pub fn cache(&self) -> &Arc<dyn Cache> {
        &self.cache
    }

    /// The TTLs in force.
    pub fn ttls(&self) -> TtlClasses {
        self.ttls
    }

    /// Makes `ns` known to stats and `clear` before its first lookup.
    pub fn register(&self, ns: &'static Namespace) {
        self.counters(ns);
    }

    /// The counters of `ns`, registering it (for stats and `clear`) on first use.
    pub fn counters(&self, ns: &'static Namespace) -> Arc<NamespaceCounters> {
        let mut namespaces = self
            .namespaces
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(found) = namespaces.iter().find(|n| n.namespace.name == ns.name) {
            return Arc::clone(&found.counters);
        }
        let counters = Arc::new(NamespaceCounters::default());
        namespaces.push(NamespaceCount {
            namespace: ns,
            counters: Arc::clone(&counters),
        });
        counters
    }

    /// Every namespace used so far, in the order they were first used.
    pub fn namespaces(&self) -> Vec<NamespaceCount> {
        self.namespaces
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The registered namespace called `name`.
    pub fn namespace(&self, name: &str) -> Option<&'static Namespace> {
        self.namespaces()
            .into_iter()
            .map(|n| n.namespace)
            .find(|n| n.name == name)
    }

    /// The cached value of `key` in `ns`, or what `load` answers, cached then.
    pub async fn get_or_load<T, F, Fut>(
        &self,
        ns: &'static Namespace,
        key: &str,
        load: F,
    ) -> DomainResult<T>
    where
        T: Cacheable,
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = DomainResult<T>>,
    {
        Ok(self.lookup(ns, key, load).await?.value)
    }

    /// As [`CacheLayer::get_or_load`], saying whether the value came from the cache.
    pub async fn lookup<T, F, Fut>(
        &self,
        ns: &'static Namespace,
        key: &str,
        load: F,
    ) -> DomainResult<Found<T>>
    where
        T: Cacheable,
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = DomainResult<T>>,
    {
        let Some(full) = self.full_key(ns, key).await else {
            // The cache cannot say the version: it is down, so it is skipped altogether.
            self.counters(ns).miss();
            return Ok(Found {
                value: load().await?,
                hit: false,
            });
        };
        let cached = self.cache.get(&full).await.ok().flatten();
        self.resolve(ns, full, cached, load).await
    }

    /// As [`CacheLayer::lookup`] for a key of a [`Invalidation::Tombstone`] or
    /// [`Invalidation::Delete`] namespace whose entry the caller already read (several
    /// lookups of one request in one round trip: see [`CacheLayer::key`]).
    pub async fn lookup_read<T, F, Fut>(
        &self,
        ns: &'static Namespace,
        key: &str,
        read: Option<CachedValue>,
        load: F,
    ) -> DomainResult<Found<T>>
    where
        T: Cacheable,
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = DomainResult<T>>,
    {
        self.resolve(ns, self.key(ns, key), read, load).await
    }

    /// The cached values of `keys` in a namespace without versions, in order: one round trip
    /// for all of them, then `load` once for those that were missing (it gets their positions
    /// and answers their values in that order), written back in one pipeline.
    pub async fn lookup_many<T, F, Fut>(
        &self,
        ns: &'static Namespace,
        keys: &[String],
        load: F,
    ) -> DomainResult<Vec<Found<T>>>
    where
        T: Cacheable,
        F: FnOnce(Vec<usize>) -> Fut,
        Fut: std::future::Future<Output = DomainResult<Vec<T>>>,
    {
        let counters = self.counters(ns);
        let full: Vec<String> = keys.iter().map(|k| self.key(ns, k)).collect();
        let read = if full.is_empty() {
            Vec::new()
        } else {
            self.cache.get_many(&full).await.unwrap_or_default()
        };
        let now = self.clock.now();
        let mut found: Vec<Option<Found<T>>> = (0..keys.len())
            .map(|i| {
                read.get(i)
                    .and_then(Option::as_ref)
                    .and_then(|value| decode::<T>(value, now))
                    .map(|value| Found { value, hit: true })
            })
            .collect();
        let missing: Vec<usize> = (0..keys.len()).filter(|i| found[*i].is_none()).collect();
        for _ in 0..keys.len() - missing.len() {
            counters.hit();
        }
        for _ in 0..missing.len() {
            counters.miss();
        }
        if !missing.is_empty() {
            let loaded = load(missing.clone()).await?;
            if loaded.len() != missing.len() {
                return Err(DomainError::Unexpected(anyhow::anyhow!(
                    "a {} loader answered {} values for {} keys",
                    ns.name,
                    loaded.len(),
                    missing.len()
                )));
            }
            let ttl = self.ttls.of(ns.ttl);
            let entries: Vec<(String, String, Duration)> = missing
                .iter()
                .zip(&loaded)
                .filter_map(|(i, value)| {
                    let ttl = value.ttl(ttl, now).filter(|t| !t.is_zero())?;
                    Some((full[*i].clone(), serde_json::to_string(value).ok()?, ttl))
                })
                .collect();
            if !entries.is_empty() {
                let _ = self.cache.set_many(&entries).await;
            }
            let mut loaded: Vec<Option<T>> = loaded.into_iter().map(Some).collect();
            for (slot, i) in missing.iter().enumerate() {
                found[*i] = Some(Found {
                    value: loaded[slot].take().ok_or_else(|| {
                        DomainError::Unexpected(anyhow::anyhow!("a {} value went missing", ns.name))
                    })?,
                    hit: false,
                });
            }
        }
        Ok(found.into_iter().flatten().collect())
    }

    /// Stores `value` under `key` in `ns` whatever is there (warming, re-signing).
    pub async fn put<T: Cacheable>(&self, ns: &'static Namespace, key: &str, value: &T) -> bool {
        let Some(full) = self.full_key(ns, key).await else {
            return false;
        };
        let Some(ttl) = value.ttl(self.ttls.of(ns.ttl), self.clock.now()) else {
            return false;
        };
        let Ok(raw) = serde_json::to_string(value) else {
            return false;
        };
        self.cache.set(&full, &raw, ttl).await.is_ok()
    }

    /// Stores many values at once (one pipeline; in a versioned namespace, under the version
    /// read once before); answers how many were stored.
    pub async fn put_many<T: Cacheable>(
        &self,
        ns: &'static Namespace,
        values: &[(String, T)],
    ) -> usize {
        let Some(prefix) = self.full_key(ns, "").await else {
            return 0;
        };
        let now = self.clock.now();
        let class = self.ttls.of(ns.ttl);
        let entries: Vec<(String, String, Duration)> = values
            .iter()
            .filter_map(|(key, value)| {
                let ttl = value.ttl(class, now).filter(|t| !t.is_zero())?;
                Some((
                    format!("{prefix}{key}"),
                    serde_json::to_string(value).ok()?,
                    ttl,
                ))
            })
            .collect();
        if entries.is_empty() || self.cache.set_many(&entries).await.is_err() {
            0
        } else {
            entries.len()
        }
    }

    /// Drops every entry of a [`Invalidation::Version`] namespace by moving its version (one
    /// `INCR`); the old entries are never read again and age out.
    pub async fn invalidate(&self, ns: &'static Namespace) {
        debug_assert_eq!(ns.invalidation, Invalidation::Version);
        if let Err(e) = self.cache.count_hit(&version_key(ns), VERSION_TTL).await {
            tracing::warn!(namespace = ns.name, error = %e, "could not invalidate a cache namespace; its entries expire with their TTL");
        }
    }

    /// Drops the entries of `keys` in a [`Invalidation::Tombstone`] or [`Invalidation::Delete`]
    /// namespace (a tombstone or a delete, as the namespace says).
    pub async fn forget(&self, ns: &'static Namespace, keys: &[String]) {
        let full: Vec<String> = keys.iter().map(|k| self.key(ns, k)).collect();
        let result = match ns.invalidation {
            Invalidation::Tombstone(ttl) => {
                let entries: Vec<_> = full
                    .iter()
                    .map(|k| (k.clone(), TOMBSTONE.to_owned(), ttl))
                    .collect();
                self.cache.set_many(&entries).await
            }
            Invalidation::Delete | Invalidation::Version => {
                self.cache.delete(&full).await.map(|_| ())
            }
        };
        if let Err(e) = result {
            tracing::warn!(namespace = ns.name, error = %e, "could not drop cached entries; they expire with their TTL or when the cache recovers");
        }
    }

    /// Removes every entry of `ns` (SCAN and UNLINK); answers how many there were. A version
    /// stays: versions only ever move forward, so an entry a reader is writing back for an old
    /// version is never read.
    pub async fn clear(&self, ns: &'static Namespace) -> DomainResult<u64> {
        let version = version_key(ns);
        let keys: Vec<String> = self
            .cache
            .scan_prefix(&format!("{}:", ns.name))
            .await
            .map_err(unavailable)?
            .into_iter()
            .filter(|k| *k != version)
            .collect();
        if keys.is_empty() {
            return Ok(0);
        }
        self.cache.delete(&keys).await.map_err(unavailable)
    }

    /// How many keys `ns` holds now (`None` when the cache cannot say).
    pub async fn entries(&self, ns: &'static Namespace) -> Option<u64> {
        let keys = self
            .cache
            .scan_prefix(&format!("{}:", ns.name))
            .await
            .ok()?;
        // The version key is bookkeeping, not an entry.
        Some(keys.iter().filter(|k| **k != version_key(ns)).count() as u64)
    }

    /// The cache key of `key` in a namespace without versions: `<ns>:<key>`.
    pub fn key(&self, ns: &'static Namespace, key: &str) -> String {
        debug_assert!(ns.invalidation != Invalidation::Version);
        // `concat`, not `format!`: keys are built on every cached read.
        [ns.name, ":", key].concat()
    }

    /// The full key now: with the namespace's current version where it has one. `None` when
    /// the cache cannot say the version.
    async fn full_key(&self, ns: &'static Namespace, key: &str) -> Option<String> {
        match ns.invalidation {
            Invalidation::Version => {
                let version = self.cache.get(&version_key(ns)).await.ok()?;
                let version = version.as_deref().unwrap_or("0");
                Some([ns.name, ":v", version, ":", key].concat())
            }
            Invalidation::Tombstone(_) | Invalidation::Delete => Some(self.key(ns, key)),
        }
    }

    /// A hit when `cached` holds a usable value, else one load per key at a time.
    async fn resolve<T, F, Fut>(
        &self,
        ns: &'static Namespace,
        full: String,
        cached: Option<CachedValue>,
        load: F,
    ) -> DomainResult<Found<T>>
    where
        T: Cacheable,
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = DomainResult<T>>,
    {
        let counters = self.counters(ns);
        if let Some(value) = cached
            .as_ref()
            .and_then(|cached| decode(cached, self.clock.now()))
        {
            counters.hit();
            return Ok(Found { value, hit: true });
        }
        counters.miss();
        let flight = {
            let mut flights = self.flights.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(flights.entry(full.clone()).or_default())
        };
        // One caller per key runs the load; the others wait for its value. Should the loader
        // fail, the next waiter tries in turn.
        let loaded = flight
            .get_or_try_init(|| async {
                let value: T = self.load_once_across_instances(ns, &full, load).await?;
                Ok::<Loaded, DomainError>(Arc::new(value))
            })
            .await
            .map(Arc::clone);
        {
            let mut flights = self.flights.lock().unwrap_or_else(PoisonError::into_inner);
            if flights.get(&full).is_some_and(|f| Arc::ptr_eq(f, &flight)) {
                flights.remove(&full);
            }
        }
        let loaded = loaded?;
        let value = loaded.downcast_ref::<T>().cloned().ok_or_else(|| {
            DomainError::Unexpected(anyhow::anyhow!(
                "two value types share the cache key of namespace {}",
                ns.name
            ))
        })?;
        Ok(Found { value, hit: false })
    }

    /// Loads a missing value and caches it. With a shared cache (Redis), a short lock lets one
    /// instance load while the others wait a moment for its value; a caller that waited in
    /// vain loads anyway rather than fail.
    async fn load_once_across_instances<T, F, Fut>(
        &self,
        ns: &'static Namespace,
        full: &str,
        load: F,
    ) -> DomainResult<T>
    where
        T: Cacheable,
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = DomainResult<T>>,
    {
        // Whoever flew just before may have stored it meanwhile.
        if let Some(value) = self.read(full).await {
            return Ok(value);
        }
        let lock = format!("lock:{full}");
        let locked = if self.cache.backend() == CacheBackend::Redis {
            match self.cache.set_if_absent(&lock, "1", LOCK_TTL).await {
                Ok(true) => true,
                Ok(false) => {
                    if let Some(value) = self.wait_for(full).await {
                        return Ok(value);
                    }
                    false
                }
                Err(_) => false,
            }
        } else {
            false
        };
        let value = load().await;
        if let Ok(value) = &value {
            self.store(ns, full, value).await;
        }
        if locked {
            let _ = self.cache.delete(&[lock]).await;
        }
        value
    }

    /// Waits a moment for another instance's load to land in the cache.
    async fn wait_for<T: Cacheable>(&self, full: &str) -> Option<T> {
        let deadline = tokio::time::Instant::now() + LOCK_WAIT;
        while tokio::time::Instant::now() < deadline {
            tokio::time::sleep(LOCK_POLL).await;
            if let Some(value) = self.read(full).await {
                return Some(value);
            }
        }
        None
    }

    async fn read<T: Cacheable>(&self, full: &str) -> Option<T> {
        let raw = self.cache.get(full).await.ok().flatten()?;
        decode(&raw, self.clock.now())
    }

    /// Caches a loaded value: over whatever is there, or only where nothing is in a namespace
    /// with tombstones.
    async fn store<T: Cacheable>(&self, ns: &'static Namespace, full: &str, value: &T) {
        let Some(ttl) = value
            .ttl(self.ttls.of(ns.ttl), self.clock.now())
            .filter(|t| !t.is_zero())
        else {
            return;
        };
        let Ok(raw) = serde_json::to_string(value) else {
            return;
        };
        // A failed write only costs the next reader a load.
        let _ = match ns.invalidation {
            Invalidation::Tombstone(_) => {
                self.cache.set_if_absent(full, &raw, ttl).await.map(|_| ())
            }
            Invalidation::Version | Invalidation::Delete => self.cache.set(full, &raw, ttl).await,
        };
    }

    /// The time on the layer's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Stores values of a namespace without versions only where their keys hold an entry now
    /// (one pipeline of `SET … XX`), so an entry deleted meanwhile stays deleted: re-signing
    /// before expiry. Answers, in the order of `values`, whether each was stored (all `false`
    /// when the cache does not answer).
    pub async fn replace_many<T: Cacheable>(
        &self,
        ns: &'static Namespace,
        values: &[(String, T)],
    ) -> Vec<bool> {
        let now = self.clock.now();
        let class = self.ttls.of(ns.ttl);
        let mut positions = Vec::with_capacity(values.len());
        let mut entries = Vec::with_capacity(values.len());
        for (i, (key, value)) in values.iter().enumerate() {
            let Some(ttl) = value.ttl(class, now).filter(|t| !t.is_zero()) else {
                continue;
            };
            let Ok(raw) = serde_json::to_string(value) else {
                continue;
            };
            positions.push(i);
            entries.push((self.key(ns, key), raw, ttl));
        }
        let mut stored = vec![false; values.len()];
        if entries.is_empty() {
            return stored;
        }
        if let Ok(answers) = self.cache.replace_many(&entries).await {
            for (i, answer) in positions.into_iter().zip(answers) {
                stored[i] = answer;
            }
        }
        stored
    }
}

/// The key of a namespace's version: `<ns>:version`.
fn version_key(ns: &Namespace) -> String {
    [ns.name, ":version"].concat()
}

/// A cached value, if the entry holds one that may still be served (not a tombstone, not
/// unreadable after a change of shape, not stale by itself). The JSON is parsed once per value
/// an in-process store keeps ([`CachedValue::decoded`]); whether it may be served is asked on
/// every read, since a signed URL goes stale by itself.
fn decode<T: Cacheable>(cached: &CachedValue, now: DateTime<Utc>) -> Option<T> {
    if cached.as_str() == TOMBSTONE {
        return None;
    }
    cached
        .decoded(|text| serde_json::from_str::<T>(text).ok())
        .filter(|v| v.usable(now))
}

fn unavailable(e: crate::shared::cache::CacheError) -> DomainError {
    tracing::warn!(error = %e, "the cache is down");
    DomainError::Unavailable("the cache".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::sync::atomic::{AtomicUsize, Ordering};

    use serde::Deserialize;

    use crate::shared::fakes::MapCache;
    use crate::shared::time::SystemClock;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Figure(u32);
    impl Cacheable for Figure {}

    static FIGURES: Namespace = Namespace {
        name: "figures",
        ttl: TtlClass::Dashboard,
        invalidation: Invalidation::Version,
    };
    static PROFILES: Namespace = Namespace {
        name: "profile",
        ttl: TtlClass::UserData,
        invalidation: Invalidation::Tombstone(Duration::from_secs(60)),
    };

    fn layer() -> (CacheLayer, Arc<MapCache>) {
        let cache = Arc::new(MapCache::default());
        let layer = CacheLayer::new(
            Arc::clone(&cache) as Arc<dyn Cache>,
            Arc::new(SystemClock),
            TtlClasses::default(),
        );
        (layer, cache)
    }

    #[tokio::test]
    async fn a_miss_loads_and_caches_and_a_version_bump_drops_everything() {
        let (layer, cache) = layer();
        let loads = AtomicUsize::new(0);
        let load = |n| {
            let loads = &loads;
            move || async move {
                loads.fetch_add(1, Ordering::SeqCst);
                Ok(Figure(n))
            }
        };
        assert_eq!(
            layer.get_or_load(&FIGURES, "a", load(1)).await.unwrap(),
            Figure(1)
        );
        assert_eq!(
            layer.get_or_load(&FIGURES, "a", load(2)).await.unwrap(),
            Figure(1)
        );
        assert!(cache.value("figures:v0:a").is_some(), "readable keys");
        layer.invalidate(&FIGURES).await;
        assert_eq!(
            layer.get_or_load(&FIGURES, "a", load(3)).await.unwrap(),
            Figure(3)
        );
        assert!(cache.value("figures:v1:a").is_some());
        assert_eq!(loads.load(Ordering::SeqCst), 2);
        let counters = layer.counters(&FIGURES);
        assert_eq!((counters.hits(), counters.misses()), (1, 2));
        assert_eq!(layer.entries(&FIGURES).await, Some(2));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_misses_on_one_key_load_once() {
        let (layer, _) = layer();
        let loads = Arc::new(AtomicUsize::new(0));
        let callers = (0..50).map(|_| {
            let layer = layer.clone();
            let loads = Arc::clone(&loads);
            tokio::spawn(async move {
                layer
                    .get_or_load(&FIGURES, "hot", || async move {
                        loads.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Ok(Figure(7))
                    })
                    .await
            })
        });
        for caller in futures::future::join_all(callers).await {
            assert_eq!(caller.unwrap().unwrap(), Figure(7));
        }
        assert_eq!(loads.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn two_instances_sharing_redis_load_a_key_once() {
        let redis = Arc::new(MapCache::shared());
        let instances: Vec<CacheLayer> = (0..2)
            .map(|_| {
                CacheLayer::new(
                    Arc::clone(&redis) as Arc<dyn Cache>,
                    Arc::new(SystemClock),
                    TtlClasses::default(),
                )
            })
            .collect();
        let loads = Arc::new(AtomicUsize::new(0));
        let callers = (0..20).map(|n| {
            let layer = instances[n % 2].clone();
            let loads = Arc::clone(&loads);
            tokio::spawn(async move {
                layer
                    .get_or_load(&FIGURES, "hot", || async move {
                        loads.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        Ok(Figure(9))
                    })
                    .await
            })
        });
        for caller in futures::future::join_all(callers).await {
            assert_eq!(caller.unwrap().unwrap(), Figure(9));
        }
        assert_eq!(
            loads.load(Ordering::SeqCst),
            1,
            "one instance loaded, the other waited"
        );
        assert_eq!(
            redis.value("lock:figures:v0:hot"),
            None,
            "the lock is released"
        );
    }

    #[tokio::test]
    async fn a_tombstone_keeps_a_late_fill_out() {
        let (layer, cache) = layer();
        let key = "7".to_owned();
        layer.forget(&PROFILES, std::slice::from_ref(&key)).await;
        // A reader that loaded the old row before the change cannot cache it over the tombstone...
        let old = layer
            .get_or_load(&PROFILES, &key, || async { Ok(Figure(1)) })
            .await
            .unwrap();
        assert_eq!(old, Figure(1));
        assert_eq!(cache.value("profile:7").as_deref(), Some(TOMBSTONE));
        // ...and every reader goes to the source until the tombstone ends.
        let new = layer
            .get_or_load(&PROFILES, &key, || async { Ok(Figure(2)) })
            .await
            .unwrap();
        assert_eq!(new, Figure(2));
        assert!(!PROFILES.clearable());
    }

    #[tokio::test]
    async fn a_failed_load_is_not_cached_and_the_next_caller_loads() {
        let (layer, _) = layer();
        let failed = layer
            .get_or_load::<Figure, _, _>(&FIGURES, "x", || async {
                Err(DomainError::Unavailable("the database".into()))
            })
            .await;
        assert!(matches!(failed, Err(DomainError::Unavailable(_))));
        let value = layer
            .get_or_load(&FIGURES, "x", || async { Ok(Figure(5)) })
            .await
            .unwrap();
        assert_eq!(value, Figure(5));
    }

    #[tokio::test]
    async fn many_keys_are_read_at_once_and_only_the_missing_loaded() {
        let (layer, _) = layer();
        static URLS: Namespace = Namespace {
            name: "urls",
            ttl: TtlClass::FileUrl,
            invalidation: Invalidation::Delete,
        };
        layer.put(&URLS, "2", &Figure(20)).await;
        let keys: Vec<String> = ["1", "2", "3"].iter().map(|k| k.to_string()).collect();
        let found = layer
            .lookup_many(&URLS, &keys, |missing| async move {
                assert_eq!(missing, [0, 2]);
                Ok(vec![Figure(10), Figure(30)])
            })
            .await
            .unwrap();
        let values: Vec<_> = found.iter().map(|f| (f.value.clone(), f.hit)).collect();
        assert_eq!(
            values,
            [(Figure(10), false), (Figure(20), true), (Figure(30), false)]
        );
        let again = layer
            .lookup_many(&URLS, &keys, |_| async { Ok(Vec::<Figure>::new()) })
            .await
            .unwrap();
        assert!(again.iter().all(|f| f.hit));
        layer.forget(&URLS, &keys[..1]).await;
        assert_eq!(layer.entries(&URLS).await, Some(2));
    }
}
