//! `spawn_app` and a typed `TestApp` with one helper per call.

use std::collections::HashMap;
use std::time::Duration;

use reqwest::multipart::{Form, Part};
use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};
use sqlx::Connection;
use tessera_server::settings::Settings;
use tessera_server::startup::Application;

pub const ADMIN_EMAIL: &str = "admin@example.org";
pub const ADMIN_PASSWORD: &str = "admin-password-1";
pub const JWT_SECRET: &str = "a test secret of at least thirty-two characters";

/// Which implementations the app runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite, in-process cache, local disk.
    Embedded,
    /// PostgreSQL, Redis, S3 (s3s-fs).
    Services,
}

/// Runs an async test body once per backend, as two tests; with a settings slice, the apps
/// start with those settings on top of the test defaults.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:expr) => {
        $crate::both_backends!($name, &[], $body);
    };
    ($name:ident, $extra:expr, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_embedded() {
                let app =
                    $crate::helpers::spawn_app_with($crate::helpers::Backend::Embedded, $extra)
                        .await;
                ($body)(app).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_services() {
                let app =
                    $crate::helpers::spawn_app_with($crate::helpers::Backend::Services, $extra)
                        .await;
                ($body)(app).await;
            }
        }
    };
}

fn required_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run the tests with ./scripts/test, which starts PostgreSQL, Redis and s3s-fs"))
}

/// The services' connection details, from `scripts/services up`.
pub struct Services {
    pub postgres_url: String,
    pub redis_url: String,
    pub s3_endpoint: String,
    pub s3_access_key: String,
    pub s3_secret_key: String,
    pub s3_region: String,
}

impl Services {
    pub fn from_env() -> Self {
        Self {
            postgres_url: required_env("TESSERA_TEST_POSTGRES_URL"),
            redis_url: required_env("TESSERA_TEST_REDIS_URL"),
            s3_endpoint: required_env("TESSERA_TEST_S3_ENDPOINT"),
            s3_access_key: required_env("TESSERA_TEST_S3_ACCESS_KEY_ID"),
            s3_secret_key: required_env("TESSERA_TEST_S3_SECRET_ACCESS_KEY"),
            s3_region: std::env::var("TESSERA_TEST_S3_REGION")
                .unwrap_or_else(|_| "us-east-1".into()),
        }
    }
}

/// A running app and what it was given.
pub struct TestApp {
    pub backend: Backend,
    pub address: String,
    pub client: Client,
    pub admin_token: String,
    /// The Redis key prefix this test's app uses (Services only).
    pub key_prefix: String,
    pub redis_url: Option<String>,
    pub upload_max_bytes: u64,
    /// The app's database, for tests that check figures against a direct count.
    pub database_url: String,
    /// The running app's state, for what a test drives directly (the post-view write-back).
    pub state: actix_web::web::Data<tessera_server::state::AppState>,
    /// The settings the app started with, for [`ServerProcess::start`].
    pub env: HashMap<String, String>,
    /// The port of the metrics listener, when the app was given `METRICS_ADDR`.
    pub metrics_port: Option<u16>,
    _data_dir: tempfile::TempDir,
    database: Option<(String, String)>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.database.take() else {
            return;
        };
        // Drop runs outside async; a thread of its own can block on the cleanup.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                    )))
                    .execute(&mut conn)
                    .await;
                }
            });
        })
        .join();
    }
}

fn unique(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4().simple())
}

/// Starts the app on `backend` with default settings.
pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, &[]).await
}

/// The org tree most scope tests use: CC → CR 1 → S 1 → Cell A and Cell B; CC → CR 2 → S 2 →
/// Cell C (S 2 is only Cell C's parent).
pub struct Units {
    pub cc: i64,
    pub cr1: i64,
    pub s1: i64,
    pub a: i64,
    pub b: i64,
    pub cr2: i64,
    pub c: i64,
}

/// Creates [`Units`] as the admin.
pub async fn units(app: &TestApp) -> Units {
    let cc = app.org_unit("CC", "central", None).await;
    let cr1 = app.org_unit("CR 1", "regional", Some(cc)).await;
    let s1 = app.org_unit("S 1", "sector", Some(cr1)).await;
    let a = app.org_unit("Cell A", "cell", Some(s1)).await;
    let b = app.org_unit("Cell B", "cell", Some(s1)).await;
    let cr2 = app.org_unit("CR 2", "regional", Some(cc)).await;
    let s2 = app.org_unit("S 2", "sector", Some(cr2)).await;
    let c = app.org_unit("Cell C", "cell", Some(s2)).await;
    Units {
        cc,
        cr1,
        s1,
        a,
        b,
        cr2,
        c,
    }
}

/// Starts the app on `backend`, with extra settings on top of the test defaults.
pub async fn spawn_app_with(backend: Backend, extra: &[(&str, &str)]) -> TestApp {
    let data_dir = tempfile::tempdir().unwrap();
    let mut vars: HashMap<String, String> = HashMap::from([
        ("TESSERA_ADDR".into(), "127.0.0.1:0".into()),
        (
            "TESSERA_DATA_DIR".into(),
            data_dir.path().display().to_string(),
        ),
        (
            "TESSERA_FRONTEND_DIR".into(),
            data_dir.path().join("no-frontend").display().to_string(),
        ),
        ("JWT_SECRET".into(), JWT_SECRET.into()),
        ("TESSERA_ADMIN_EMAIL".into(), ADMIN_EMAIL.into()),
        ("TESSERA_ADMIN_PASSWORD".into(), ADMIN_PASSWORD.into()),
        ("APP_ENV".into(), "test".into()),
        // Tests log in far more often than people do; the rate-limit tests set real limits.
        ("RATE_LIMIT_LOGIN_PER_MINUTE".into(), "10000".into()),
        ("RATE_LIMIT_OTP_PER_MINUTE".into(), "10000".into()),
        ("RATE_LIMIT_API_PER_MINUTE".into(), "100000".into()),
        // A second process started on a test's data would warm its files; the job tests turn
        // it on.
        ("CACHE_WARM_ON_START".into(), "false".into()),
    ]);
    let mut database = None;
    let mut key_prefix = String::new();
    let mut redis_url = None;
    if backend == Backend::Services {
        let services = Services::from_env();
        let name = unique("tessera_test_");
        let mut conn = sqlx::PgConnection::connect(&services.postgres_url)
            .await
            .expect("PostgreSQL is not reachable");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut conn)
            .await
            .unwrap();
        let mut url = url::Url::parse(&services.postgres_url).unwrap();
        url.set_path(&name);
        vars.insert("DATABASE_URL".into(), url.to_string());
        database = Some((services.postgres_url.clone(), name));

        key_prefix = format!("{}:", unique("test"));
        vars.insert("REDIS_URL".into(), services.redis_url.clone());
        vars.insert("CACHE_KEY_PREFIX".into(), key_prefix.clone());
        redis_url = Some(services.redis_url.clone());

        let bucket = format!("t{}", &unique("")[..20]);
        create_bucket(&services, &bucket).await;
        vars.insert("S3_ENDPOINT".into(), services.s3_endpoint.clone());
        vars.insert("S3_REGION".into(), services.s3_region.clone());
        vars.insert("S3_BUCKET".into(), bucket);
        vars.insert("S3_ACCESS_KEY_ID".into(), services.s3_access_key.clone());
        vars.insert(
            "S3_SECRET_ACCESS_KEY".into(),
            services.s3_secret_key.clone(),
        );
        vars.insert("S3_FORCE_PATH_STYLE".into(), "true".into());
    }
    for (k, v) in extra {
        vars.insert((*k).into(), (*v).into());
    }
    if let Some(url) = vars.get("REDIS_URL") {
        redis_url = Some(url.clone());
    }
    let env = vars.clone();
    let settings = Settings::from_vars(vars).unwrap();
    let upload_max_bytes = settings.upload_max_bytes;
    let database_url = settings.database_url.clone();
    let app = Application::build(settings).await.unwrap();
    let address = format!("http://127.0.0.1:{}", app.port());
    let metrics_port = app.metrics_port();
    let state = app.state();
    tokio::spawn(app.run_until_stopped());
    let client = Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let mut test_app = TestApp {
        backend,
        address,
        client,
        admin_token: String::new(),
        key_prefix,
        redis_url,
        upload_max_bytes,
        database_url,
        state,
        env,
        metrics_port,
        _data_dir: data_dir,
        database,
    };
    test_app.admin_token = match extra.iter().find(|(k, _)| *k == "ADMIN_OTP_SECRET") {
        None => test_app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await,
        Some((_, secret)) => {
            let secret = tessera_domain::accounts::otp::OtpSecret::parse(secret).unwrap();
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs();
            let res = test_app
                .client
                .post(test_app.url("/api/auth/login"))
                .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "otp_code": secret.code_at(now)}))
                .send()
                .await
                .unwrap();
            assert_eq!(
                res.status(),
                StatusCode::OK,
                "admin login with a one-time code"
            );
            res.json::<Value>().await.unwrap()["access_token"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    test_app
}

/// A `tessera serve` process of its own, sharing a test app's database, cache, object store
/// and JWT secret (another instance of the same deployment); killed when dropped.
pub struct ServerProcess {
    pub address: String,
    child: std::process::Child,
    _data_dir: tempfile::TempDir,
}

impl ServerProcess {
    /// Starts the binary with `app`'s settings plus `extra`, on a port of its own, and waits
    /// for the line that says where it listens.
    pub fn start(app: &TestApp, extra: &[(&str, &str)]) -> Self {
        use std::io::{BufRead, BufReader};
        use std::process::{Command, Stdio};

        let data_dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
            .arg("serve")
            .env_clear()
            .envs(&app.env)
            .env("TESSERA_ADDR", "127.0.0.1:0")
            .env("TESSERA_DATA_DIR", data_dir.path())
            .env("TESSERA_FRONTEND_BUILD", "off")
            .env("NO_COLOR", "1")
            .envs(extra.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let address = loop {
            let Some(line) = lines.next() else {
                let status = child.wait().unwrap();
                panic!("tessera serve ended before it listened: {status}");
            };
            let line = line.unwrap();
            if let Some(at) = line.find("listening on http://") {
                let url = &line[at + "listening on ".len()..];
                // A human line ends the URL with a space, a JSON one (LOG_FORMAT=json) with a quote.
                let end = url
                    .find(|c: char| c.is_whitespace() || c == '"')
                    .unwrap_or(url.len());
                break url[..end].to_owned();
            }
        };
        // Keep draining the log, so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Self {
            address,
            child,
            _data_dir: data_dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// The process id (job records name instances `<host>:<pid>`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the process at once (SIGKILL: no clean-up, as a crash).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn create_bucket(services: &Services, bucket: &str) {
    let config = aws_sdk_s3::config::Builder::new()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new(services.s3_region.clone()))
        .endpoint_url(&services.s3_endpoint)
        .force_path_style(true)
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            &services.s3_access_key,
            &services.s3_secret_key,
            None,
            None,
            "test",
        ))
        .build();
    aws_sdk_s3::Client::from_conf(config)
        .create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("creating the test bucket failed");
}

/// A PNG header followed by random bytes: sniffs as image/png, unique per call.
pub fn png() -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    bytes.extend(uuid::Uuid::new_v4().as_bytes());
    bytes
}

/// A minimal PDF.
pub fn pdf() -> Vec<u8> {
    let mut bytes = b"%PDF-1.7\n".to_vec();
    bytes.extend(uuid::Uuid::new_v4().simple().to_string().as_bytes());
    bytes
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn login(&self, email: &str, password: &str) -> String {
        self.login_answer(email, password).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The whole answer of a successful login (access and refresh tokens, user).
    pub async fn login_answer(&self, email: &str, password: &str) -> Value {
        let res = self
            .post_anonymous(
                "/api/auth/login",
                json!({"email": email, "password": password}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK, "login of {email} failed");
        res.json().await.unwrap()
    }

    /// POSTs JSON without a token.
    pub async fn post_anonymous(&self, path: &str, body: Value) -> Response {
        self.client
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// Creates a user (as the admin) with `password`; answers its email and id.
    pub async fn create_user(&self, password: &str, extra: Value) -> (String, i64) {
        let email = format!("{}@example.org", unique("user"));
        let mut body = json!({"email": email, "password": password, "name": "Ana"});
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        let res = self.post_json("/api/users", &self.admin_token, body).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
        (email, id)
    }

    /// Creates a non-admin user and answers its token.
    pub async fn user_token(&self) -> String {
        let (email, _) = self.create_user("user-password-1", json!({})).await;
        self.login(&email, "user-password-1").await
    }

    /// Creates an org unit as the admin; answers its id.
    pub async fn org_unit(&self, name: &str, kind: &str, parent: Option<i64>) -> i64 {
        let res = self
            .post_json(
                "/api/org-units",
                &self.admin_token,
                json!({"name": name, "kind": kind, "parent_id": parent}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED, "creating {name}");
        res.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
    }

    /// Creates a user of an org unit and answers its token.
    pub async fn unit_user_token(&self, org_unit_id: i64, is_treasurer: bool) -> String {
        let (email, _) = self
            .create_user(
                "user-password-1",
                json!({"org_unit_id": org_unit_id, "is_treasurer": is_treasurer}),
            )
            .await;
        self.login(&email, "user-password-1").await
    }

    pub async fn post_json(&self, path: &str, token: &str, body: Value) -> Response {
        self.client
            .post(self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn delete(&self, path: &str, token: &str) -> Response {
        self.client
            .delete(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Response {
        self.client
            .patch(self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn upload_as(
        &self,
        token: &str,
        file_type: &str,
        name: &str,
        bytes: Vec<u8>,
    ) -> Response {
        let form = Form::new()
            .part("file", Part::bytes(bytes).file_name(name.to_owned()))
            .text("file_type", file_type.to_owned());
        self.client
            .post(self.url("/api/files"))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .unwrap()
    }

    /// Uploads as the admin; answers the file JSON.
    pub async fn upload(&self, file_type: &str, name: &str, bytes: Vec<u8>) -> Value {
        let res = self
            .upload_as(&self.admin_token, file_type, name, bytes)
            .await;
        assert_eq!(
            res.status(),
            StatusCode::CREATED,
            "upload failed: {}",
            res.text().await.unwrap()
        );
        res.json().await.unwrap()
    }

    pub async fn get_file(&self, id: i64) -> Value {
        let res = self
            .get(&format!("/api/files/{id}"), &self.admin_token)
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.unwrap()
    }

    pub async fn stats(&self) -> Value {
        let res = self.get("/api/admin/cache/stats", &self.admin_token).await;
        assert_eq!(res.status(), StatusCode::OK);
        res.json::<Value>().await.unwrap()["stats"].clone()
    }

    pub async fn signatures(&self) -> u64 {
        self.stats().await["signatures"].as_u64().unwrap()
    }

    pub async fn admin_cache(&self, action: &str, body: Value) -> Value {
        let res = self
            .post_json(
                &format!("/api/admin/cache/{action}"),
                &self.admin_token,
                body,
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK, "{action} failed");
        res.json().await.unwrap()
    }

    /// One number straight from the app's database (`SELECT … AS n`), bypassing the API.
    pub async fn sql_count(&self, sql: &str) -> i64 {
        use sqlx::{Connection, Row};
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&self.database_url)
            .await
            .unwrap();
        let row = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_one(&mut conn)
            .await
            .unwrap();
        row.try_get::<i64, _>("n").unwrap()
    }

    /// A connection to this test's Redis (Services only).
    pub async fn redis(&self) -> redis::aio::MultiplexedConnection {
        let url = self.redis_url.as_ref().expect("this app has no Redis");
        redis::Client::open(url.as_str())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap()
    }

    /// The full Redis key of a cache key.
    pub fn redis_key(&self, key: &str) -> String {
        format!("{}{}", self.key_prefix, key)
    }
}

/// Polls `check` every 20 ms until it holds or `limit` has passed; answers whether it held.
/// For what another process or instance does in its own time (timings belong to the bench).
pub async fn eventually<F, Fut>(limit: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + limit;
    loop {
        if check().await {
            return true;
        }
        if std::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Settings of a `RedisCache` a test builds itself over `url`, under a key prefix of its own.
pub fn redis_settings(url: &str, prefix: &str) -> tessera_infra::cache::redis::RedisSettings {
    tessera_infra::cache::redis::RedisSettings {
        url: url.to_owned(),
        key_prefix: prefix.to_owned(),
        pool_size: 2,
        connect_timeout: Duration::from_secs(2),
        command_timeout: Duration::from_secs(2),
        admin_timeout: Duration::from_secs(5),
        forget_on_recovery: Vec::new(),
        compress_min_bytes: 1024,
    }
}
