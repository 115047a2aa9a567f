//! The Redis cache: every call time-bounded, behind a breaker. The first failure or timeout
//! marks the cache degraded (logged once per episode); while degraded every call fails at once,
//! so requests fall back to the source and pay nothing. A background task probes Redis with
//! exponential backoff and, once it answers, connects afresh (dropping connections that broke)
//! and closes the breaker.
//!
//! One cache, three ways to reach Redis (a private [`Link`] behind the `call` helper):
//! - **one server** (`redis://`, `rediss://`): a bb8 pool of multiplexed connections;
//! - **Sentinel** (`redis-sentinel://h1:26379,h2:26379/<master>/<db>`): the sentinels are asked
//!   which server is the master, and a bb8 pool is opened over that server (bb8 pools plain
//!   connections; it cannot pool a sentinel client, so the sentinels are asked again by the
//!   recovery probe, not by the pool). After a failover the old master refuses writes or
//!   drops its clients, or the sentinels announce `+switch-master` (watched by a task of its
//!   own): the breaker opens, and the probe asks the sentinels again. Every new link ends the
//!   pub/sub streams handed out, so the in-process tier subscribes again where the cache is;
//! - **Cluster** (`redis-cluster://h1:7001,h2:7002`, or `REDIS_CLUSTER_NODES`): the `redis`
//!   crate's `cluster_async::ClusterConnection`, itself multiplexed and clonable, so it is not
//!   pooled; it routes each command by hash slot and splits `MGET`/`UNLINK` across slots.
//!   What it cannot route is done here: pipelines of per-key commands run as concurrent
//!   single commands, `SCAN`, `INFO` and `DBSIZE` visit every master, and pub/sub subscribes
//!   on one node (cluster `PUBLISH` reaches every node). Cluster has only db 0.

use std::future::Future;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, PoisonError, RwLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bb8_redis::bb8::Pool;
use bb8_redis::RedisConnectionManager;
use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};
use redis::{Cmd, ConnectionInfo, IntoConnectionInfo, Pipeline, RedisFuture, RedisResult, Value};
use tessera_domain::shared::cache::{
    Cache, CacheBackend, CacheError, CacheInfo, CachedValue, RedisInfo,
};

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

/// Checks a Redis URL parses (`redis://`, `rediss://`, `redis-sentinel://`,
/// `redis-cluster://`); the message names what is wrong.
pub fn parse_redis_url(url: &str) -> Result<(), String> {
    Target::parse(url).map(|_| ())
}

/// The servers behind a Redis URL, each as a plain connection (for `tessera doctor`, which
/// checks each one): the server itself; the master the sentinels name now; every master of a
/// cluster.
pub async fn servers(url: &str, connect_timeout: Duration) -> Result<Vec<ConnectionInfo>, String> {
    let target = Target::parse(url)?;
    match &target {
        Target::Single(info) => Ok(vec![info.clone()]),
        Target::Sentinel { .. } => Ok(vec![resolve_master(connect_timeout, &target).await?]),
        Target::Cluster(nodes) => {
            let mut failure = String::from("no node of the cluster answers");
            for node in nodes {
                let ask = async {
                    let client = redis::Client::open(node.clone())?;
                    let mut conn = client.get_multiplexed_async_connection().await?;
                    redis::cmd("CLUSTER")
                        .arg("NODES")
                        .query_async::<String>(&mut conn)
                        .await
                };
                match tokio::time::timeout(connect_timeout, ask).await {
                    Ok(Ok(answer)) => {
                        return Ok(parse_masters(&answer)
                            .into_iter()
                            .map(|(host, port)| {
                                node.clone()
                                    .set_addr(redis::ConnectionAddr::Tcp(host, port))
                            })
                            .collect())
                    }
                    Ok(Err(e)) => failure = e.to_string(),
                    Err(_) => failure = "no answer from a node of the cluster".into(),
                }
            }
            Err(failure)
        }
    }
}

/// The URL of a Redis Cluster reached through `nodes` (`host:port`, comma-separated, as in
/// `REDIS_CLUSTER_NODES`), with the credentials of `credentials_from` (a `redis://` URL) if
/// given. The cluster has only db 0: a `credentials_from` naming another db is refused.
pub fn cluster_url(nodes: &str, credentials_from: Option<&str>) -> Result<String, String> {
    let mut userinfo = String::new();
    if let Some(url) = credentials_from {
        let db = url
            .into_connection_info()
            .map_err(|e| e.to_string())?
            .redis_settings()
            .db();
        if db != 0 {
            return Err(format!(
                "Redis Cluster has only db 0, and the URL names db {db}"
            ));
        }
        let authority = url.split_once("://").map_or(url, |(_, rest)| rest);
        let authority = authority.split(['/', '?']).next().unwrap_or_default();
        if let Some((credentials, _)) = authority.rsplit_once('@') {
            userinfo = format!("{credentials}@");
        }
    }
    let nodes: Vec<&str> = nodes
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .collect();
    let url = format!("redis-cluster://{userinfo}{}", nodes.join(","));
    Target::parse(&url)?;
    Ok(url)
}

/// Where the cache connects, from its URL.
#[derive(Debug, Clone)]
enum Target {
    /// One server.
    Single(ConnectionInfo),
    /// The master the sentinels name: `node` is the master's db and credentials.
    Sentinel {
        sentinels: Vec<ConnectionInfo>,
        master: String,
        node: redis::RedisConnectionInfo,
    },
    /// A Redis Cluster, reached through any of these nodes.
    Cluster(Vec<ConnectionInfo>),
}

impl Target {
    fn parse(url: &str) -> Result<Self, String> {
        if let Some(rest) = url.strip_prefix("redis-sentinel://") {
            let (userinfo, hosts, path, query) = split_multi_host(rest)?;
            let mut parts = path.split('/').filter(|p| !p.is_empty());
            let master = parts
                .next()
                .ok_or(
                    "a Sentinel URL names the master: redis-sentinel://host:26379/<master>/<db>",
                )?
                .to_owned();
            let db = parts.next().unwrap_or("0");
            if parts.next().is_some() {
                return Err("a Sentinel URL ends with /<master>/<db>".into());
            }
            let node = format!("redis://{userinfo}127.0.0.1/{db}")
                .into_connection_info()
                .map_err(|e| e.to_string())?
                .redis_settings()
                .clone();
            let sentinel_auth = match query.strip_prefix("sentinel_password=") {
                Some(password) => format!(":{password}@"),
                None if query.is_empty() => String::new(),
                None => {
                    return Err(format!(
                        "unknown Sentinel URL option {query:?} (only sentinel_password)"
                    ))
                }
            };
            let sentinels = hosts
                .iter()
                .map(|h| {
                    format!("redis://{sentinel_auth}{}", with_port(h, 26379)).into_connection_info()
                })
                .collect::<RedisResult<Vec<_>>>()
                .map_err(|e| e.to_string())?;
            Ok(Self::Sentinel {
                sentinels,
                master,
                node,
            })
        } else if let Some(rest) = url.strip_prefix("redis-cluster://") {
            let (userinfo, hosts, path, query) = split_multi_host(rest)?;
            if !query.is_empty() {
                return Err("a Cluster URL takes no options".into());
            }
            let db = path.trim_matches('/');
            if !db.is_empty() && db != "0" {
                return Err(format!(
                    "Redis Cluster has only db 0, and the URL names db {db}"
                ));
            }
            let nodes = hosts
                .iter()
                .map(|h| format!("redis://{userinfo}{}", with_port(h, 6379)).into_connection_info())
                .collect::<RedisResult<Vec<_>>>()
                .map_err(|e| e.to_string())?;
            Ok(Self::Cluster(nodes))
        } else {
            url.into_connection_info()
                .map(Self::Single)
                .map_err(|e| e.to_string())
        }
    }

    /// The database the cache's keys live in (pub/sub channels are shared by all of them).
    fn db(&self) -> i64 {
        match self {
            Self::Single(info) => info.redis_settings().db(),
            Self::Sentinel { node, .. } => node.db(),
            Self::Cluster(_) => 0,
        }
    }
}

/// `[userinfo@]h1:p1,h2:p2[/path][?query]` → (`userinfo@` or empty, hosts, path, query).
fn split_multi_host(rest: &str) -> Result<(String, Vec<String>, String, String), String> {
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (userinfo, hosts) = match authority.rsplit_once('@') {
        Some((userinfo, hosts)) => (format!("{userinfo}@"), hosts),
        None => (String::new(), authority),
    };
    let hosts: Vec<String> = hosts
        .split(',')
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .map(str::to_owned)
        .collect();
    if hosts.is_empty() {
        return Err("no host:port in the URL".into());
    }
    Ok((userinfo, hosts, path.to_owned(), query.to_owned()))
}

fn with_port(host: &str, default: u16) -> String {
    if host.contains(':') {
        host.to_owned()
    } else {
        format!("{host}:{default}")
    }
}

/// What the cache talks to now (see the module docs).
#[derive(Clone)]
enum Link {
    /// A bb8 pool over one server: the one of the URL, or the master the sentinels named.
    Pooled(Pool<RedisConnectionManager>),
    /// A cluster connection: multiplexed, clonable, routes by slot.
    Cluster(ClusterConnection),
}

impl Link {
    async fn conn(&self) -> Result<Conn, String> {
        match self {
            Self::Pooled(pool) => Ok(Conn::Single(
                pool.get().await.map_err(|e| e.to_string())?.clone(),
            )),
            Self::Cluster(conn) => Ok(Conn::Cluster(conn.clone())),
        }
    }
}

/// The connection one call gets: commands and pipelines go through it as through any
/// `redis` connection; what a cluster cannot route as is has methods of its own.
#[derive(Clone)]
enum Conn {
    /// A multiplexed connection to one server.
    Single(MultiplexedConnection),
    /// A cluster connection.
    Cluster(ClusterConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(c) => c.req_packed_command(cmd),
            Self::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Self::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(c) => c.get_db(),
            Self::Cluster(_) => 0,
        }
    }
}

impl Conn {
    /// Runs commands on keys of any slots and answers their replies in order: one pipeline on
    /// one server; concurrent single commands on a cluster (a pipeline must stay in one slot).
    async fn run_each(&mut self, cmds: Vec<Cmd>) -> RedisResult<Vec<Value>> {
        match self {
            Self::Single(c) => {
                let mut pipe = redis::pipe();
                for cmd in cmds {
                    pipe.add_command(cmd);
                }
                pipe.query_async(c).await
            }
            Self::Cluster(c) => {
                let mut replies = Vec::with_capacity(cmds.len());
                for chunk in cmds.chunks(BATCH) {
                    let batch = chunk.iter().map(|cmd| {
                        let mut c = c.clone();
                        async move { cmd.query_async::<Value>(&mut c).await }
                    });
                    replies.extend(futures::future::try_join_all(batch).await?);
                }
                Ok(replies)
            }
        }
    }

    /// The masters of a cluster (`host`, `port`), from `CLUSTER NODES`; none on one server.
    async fn masters(&mut self) -> RedisResult<Vec<(String, u16)>> {
        let Self::Cluster(c) = self else {
            return Ok(Vec::new());
        };
        let nodes: String = redis::cmd("CLUSTER").arg("NODES").query_async(c).await?;
        Ok(parse_masters(&nodes))
    }

    /// Runs `cmd` on every master (on the one server if not a cluster).
    async fn on_every_master<T: redis::FromRedisValue>(&mut self, cmd: Cmd) -> RedisResult<Vec<T>> {
        let masters = self.masters().await?;
        match self {
            Self::Single(c) => Ok(vec![cmd.query_async(c).await?]),
            Self::Cluster(c) => {
                let mut answers = Vec::with_capacity(masters.len());
                for (host, port) in masters {
                    let value = c
                        .route_command(
                            cmd.clone(),
                            RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress {
                                host,
                                port,
                            }),
                        )
                        .await?;
                    answers.push(redis::from_redis_value(value)?);
                }
                Ok(answers)
            }
        }
    }

    /// Every key matching `pattern` (`SCAN MATCH`, never `KEYS`), on every master.
    async fn scan(&mut self, pattern: &str) -> RedisResult<Vec<String>> {
        let masters = self.masters().await?;
        let mut keys = Vec::new();
        let mut nodes: Vec<Option<(String, u16)>> = masters.into_iter().map(Some).collect();
        if nodes.is_empty() {
            nodes.push(None);
        }
        for node in nodes {
            let mut cursor: u64 = 0;
            loop {
                let mut cmd = redis::cmd("SCAN");
                cmd.arg(cursor)
                    .arg("MATCH")
                    .arg(pattern)
                    .arg("COUNT")
                    .arg(1000);
                let (next, batch): (u64, Vec<String>) = match (&mut *self, &node) {
                    (Self::Cluster(c), Some((host, port))) => redis::from_redis_value(
                        c.route_command(
                            cmd,
                            RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress {
                                host: host.clone(),
                                port: *port,
                            }),
                        )
                        .await?,
                    )?,
                    (conn, _) => cmd.query_async(conn).await?,
                };
                keys.extend(batch);
                if next == 0 {
                    break;
                }
                cursor = next;
            }
        }
        // SCAN may return a key more than once while the table rehashes.
        keys.sort_unstable();
        keys.dedup();
        Ok(keys)
    }
}

/// The masters in a `CLUSTER NODES` answer that are not failing.
fn parse_masters(nodes: &str) -> Vec<(String, u16)> {
    nodes
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let address = fields.nth(1)?;
            let flags = fields.next()?;
            let flags: Vec<&str> = flags.split(',').collect();
            if !flags.contains(&"master") || flags.iter().any(|f| f.starts_with("fail")) {
                return None;
            }
            // `host:port@cport[,hostname]`
            let address = address.split(['@', ',']).next()?;
            let (host, port) = address.rsplit_once(':')?;
            if host.is_empty() {
                return None;
            }
            Some((host.to_owned(), port.parse().ok()?))
        })
        .collect()
}

/// The Redis implementation of the cache port.
#[derive(Clone)]
pub struct RedisCache {
    inner: Arc<Inner>,
}

struct Inner {
    settings: RedisSettings,
    target: Target,
    /// `None` until first connected (Sentinel and Cluster connect lazily, on the first call).
    link: RwLock<Option<Link>>,
    /// Held while connecting lazily, so concurrent first calls connect once.
    connecting: tokio::sync::Mutex<()>,
    degraded: AtomicBool,
    /// Moved every time the recovery probe swaps in a new link: subscriptions end with it, so
    /// the tier subscribes again where the cache now is (a Sentinel's new master).
    relinked: tokio::sync::watch::Sender<u64>,
    /// Whether the `+switch-master` watcher runs (Sentinel only; started by the first call).
    watching: AtomicBool,
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
        let target = Target::parse(&settings.url)?;
        let link = match &target {
            Target::Single(info) => Some(Link::Pooled(build_pool(&settings, info)?)),
            Target::Sentinel { .. } | Target::Cluster(_) => None,
        };
        Ok(Self {
            inner: Arc::new(Inner {
                settings,
                target,
                link: RwLock::new(link),
                connecting: tokio::sync::Mutex::new(()),
                degraded: AtomicBool::new(false),
                watching: AtomicBool::new(false),
                relinked: tokio::sync::watch::Sender::new(0),
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

    /// The current link, connecting it first if this is the first call.
    async fn link(&self) -> Result<Link, String> {
        if let Some(link) = self.current_link() {
            return Ok(link);
        }
        let _connecting = self.inner.connecting.lock().await;
        if let Some(link) = self.current_link() {
            return Ok(link);
        }
        let link = connect(&self.inner.settings, &self.inner.target).await?;
        *self
            .inner
            .link
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(link.clone());
        Ok(link)
    }

    fn current_link(&self) -> Option<Link> {
        self.inner
            .link
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Runs one call on a connection within `bound`; a failure opens the breaker.
    async fn call<T, F, Fut>(&self, bound: Duration, f: F) -> Result<T, CacheError>
    where
        F: FnOnce(Conn) -> Fut + Send,
        Fut: Future<Output = RedisResult<T>> + Send,
        T: Send,
    {
        self.watch_sentinels();
        if self.inner.degraded.load(Ordering::Acquire) {
            return Err(CacheError("Redis is degraded; skipped".into()));
        }
        // The first call of a Sentinel or Cluster cache connects, within the connect bound
        // (a cluster takes a few round trips to learn its slots).
        let link = match self.current_link() {
            Some(link) => Ok(link),
            None => tokio::time::timeout(self.inner.settings.connect_timeout, self.link())
                .await
                .unwrap_or_else(|_| Err("no answer while connecting".into())),
        };
        let work = async move {
            let conn = link?.conn().await?;
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
        F: FnOnce(Conn) -> Fut + Send,
        Fut: Future<Output = RedisResult<T>> + Send,
        T: Send,
    {
        self.call(self.inner.settings.command_timeout, f).await
    }

    async fn slow<T, F, Fut>(&self, f: F) -> Result<T, CacheError>
    where
        F: FnOnce(Conn) -> Fut + Send,
        Fut: Future<Output = RedisResult<T>> + Send,
        T: Send,
    {
        self.call(self.inner.settings.admin_timeout, f).await
    }

    /// Opens the breaker and starts the recovery probe, once per episode.
    fn trip(&self, failure: &str) {
        trip(&self.inner, failure);
    }

    /// Starts the `+switch-master` watcher of a Sentinel cache, once (from the first call, which
    /// runs inside the runtime).
    fn watch_sentinels(&self) {
        if matches!(self.inner.target, Target::Sentinel { .. })
            && !self.inner.watching.load(Ordering::Relaxed)
            && !self.inner.watching.swap(true, Ordering::AcqRel)
        {
            tokio::spawn(watch_switches(Arc::downgrade(&self.inner)));
        }
    }
}

/// Opens the breaker and starts the recovery probe, once per episode.
fn trip(inner: &Arc<Inner>, failure: &str) {
    if inner.degraded.swap(true, Ordering::AcqRel) {
        return;
    }
    tracing::warn!(error = %failure, "Redis is unavailable; serving without the cache until it answers again");
    let inner = Arc::clone(inner);
    tokio::spawn(async move { recover(inner).await });
}

/// Listens to the sentinels' `+switch-master` announcements and opens the breaker when this
/// cache's master moves, so the probe asks the sentinels again at once; otherwise a forced
/// failover (`SENTINEL FAILOVER`) would be followed only when the old master, still answering,
/// is demoted and drops its clients, and writes made on it meanwhile would be lost. Ends with
/// the cache.
async fn watch_switches(inner: std::sync::Weak<Inner>) {
    use futures::StreamExt;

    let mut backoff = FIRST_BACKOFF;
    loop {
        let Some(strong) = inner.upgrade() else {
            return;
        };
        let Target::Sentinel {
            sentinels, master, ..
        } = &strong.target
        else {
            return;
        };
        let master = master.clone();
        let sentinels = sentinels.clone();
        let bound = strong.settings.connect_timeout;
        drop(strong);
        let mut stream = None;
        for sentinel in sentinels {
            let attempt = async {
                let client = redis::Client::open(sentinel)?;
                let mut pubsub = client.get_async_pubsub().await?;
                pubsub.subscribe("+switch-master").await?;
                Ok::<_, redis::RedisError>(pubsub.into_on_message())
            };
            if let Ok(Ok(subscribed)) = tokio::time::timeout(bound, attempt).await {
                stream = Some(subscribed);
                break;
            }
        }
        if let Some(mut stream) = stream {
            backoff = FIRST_BACKOFF;
            // `<master name> <old ip> <old port> <new ip> <new port>`
            loop {
                // Wakes now and then to end with the cache.
                let message = match tokio::time::timeout(MAX_BACKOFF, stream.next()).await {
                    Ok(Some(message)) => message,
                    Ok(None) => break,
                    Err(_) if inner.strong_count() == 0 => return,
                    Err(_) => continue,
                };
                let payload: String = message.get_payload().unwrap_or_default();
                if payload.split_whitespace().next() != Some(master.as_str()) {
                    continue;
                }
                let Some(strong) = inner.upgrade() else {
                    return;
                };
                tracing::info!("the sentinels moved the Redis master; connecting to the new one");
                trip(&strong, "the sentinels moved the master");
            }
        }
        if inner.strong_count() == 0 {
            return;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Pub/sub for the in-process tier (`cache/tiered.rs`).
impl RedisCache {
    /// The channel on which this deployment's cache invalidations travel: pub/sub channels
    /// are shared by every database of a server, so it names the database and the key prefix.
    pub fn invalidation_channel(&self) -> String {
        invalidation_channel(&self.inner)
    }

    /// Publishes `payload` on `channel` (time-bounded like any request-path call). On a
    /// cluster, the node that receives it passes it to every other node.
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
    /// does, or when the cache reconnects after an outage (it may now be elsewhere).
    /// Sentinel: on the master the sentinels name now. Cluster: on the first node of the list
    /// that answers.
    pub async fn subscribe(
        &self,
        channel: &str,
    ) -> Result<futures::stream::BoxStream<'static, redis::Msg>, CacheError> {
        use futures::StreamExt;

        let mut relinked = self.inner.relinked.subscribe();
        relinked.mark_unchanged();
        let settings = &self.inner.settings;
        let work = async {
            let candidates = match &self.inner.target {
                Target::Single(info) => vec![info.clone()],
                Target::Sentinel { .. } => {
                    vec![resolve_master(settings.connect_timeout, &self.inner.target).await?]
                }
                Target::Cluster(nodes) => nodes.clone(),
            };
            let mut failure = String::from("no node to subscribe on");
            for info in candidates {
                let attempt = async {
                    let client = redis::Client::open(info)?;
                    let mut pubsub = client.get_async_pubsub().await?;
                    pubsub.subscribe(channel).await?;
                    Ok::<_, redis::RedisError>(pubsub.into_on_message())
                };
                match tokio::time::timeout(settings.connect_timeout, attempt).await {
                    Ok(Ok(stream)) => return Ok(stream),
                    Ok(Err(e)) => failure = e.to_string(),
                    Err(_) => failure = "no answer while subscribing".into(),
                }
            }
            Err(failure)
        };
        let bound = settings.connect_timeout * 4;
        match tokio::time::timeout(bound, work).await {
            Ok(Ok(stream)) => Ok(stream
                .take_until(async move {
                    let _ = relinked.changed().await;
                })
                .boxed()),
            Ok(Err(e)) => Err(CacheError(e)),
            Err(_) => Err(CacheError("no answer while subscribing".into())),
        }
    }
}

fn invalidation_channel(inner: &Inner) -> String {
    format!(
        "{}tessera:invalidate:db{}",
        inner.settings.key_prefix,
        inner.target.db()
    )
}

/// Connects to the target: a pool over the server (for Sentinel, the master the sentinels
/// name now, checked to be a master), or a cluster connection.
async fn connect(settings: &RedisSettings, target: &Target) -> Result<Link, String> {
    match target {
        Target::Single(info) => Ok(Link::Pooled(build_pool(settings, info)?)),
        Target::Sentinel { .. } => {
            let info = resolve_master(settings.connect_timeout, target).await?;
            let pool = build_pool(settings, &info)?;
            let check = async {
                let mut conn = pool.get().await.map_err(|e| e.to_string())?.clone();
                redis::cmd("INFO")
                    .arg("replication")
                    .query_async::<String>(&mut conn)
                    .await
                    .map_err(|e| e.to_string())
            };
            let replication = tokio::time::timeout(settings.connect_timeout, check)
                .await
                .map_err(|_| "no answer from the master the sentinels named".to_owned())??;
            // During a failover the sentinels may still name the old master, already demoted.
            if info_field(&replication, "role") != Some("master") {
                return Err(
                    "the server the sentinels name is not a master (failover under way)".into(),
                );
            }
            Ok(Link::Pooled(pool))
        }
        Target::Cluster(nodes) => {
            let client = redis::cluster::ClusterClientBuilder::new(nodes.clone())
                .connection_timeout(settings.connect_timeout)
                .response_timeout(settings.admin_timeout)
                // Our own bound and breaker decide what a failure costs; a redirect (MOVED,
                // ASK) during a resharding still gets its retry.
                .retries(2)
                .build()
                .map_err(|e| e.to_string())?;
            let conn =
                tokio::time::timeout(settings.connect_timeout, client.get_async_connection())
                    .await
                    .map_err(|_| "no answer from the cluster's nodes".to_owned())?
                    .map_err(|e| e.to_string())?;
            Ok(Link::Cluster(conn))
        }
    }
}

/// Asks the sentinels (the first that answers) where the master is now.
async fn resolve_master(
    connect_timeout: Duration,
    target: &Target,
) -> Result<ConnectionInfo, String> {
    let Target::Sentinel {
        sentinels,
        master,
        node,
    } = target
    else {
        return Err("not a Sentinel URL".into());
    };
    let mut client = redis::sentinel::SentinelClient::build(
        sentinels.clone(),
        master.clone(),
        Some(
            redis::sentinel::SentinelNodeConnectionInfo::default()
                .set_redis_connection_info(node.clone()),
        ),
        redis::sentinel::SentinelServerType::Master,
    )
    .map_err(|e| e.to_string())?;
    let client = tokio::time::timeout(connect_timeout, client.async_get_client())
        .await
        .map_err(|_| "no answer from the sentinels".to_owned())?
        .map_err(|e| format!("the sentinels did not name a master: {e}"))?;
    Ok(client.get_connection_info().clone())
}

/// Probes Redis with exponential backoff until it answers, then swaps in a fresh link (for
/// Sentinel, over the master the sentinels name now).
async fn recover(inner: Arc<Inner>) {
    let started = Instant::now();
    let mut backoff = FIRST_BACKOFF;
    loop {
        tokio::time::sleep(backoff).await;
        let bound = inner.settings.connect_timeout * 2;
        let probe = async {
            let link = connect(&inner.settings, &inner.target).await?;
            let mut conn = link.conn().await?;
            redis::cmd("PING")
                .query_async::<String>(&mut conn)
                .await
                .map_err(|e| e.to_string())?;
            Ok::<_, String>(link)
        };
        if let Ok(Ok(link)) = tokio::time::timeout(bound, probe).await {
            if forget_stale(&inner, &link).await {
                *inner.link.write().unwrap_or_else(PoisonError::into_inner) = Some(link);
                inner.relinked.send_modify(|n| *n += 1);
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

/// Drops the namespaces that must not outlive an outage (SCAN on every master and UNLINK in
/// batches, bounded by the admin timeout); answers whether it could.
async fn forget_stale(inner: &Inner, link: &Link) -> bool {
    if inner.settings.forget_on_recovery.is_empty() {
        return true;
    }
    let work = async {
        let mut conn = link.conn().await?;
        let mut dropped = 0_u64;
        for namespace in &inner.settings.forget_on_recovery {
            let pattern = escape_glob(&format!("{}{namespace}", inner.settings.key_prefix));
            let keys = conn.scan(&pattern).await.map_err(|e| e.to_string())?;
            for chunk in keys.chunks(BATCH) {
                dropped += redis::cmd("UNLINK")
                    .arg(chunk)
                    .query_async::<u64>(&mut conn)
                    .await
                    .map_err(|e| e.to_string())?;
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

    async fn get(&self, key: &str) -> Result<Option<CachedValue>, CacheError> {
        let key = self.key(key);
        let raw: Option<Vec<u8>> = self
            .fast(|mut c| async move { redis::cmd("GET").arg(key).query_async(&mut c).await })
            .await?;
        Ok(raw.and_then(decode).map(CachedValue::from))
    }

    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<CachedValue>>, CacheError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = keys.iter().map(|k| self.key(k)).collect();
        let raw: Vec<Option<Vec<u8>>> = self
            .fast(|mut c| async move { redis::cmd("MGET").arg(keys).query_async(&mut c).await })
            .await?;
        Ok(raw
            .into_iter()
            .map(|v| v.and_then(decode).map(CachedValue::from))
            .collect())
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
        let cmds: Vec<Cmd> = entries
            .iter()
            .map(|(key, value, ttl)| {
                let mut cmd = redis::cmd("SET");
                cmd.arg(self.key(key))
                    .arg(self.encode(value))
                    .arg("EX")
                    .arg(ttl.as_secs().max(1));
                cmd
            })
            .collect();
        self.slow(move |mut c| async move { c.run_each(cmds).await.map(|_| ()) })
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
        let keys = self
            .slow(move |mut c| async move { c.scan(&pattern).await })
            .await?;
        Ok(keys
            .into_iter()
            .map(|k| k[own_prefix_len..].to_owned())
            .collect())
    }

    async fn ttls(&self, keys: &[String]) -> Result<Vec<Option<Duration>>, CacheError> {
        let cmds: Vec<Cmd> = keys
            .iter()
            .map(|key| {
                let mut cmd = redis::cmd("PTTL");
                cmd.arg(self.key(key));
                cmd
            })
            .collect();
        let millis: Vec<i64> = self
            .slow(move |mut c| async move {
                c.run_each(cmds)
                    .await?
                    .into_iter()
                    .map(|v| Ok(redis::from_redis_value(v)?))
                    .collect()
            })
            .await?;
        // -2: no such key, -1: no TTL.
        Ok(millis
            .into_iter()
            .map(|ms| u64::try_from(ms).ok().map(Duration::from_millis))
            .collect())
    }

    async fn info(&self) -> Result<CacheInfo, CacheError> {
        // On a cluster every master answers for its share; the figures are summed (memory,
        // keys, counters), the version and policy are the first master's.
        let (infos, sizes): (Vec<String>, Vec<u64>) = self
            .slow(|mut c| async move {
                let mut info = redis::cmd("INFO");
                info.arg("everything");
                let infos = c.on_every_master::<String>(info).await?;
                let sizes = c.on_every_master::<u64>(redis::cmd("DBSIZE")).await?;
                Ok((infos, sizes))
            })
            .await?;
        let first = infos.first().map(String::as_str).unwrap_or_default();
        let sum = |name: &str| infos.iter().map(|i| info_number(i, name)).sum::<u64>();
        let used_memory = sum("used_memory");
        let maxmemory = sum("maxmemory");
        let one = infos.len() == 1;
        Ok(CacheInfo {
            total_keys: Some(sizes.iter().sum()),
            max_entries: None,
            redis: Some(RedisInfo {
                redis_version: info_field(first, "redis_version")
                    .unwrap_or_default()
                    .to_owned(),
                used_memory,
                used_memory_human: if one {
                    info_field(first, "used_memory_human")
                        .unwrap_or_default()
                        .to_owned()
                } else {
                    human_bytes(used_memory)
                },
                maxmemory,
                maxmemory_human: if one {
                    info_field(first, "maxmemory_human")
                        .unwrap_or_default()
                        .to_owned()
                } else {
                    human_bytes(maxmemory)
                },
                maxmemory_policy: info_field(first, "maxmemory_policy")
                    .unwrap_or_default()
                    .to_owned(),
                evicted_keys: sum("evicted_keys"),
                expired_keys: sum("expired_keys"),
                connected_clients: sum("connected_clients"),
                total_commands_processed: sum("total_commands_processed"),
                keyspace_hits: sum("keyspace_hits"),
                keyspace_misses: sum("keyspace_misses"),
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

/// Bytes as Redis writes them in `INFO` (`1.50M`), for figures summed over a cluster.
fn human_bytes(bytes: u64) -> String {
    let mut value = bytes as f64;
    for unit in ["B", "K", "M", "G", "T"] {
        if value < 1024.0 || unit == "T" {
            return if unit == "B" {
                format!("{bytes}B")
            } else {
                format!("{value:.2}{unit}")
            };
        }
        value /= 1024.0;
    }
    format!("{bytes}B")
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
    fn sentinel_and_cluster_urls_are_read() {
        let Ok(Target::Sentinel {
            sentinels,
            master,
            node,
        }) = Target::parse("redis-sentinel://:pa%40ss@h1:26379,h2/tessera/3?sentinel_password=s")
        else {
            panic!("a Sentinel URL");
        };
        assert_eq!(sentinels.len(), 2);
        assert_eq!(sentinels[1].addr().to_string(), "h2:26379");
        assert_eq!(sentinels[0].redis_settings().password(), Some("s"));
        assert_eq!(master, "tessera");
        assert_eq!((node.db(), node.password()), (3, Some("pa@ss")));
        assert!(Target::parse("redis-sentinel://h1:26379").is_err());
        assert!(Target::parse("redis-sentinel://h1/m/0?x=1").is_err());

        let Ok(Target::Cluster(nodes)) = Target::parse("redis-cluster://a:7001,b:7002/0") else {
            panic!("a Cluster URL");
        };
        assert_eq!(nodes.len(), 2);
        assert!(Target::parse("redis-cluster://a:7001/1").is_err());
        assert!(Target::parse("redis-cluster:///0").is_err());
        assert_eq!(
            cluster_url("a:1, b:2", Some("redis://u:p@x:6379")).as_deref(),
            Ok("redis-cluster://u:p@a:1,b:2")
        );
        assert!(cluster_url("a:1", Some("redis://x:6379/5")).is_err());
    }

    #[test]
    fn cluster_masters_are_read_from_cluster_nodes() {
        let nodes = "\
07c3 127.0.0.1:7002@17002 master - 0 1 2 connected 5461-10922
67ed 127.0.0.1:7001@17001,host1 myself,master - 0 0 1 connected 0-5460
292f 127.0.0.1:7004@17004 slave 67ed 0 1 1 connected
e7d1 127.0.0.1:7003@17003 master,fail - 0 1 3 disconnected 10923-16383
";
        assert_eq!(
            parse_masters(nodes),
            vec![
                ("127.0.0.1".to_owned(), 7002),
                ("127.0.0.1".to_owned(), 7001)
            ]
        );
    }

    #[test]
    fn summed_bytes_read_as_redis_writes_them() {
        assert_eq!(human_bytes(900), "900B");
        assert_eq!(human_bytes(1536), "1.50K");
        assert_eq!(human_bytes(3 * 1024 * 1024), "3.00M");
    }

    #[test]
    fn bad_urls_are_refused_with_a_reason() {
        assert!(parse_redis_url("redis://127.0.0.1:6379/2").is_ok());
        assert!(parse_redis_url("not a url").is_err());
        assert!(parse_redis_url("http://127.0.0.1:6379").is_err());
    }
}
