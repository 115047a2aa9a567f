//! The log of a real `tessera serve` process (`LOG_FILE`, JSON, `RUST_LOG=debug`): one access
//! line per request with its route pattern, and no secret in any line: passwords, access,
//! refresh and API tokens, one-time-code secrets and recovery codes, signed URLs and their
//! signatures.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tessera_domain::accounts::otp::OtpSecret;

use crate::both_backends;
use crate::helpers::{
    png, Backend, ServerProcess, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD, JWT_SECRET,
};

/// Drives one server process over HTTP, remembering every secret it sees.
struct Driver<'a> {
    app: &'a TestApp,
    server: &'a ServerProcess,
    secrets: Vec<(String, String)>,
}

impl Driver<'_> {
    fn keep(&mut self, what: &str, secret: &str) {
        assert!(!secret.is_empty(), "{what} is empty");
        self.secrets.push((what.to_owned(), secret.to_owned()));
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            self.server.url(path)
        };
        let mut req = self.app.client.request(method, url);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let text = res.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::POST, path, token, Some(body))
            .await
    }

    async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.send(reqwest::Method::GET, path, Some(token), None)
            .await
    }

    /// Logs in and keeps both tokens as secrets; answers the access token.
    async fn login(&mut self, body: Value) -> (String, String) {
        let (status, answer) = self.post("/api/auth/login", None, body).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let access = answer["access_token"].as_str().unwrap().to_owned();
        let refresh = answer["refresh_token"].as_str().unwrap().to_owned();
        self.keep("access token", &access);
        self.keep("refresh token", &refresh);
        (access, refresh)
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The signature in a signed URL's query (S3's `X-Amz-Signature`, the local store's
/// `signature`).
fn signature_of(url: &str) -> String {
    let parsed = url::Url::parse(url).unwrap();
    parsed
        .query_pairs()
        .find(|(k, _)| k == "X-Amz-Signature" || k == "signature")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("{url} carries no signature"))
}

both_backends!(
    no_secret_reaches_the_log_and_every_request_has_an_access_line,
    |app: TestApp| async move {
        let dir = tempfile::tempdir().unwrap();
        let log_path = dir.path().join("tessera.log");
        let log_file = log_path.display().to_string();
        let server = ServerProcess::start(
            &app,
            &[
                ("LOG_FILE", log_file.as_str()),
                ("LOG_ROTATION", "never"),
                ("LOG_FORMAT", "json"),
                ("RUST_LOG", "debug"),
            ],
        );
        let mut d = Driver {
            app: &app,
            server: &server,
            secrets: Vec::new(),
        };
        d.keep("admin password", ADMIN_PASSWORD);
        d.keep("JWT secret", JWT_SECRET);

        // A login with a password, and one with a wrong one.
        let (admin, admin_refresh) = d
            .login(json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
            .await;
        let wrong = "wrong-password-never-logged";
        d.keep("wrong password", wrong);
        let (status, _) = d
            .post(
                "/api/auth/login",
                None,
                json!({"email": ADMIN_EMAIL, "password": wrong}),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);

        // Refresh-token rotation.
        let (status, rotated) = d
            .post(
                "/api/auth/refresh",
                None,
                json!({"refresh_token": admin_refresh}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{rotated}");
        d.keep(
            "rotated access token",
            rotated["access_token"].as_str().unwrap(),
        );
        d.keep(
            "rotated refresh token",
            rotated["refresh_token"].as_str().unwrap(),
        );

        // A user of its own enrols one-time codes and logs in with one.
        let email = format!("logs-{}@example.org", uuid::Uuid::new_v4().simple());
        let password = "user-password-never-logged";
        d.keep("user password", password);
        let (status, created) = d
            .post(
                "/api/users",
                Some(&admin),
                json!({"email": email, "password": password, "name": "Ana"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let (user, _) = d.login(json!({"email": email, "password": password})).await;
        let (status, setup) = d
            .post(
                "/api/auth/otp/setup",
                Some(&user),
                json!({"current_password": password}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{setup}");
        let secret_text = setup["secret"].as_str().unwrap().to_owned();
        d.keep("OTP secret", &secret_text);
        if let Some(url) = setup["otpauth_url"].as_str() {
            d.keep("otpauth URL", url);
        }
        let secret = OtpSecret::parse(&secret_text).unwrap();
        let (status, enabled) = d
            .post(
                "/api/auth/otp/enable",
                Some(&user),
                json!({"current_password": password, "code": secret.code_at(now())}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{enabled}");
        let recovery: Vec<String> = enabled["recovery_codes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_owned())
            .collect();
        for code in &recovery {
            d.keep("recovery code", code);
        }
        d.login(json!({"email": email, "password": password, "recovery_code": recovery[0]}))
            .await;

        // An API token, created and used.
        let (status, token) = d
            .post(
                "/api/tokens",
                Some(&admin),
                json!({"name": "logs", "scopes": ["read", "cache:admin"], "expires_in_days": 1}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{token}");
        let api_token = token["token"].as_str().unwrap().to_owned();
        d.keep("API token", &api_token);

        // An upload and its signed URL, read through the cache and fetched.
        let form = Form::new()
            .part("file", Part::bytes(png()).file_name("a.png"))
            .text("file_type", "avatar");
        let res = app
            .client
            .post(server.url("/api/files"))
            .bearer_auth(&admin)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        let file: Value = res.json().await.unwrap();
        let id = file["id"].as_i64().unwrap();
        for token in [&admin, &api_token] {
            let (status, got) = d.get(&format!("/api/files/{id}"), token).await;
            assert_eq!(status, StatusCode::OK, "{got}");
            let url = got["url"].as_str().unwrap().to_owned();
            d.keep("signature", &signature_of(&url));
            d.keep("signed URL", &url);
        }
        if app.backend == Backend::Embedded {
            let url = d.secrets.last().unwrap().1.clone();
            let res = app.client.get(&url).send().await.unwrap();
            assert_eq!(res.status(), StatusCode::OK);
        }

        // The cache verbs, which sign URLs too.
        let (status, warmed) = d
            .post("/api/admin/cache/warm", Some(&api_token), json!({}))
            .await;
        assert_eq!(status, StatusCode::OK, "{warmed}");
        let (status, _) = d
            .post("/api/admin/cache/refresh", Some(&admin), json!({}))
            .await;
        assert_eq!(status, StatusCode::OK);
        let (status, again) = d.get(&format!("/api/files/{id}"), &admin).await;
        assert_eq!(status, StatusCode::OK);
        let url = again["url"].as_str().unwrap().to_owned();
        d.keep("signature", &signature_of(&url));
        d.keep("signed URL", &url);

        // A request whose access line marks the end of what was driven.
        let marker = uuid::Uuid::new_v4().simple().to_string();
        let res = app
            .client
            .get(server.url("/healthz"))
            .header("x-request-id", &marker)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let mut log = String::new();
        for _ in 0..100 {
            log = std::fs::read_to_string(&log_path).unwrap_or_default();
            if log.contains(&marker) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let secrets = d.secrets;
        drop(server);
        assert!(
            log.contains(&marker),
            "the log file never got the last request"
        );
        assert!(
            log.contains(r#""level":"DEBUG""#),
            "RUST_LOG=debug did not reach the server: the test would miss debug lines"
        );

        for (number, line) in log.lines().enumerate() {
            for (what, secret) in &secrets {
                assert!(
                    !line.contains(secret.as_str()),
                    "the {what} is in line {number} of the log: {line}"
                );
            }
        }

        let access: Vec<Value> = log
            .lines()
            .map(|line| serde_json::from_str::<Value>(line).unwrap())
            .filter(|line| line["target"] == "tessera::access")
            .collect();
        let routes: Vec<&str> = access
            .iter()
            .map(|line| line["fields"]["route"].as_str().unwrap())
            .collect();
        for route in [
            "/api/auth/login",
            "/api/auth/refresh",
            "/api/auth/otp/enable",
            "/api/tokens",
            "/api/files",
            "/api/files/{id}",
            "/api/admin/cache/warm",
            "/healthz",
        ] {
            assert!(
                routes.contains(&route),
                "no access line for {route}: {routes:?}"
            );
        }
        let file_reads: Vec<&Value> = access
            .iter()
            .filter(|line| line["fields"]["route"] == "/api/files/{id}")
            .collect();
        assert_eq!(file_reads.len(), 3);
        let by_token = file_reads
            .iter()
            .filter(|line| {
                line["fields"]["caller"]
                    .as_str()
                    .unwrap()
                    .starts_with("token:")
            })
            .count();
        assert_eq!(by_token, 1, "{file_reads:?}");
        let last = access.last().unwrap();
        assert_eq!(last["fields"]["request_id"], marker.as_str());
        assert_eq!(last["fields"]["status"], 200);
        assert_eq!(last["fields"]["method"], "GET");
        assert_eq!(last["fields"]["caller"], "-");
        assert!(last["fields"]["duration_ms"].as_f64().unwrap() >= 0.0);
        let failed_login = access.iter().find(|line| {
            line["fields"]["route"] == "/api/auth/login" && line["fields"]["status"] == 401
        });
        assert!(
            failed_login.is_some(),
            "no access line for the failed login"
        );
    }
);
