//! The Redis cache: a bb8 pool of multiplexed connections, every call time-bounded, and a
//! breaker. The first failure or timeout marks the cache degraded (logged once per episode);
//! while degraded every call fails at once, so requests fall back to the source and pay
//! nothing. A background task probes Redis with exponential backoff and, once it answers,
//! swaps in a fresh pool (dropping connections that broke) and closes the breaker.

use std::future::Future;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, PoisonError, RwLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bb8_redis::bb8::Pool;
use bb8_redis::RedisConnectionManager;
use redis::aio::MultiplexedConnection;
use redis::{ConnectionInfo, IntoConnectionInfo, RedisResult};
use tessera_domain::shared::cache::{Cache, CacheBackend, CacheError, CacheInfo, RedisInfo};

/// How the Redis cache connects and bounds its calls.
#[derive(Debug, Clone)]
pub struct RedisSettings {
    /// `redis://host:port/db` (or `rediss://`).
    pub url: String,
    /// Put before every key; empty by default, so keys are exactly `file_url:<id>`.
    pub key_prefix: String,
    /// Connections in the pool.
    pub pool_size: u32,
    /// Bound on opening a connection.
    pub connect_timeout: Duration,
    /// Bound on one request-path call (connection checkout included).
    pub command_timeout: Duration,
    /// Bound on one administrative call (SCAN over every key, INFO, batched UNLINK).
    pub admin_timeout: Duration,
    /// Key prefixes (namespaces) dropped when Redis answers again after an outage, before the
    /// cache is trusted: what changed meanwhile (a logout, a demotion) could not reach them.
    pub forget_on_recovery: Vec<String>,
    /// Values at least this long are stored zlib-compressed (django-redis' `ZlibCompressor`),
    /// transparently to callers; 0 stores everything as given.
    pub compress_min_bytes: usize,
}

/// What starts a compressed value: a NUL byte, which no text value we store starts with.
const COMPRESSED: &[u8] = b"\x00z";

/// The bytes to store for `value`: compressed when it is at least `min` bytes long (0: never)
/// and compressing pays.
fn encode(value: &str, min: usize) -> Vec<u8> {
    if min == 0 || value.len() < min {
        return value.as_bytes().to_vec();
    }
    let mut encoder =
        flate2::write::ZlibEncoder::new(COMPRESSED.to_vec(), flate2::Compression::fast());
    match encoder
        .write_all(value.as_bytes())
        .and_then(|()| encoder.finish())
    {
        Ok(compressed) if compressed.len() < value.len() => compressed,
        _ => value.as_bytes().to_vec(),
    }
}

/// The text of a stored value, decompressing it when it was stored compressed. A value that
/// does not decode is treated as absent (the caller loads it again).
fn decode(raw: Vec<u8>) -> Option<String> {
    let bytes = match raw.strip_prefix(COMPRESSED) {
        Some(compressed) => {
            let mut text = Vec::new();
            flate2::read::ZlibDecoder::new(compressed)
                .read_to_end(&mut text)
                .ok()?;
            text
        }
        None => raw,
    };
    String::from_utf8(bytes).ok()
}

/// Checks a Redis URL parses; the message names what is wrong.
pub fn parse_redis_url(url: &str) -> Result<ConnectionInfo, String> {
    url.into_connection_info().map_err(|e| e.to_string())
}

/// The Redis implementation of the cache port.
#[derive(Clone)]
pub struct RedisCache {
    inner: Arc<Inner>,
}

struct Inner {
    settings: RedisSettings,
    info: ConnectionInfo,
    pool: RwLock<Pool<RedisConnectionManager>>,
    degraded: AtomicBool,
}

const MAX_BACKOFF: Duration = Duration::from_secs(5);
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const BATCH: usize = 500;

/// Fixed-window hits: INCRBY, then a TTL whenever the key has none (its first hits, or a key
/// some other client left without one). Run as one script, so no counter outlives its window.
static COUNT_HIT: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
local count = redis.call('INCRBY', KEYS[1], ARGV[2])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
",
    )
});

/// Removes a key only while it holds the given value: a lock's holder releases it, and a holder
/// whose lock expired and was taken by another cannot release the other's.
static DELETE_IF_EQUAL: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
",
    )
});

impl RedisCache {
    /// A cache over `settings.url`. Does not connect yet: a Redis that is down at start makes
    /// the cache start degraded, not the server fail.
    pub fn new(settings: RedisSettings) -> Result<Self, String> {
        let info = parse_redis_url(&settings.url)?;
        let pool = build_pool(&settings, &info)?;
        Ok(Self {
            inner: Arc::new(Inner {
                settings,
                info,
                pool: RwLock::new(pool),
                degraded: AtomicBool::new(false),
            }),
        })
    }

    fn key(&self, key: &str) -> String {
        format!("{}{}", self.inner.settings.key_prefix, key)
    }

    /// The bytes to store for `value`.
    fn encode(&self, value: &str) -> Vec<u8> {
        encode(value, self.inner.settings.compress_min_bytes)
    }

    fn pool(&self) -> Pool<RedisConnectionManager> {
        self.inner
            .pool
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Runs one call on a pooled connection within `bound`; a failure opens the breaker.
    async fn call<T, F, Fut>(&self, bound: Duration, f: F) -> Result<T, CacheError>
    where
        F: FnOnce(MultiplexedConnection) -> Fut + Send,
        Fut: Future<Output = RedisResult<T>> + Send,
        T: Send,
    {
        if self.inner.degraded.load(Ordering::Acquire) {
            return Err(CacheError("Redis is degraded; skipped".into()));
        }
        let pool = self.pool();
        let work = async move {
            let conn = pool.get().await.map_err(|e| e.to_string())?.clone();
            f(conn).await.map_err(|e| e.to_string())
        };
        let failure = match tokio::time::timeout(bound, work).await {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(e)) => e,
            Err(_) => format!("no answer within {} ms", bound.as_millis()),
        };
        self.trip(&failure);
        Err(CacheError(failure))
    }

    async fn fast<T, F, Fut>(&self, f: F) -> Result<T, CacheError>
    where
        F: FnOnce(MultiplexedConnection) -> Fut + Send,
        Fut: Future<Output = RedisResult<T>> + Send,
        T: Send,
    {
        self.call(self.inner.settings.command_timeout, f).await
    }

    async fn slow<T, F, Fut>(&self, f: F) -> Result<T, CacheError>
    where
        F: FnOnce(MultiplexedConnection) -> Fut + Send,
        Fut: Future<Output = RedisResult<T>> + Send,
        T: Send,
    {
        self.call(self.inner.settings.admin_timeout, f).await
    }

    /// Opens the breaker and starts the recovery probe, once per episode.
    fn trip(&self, failure: &str) {
        if self.inner.degraded.swap(true, Ordering::AcqRel) {
            return;
        }
        tracing::warn!(error = %failure, "Redis is unavailable; serving without the cache until it answers again");
        let inner = Arc::clone(&self.inner);
        tokio::spawn(async move { recover(inner).await });
    }
}

/// Pub/sub for the in-process tier (`cache/tiered.rs`).
impl RedisCache {
    /// The channel on which this deployment's cache invalidations travel: pub/sub channels
    /// are shared by every database of a server, so it names the database and the key prefix.
    pub fn invalidation_channel(&self) -> String {
        invalidation_channel(&self.inner)
    }

    /// Publishes `payload` on `channel` (time-bounded like any request-path call).
    pub async fn publish(&self, channel: &str, payload: &str) -> Result<(), CacheError> {
        let channel = channel.to_owned();
        let payload = payload.to_owned();
        self.fast(move |mut c| async move {
            redis::cmd("PUBLISH")
                .arg(channel)
                .arg(payload)
                .query_async::<u64>(&mut c)
                .await
        })
        .await
        .map(|_| ())
    }

    /// A dedicated connection subscribed to `channel`; the stream ends when the connection
    /// does.
    pub async fn subscribe(&self, channel: &str) -> Result<redis::aio::PubSubStream, CacheError> {
        let work = async {
            let client = redis::Client::open(self.inner.info.clone())?;
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(channel).await?;
            Ok::<_, redis::RedisError>(pubsub.into_on_message())
        };
        match tokio::time::timeout(self.inner.settings.connect_timeout, work).await {
            Ok(Ok(stream)) => Ok(stream),
            Ok(Err(e)) => Err(CacheError(e.to_string())),
            Err(_) => Err(CacheError("no answer while subscribing".into())),
        }
    }
}

fn invalidation_channel(inner: &Inner) -> String {
    format!(
        "{}tessera:invalidate:db{}",
        inner.settings.key_prefix,
        inner.info.redis_settings().db()
    )
}

/// Probes Redis with exponential backoff until it answers, then swaps in a fresh pool.
async fn recover(inner: Arc<Inner>) {
    let started = Instant::now();
    let mut backoff = FIRST_BACKOFF;
    loop {
        tokio::time::sleep(backoff).await;
        if let Ok(pool) = build_pool(&inner.settings, &inner.info) {
            let probe = async {
                let mut conn = pool.get().await.map_err(|e| e.to_string())?.clone();
                redis::cmd("PING")
                    .query_async::<String>(&mut conn)
                    .await
                    .map_err(|e| e.to_string())
            };
            let answered = matches!(
                tokio::time::timeout(inner.settings.connect_timeout, probe).await,
                Ok(Ok(_))
            );
            if answered && forget_stale(&inner, &pool).await {
                *inner.pool.write().unwrap_or_else(PoisonError::into_inner) = pool;
                inner.degraded.store(false, Ordering::Release);
                tracing::info!(
                    after_ms = started.elapsed().as_millis() as u64,
                    "Redis answers again; the cache is back"
                );
                return;
            }
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Drops the namespaces that must not outlive an outage (SCAN and UNLINK in batches, bounded by
/// the admin timeout); answers whether it could.
async fn forget_stale(inner: &Inner, pool: &Pool<RedisConnectionManager>) -> bool {
    if inner.settings.forget_on_recovery.is_empty() {
        return true;
    }
    let work = async {
        let mut conn = pool.get().await.map_err(|e| e.to_string())?.clone();
        let mut dropped = 0_u64;
        for namespace in &inner.settings.forget_on_recovery {
            let pattern = escape_glob(&format!("{}{namespace}", inner.settings.key_prefix));
            let mut cursor: u64 = 0;
            loop {
                let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(&pattern)
                    .arg("COUNT")
                    .arg(1000)
                    .query_async(&mut conn)
                    .await
                    .map_err(|e| e.to_string())?;
                if !keys.is_empty() {
                    dropped += redis::cmd("UNLINK")
                        .arg(&keys)
                        .query_async::<u64>(&mut conn)
                        .await
                        .map_err(|e| e.to_string())?;
                }
                if next == 0 {
                    break;
                }
                cursor = next;
            }
        }
        // What the instances keep in-process of the dropped keys goes too: an instance that
        // never lost Redis holds what a change made elsewhere during the outage left stale.
        redis::cmd("PUBLISH")
            .arg(invalidation_channel(inner))
            .arg(crate::cache::tiered::drop_everything_message(
                "redis-recovery",
            ))
            .query_async::<u64>(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
        Ok::<u64, String>(dropped)
    };
    match tokio::time::timeout(inner.settings.admin_timeout, work).await {
        Ok(Ok(dropped)) => {
            tracing::info!(
                dropped,
                "dropped cache entries that may be stale after the outage"
            );
            true
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "could not drop stale entries after the outage; retrying");
            false
        }
        Err(_) => false,
    }
}

fn build_pool(
    settings: &RedisSettings,
    info: &ConnectionInfo,
) -> Result<Pool<RedisConnectionManager>, String> {
    let manager = RedisConnectionManager::new(info.clone()).map_err(|e| e.to_string())?;
    Ok(Pool::builder()
        .max_size(settings.pool_size)
        .connection_timeout(settings.connect_timeout)
        // Our own bound and breaker decide what a failure costs; bb8 must not retry behind them.
        .retry_connection(false)
        .test_on_check_out(false)
        .build_unchecked(manager))
}

/// A TTL in whole milliseconds, at least one (Redis refuses 0).
fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

fn info_field<'a>(info: &'a str, name: &str) -> Option<&'a str> {
    info.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
        .map(str::trim)
}

fn info_number(info: &str, name: &str) -> u64 {
    info_field(info, name)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// `*`, `?`, `[`, `]` and `\` in a prefix must not act as glob characters in `SCAN MATCH`.
fn escape_glob(prefix: &str) -> String {
    let mut escaped = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped.push('*');
    escaped
}

#[async_trait]
impl Cache for RedisCache {
    fn backend(&self) -> CacheBackend {
        CacheBackend::Redis
    }

    fn is_degraded(&self) -> bool {
        self.inner.degraded.load(Ordering::Acquire)
    }

    async fn ping(&self) -> Result<(), CacheError> {
        self.fast(|mut c| async move { redis::cmd("PING").query_async::<String>(&mut c).await })
            .await
            .map(|_| ())
    }

    async fn get(&self, key: &str) -> Result<Option<String>, CacheError> {
        let key = self.key(key);
        let raw: Option<Vec<u8>> = self
            .fast(|mut c| async move { redis::cmd("GET").arg(key).query_async(&mut c).await })
            .await?;
        Ok(raw.and_then(decode))
    }

    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<String>>, CacheError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = keys.iter().map(|k| self.key(k)).collect();
        let raw: Vec<Option<Vec<u8>>> = self
            .fast(|mut c| async move { redis::cmd("MGET").arg(keys).query_async(&mut c).await })
            .await?;
        Ok(raw.into_iter().map(|v| v.and_then(decode)).collect())
    }

    async fn set(&self, key: &str, value: &str, ttl: Duration) -> Result<(), CacheError> {
        let key = self.key(key);
        let value = self.encode(value);
        let seconds = ttl.as_secs().max(1);
        self.fast(move |mut c| async move {
            redis::cmd("SET")
                .arg(key)
                .arg(value)
                .arg("EX")
                .arg(seconds)
                .query_async(&mut c)
                .await
        })
        .await
    }

    async fn set_many(&self, entries: &[(String, String, Duration)]) -> Result<(), CacheError> {
        let mut pipe = redis::pipe();
        for (key, value, ttl) in entries {
            pipe.cmd("SET")
                .arg(self.key(key))
                .arg(self.encode(value))
                .arg("EX")
                .arg(ttl.as_secs().max(1))
                .ignore();
        }
        self.slow(move |mut c| async move { pipe.query_async(&mut c).await })
            .await
    }

    async fn set_if_absent(
        &self,
        key: &str,
        value: &str,
        ttl: Duration,
    ) -> Result<bool, CacheError> {
        let key = self.key(key);
        let value = self.encode(value);
        let seconds = ttl.as_secs().max(1);
        let stored: Option<String> = self
            .fast(move |mut c| async move {
                redis::cmd("SET")
                    .arg(key)
                    .arg(value)
                    .arg("NX")
                    .arg("EX")
                    .arg(seconds)
                    .query_async(&mut c)
                    .await
            })
            .await?;
        Ok(stored.is_some())
    }

    async fn delete(&self, keys: &[String]) -> Result<u64, CacheError> {
        let mut deleted = 0;
        for chunk in keys.chunks(BATCH) {
            let chunk: Vec<String> = chunk.iter().map(|k| self.key(k)).collect();
            deleted += self
                .slow(|mut c| async move {
                    redis::cmd("UNLINK")
                        .arg(chunk)
                        .query_async::<u64>(&mut c)
                        .await
                })
                .await?;
        }
        Ok(deleted)
    }

    async fn add_member(&self, key: &str, member: &str, ttl: Duration) -> Result<(), CacheError> {
        let key = self.key(key);
        let member = member.to_owned();
        let millis = millis(ttl);
        self.fast(move |mut c| async move {
            redis::pipe()
                .atomic()
                .cmd("SADD")
                .arg(&key)
                .arg(member)
                .ignore()
                .cmd("PEXPIRE")
                .arg(&key)
                .arg(millis)
                .ignore()
                .query_async(&mut c)
                .await
        })
        .await
    }

    async fn members(&self, key: &str) -> Result<Vec<String>, CacheError> {
        let key = self.key(key);
        self.fast(
            move |mut c| async move { redis::cmd("SMEMBERS").arg(key).query_async(&mut c).await },
        )
        .await
    }

    async fn remove_member(&self, key: &str, member: &str) -> Result<(), CacheError> {
        let key = self.key(key);
        let member = member.to_owned();
        self.fast(move |mut c| async move {
            redis::cmd("SREM")
                .arg(key)
                .arg(member)
                .query_async::<u64>(&mut c)
                .await
                .map(|_| ())
        })
        .await
    }

    async fn count_hits(
        &self,
        key: &str,
        hits: u64,
        window: Duration,
    ) -> Result<(u64, Duration), CacheError> {
        let key = self.key(key);
        let millis = millis(window);
        let (count, left): (u64, u64) = self
            .fast(move |mut c| async move {
                COUNT_HIT
                    .key(key)
                    .arg(millis)
                    .arg(hits)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        Ok((count, Duration::from_millis(left)))
    }

    async fn incr_by(&self, key: &str, by: i64) -> Result<i64, CacheError> {
        let key = self.key(key);
        self.fast(move |mut c| async move {
            redis::cmd("INCRBY")
                .arg(key)
                .arg(by)
                .query_async(&mut c)
                .await
        })
        .await
    }

    async fn take(&self, key: &str) -> Result<Option<String>, CacheError> {
        let key = self.key(key);
        let raw: Option<Vec<u8>> = self
            .fast(|mut c| async move { redis::cmd("GETDEL").arg(key).query_async(&mut c).await })
            .await?;
        Ok(raw.and_then(decode))
    }

    async fn delete_if_equal(&self, key: &str, expected: &str) -> Result<bool, CacheError> {
        let key = self.key(key);
        let expected = self.encode(expected);
        let deleted: u64 = self
            .fast(move |mut c| async move {
                DELETE_IF_EQUAL
                    .key(key)
                    .arg(expected)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        Ok(deleted > 0)
    }

    async fn zincr_by(
        &self,
        key: &str,
        member: &str,
        by: f64,
        ttl: Duration,
    ) -> Result<f64, CacheError> {
        let key = self.key(key);
        let member = member.to_owned();
        let millis = millis(ttl);
        let (score,): (f64,) = self
            .fast(move |mut c| async move {
                redis::pipe()
                    .atomic()
                    .cmd("ZINCRBY")
                    .arg(&key)
                    .arg(by)
                    .arg(member)
                    .cmd("PEXPIRE")
                    .arg(&key)
                    .arg(millis)
                    .ignore()
                    .query_async(&mut c)
                    .await
            })
            .await?;
        Ok(score)
    }

    async fn zset_scores(
        &self,
        key: &str,
        scores: &[(String, f64)],
        ttl: Duration,
    ) -> Result<(), CacheError> {
        if scores.is_empty() {
            return Ok(());
        }
        let key = self.key(key);
        let mut pipe = redis::pipe();
        pipe.atomic();
        for chunk in scores.chunks(BATCH) {
            let cmd = pipe.cmd("ZADD").arg(&key);
            for (member, score) in chunk {
                cmd.arg(*score).arg(member);
            }
            cmd.ignore();
        }
        pipe.cmd("PEXPIRE").arg(&key).arg(millis(ttl)).ignore();
        self.slow(move |mut c| async move { pipe.query_async(&mut c).await })
            .await
    }

    async fn zrev_range(
        &self,
        key: &str,
        limit: Option<usize>,
    ) -> Result<Vec<(String, f64)>, CacheError> {
        let key = self.key(key);
        let stop = limit.map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX) - 1);
        if stop < -1 {
            return Ok(Vec::new());
        }
        self.slow(move |mut c| async move {
            redis::cmd("ZREVRANGE")
                .arg(key)
                .arg(0)
                .arg(stop)
                .arg("WITHSCORES")
                .query_async(&mut c)
                .await
        })
        .await
    }

    async fn zrem(&self, key: &str, members: &[String]) -> Result<u64, CacheError> {
        let key = self.key(key);
        let mut removed = 0;
        for chunk in members.chunks(BATCH) {
            let chunk = chunk.to_vec();
            let key = key.clone();
            removed += self
                .slow(move |mut c| async move {
                    redis::cmd("ZREM")
                        .arg(key)
                        .arg(chunk)
                        .query_async::<u64>(&mut c)
                        .await
                })
                .await?;
        }
        Ok(removed)
    }

    async fn scan_prefix(&self, prefix: &str) -> Result<Vec<String>, CacheError> {
        let pattern = escape_glob(&self.key(prefix));
        let own_prefix_len = self.inner.settings.key_prefix.len();
        let mut cursor: u64 = 0;
        let mut keys = Vec::new();
        loop {
            let pattern = pattern.clone();
            let (next, batch): (u64, Vec<String>) = self
                .slow(move |mut c| async move {
                    redis::cmd("SCAN")
                        .arg(cursor)
                        .arg("MATCH")
                        .arg(pattern)
                        .arg("COUNT")
                        .arg(1000)
                        .query_async(&mut c)
                        .await
                })
                .await?;
            keys.extend(batch.into_iter().map(|k| k[own_prefix_len..].to_owned()));
            if next == 0 {
                break;
            }
            cursor = next;
        }
        // SCAN may return a key more than once while the table rehashes.
        keys.sort_unstable();
        keys.dedup();
        Ok(keys)
    }

    async fn ttls(&self, keys: &[String]) -> Result<Vec<Option<Duration>>, CacheError> {
        let mut pipe = redis::pipe();
        for key in keys {
            pipe.cmd("PTTL").arg(self.key(key));
        }
        let millis: Vec<i64> = self
            .slow(move |mut c| async move { pipe.query_async(&mut c).await })
            .await?;
        // -2: no such key, -1: no TTL.
        Ok(millis
            .into_iter()
            .map(|ms| u64::try_from(ms).ok().map(Duration::from_millis))
            .collect())
    }

    async fn info(&self) -> Result<CacheInfo, CacheError> {
        let (info, dbsize): (String, u64) = self
            .slow(|mut c| async move {
                redis::pipe()
                    .cmd("INFO")
                    .arg("everything")
                    .cmd("DBSIZE")
                    .query_async(&mut c)
                    .await
            })
            .await?;
        Ok(CacheInfo {
            total_keys: Some(dbsize),
            max_entries: None,
            redis: Some(RedisInfo {
                redis_version: info_field(&info, "redis_version")
                    .unwrap_or_default()
                    .to_owned(),
                used_memory: info_number(&info, "used_memory"),
                used_memory_human: info_field(&info, "used_memory_human")
                    .unwrap_or_default()
                    .to_owned(),
                maxmemory: info_number(&info, "maxmemory"),
                maxmemory_human: info_field(&info, "maxmemory_human")
                    .unwrap_or_default()
                    .to_owned(),
                maxmemory_policy: info_field(&info, "maxmemory_policy")
                    .unwrap_or_default()
                    .to_owned(),
                evicted_keys: info_number(&info, "evicted_keys"),
                expired_keys: info_number(&info, "expired_keys"),
                connected_clients: info_number(&info, "connected_clients"),
                total_commands_processed: info_number(&info, "total_commands_processed"),
                keyspace_hits: info_number(&info, "keyspace_hits"),
                keyspace_misses: info_number(&info, "keyspace_misses"),
            }),
        })
    }

    async fn zrange_by_score(&self, key: &str, max: f64) -> Result<Vec<(String, f64)>, CacheError> {
        let key = self.key(key);
        self.slow(move |mut c| async move {
            redis::cmd("ZRANGEBYSCORE")
                .arg(key)
                .arg("-inf")
                .arg(max)
                .arg("WITHSCORES")
                .query_async(&mut c)
                .await
        })
        .await
    }

    async fn replace_many(
        &self,
        entries: &[(String, String, Duration)],
    ) -> Result<Vec<bool>, CacheError> {
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for (key, value, ttl) in entries {
            pipe.cmd("SET")
                .arg(self.key(key))
                .arg(self.encode(value))
                .arg("XX")
                .arg("EX")
                .arg(ttl.as_secs().max(1));
        }
        let stored: Vec<Option<String>> = self
            .slow(move |mut c| async move { pipe.query_async(&mut c).await })
            .await?;
        Ok(stored.into_iter().map(|s| s.is_some()).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_characters_in_prefixes_are_escaped() {
        assert_eq!(escape_glob("file_url:"), "file_url:*");
        assert_eq!(escape_glob("a*b?[c]\\:"), "a\\*b\\?\\[c\\]\\\\:*");
    }

    #[test]
    fn info_fields_are_read_by_exact_name() {
        let info = "# Memory\r\nused_memory:1024\r\nused_memory_human:1.00K\r\nmaxmemory_policy:allkeys-lru\r\n";
        assert_eq!(info_number(info, "used_memory"), 1024);
        assert_eq!(info_field(info, "used_memory_human"), Some("1.00K"));
        assert_eq!(info_field(info, "maxmemory_policy"), Some("allkeys-lru"));
        assert_eq!(info_field(info, "maxmemory"), None);
    }

    #[test]
    fn long_values_are_compressed_and_read_back_as_written() {
        let long = format!(
            "{{\"items\":[{}]}}",
            "{\"name\":\"Maria da Silva\"},".repeat(100)
        );
        let stored = encode(&long, 1024);
        assert!(stored.starts_with(COMPRESSED));
        assert!(stored.len() < long.len() / 4, "{} bytes", stored.len());
        assert_eq!(decode(stored).as_deref(), Some(long.as_str()));
        // Short values, and any value with compression off, are stored as given.
        assert_eq!(encode("{\"a\":1}", 1024), b"{\"a\":1}");
        assert_eq!(encode(&long, 0), long.as_bytes());
        assert_eq!(decode(b"plain".to_vec()).as_deref(), Some("plain"));
        // A broken compressed value reads as absent, so the caller loads it again.
        assert_eq!(decode(b"\x00zbroken".to_vec()), None);
    }

    #[test]
    fn bad_urls_are_refused_with_a_reason() {
        assert!(parse_redis_url("redis://127.0.0.1:6379/2").is_ok());
        assert!(parse_redis_url("not a url").is_err());
        assert!(parse_redis_url("http://127.0.0.1:6379").is_err());
    }
}
