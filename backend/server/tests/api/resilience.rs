//! Redis stopped or hung: the API keeps answering, quickly, shows "degraded", and the cache
//! comes back by itself. Each test runs its own throw-away redis-server.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{png, spawn_app_with, Backend, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD};

struct PrivateRedis {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
}

impl PrivateRedis {
    fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut redis = Self {
            child: None,
            port,
            dir: tempfile::tempdir().unwrap(),
        };
        redis.restart();
        redis
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    fn restart(&mut self) {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (scripts/services installs it)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(client) = redis::Client::open(self.url()) {
                if let Ok(mut conn) = client.get_connection() {
                    if redis::cmd("PING").query::<String>(&mut conn).is_ok() {
                        return;
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server did not start on port {}", self.port);
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-CONT", &child.id().to_string()])
                .status();
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Writes what Redis holds to its dump file, which the next `restart` loads: a Redis that
    /// comes back with what it had, as one with persistence does.
    fn save(&self) {
        let mut conn = redis::Client::open(self.url())
            .unwrap()
            .get_connection()
            .unwrap();
        redis::cmd("SAVE").query::<String>(&mut conn).unwrap();
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().unwrap().id().to_string();
        assert!(Command::new("kill")
            .args([signal, &pid])
            .status()
            .unwrap()
            .success());
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn timed_get(app: &TestApp, id: i64) -> Duration {
    let started = Instant::now();
    let res = app.get(&format!("/api/files/{id}"), &app.admin_token).await;
    let took = started.elapsed();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.json::<Value>().await.unwrap()["url"].is_string());
    took
}

async fn wait_for_cache(app: &TestApp, degraded: bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ready: Value = app
            .client
            .get(app.url("/readyz"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let status = ready["checks"]["cache"]["status"]
            .as_str()
            .unwrap()
            .to_owned();
        if (status == "degraded") == degraded {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the cache never became {}",
            if degraded { "degraded" } else { "up" }
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_stopped_gets_still_succeed_and_the_cache_comes_back() {
    let mut redis = PrivateRedis::start();
    let app = spawn_app_with(Backend::Embedded, &[("REDIS_URL", &redis.url())]).await;
    let id = app.upload("avatar", "a.png", png()).await["id"]
        .as_i64()
        .unwrap();
    timed_get(&app, id).await;
    let before = app.login_answer(ADMIN_EMAIL, ADMIN_PASSWORD).await;

    redis.stop();
    for _ in 0..10 {
        let took = timed_get(&app, id).await;
        assert!(
            took < Duration::from_secs(2),
            "a get took {took:?} with Redis stopped"
        );
    }
    let stats = app.stats().await;
    assert_eq!(stats["degraded"], true);
    let ready: Value = app
        .client
        .get(app.url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["status"], "degraded");
    // The admin cache calls need the cache: 503, and Redis's own words stay in the log.
    let res = app
        .post_json("/api/admin/cache/clear", &app.admin_token, json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(res.headers().contains_key("retry-after"));
    let problem: Value = res.json().await.unwrap();
    assert_eq!(problem["code"], "service_unavailable");
    assert_eq!(
        problem["detail"],
        "the cache is unavailable; try again shortly"
    );

    // Logging in and refreshing still work: sessions live in the database.
    let login = app.login_answer(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert!(login["refresh_token"].is_string());
    let access = login["access_token"].as_str().unwrap();
    assert_eq!(
        app.get("/api/auth/me", access).await.status(),
        StatusCode::OK
    );
    let res = app
        .post_anonymous(
            "/api/auth/refresh",
            json!({"refresh_token": before["refresh_token"]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    redis.restart();
    wait_for_cache(&app, false).await;
    // The restarted Redis kept nothing (no persistence here); sessions live in the database,
    // so nobody was logged out.
    assert_eq!(
        app.get("/api/auth/me", &app.admin_token).await.status(),
        StatusCode::OK
    );
    timed_get(&app, id).await;
    let stats = app.stats().await;
    assert_eq!(stats["degraded"], false);
    assert_eq!(
        stats["file_url_entries"], 1,
        "the URL is cached again after recovery"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_hung_one_request_pays_a_small_bound_and_the_rest_skip_it() {
    let redis = PrivateRedis::start();
    let app = spawn_app_with(
        Backend::Embedded,
        &[
            ("REDIS_URL", &redis.url()),
            ("REDIS_COMMAND_TIMEOUT_MS", "250"),
        ],
    )
    .await;
    let id = app.upload("avatar", "a.png", png()).await["id"]
        .as_i64()
        .unwrap();

    redis.signal("-STOP");
    let first = timed_get(&app, id).await;
    assert!(
        first < Duration::from_secs(2),
        "the first get took {first:?}"
    );
    let mut slowest = Duration::ZERO;
    for _ in 0..20 {
        slowest = slowest.max(timed_get(&app, id).await);
    }
    assert!(
        slowest < Duration::from_millis(200),
        "with the breaker open a get took {slowest:?}"
    );
    assert_eq!(app.stats().await["degraded"], true);

    redis.signal("-CONT");
    wait_for_cache(&app, false).await;
    timed_get(&app, id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_stopped_logins_are_still_limited() {
    let mut redis = PrivateRedis::start();
    let app = spawn_app_with(
        Backend::Embedded,
        &[
            ("REDIS_URL", &redis.url()),
            ("RATE_LIMIT_LOGIN_PER_MINUTE", "3"),
        ],
    )
    .await;
    redis.stop();
    let attempt = || {
        app.post_anonymous(
            "/api/auth/login",
            json!({"email": "ana@example.org", "password": "a-guess-123"}),
        )
    };
    for _ in 0..3 {
        assert_eq!(attempt().await.status(), StatusCode::UNAUTHORIZED);
    }
    let res = attempt().await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key("retry-after"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_stopped_a_one_time_code_still_works_once_only() {
    let mut redis = PrivateRedis::start();
    let seed_secret = "JBSWY3DPEHPK3PXP";
    let app = spawn_app_with(
        Backend::Embedded,
        &[
            ("REDIS_URL", &redis.url()),
            ("ADMIN_OTP_SECRET", seed_secret),
        ],
    )
    .await;
    redis.stop();
    // The next step's code: the admin's login at spawn used the current one at most.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let code = tessera_domain::accounts::otp::OtpSecret::parse(seed_secret)
        .unwrap()
        .code_at(now + 30);
    let login = || {
        app.post_anonymous(
            "/api/auth/login",
            json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "otp_code": code}),
        )
    };
    assert_eq!(login().await.status(), StatusCode::OK);
    let replay = login().await;
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(replay.json::<Value>().await.unwrap()["code"], "otp_invalid");
}

/// How Redis goes away and comes back, with everything it held.
#[derive(Debug, Clone, Copy)]
enum Outage {
    /// Killed, then started again from its dump.
    Restart,
    /// Hung (SIGSTOP), then woken (SIGCONT).
    Hang,
}

/// Administrator B, whose session and profile Redis holds, is changed by administrator A while
/// Redis is away; Redis comes back with B's old entries. Answers B's admin call during the
/// outage and after the cache is back.
async fn change_during_a_redis_outage(change: Value, outage: Outage) -> [reqwest::Response; 2] {
    let mut redis = PrivateRedis::start();
    let app = spawn_app_with(
        Backend::Embedded,
        &[
            ("REDIS_URL", &redis.url()),
            ("REDIS_COMMAND_TIMEOUT_MS", "250"),
        ],
    )
    .await;
    let (email, id) = app
        .create_user("user-password-1", json!({"is_admin": true}))
        .await;
    let b = app.login(&email, "user-password-1").await;
    assert_eq!(app.get("/api/users", &b).await.status(), StatusCode::OK);
    let profile: Option<String> = redis::cmd("GET")
        .arg(app.redis_key(&format!("user:{id}:profile")))
        .query_async(&mut app.redis().await)
        .await
        .unwrap();
    assert!(
        profile.is_some_and(|p| p.contains(r#""is_admin":true"#)),
        "B's profile is cached"
    );

    match outage {
        Outage::Restart => {
            redis.save();
            redis.stop();
        }
        Outage::Hang => redis.signal("-STOP"),
    }
    let res = app
        .patch(&format!("/api/users/{id}"), &app.admin_token, change)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let during = app.get("/api/users", &b).await;
    match outage {
        Outage::Restart => redis.restart(),
        Outage::Hang => redis.signal("-CONT"),
    }
    wait_for_cache(&app, false).await;
    let after = app.get("/api/users", &b).await;
    [during, after]
}

async fn assert_refused(res: reqwest::Response, status: StatusCode, code: &str, when: &str) {
    assert_eq!(res.status(), status, "{when}");
    assert_eq!(res.json::<Value>().await.unwrap()["code"], code, "{when}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demotion_during_a_redis_outage_takes_effect_when_redis_returns() {
    let [during, after] =
        change_during_a_redis_outage(json!({"is_admin": false}), Outage::Restart).await;
    let forbidden = StatusCode::FORBIDDEN;
    assert_refused(during, forbidden, "admin_required", "during the outage").await;
    assert_refused(after, forbidden, "admin_required", "after Redis returned").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deactivation_during_a_redis_outage_takes_effect_when_redis_returns() {
    let [during, after] =
        change_during_a_redis_outage(json!({"is_active": false}), Outage::Restart).await;
    let unauthorized = StatusCode::UNAUTHORIZED;
    assert_refused(during, unauthorized, "unauthenticated", "during the outage").await;
    assert_refused(
        after,
        unauthorized,
        "unauthenticated",
        "after Redis returned",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demotion_while_redis_hangs_takes_effect_when_it_answers_again() {
    let [during, after] =
        change_during_a_redis_outage(json!({"is_admin": false}), Outage::Hang).await;
    let forbidden = StatusCode::FORBIDDEN;
    assert_refused(during, forbidden, "admin_required", "during the outage").await;
    assert_refused(after, forbidden, "admin_required", "after Redis answered").await;
}
