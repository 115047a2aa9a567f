//! The ops verbs run as the real binary: `tessera cache …` straight on Redis (services) and
//! through the admin API (embedded), with `--json` answering exactly what the endpoints answer;
//! `tessera doctor` on a healthy setup and on a Redis that is not there.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{png, spawn_app, Backend, TestApp};

/// What a run of the binary left behind.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Stdout read as the one JSON document it must be.
    fn json(&self) -> Value {
        assert_eq!(self.code, 0, "the command failed: {}", self.stderr);
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {:?}", self.stdout))
    }
}

/// Runs `tessera <args>` with the test app's settings (and `extra` on top), in the app's data
/// directory (so no `.env` of the checkout is read), and waits for it.
pub async fn tessera(app: &TestApp, args: &[&str], extra: &[(&str, &str)]) -> Run {
    let dir = app.env["TESSERA_DATA_DIR"].clone();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(args)
        .env_clear()
        .envs(&app.env)
        .env("NO_COLOR", "1")
        .envs(extra.iter().copied())
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The admin API's address and token, for the verbs that go through it.
fn api_env(app: &TestApp) -> [(&str, &str); 2] {
    [
        ("API_URL", app.address.as_str()),
        ("ADMIN_TOKEN", app.admin_token.as_str()),
    ]
}

fn keys_of(value: &Value) -> BTreeSet<String> {
    value
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

/// The stats answer of the endpoint, whole.
async fn http_stats(app: &TestApp) -> Value {
    let res = app.get("/api/admin/cache/stats", &app.admin_token).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_verbs_on_redis_answer_exactly_as_the_endpoints() {
    let app = spawn_app(Backend::Services).await;
    let a = app.upload("avatar", "a.png", png()).await["id"]
        .as_i64()
        .unwrap();
    let b = app.upload("avatar", "b.png", png()).await["id"]
        .as_i64()
        .unwrap();

    let stats = tessera(&app, &["cache", "stats", "--json"], &[])
        .await
        .json();
    let http = http_stats(&app).await;
    assert_eq!(keys_of(&stats), keys_of(&http));
    assert_eq!(keys_of(&stats["stats"]), keys_of(&http["stats"]));
    assert_eq!(stats["stats"]["backend"], "redis");
    assert_eq!(stats["stats"]["file_url_entries"], 2);
    assert_eq!(
        keys_of(&stats["stats"]["namespaces"]),
        keys_of(&http["stats"]["namespaces"])
    );

    // --api asks the server, whose own lookups are counted: the same figures as over HTTP.
    app.get(&format!("/api/files/{a}"), &app.admin_token).await;
    let via_api = tessera(&app, &["cache", "stats", "--api", "--json"], &api_env(&app))
        .await
        .json();
    let http = http_stats(&app).await;
    assert!(http["stats"]["hits"].as_u64().unwrap() > 0);
    assert_eq!(via_api["stats"]["hits"], http["stats"]["hits"]);

    let keys = tessera(&app, &["cache", "keys", "--json"], &[])
        .await
        .json();
    let listed: BTreeSet<&str> = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["key"].as_str().unwrap())
        .collect();
    let (key_a, key_b) = (format!("file_url:{a}"), format!("file_url:{b}"));
    assert_eq!(listed, BTreeSet::from([key_a.as_str(), key_b.as_str()]));
    assert!(keys["keys"][0]["ttl"].as_i64().unwrap() > 0);

    let id = a.to_string();
    let cleared = tessera(&app, &["cache", "clear", "--file-id", &id, "--json"], &[])
        .await
        .json();
    assert_eq!(
        cleared,
        json!({"success": true, "message": "Cleared 1 cache entries", "cleared_count": 1})
    );

    let ids = format!("{a},{b}");
    let warmed = tessera(&app, &["cache", "warm", "--file-ids", &ids, "--json"], &[])
        .await
        .json();
    let over_http = app.admin_cache("warm", json!({"file_ids": [a, b]})).await;
    assert_eq!(warmed, over_http);
    assert_eq!(
        warmed,
        json!({"success": true, "message": "Cached 2 file URLs", "cached_count": 2})
    );

    let refreshed = tessera(&app, &["cache", "refresh", "--json"], &[])
        .await
        .json();
    assert_eq!(
        refreshed,
        json!({"success": true, "message": "Refreshed 0 expiring URLs", "refreshed_count": 0})
    );

    let all = tessera(&app, &["cache", "clear"], &[]).await;
    assert_eq!(all.code, 0, "{}", all.stderr);
    assert_eq!(all.stdout.trim(), "Cleared 2 cache entries");
    assert_eq!(app.stats().await["file_url_entries"], 0);

    let monitor = tessera(
        &app,
        &["cache", "monitor", "--interval", "0.1", "--count", "2"],
        &[],
    )
    .await;
    assert_eq!(monitor.code, 0, "{}", monitor.stderr);
    let lines: Vec<&str> = monitor.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", monitor.stdout);
    assert!(
        lines[1].contains("backend=redis entries=0 redis_hits=+"),
        "{}",
        lines[1]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_verbs_on_the_embedded_default_go_through_the_admin_api() {
    let app = spawn_app(Backend::Embedded).await;
    let id = app.upload("avatar", "a.png", png()).await["id"]
        .as_i64()
        .unwrap();
    let api = api_env(&app);

    let stats = tessera(&app, &["cache", "stats", "--json"], &api)
        .await
        .json();
    let http = http_stats(&app).await;
    assert_eq!(keys_of(&stats["stats"]), keys_of(&http["stats"]));
    assert_eq!(stats["stats"]["backend"], "in_process");
    assert_eq!(stats["stats"]["file_url_entries"], 1);

    let warmed = tessera(&app, &["cache", "warm", "--json"], &api)
        .await
        .json();
    assert_eq!(
        warmed,
        json!({"success": true, "message": "Cached 1 file URLs", "cached_count": 1})
    );
    // More ids than one call takes: sent in batches, answered as one.
    let many: Vec<String> = (1..=2500).map(|n| n.to_string()).collect();
    let many = many.join(",");
    let batched = tessera(
        &app,
        &["cache", "warm", "--file-ids", &many, "--json"],
        &api,
    )
    .await
    .json();
    assert_eq!(
        batched,
        json!({"success": true, "message": "Cached 1 file URLs", "cached_count": 1})
    );
    let id = id.to_string();
    let cleared = tessera(&app, &["cache", "clear", "--file-id", &id, "--json"], &api)
        .await
        .json();
    assert_eq!(
        cleared,
        json!({"success": true, "message": "Cleared 1 cache entries", "cleared_count": 1})
    );
    let human = tessera(&app, &["cache", "stats"], &api).await;
    assert_eq!(human.code, 0, "{}", human.stderr);
    assert!(
        human.stdout.contains("backend:          in_process"),
        "{}",
        human.stdout
    );

    // No endpoint lists the in-process cache's keys: a clear refusal, as bad usage.
    let keys = tessera(&app, &["cache", "keys"], &api).await;
    assert_eq!(keys.code, 2);
    assert!(keys.stderr.contains("no REDIS_URL"), "{}", keys.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_api_without_a_usable_token_says_what_to_do() {
    let app = spawn_app(Backend::Embedded).await;
    let missing = tessera(&app, &["cache", "stats"], &[("API_URL", &app.address)]).await;
    assert_eq!(missing.code, 2);
    assert!(
        missing.stderr.contains("ADMIN_TOKEN is not set")
            && missing.stderr.contains("scripts/login"),
        "{}",
        missing.stderr
    );
    let refused = tessera(
        &app,
        &["cache", "stats"],
        &[("API_URL", &app.address), ("ADMIN_TOKEN", "not-a-token")],
    )
    .await;
    assert_eq!(refused.code, 1);
    assert!(refused.stderr.contains("(401)"), "{}", refused.stderr);
    let nobody = tessera(
        &app,
        &["cache", "stats"],
        &[("API_URL", "http://127.0.0.1:1"), ("ADMIN_TOKEN", "x")],
    )
    .await;
    assert_eq!(nobody.code, 1);
    assert!(
        nobody.stderr.contains("no answer from the server"),
        "{}",
        nobody.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_usage_exits_with_two() {
    let app = spawn_app(Backend::Services).await;
    for args in [
        &["cache", "frobnicate"][..],
        &["cache", "warm", "--file-ids", "x"],
        &["cache", "clear", "--namespace", "nope"],
        &["cache", "clear", "--file-id", "1", "--namespace", "members"],
        &["cache", "warm", "--file-type", "poster"],
        &["cache", "monitor", "--interval", "0"],
    ] {
        let run = tessera(&app, args, &[]).await;
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
    }
    let namespace = tessera(&app, &["cache", "clear", "--namespace", "nope"], &[]).await;
    assert!(
        namespace.stderr.contains("--namespace: must be one of"),
        "{}",
        namespace.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_passes_on_healthy_services_and_fails_on_a_closed_redis_port() {
    let app = spawn_app(Backend::Services).await;
    let healthy = tessera(&app, &["doctor"], &[]).await;
    assert_eq!(healthy.code, 0, "{}\n{}", healthy.stdout, healthy.stderr);
    for check in [
        "ok database:",
        "ok database migrations: all",
        "ok redis:",
        "ok object store: s3",
    ] {
        assert!(
            healthy.stdout.contains(check),
            "no {check:?} in:\n{}",
            healthy.stdout
        );
    }
    assert!(!healthy.stdout.contains("FAIL"), "{}", healthy.stdout);

    let closed = tessera(&app, &["doctor"], &[("REDIS_URL", "redis://127.0.0.1:1/0")]).await;
    assert_eq!(closed.code, 1, "{}", closed.stdout);
    let line = closed
        .stdout
        .lines()
        .find(|l| l.starts_with("FAIL redis:"))
        .unwrap_or_else(|| panic!("no FAIL redis line in:\n{}", closed.stdout));
    assert!(line.contains(" — start Redis, or fix REDIS_URL"), "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_passes_on_the_embedded_default_and_monitor_reads_the_servers_counts() {
    let app = spawn_app(Backend::Embedded).await;
    let doctor = tessera(&app, &["doctor"], &[]).await;
    assert_eq!(doctor.code, 0, "{}\n{}", doctor.stdout, doctor.stderr);
    assert!(
        doctor.stdout.contains("ok database: sqlite answers"),
        "{}",
        doctor.stdout
    );
    assert!(
        doctor.stdout.contains("ok redis: not configured"),
        "{}",
        doctor.stdout
    );
    assert!(
        doctor.stdout.contains("ok object store: local"),
        "{}",
        doctor.stdout
    );
    let quiet = tessera(&app, &["doctor", "--quiet"], &[]).await;
    assert!(!quiet.stdout.contains("ok "), "{}", quiet.stdout);

    let id = app.upload("avatar", "a.png", png()).await["id"]
        .as_i64()
        .unwrap();
    app.get(&format!("/api/files/{id}"), &app.admin_token).await;
    let monitor = tessera(
        &app,
        &["cache", "monitor", "--interval", "0.1", "--count", "1"],
        &api_env(&app),
    )
    .await;
    assert_eq!(monitor.code, 0, "{}", monitor.stderr);
    assert!(
        monitor
            .stdout
            .contains("backend=in_process entries=1 file_url_hits="),
        "{}",
        monitor.stdout
    );
}
