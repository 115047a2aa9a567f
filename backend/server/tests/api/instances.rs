//! Several instances of one deployment: two real `tessera serve` processes (or a test app and
//! one process) share PostgreSQL, Redis and S3, each with its in-process tier in front of
//! Redis. What one changes, the other sees; what the other cached in-process is dropped.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use tessera_domain::shared::cache::Cache;
use tessera_infra::cache::redis::RedisCache;
use tessera_infra::cache::tiered::{TierSettings, TieredCache};

use crate::helpers::{spawn_app_with, Backend, ServerProcess, Services};

/// What another instance does in its own time: two seconds is generous (the cross-instance
/// target, 100 ms, is measured by the benchmark, not asserted).
async fn eventually<F, Fut>(check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    crate::helpers::eventually(Duration::from_secs(2), check).await
}

async fn get(client: &reqwest::Client, url: String, token: &str) -> reqwest::Response {
    client.get(url).bearer_auth(token).send().await.unwrap()
}

async fn post(
    client: &reqwest::Client,
    url: String,
    token: &str,
    body: Value,
) -> reqwest::Response {
    client
        .post(url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn delete(client: &reqwest::Client, url: String, token: &str) -> reqwest::Response {
    client.delete(url).bearer_auth(token).send().await.unwrap()
}

async fn signatures(client: &reqwest::Client, server: &ServerProcess, token: &str) -> u64 {
    let body: Value = get(client, server.url("/api/admin/cache/stats"), token)
        .await
        .json()
        .await
        .unwrap();
    body["stats"]["signatures"].as_u64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_a_write_and_a_clear_on_one_instance_are_seen_on_the_other() {
    // Two `tessera serve` processes; the test app only sets the data up.
    let app = spawn_app_with(Backend::Services, &[]).await;
    let one = ServerProcess::start(&app, &[]);
    let other = ServerProcess::start(&app, &[]);
    let client = &app.client;

    // A logout on one instance ends the session on the other, which had it in its tier.
    let (email, _) = app.create_user("user-password-1", json!({})).await;
    let access = app.login(&email, "user-password-1").await;
    for _ in 0..3 {
        let res = get(client, other.url("/api/auth/me"), &access).await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    let res = post(client, one.url("/api/auth/logout"), &access, json!({})).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(
        eventually(|| async {
            get(client, other.url("/api/auth/me"), &access)
                .await
                .status()
                == StatusCode::UNAUTHORIZED
        })
        .await,
        "the other instance still lets the logged-out token in"
    );

    // A write on one instance: the other's cached member list shows it.
    let cell = crate::helpers::units(&app).await.a;
    let count = |body: Value| body["total"].as_i64().unwrap();
    let before = count(
        get(client, other.url("/api/members"), &app.admin_token)
            .await
            .json()
            .await
            .unwrap(),
    );
    let res = post(
        client,
        one.url("/api/members"),
        &app.admin_token,
        json!({"name": "New Member", "org_unit_id": cell}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert!(
        eventually(|| async {
            let body: Value = get(client, other.url("/api/members"), &app.admin_token)
                .await
                .json()
                .await
                .unwrap();
            count(body) == before + 1
        })
        .await,
        "the other instance still lists the members as they were"
    );

    // A clear on one instance: the other signs the file's URL anew instead of serving the
    // URL it held in-process.
    let file = app.upload("general", "a.png", crate::helpers::png()).await;
    let path = format!("/api/files/{}", file["id"]);
    for _ in 0..3 {
        let res = get(client, other.url(&path), &app.admin_token).await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    let signed = signatures(client, &other, &app.admin_token).await;
    let res = get(client, other.url(&path), &app.admin_token).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        signatures(client, &other, &app.admin_token).await,
        signed,
        "a cached read signs nothing"
    );
    let cleared: Value = post(
        client,
        one.url("/api/admin/cache/clear"),
        &app.admin_token,
        json!({"file_id": file["id"]}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(cleared["cleared_count"], 1, "{cleared}");
    assert!(
        eventually(|| async {
            let res = get(client, other.url(&path), &app.admin_token).await;
            assert_eq!(res.status(), StatusCode::OK);
            signatures(client, &other, &app.admin_token).await > signed
        })
        .await,
        "the other instance kept serving the cleared URL"
    );

    // A deleted file is gone on the other instance too.
    let res = delete(client, one.url(&path), &app.admin_token).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(
        eventually(|| async {
            get(client, other.url(&path), &app.admin_token)
                .await
                .status()
                == StatusCode::NOT_FOUND
        })
        .await,
        "the other instance still serves the deleted file"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_misses_on_one_file_across_two_processes_sign_once() {
    let app = spawn_app_with(Backend::Services, &[]).await;
    let servers = [
        ServerProcess::start(&app, &[]),
        ServerProcess::start(&app, &[]),
    ];
    let file = app.upload("general", "a.png", crate::helpers::png()).await;
    app.admin_cache("clear", json!({})).await;
    let path = format!("/api/files/{}", file["id"]);
    let mut before = 0;
    for server in &servers {
        before += signatures(&app.client, server, &app.admin_token).await;
    }
    let reads = futures::future::join_all(
        (0..40).map(|i| get(&app.client, servers[i % 2].url(&path), &app.admin_token)),
    )
    .await;
    let mut urls = std::collections::HashSet::new();
    for res in reads {
        assert_eq!(res.status(), StatusCode::OK);
        let body: Value = res.json().await.unwrap();
        urls.insert(body["url"].as_str().unwrap().to_owned());
    }
    let mut after = 0;
    for server in &servers {
        after += signatures(&app.client, server, &app.admin_token).await;
    }
    assert_eq!(
        after - before,
        1,
        "40 concurrent misses signed more than once"
    );
    assert_eq!(urls.len(), 1, "every reader got the one signed URL");
}

fn tier(prefix: &str) -> TieredCache {
    let services = Services::from_env();
    let remote =
        RedisCache::new(crate::helpers::redis_settings(&services.redis_url, prefix)).unwrap();
    TieredCache::new(
        remote,
        TierSettings {
            ttl: Duration::from_secs(60),
            max_bytes: 1024 * 1024,
        },
    )
}

async fn trusted(tier: &TieredCache) -> bool {
    eventually(|| async { tier.stats().trusted }).await
}

/// The tier answers repeated reads itself, and a write through another instance's tier
/// reaches it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tier_answers_hot_reads_and_hears_the_other_instances_writes() {
    let prefix = format!("test{}:", uuid::Uuid::new_v4().simple());
    let (a, b) = (tier(&prefix), tier(&prefix));
    assert!(trusted(&a).await && trusted(&b).await);

    a.set("user:1:profile", "v1", Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(
        b.get("user:1:profile").await.unwrap().as_deref(),
        Some("v1")
    );
    // The message of a's write may reach b after that read and drop what it kept; soon b
    // keeps it for good.
    assert!(
        eventually(|| async {
            let hits = b.stats().hits;
            b.get("user:1:profile").await.unwrap();
            b.stats().hits > hits
        })
        .await
    );
    let hits = b.stats().hits;
    for _ in 0..10 {
        assert_eq!(
            b.get("user:1:profile").await.unwrap().as_deref(),
            Some("v1")
        );
    }
    assert_eq!(b.stats().hits, hits + 10, "hot reads come from the tier");

    a.set("user:1:profile", "v2", Duration::from_secs(60))
        .await
        .unwrap();
    assert!(
        eventually(|| async { b.get("user:1:profile").await.unwrap().as_deref() == Some("v2") })
            .await,
        "b kept serving v1"
    );
    // A version bump and a delete travel the same way.
    assert_eq!(b.get("members:version").await.unwrap(), None);
    a.count_hit("members:version", Duration::from_secs(60))
        .await
        .unwrap();
    assert!(
        eventually(|| async { b.get("members:version").await.unwrap().as_deref() == Some("1") })
            .await
    );
    a.delete(&["user:1:profile".to_owned()]).await.unwrap();
    assert!(eventually(|| async { b.get("user:1:profile").await.unwrap().is_none() }).await);
    // Counters and locks are never kept in the tier.
    a.set("lock:x", "1", Duration::from_secs(60)).await.unwrap();
    let hits = b.stats().hits;
    for _ in 0..3 {
        assert_eq!(b.get("lock:x").await.unwrap().as_deref(), Some("1"));
    }
    assert_eq!(b.stats().hits, hits);
}

/// An instance whose subscription breaks does not serve what it held: it reads through to
/// Redis until it has subscribed again, and then starts empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_that_loses_its_subscription_reads_through_until_it_is_back() {
    let prefix = format!("test{}:", uuid::Uuid::new_v4().simple());
    let (a, b) = (tier(&prefix), tier(&prefix));
    assert!(trusted(&a).await && trusted(&b).await);
    a.set("session:s1", "7", Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(b.get("session:s1").await.unwrap().as_deref(), Some("7"));
    assert_eq!(b.get("session:s1").await.unwrap().as_deref(), Some("7"));

    // Cut every pub/sub connection (other tests' tiers resubscribe too), then end the session
    // behind b's back, straight in Redis, as a write whose message b could not hear.
    let services = Services::from_env();
    let client = redis::Client::open(services.redis_url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("pubsub")
        .query_async(&mut conn)
        .await
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg(format!("{prefix}session:s1"))
        .arg("ended")
        .query_async(&mut conn)
        .await
        .unwrap();
    // Once b has noticed and subscribed again, what it held is gone.
    let subscribed = b.stats().subscriptions;
    assert!(
        eventually(|| async { b.stats().subscriptions > subscribed && b.stats().trusted }).await,
        "b did not subscribe again"
    );
    assert_eq!(b.get("session:s1").await.unwrap().as_deref(), Some("ended"));
    // And it hears writes again.
    a.set("session:s1", "8", Duration::from_secs(60))
        .await
        .unwrap();
    assert!(
        eventually(|| async { b.get("session:s1").await.unwrap().as_deref() == Some("8") }).await
    );
}

/// Debian's nginx running the load balancer of `docker-compose.yml`'s `scale` profile: the
/// config is read out of the compose file as it is, with only the two instances' and its own
/// address put in for the compose network's names. Stopped when dropped.
struct ComposeLoadBalancer {
    address: String,
    child: std::process::Child,
    _dir: tempfile::TempDir,
}

impl ComposeLoadBalancer {
    fn start(one: &ServerProcess, two: &ServerProcess) -> Self {
        let compose = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../docker-compose.yml"
        ))
        .unwrap();
        let marker = "\n  lb:\n    content: |\n";
        let start = compose
            .find(marker)
            .expect("configs.lb.content in docker-compose.yml");
        let content: Vec<&str> = compose[start + marker.len()..]
            .lines()
            .take_while(|line| line.starts_with("      ") || line.trim().is_empty())
            .map(|line| line.strip_prefix("      ").unwrap_or(line))
            .collect();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let host = |server: &ServerProcess| server.address.trim_start_matches("http://").to_owned();
        let mut site = content.join("\n").replace("$$", "$");
        for (from, to) in [
            ("server api:8080;", format!("server {};", host(one))),
            ("server api-2:8080;", format!("server {};", host(two))),
            ("listen 8081;", format!("listen 127.0.0.1:{port};")),
        ] {
            assert!(
                site.contains(from),
                "the compose file's lb config has no `{from}`"
            );
            site = site.replace(from, &to);
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().display();
        let conf = format!(
            "daemon off;\nmaster_process off;\npid {path}/nginx.pid;\nerror_log {path}/error.log;\n\
             events {{ worker_connections 256; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {path}/body;\n  \
             proxy_temp_path {path}/proxy;\n  fastcgi_temp_path {path}/fastcgi;\n  \
             uwsgi_temp_path {path}/uwsgi;\n  scgi_temp_path {path}/scgi;\n{site}\n}}\n"
        );
        std::fs::write(dir.path().join("nginx.conf"), conf).unwrap();
        // Debian puts it in /usr/sbin, which a non-root PATH may lack.
        let nginx = ["/usr/sbin/nginx", "/usr/local/sbin/nginx"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .unwrap_or("nginx");
        let child = std::process::Command::new(nginx)
            .arg("-p")
            .arg(dir.path())
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .arg("-c")
            .arg(dir.path().join("nginx.conf"))
            .stdin(std::process::Stdio::null())
            .spawn()
            .expect("nginx (Debian's nginx-light; scripts/services installs it)");
        Self {
            address: format!("http://127.0.0.1:{port}"),
            child,
            _dir: dir,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }
}

impl Drop for ComposeLoadBalancer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `docker compose --profile scale`, without Docker: two `tessera serve` processes behind the
/// very nginx config of the compose file answer as one deployment, whichever instance each
/// request reaches, and keep answering when one of them dies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scale_profiles_load_balancer_serves_two_instances_as_one() {
    let app = spawn_app_with(Backend::Services, &[]).await;
    let trusted = [("TESSERA_TRUSTED_PROXIES", "127.0.0.1")];
    let mut one = ServerProcess::start(&app, &trusted);
    let two = ServerProcess::start(&app, &trusted);
    let lb = ComposeLoadBalancer::start(&one, &two);
    let client = &app.client;
    assert!(
        crate::helpers::eventually(Duration::from_secs(5), || async {
            client
                .get(lb.url("/readyz"))
                .send()
                .await
                .is_ok_and(|res| res.status() == StatusCode::OK)
        })
        .await,
        "nginx did not answer"
    );
    // Round robin: every second request goes to the other instance.
    let all_four = |path: String, token: String, status: StatusCode| {
        let url = lb.url(&path);
        async move {
            for _ in 0..4 {
                if get(client, url.clone(), &token).await.status() != status {
                    return false;
                }
            }
            true
        }
    };

    let (email, _) = app.create_user("user-password-1", json!({})).await;
    let res = client
        .post(lb.url("/api/auth/login"))
        .json(&json!({"email": email, "password": "user-password-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let access = res.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(all_four("/api/auth/me".into(), access.clone(), StatusCode::OK).await);

    let file = app.upload("general", "a.png", crate::helpers::png()).await;
    let path = format!("/api/files/{}", file["id"]);
    let mut urls = std::collections::HashSet::new();
    for _ in 0..4 {
        let res = get(client, lb.url(&path), &app.admin_token).await;
        assert_eq!(res.status(), StatusCode::OK);
        let body: Value = res.json().await.unwrap();
        urls.insert(body["url"].as_str().unwrap().to_owned());
    }
    assert_eq!(urls.len(), 1, "both instances answer the one cached URL");
    let res = delete(client, lb.url(&path), &app.admin_token).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(
        eventually(|| all_four(path.clone(), app.admin_token.clone(), StatusCode::NOT_FOUND)).await,
        "an instance behind the balancer still serves the deleted file"
    );

    let res = post(client, lb.url("/api/auth/logout"), &access, json!({})).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(
        eventually(|| all_four(
            "/api/auth/me".into(),
            access.clone(),
            StatusCode::UNAUTHORIZED
        ))
        .await,
        "an instance behind the balancer still lets the logged-out token in"
    );

    // One instance dies: the balancer sends everything to the other.
    one.kill();
    assert!(
        all_four(
            "/api/auth/me".into(),
            app.admin_token.clone(),
            StatusCode::OK
        )
        .await
    );
}
