//! Redis Sentinel and Redis Cluster, on real local servers that `scripts/services up` starts (a
//! 3-master cluster on 127.0.0.1:7001–7003; a master, a replica and three sentinels watching
//! `tessera`): every cache operation, file URLs and the admin endpoints (clear visits every
//! master), sessions, rate limits, the in-process tier's cross-instance invalidation (and what
//! it does when its subscription breaks), and a Sentinel failover during reads.
//!
//! The Sentinel tests take turns (a failover would otherwise open the breaker of a neighbour);
//! keys of concurrent tests are kept apart by their `CACHE_KEY_PREFIX`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;
use redis::cluster_async::ClusterConnection;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tessera_domain::shared::cache::Cache;
use tessera_infra::cache::redis::{RedisCache, RedisSettings};
use tessera_infra::cache::tiered::{TierSettings, TieredCache};

use crate::helpers::{
    eventually, png, redis_settings, spawn_app_with, Backend, ServerProcess, TestApp,
};

/// The Sentinel tests run one at a time: the failover test moves the master under everyone.
static SENTINEL_TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const MASTER_NAME: &str = "tessera";

fn ha_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the tests with ./scripts/test (or eval \"$(scripts/services up)\"), which starts the local Redis Cluster and Sentinel unless TESSERA_TEST_REDIS_HA=0")
    })
}

/// Which Redis set-up a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ha {
    Cluster,
    Sentinel,
}

impl Ha {
    /// The `REDIS_URL` that selects it.
    fn url(self) -> String {
        match self {
            Self::Cluster => format!(
                "redis-cluster://{}",
                ha_env("TESSERA_TEST_REDIS_CLUSTER_NODES")
            ),
            Self::Sentinel => ha_env("TESSERA_TEST_REDIS_SENTINEL_URL"),
        }
    }

    /// The data nodes a test reads directly: the cluster's masters, or the master now.
    async fn nodes(self) -> Vec<String> {
        match self {
            Self::Cluster => ha_env("TESSERA_TEST_REDIS_CLUSTER_NODES")
                .split(',')
                .map(str::to_owned)
                .collect(),
            Self::Sentinel => vec![sentinel_master().await],
        }
    }

    /// A connection of the test's own, routing keys as the app does.
    async fn direct(self) -> Direct {
        match self {
            Self::Cluster => {
                let nodes: Vec<String> = self
                    .nodes()
                    .await
                    .iter()
                    .map(|n| format!("redis://{n}"))
                    .collect();
                Direct::Cluster(
                    redis::cluster::ClusterClient::new(nodes)
                        .unwrap()
                        .get_async_connection()
                        .await
                        .unwrap(),
                )
            }
            Self::Sentinel => Direct::Single(node(&sentinel_master().await).await),
        }
    }

    async fn app(self, extra: &[(&str, &str)]) -> TestApp {
        let url = self.url();
        let mut settings = vec![("REDIS_URL", url.as_str())];
        settings.extend_from_slice(extra);
        spawn_app_with(Backend::Services, &settings).await
    }

    fn cache(self, prefix: &str) -> RedisCache {
        RedisCache::new(ha_settings(self, prefix)).unwrap()
    }
}

fn ha_settings(ha: Ha, prefix: &str) -> RedisSettings {
    redis_settings(&ha.url(), prefix)
}

/// Runs a test body on the cluster and on Sentinel, as two tests.
macro_rules! on_cluster_and_sentinel {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_cluster() {
                ($body)(Ha::Cluster).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_sentinel() {
                let _turn = SENTINEL_TURN.lock().await;
                ($body)(Ha::Sentinel).await;
            }
        }
    };
}

async fn node(address: &str) -> MultiplexedConnection {
    redis::Client::open(format!("redis://{address}"))
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

async fn sentinel_answer<T: redis::FromRedisValue>(cmd: &redis::Cmd) -> redis::RedisResult<T> {
    let url = ha_env("TESSERA_TEST_REDIS_SENTINEL_URL");
    let hosts = url
        .trim_start_matches("redis-sentinel://")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let mut last = None;
    for host in hosts.split(',') {
        let Ok(client) = redis::Client::open(format!("redis://{host}")) else {
            continue;
        };
        match client.get_multiplexed_async_connection().await {
            Ok(mut conn) => match cmd.query_async(&mut conn).await {
                Ok(answer) => return Ok(answer),
                Err(e) => last = Some(e),
            },
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap())
}

/// `host:port` of the master the sentinels name now.
async fn sentinel_master() -> String {
    let (host, port): (String, u16) = sentinel_answer(
        redis::cmd("SENTINEL")
            .arg("get-master-addr-by-name")
            .arg(MASTER_NAME),
    )
    .await
    .unwrap();
    format!("{host}:{port}")
}

/// A connection of the test's own.
enum Direct {
    Cluster(ClusterConnection),
    Single(MultiplexedConnection),
}

impl Direct {
    async fn query<T: redis::FromRedisValue>(&mut self, cmd: &redis::Cmd) -> T {
        match self {
            Self::Cluster(c) => cmd.query_async(c).await.unwrap(),
            Self::Single(c) => cmd.query_async(c).await.unwrap(),
        }
    }

    async fn get(&mut self, key: &str) -> Option<String> {
        self.query(redis::cmd("GET").arg(key)).await
    }
}

/// How many keys matching `pattern` each data node holds.
async fn keys_per_node(ha: Ha, pattern: &str) -> Vec<usize> {
    let mut counts = Vec::new();
    for address in ha.nodes().await {
        let mut conn = node(&address).await;
        let mut cursor = 0_u64;
        let mut count = 0;
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(pattern)
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut conn)
                .await
                .unwrap();
            count += keys.len();
            if next == 0 {
                break;
            }
            cursor = next;
        }
        counts.push(count);
    }
    counts
}

on_cluster_and_sentinel!(every_cache_operation_works, |ha: Ha| async move {
    let prefix = format!("ha{}:", uuid::Uuid::new_v4().simple());
    let cache = ha.cache(&prefix);
    cache.ping().await.unwrap();

    // Multi-key operations on keys of many slots: MGET, a pipeline of SETs and of PTTLs,
    // UNLINK, and SCAN on every master.
    let ttl = Duration::from_secs(300);
    let keys: Vec<String> = (0..60).map(|i| format!("ns:{i}")).collect();
    let entries: Vec<(String, String, Duration)> = keys
        .iter()
        .map(|k| (k.clone(), format!("value of {k}"), ttl))
        .collect();
    cache.set_many(&entries).await.unwrap();
    let values = cache.get_many(&keys).await.unwrap();
    for (key, value) in keys.iter().zip(&values) {
        assert_eq!(value.as_deref(), Some(format!("value of {key}").as_str()));
    }
    let ttls = cache.ttls(&keys).await.unwrap();
    assert!(ttls
        .iter()
        .all(|t| t.is_some_and(|t| t <= ttl && t > Duration::from_secs(200))));
    let mut found = cache.scan_prefix("ns:").await.unwrap();
    found.sort_by_key(|k| k[3..].parse::<u32>().unwrap());
    assert_eq!(found, keys);
    if ha == Ha::Cluster {
        let per_node = keys_per_node(ha, &format!("{prefix}ns:*")).await;
        assert!(
            per_node.iter().all(|n| *n > 0),
            "keys on every master: {per_node:?}"
        );
    }
    // A long value is stored compressed and read back as written.
    let long = "x".repeat(5000);
    cache.set("ns:long", &long, ttl).await.unwrap();
    assert_eq!(cache.get("ns:long").await.unwrap(), Some(long.into()));
    assert_eq!(cache.delete(&keys).await.unwrap(), 60);
    assert!(cache
        .get_many(&keys)
        .await
        .unwrap()
        .iter()
        .all(Option::is_none));
    assert_eq!(cache.scan_prefix("ns:").await.unwrap(), vec!["ns:long"]);

    // The scripts (one key each).
    let window = Duration::from_secs(60);
    assert_eq!(cache.count_hit("rate:a", window).await.unwrap().0, 1);
    let (count, left) = cache.count_hit("rate:a", window).await.unwrap();
    assert!(count == 2 && left <= window && left > Duration::ZERO);
    assert!(cache.set_if_absent("lock:x", "mine", ttl).await.unwrap());
    assert!(!cache.set_if_absent("lock:x", "theirs", ttl).await.unwrap());
    assert!(!cache.delete_if_equal("lock:x", "theirs").await.unwrap());
    assert!(cache.delete_if_equal("lock:x", "mine").await.unwrap());

    // Counters, sets and sorted sets.
    assert_eq!(cache.incr_by("views:1", 2).await.unwrap(), 2);
    assert_eq!(cache.take("views:1").await.unwrap().as_deref(), Some("2"));
    cache.add_member("set:a", "m1", ttl).await.unwrap();
    cache.add_member("set:a", "m2", ttl).await.unwrap();
    cache.remove_member("set:a", "m1").await.unwrap();
    assert_eq!(cache.members("set:a").await.unwrap(), vec!["m2"]);
    assert_eq!(cache.zincr_by("z", "a", 2.0, ttl).await.unwrap(), 2.0);
    cache
        .zset_scores("z", &[("b".into(), 5.0), ("c".into(), 1.0)], ttl)
        .await
        .unwrap();
    assert_eq!(
        cache.zrev_range("z", Some(2)).await.unwrap(),
        vec![("b".to_owned(), 5.0), ("a".to_owned(), 2.0)]
    );
    assert_eq!(cache.zrem("z", &["b".into()]).await.unwrap(), 1);

    let info = cache.info().await.unwrap();
    assert!(info.total_keys.unwrap() >= 3);
    let redis = info.redis.unwrap();
    assert!(!redis.redis_version.is_empty() && redis.used_memory > 0);
    assert!(!cache.is_degraded());

    let rest = cache.scan_prefix("").await.unwrap();
    cache.delete(&rest).await.unwrap();
});

on_cluster_and_sentinel!(
    after_a_failure_the_probe_drops_stale_entries_on_every_master,
    |ha: Ha| async move {
        let prefix = format!("ha{}:", uuid::Uuid::new_v4().simple());
        let cache = RedisCache::new(RedisSettings {
            forget_on_recovery: vec!["session:".into()],
            ..ha_settings(ha, &prefix)
        })
        .unwrap();
        let ttl = Duration::from_secs(300);
        let sessions: Vec<(String, String, Duration)> = (0..30)
            .map(|i| (format!("session:{i}"), "7".to_owned(), ttl))
            .collect();
        cache.set_many(&sessions).await.unwrap();
        cache.set("file_url:1", "kept", ttl).await.unwrap();
        if ha == Ha::Cluster {
            let per_node = keys_per_node(ha, &format!("{prefix}session:*")).await;
            assert!(per_node.iter().all(|n| *n > 0), "{per_node:?}");
        }
        // Any failed call opens the breaker: here a command Redis refuses.
        cache.set("not-a-number", "x", ttl).await.unwrap();
        assert!(cache.incr_by("not-a-number", 1).await.is_err());
        assert!(cache.is_degraded());
        assert!(
            eventually(Duration::from_secs(10), || async { !cache.is_degraded() }).await,
            "the probe never closed the breaker"
        );
        assert!(keys_per_node(ha, &format!("{prefix}session:*"))
            .await
            .iter()
            .all(|n| *n == 0));
        assert_eq!(
            cache.get("file_url:1").await.unwrap().as_deref(),
            Some("kept")
        );
        let rest = cache.scan_prefix("").await.unwrap();
        cache.delete(&rest).await.unwrap();
    }
);

/// Two instances' in-process tiers over `ha`, under a fresh key prefix, both subscribed.
async fn two_instances(ha: Ha) -> (String, TieredCache, TieredCache) {
    let prefix = format!("ha{}:", uuid::Uuid::new_v4().simple());
    let settings = TierSettings {
        ttl: Duration::from_secs(60),
        max_bytes: 1 << 20,
    };
    let one = TieredCache::new(ha.cache(&prefix), settings);
    let two = TieredCache::new(ha.cache(&prefix), settings);
    assert!(
        eventually(Duration::from_secs(5), || async {
            one.stats().trusted && two.stats().trusted
        })
        .await,
        "both tiers subscribe"
    );
    (prefix, one, two)
}

on_cluster_and_sentinel!(
    the_in_process_tier_is_kept_coherent_across_instances,
    |ha: Ha| async move {
        let (_, one, two) = two_instances(ha).await;
        let ttl = Duration::from_secs(300);
        one.set("profile:1", "old", ttl).await.unwrap();
        // The first read may race the set's own invalidation message; soon reads are the tier's.
        assert!(
            eventually(Duration::from_secs(2), || async {
                two.get("profile:1").await.unwrap().as_deref() == Some("old")
                    && two.stats().hits >= 1
            })
            .await,
            "the other instance never serves from its tier"
        );
        one.set("profile:1", "new", ttl).await.unwrap();
        assert!(
            eventually(Duration::from_secs(2), || async {
                two.get("profile:1").await.unwrap().as_deref() == Some("new")
            })
            .await,
            "the other instance still serves the old value from its tier"
        );
        one.delete(&["profile:1".into()]).await.unwrap();
    }
);

on_cluster_and_sentinel!(
    an_instance_whose_subscription_breaks_reads_through_until_it_is_back,
    |ha: Ha| async move {
        let (prefix, one, two) = two_instances(ha).await;
        let key = "session:s1";
        let ttl = Duration::from_secs(60);
        one.set(key, "7", ttl).await.unwrap();
        assert!(
            eventually(Duration::from_secs(2), || async {
                two.get(key).await.unwrap().as_deref() == Some("7") && two.stats().hits >= 1
            })
            .await,
            "the other instance never serves from its tier"
        );

        // Every data node drops its pub/sub connections, as when the node a subscription was
        // on goes away (other tests' tiers subscribe again too). Then the session ends behind
        // the tier's back, straight in Redis: a write whose message it could not hear.
        let subscribed = two.stats().subscriptions;
        for address in ha.nodes().await {
            let _: () = redis::cmd("CLIENT")
                .arg("KILL")
                .arg("TYPE")
                .arg("pubsub")
                .query_async(&mut node(&address).await)
                .await
                .unwrap();
        }
        let mut direct = ha.direct().await;
        let full_key = format!("{prefix}{key}");
        let _: () = direct
            .query(redis::cmd("SET").arg(&full_key).arg("ended"))
            .await;
        assert!(
            eventually(Duration::from_secs(5), || async {
                two.stats().subscriptions > subscribed && two.stats().trusted
            })
            .await,
            "the tier did not subscribe again"
        );
        // What it held went with the subscription; and it hears writes again.
        assert_eq!(two.get(key).await.unwrap().as_deref(), Some("ended"));
        one.set(key, "8", ttl).await.unwrap();
        assert!(
            eventually(Duration::from_secs(2), || async {
                two.get(key).await.unwrap().as_deref() == Some("8")
            })
            .await,
            "the tier does not hear writes after subscribing again"
        );
        one.delete(&[key.into()]).await.unwrap();
    }
);

on_cluster_and_sentinel!(
    file_urls_and_the_admin_endpoints_visit_every_master,
    |ha: Ha| async move {
        let app = ha.app(&[]).await;
        let pattern = format!("{}file_url:*", app.key_prefix);
        let mut direct = ha.direct().await;

        // Enough files that every master holds some of their URLs.
        let mut ids = Vec::new();
        loop {
            let id = app.upload("avatar", "me.png", png()).await["id"]
                .as_i64()
                .unwrap();
            ids.push(id);
            let url = app.get_file(id).await["url"].as_str().unwrap().to_owned();
            let key = app.redis_key(&format!("file_url:{id}"));
            let cached: Value = serde_json::from_str(&direct.get(&key).await.unwrap()).unwrap();
            assert_eq!(
                cached["url"],
                url.as_str(),
                "file_url:{id} holds the URL served"
            );
            let per_node = keys_per_node(ha, &pattern).await;
            if ids.len() >= 3 && per_node.iter().all(|n| *n > 0) {
                break;
            }
            assert!(
                ids.len() < 40,
                "file URLs never reached every master: {per_node:?}"
            );
        }
        let n = ids.len() as u64;

        let stats = app.stats().await;
        assert_eq!(stats["backend"], "redis");
        assert_eq!(stats["degraded"], false);
        assert_eq!(stats["file_url_entries"], n);
        assert!(stats["total_keys"].as_u64().unwrap() >= n);
        assert!(!stats["redis"]["redis_version"].as_str().unwrap().is_empty());

        // A second read is a hit: nothing is signed.
        let before = app.signatures().await;
        app.get_file(ids[0]).await;
        assert_eq!(app.signatures().await, before);

        let cleared = app.admin_cache("clear", json!({})).await;
        assert_eq!(cleared["cleared_count"], n);
        assert!(keys_per_node(ha, &pattern).await.iter().all(|c| *c == 0));

        let warmed = app.admin_cache("warm", json!({"file_ids": ids})).await;
        assert_eq!(warmed["cached_count"], n);
        assert!(keys_per_node(ha, &pattern).await.iter().all(|c| *c > 0));
        assert_eq!(app.stats().await["file_url_entries"], n);

        // An entry near the end of its cache life is refreshed.
        let key = app.redis_key(&format!("file_url:{}", ids[0]));
        let _: bool = direct.query(redis::cmd("EXPIRE").arg(&key).arg(100)).await;
        // Refresh finds it through the expiry index, which says when each entry goes.
        let soon = chrono::Utc::now().timestamp() + 100;
        let _: i64 = direct
            .query(
                redis::cmd("ZADD")
                    .arg(app.redis_key("file_url_expiry"))
                    .arg(soon)
                    .arg(ids[0]),
            )
            .await;
        let refreshed = app.admin_cache("refresh", json!({})).await;
        assert_eq!(refreshed["refreshed_count"], 1, "{refreshed}");
        let ttl: i64 = direct.query(redis::cmd("TTL").arg(&key)).await;
        assert!(ttl > 300, "refreshed entry lives on: {ttl}");

        let cleared = app.admin_cache("clear", json!({})).await;
        assert_eq!(cleared["cleared_count"], n);
    }
);

on_cluster_and_sentinel!(sessions_log_in_refresh_and_log_out, |ha: Ha| async move {
    let app = ha.app(&[]).await;
    let (email, _) = app.create_user("user-password-1", json!({})).await;
    let login = app.login_answer(&email, "user-password-1").await;
    let access = login["access_token"].as_str().unwrap();
    assert_eq!(
        app.get("/api/auth/me", access).await.status(),
        StatusCode::OK
    );

    let res = app
        .post_anonymous(
            "/api/auth/refresh",
            json!({"refresh_token": login["refresh_token"]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let rotated: Value = res.json().await.unwrap();
    let access = rotated["access_token"].as_str().unwrap();
    assert_eq!(
        app.get("/api/auth/me", access).await.status(),
        StatusCode::OK
    );

    let res = app.post_json("/api/auth/logout", access, json!({})).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("/api/auth/me", access).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let res = app
        .post_anonymous(
            "/api/auth/refresh",
            json!({"refresh_token": rotated["refresh_token"]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.stats().await["degraded"], false);
});

on_cluster_and_sentinel!(rate_limits_hold, |ha: Ha| async move {
    let app = ha
        .app(&[
            ("RATE_LIMIT_LOGIN_PER_MINUTE", "3"),
            ("TESSERA_TRUSTED_PROXIES", "127.0.0.1"),
        ])
        .await;
    let (email, _) = app.create_user("user-password-1", json!({})).await;
    let attempt = |password: &'static str| {
        app.client
            .post(app.url("/api/auth/login"))
            .header("x-forwarded-for", "203.0.113.7")
            .json(&json!({"email": email, "password": password}))
            .send()
    };
    for _ in 0..3 {
        let res = attempt("wrong-password").await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let res = attempt("user-password-1").await.unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key("retry-after"));
    assert_eq!(app.stats().await["degraded"], false);
});

on_cluster_and_sentinel!(
    a_logout_and_a_delete_on_one_instance_are_seen_on_the_other,
    |ha: Ha| async move {
        let app = ha.app(&[]).await;
        let other = ServerProcess::start(&app, &[]);
        let client = &app.client;
        let get = |url: String, token: String| async move {
            client.get(url).bearer_auth(token).send().await.unwrap()
        };

        let (email, _) = app.create_user("user-password-1", json!({})).await;
        let access = app.login(&email, "user-password-1").await;
        for _ in 0..3 {
            let res = get(other.url("/api/auth/me"), access.clone()).await;
            assert_eq!(res.status(), StatusCode::OK);
        }
        let res = app.post_json("/api/auth/logout", &access, json!({})).await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        assert!(
            eventually(Duration::from_secs(2), || async {
                get(other.url("/api/auth/me"), access.clone())
                    .await
                    .status()
                    == StatusCode::UNAUTHORIZED
            })
            .await,
            "the other instance still lets the logged-out token in"
        );

        let id = app.upload("avatar", "me.png", png()).await["id"]
            .as_i64()
            .unwrap();
        let path = format!("/api/files/{id}");
        for _ in 0..3 {
            let res = get(other.url(&path), app.admin_token.clone()).await;
            assert_eq!(res.status(), StatusCode::OK);
        }
        let res = app.delete(&path, &app.admin_token).await;
        assert!(res.status().is_success(), "{}", res.status());
        assert!(
            eventually(Duration::from_secs(2), || async {
                get(other.url(&path), app.admin_token.clone())
                    .await
                    .status()
                    == StatusCode::NOT_FOUND
            })
            .await,
            "the other instance still serves the deleted file"
        );
    }
);

/// Whether a replica is in sync and can take over.
async fn replica_ready() -> bool {
    let replicas: redis::RedisResult<Vec<std::collections::HashMap<String, String>>> =
        sentinel_answer(redis::cmd("SENTINEL").arg("replicas").arg(MASTER_NAME)).await;
    replicas.is_ok_and(|replicas| {
        replicas.iter().any(|r| {
            r.get("flags").map(String::as_str) == Some("slave")
                && r.get("master-link-status").map(String::as_str) == Some("ok")
        })
    })
}

/// A Sentinel failover while reads run: every read answers 200 (from the source while the
/// breaker is open, each within the request-path bound plus the source's own time), the
/// cache follows the new master, and is used again after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sentinel_failover_during_reads_loses_no_request() {
    let _turn = SENTINEL_TURN.lock().await;
    let ha = Ha::Sentinel;
    let app = ha.app(&[]).await;
    let id = app.upload("avatar", "me.png", png()).await["id"]
        .as_i64()
        .unwrap();
    app.get_file(id).await;
    assert!(
        eventually(Duration::from_secs(30), replica_ready).await,
        "no replica in sync to fail over to"
    );
    let old_master = sentinel_master().await;

    let stop = Arc::new(AtomicBool::new(false));
    let reads = {
        let stop = Arc::clone(&stop);
        let client = app.client.clone();
        let url = app.url(&format!("/api/files/{id}"));
        let token = app.admin_token.clone();
        tokio::spawn(async move {
            let mut answers = Vec::new();
            while !stop.load(Ordering::Acquire) {
                let started = Instant::now();
                let status = client
                    .get(&url)
                    .bearer_auth(&token)
                    .send()
                    .await
                    .map(|r| r.status());
                answers.push((status, started.elapsed()));
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            answers
        })
    };

    // The sentinels may refuse while a previous failover settles (-INPROG, -NOGOODSLAVE).
    let failover = Instant::now();
    assert!(
        eventually(Duration::from_secs(20), || async {
            sentinel_answer::<String>(redis::cmd("SENTINEL").arg("FAILOVER").arg(MASTER_NAME))
                .await
                .is_ok()
        })
        .await,
        "SENTINEL FAILOVER was refused"
    );
    assert!(
        eventually(Duration::from_secs(20), || async {
            sentinel_master().await != old_master
        })
        .await,
        "the sentinels never named a new master"
    );
    let new_master = sentinel_master().await;
    let named_after = failover.elapsed();
    // The app follows (the sentinels announce the switch): it writes to the new master, and
    // its in-process tier listens there.
    let mut master = node(&new_master).await;
    let channel = format!("{}tessera:invalidate:db0", app.key_prefix);
    let fresh = app.upload("avatar", "new.png", png()).await["id"]
        .as_i64()
        .unwrap();
    let fresh_key = app.redis_key(&format!("file_url:{fresh}"));
    assert!(
        eventually(Duration::from_secs(20), || async {
            app.get_file(fresh).await;
            let cached: Option<String> = redis::cmd("GET")
                .arg(&fresh_key)
                .query_async(&mut master.clone())
                .await
                .unwrap();
            let (_, listeners): (String, u64) = redis::cmd("PUBSUB")
                .arg("NUMSUB")
                .arg(&channel)
                .query_async(&mut master.clone())
                .await
                .unwrap();
            cached.is_some() && listeners >= 1 && app.stats().await["degraded"] == false
        })
        .await,
        "the cache never came back on the new master"
    );
    let back_after = failover.elapsed();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Release);
    let answers = reads.await.unwrap();
    assert!(answers.len() > 20, "only {} reads ran", answers.len());
    let slowest = answers
        .iter()
        .map(|(_, took)| *took)
        .max()
        .unwrap_or_default();
    eprintln!(
        "failover {old_master} -> {new_master}: {} reads, slowest {slowest:?}; after SENTINEL FAILOVER: new master named {named_after:?}, cache back on it {back_after:?}",
        answers.len()
    );
    for (status, took) in &answers {
        assert_eq!(
            status.as_ref().ok().copied(),
            Some(StatusCode::OK),
            "a read failed during the failover"
        );
        assert!(*took < Duration::from_secs(5), "a read took {took:?}");
    }

    // The cache is used again, on the new master.
    app.get_file(id).await;
    let before = app.signatures().await;
    app.get_file(id).await;
    app.get_file(id).await;
    assert_eq!(
        app.signatures().await,
        before,
        "reads after the failover are hits"
    );
    let cached: Option<String> = redis::cmd("GET")
        .arg(app.redis_key(&format!("file_url:{id}")))
        .query_async(&mut master)
        .await
        .unwrap();
    assert!(
        cached.is_some(),
        "the URL is cached on the new master {new_master}"
    );
}

on_cluster_and_sentinel!(
    doctor_checks_every_server_behind_the_url,
    |ha: Ha| async move {
        let app = ha.app(&[]).await;
        let doctor = crate::cli::tessera(&app, &["doctor"], &[]).await;
        assert_eq!(doctor.code, 0, "{}\n{}", doctor.stdout, doctor.stderr);
        assert!(!doctor.stdout.contains("FAIL"), "{}", doctor.stdout);
        // One line per server: the cluster's three masters, or the master the sentinels name.
        let servers = doctor
            .stdout
            .lines()
            .filter(|l| l.starts_with("ok redis: ") || l.starts_with("warn redis: "))
            .filter(|l| l.contains(" → 127.0.0.1:"))
            .count();
        let expected = match ha {
            Ha::Cluster => 3,
            Ha::Sentinel => 1,
        };
        assert_eq!(servers, expected, "{}", doctor.stdout);
        assert!(
            doctor.stdout.contains("ok redis read/write"),
            "{}",
            doctor.stdout
        );
    }
);
