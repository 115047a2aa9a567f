//! The cache port: Redis, or the in-process cache when there is no Redis. Every context that
//! caches (profiles, member lists, file URLs, sessions, rate limits) uses this one interface.

use std::any::Any;
use std::fmt;
use std::ops::Deref;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;

/// Which cache implementation is in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheBackend {
    /// Redis through a bb8 pool.
    Redis,
    /// The in-process cache (no `REDIS_URL`).
    InProcess,
}

impl CacheBackend {
    /// The name shown in stats and `/readyz`.
    pub fn as_str(self) -> &'static str {
        match self {
            CacheBackend::Redis => "redis",
            CacheBackend::InProcess => "in_process",
        }
    }
}

/// A cache call failed or was skipped because the cache is degraded. Callers fall back to the source.
#[derive(Debug, thiserror::Error)]
#[error("cache unavailable: {0}")]
pub struct CacheError(pub String);

/// What the cache backend reports about itself for the stats endpoint.
#[derive(Debug, Clone, Default)]
pub struct CacheInfo {
    /// Every key in the cache's database (not only ours), when the backend knows it.
    pub total_keys: Option<u64>,
    /// Redis `INFO` fields, when the backend is Redis.
    pub redis: Option<RedisInfo>,
    /// The in-process cache's capacity, when the backend is in-process.
    pub max_entries: Option<u64>,
}

/// The Redis `INFO` fields the stats endpoint shows (names as Redis spells them).
#[derive(Debug, Clone, Default)]
pub struct RedisInfo {
    /// Redis server version.
    pub redis_version: String,
    /// Memory in use, in bytes.
    pub used_memory: u64,
    /// Memory in use, human readable (`1.02M`).
    pub used_memory_human: String,
    /// The memory limit in bytes (0 = none).
    pub maxmemory: u64,
    /// The memory limit, human readable.
    pub maxmemory_human: String,
    /// The eviction policy (`allkeys-lru`, …).
    pub maxmemory_policy: String,
    /// Keys evicted for memory since start.
    pub evicted_keys: u64,
    /// Keys expired since start.
    pub expired_keys: u64,
    /// Clients connected now.
    pub connected_clients: u64,
    /// Commands processed since start.
    pub total_commands_processed: u64,
    /// Successful key lookups since start (all clients).
    pub keyspace_hits: u64,
    /// Failed key lookups since start (all clients).
    pub keyspace_misses: u64,
}

/// A value read from the cache: its text, and room for what that text decodes to. An
/// in-process store hands out the very value it keeps (a clone of one `Arc`), so a value read
/// many times is decoded once: the cache-aside helper keeps the decoded value beside the text,
/// and a new text is a new `CachedValue`, so the two never disagree.
#[derive(Clone)]
pub struct CachedValue(Arc<Stored>);

struct Stored {
    text: Box<str>,
    decoded: OnceLock<Arc<dyn Any + Send + Sync>>,
}

impl CachedValue {
    /// A value with this text, not decoded yet.
    pub fn new(text: impl Into<Box<str>>) -> Self {
        Self(Arc::new(Stored {
            text: text.into(),
            decoded: OnceLock::new(),
        }))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0.text
    }

    /// What the text decodes to as a `T`: decoded by `decode` the first time, kept beside the
    /// text after that. A text that does not decode is not remembered (it is decoded, and
    /// refused, each time); a value kept as another type is decoded afresh and not kept.
    pub fn decoded<T, F>(&self, decode: F) -> Option<T>
    where
        T: Clone + Send + Sync + 'static,
        F: FnOnce(&str) -> Option<T>,
    {
        if let Some(kept) = self.0.decoded.get() {
            return match kept.downcast_ref::<T>() {
                Some(value) => Some(value.clone()),
                None => decode(&self.0.text),
            };
        }
        let value = decode(&self.0.text)?;
        // Two readers may decode at once; either result is the same value.
        let _ = self.0.decoded.set(Arc::new(value.clone()));
        Some(value)
    }
}

impl Deref for CachedValue {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl From<String> for CachedValue {
    fn from(text: String) -> Self {
        Self::new(text)
    }
}

impl From<&str> for CachedValue {
    fn from(text: &str) -> Self {
        Self::new(text)
    }
}

impl PartialEq for CachedValue {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl fmt::Display for CachedValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for CachedValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// A key-value cache with per-entry TTLs. Keys are given without any deployment prefix;
/// the implementation adds its configured prefix. Every call is time-bounded and fails fast
/// while the backend is degraded.
#[async_trait]
pub trait Cache: Send + Sync {
    /// Which implementation this is.
    fn backend(&self) -> CacheBackend;
    /// Whether the backend is failing right now (calls are being skipped).
    fn is_degraded(&self) -> bool;
    /// Checks the backend answers.
    async fn ping(&self) -> Result<(), CacheError>;
    /// The value under `key`.
    async fn get(&self, key: &str) -> Result<Option<CachedValue>, CacheError>;
    /// The values under `keys`, in order (one round trip).
    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<CachedValue>>, CacheError>;
    /// Stores `value` under `key` for `ttl`.
    async fn set(&self, key: &str, value: &str, ttl: Duration) -> Result<(), CacheError>;
    /// Stores many entries, each for its own TTL (one pipeline).
    async fn set_many(&self, entries: &[(String, String, Duration)]) -> Result<(), CacheError>;
    /// Stores `value` under `key` for `ttl` only if the key is absent; answers whether it stored.
    async fn set_if_absent(
        &self,
        key: &str,
        value: &str,
        ttl: Duration,
    ) -> Result<bool, CacheError>;
    /// Removes keys; answers how many existed.
    async fn delete(&self, keys: &[String]) -> Result<u64, CacheError>;
    /// Adds `member` to the set under `key` and gives the set the TTL `ttl`, in one atomic step.
    async fn add_member(&self, key: &str, member: &str, ttl: Duration) -> Result<(), CacheError>;
    /// The members of the set under `key` (empty when there is none).
    async fn members(&self, key: &str) -> Result<Vec<String>, CacheError>;
    /// Removes `member` from the set under `key`.
    async fn remove_member(&self, key: &str, member: &str) -> Result<(), CacheError>;
    /// Counts one hit on the counter under `key`, which lives for `window` from its first hit.
    /// One atomic step, so no counter is ever left without a TTL. Answers the count so far and
    /// the time left in the window.
    async fn count_hit(&self, key: &str, window: Duration) -> Result<(u64, Duration), CacheError> {
        self.count_hits(key, 1, window).await
    }
    /// As [`Cache::count_hit`] for `hits` hits at once (a batch counted elsewhere first).
    async fn count_hits(
        &self,
        key: &str,
        hits: u64,
        window: Duration,
    ) -> Result<(u64, Duration), CacheError>;
    /// Adds `by` to the integer under `key` (0 when absent) and answers the new value. The key
    /// gets no TTL: for counts that must stay until someone takes them (`INCRBY`).
    async fn incr_by(&self, key: &str, by: i64) -> Result<i64, CacheError>;
    /// Reads and removes the value under `key` in one atomic step (`GETDEL`), so what one
    /// caller takes no other caller takes too.
    async fn take(&self, key: &str) -> Result<Option<String>, CacheError>;
    /// Removes `key` only while it holds `expected`, in one atomic step (compare and delete):
    /// a lock is released by its holder alone. Answers whether it removed it.
    async fn delete_if_equal(&self, key: &str, expected: &str) -> Result<bool, CacheError>;
    /// Adds `by` to the score of `member` in the sorted set under `key` (from 0) and gives the
    /// set the TTL `ttl`, in one atomic step (`ZINCRBY`); answers the new score.
    async fn zincr_by(
        &self,
        key: &str,
        member: &str,
        by: f64,
        ttl: Duration,
    ) -> Result<f64, CacheError>;
    /// Sets the scores of members of the sorted set under `key` (adding those absent) and gives
    /// the set the TTL `ttl`, in one atomic step (`ZADD`).
    async fn zset_scores(
        &self,
        key: &str,
        scores: &[(String, f64)],
        ttl: Duration,
    ) -> Result<(), CacheError>;
    /// The members of the sorted set under `key` with their scores, highest score first (ties
    /// in reverse byte order of the member, as Redis), at most `limit` of them (`None`: all;
    /// `ZREVRANGE … WITHSCORES`).
    async fn zrev_range(
        &self,
        key: &str,
        limit: Option<usize>,
    ) -> Result<Vec<(String, f64)>, CacheError>;
    /// Removes members from the sorted set under `key` (`ZREM`); answers how many were there.
    async fn zrem(&self, key: &str, members: &[String]) -> Result<u64, CacheError>;
    /// Every key that starts with `prefix` (incrementally, never `KEYS`).
    async fn scan_prefix(&self, prefix: &str) -> Result<Vec<String>, CacheError>;
    /// The remaining TTL of each key, in order; `None` for a missing key or one without a TTL.
    async fn ttls(&self, keys: &[String]) -> Result<Vec<Option<Duration>>, CacheError>;
    /// What the backend reports about itself.
    async fn info(&self) -> Result<CacheInfo, CacheError>;
    /// The members of the sorted set under `key` whose score is at most `max`, lowest score
    /// first, with their scores (`ZRANGEBYSCORE key -inf max WITHSCORES`).
    async fn zrange_by_score(&self, key: &str, max: f64) -> Result<Vec<(String, f64)>, CacheError>;
    /// Stores each entry only where its key holds a value now (`SET … XX EX`, one pipeline), so
    /// a key deleted meanwhile stays deleted; answers, in order, whether each was stored.
    async fn replace_many(
        &self,
        entries: &[(String, String, Duration)],
    ) -> Result<Vec<bool>, CacheError>;
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::CachedValue;

    #[test]
    fn a_value_is_decoded_once_and_shared_by_its_clones() {
        let value = CachedValue::new("42");
        let kept = value.clone();
        let parses = Cell::new(0);
        let parse = |text: &str| {
            parses.set(parses.get() + 1);
            text.parse::<u32>().ok()
        };
        assert_eq!(value.decoded(parse), Some(42));
        assert_eq!(kept.decoded(parse), Some(42));
        assert_eq!(parses.get(), 1, "the clone found the decoded value");
        // A new text is a new value: it is decoded afresh.
        assert_eq!(CachedValue::new("7").decoded(parse), Some(7));
        assert_eq!(parses.get(), 2);
    }

    #[test]
    fn a_text_that_does_not_decode_is_tried_each_time_and_another_type_is_not_kept() {
        let value = CachedValue::new("not a number");
        let parses = Cell::new(0);
        let parse = |text: &str| {
            parses.set(parses.get() + 1);
            text.parse::<u32>().ok()
        };
        assert_eq!(value.decoded(parse), None);
        assert_eq!(value.decoded(parse), None);
        assert_eq!(parses.get(), 2);

        let number = CachedValue::new("5");
        assert_eq!(number.decoded(|t| t.parse::<u32>().ok()), Some(5));
        assert_eq!(
            number.decoded(|t| Some(t.to_owned())),
            Some("5".to_owned()),
            "a value kept as u32 is decoded afresh as a String"
        );
        assert_eq!(
            number.decoded(|_| None::<u32>),
            Some(5),
            "still kept as u32"
        );
    }
}
