//! `GET /metrics`: off by default, on a listener of its own when `METRICS_ADDR` is set, never
//! on the public port; series labelled by route pattern, never by raw path or query.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::both_backends;
use crate::helpers::{png, spawn_app, Backend, TestApp};

async fn scrape(app: &TestApp) -> String {
    let port = app
        .metrics_port
        .expect("the app was started with METRICS_ADDR");
    let res = app
        .client
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let content_type = res.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    res.text().await.unwrap()
}

/// The value of the sample `series` (name and labels exactly as printed).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|value| value.trim().parse().unwrap())
}

async fn public_metrics_is_a_problem_404(app: &TestApp) {
    let res = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        res.headers()["content-type"].to_str().unwrap(),
        "application/problem+json"
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_off_by_default_and_never_on_the_public_port() {
    let app = spawn_app(Backend::Embedded).await;
    assert_eq!(app.metrics_port, None);
    assert!(!app.state.metrics.enabled());
    public_metrics_is_a_problem_404(&app).await;
}

both_backends!(
    a_scrape_shows_route_patterns_statuses_and_cache_figures_never_raw_paths,
    &[("METRICS_ADDR", "127.0.0.1:0")],
    |app: TestApp| async move {
        let file = app.upload("avatar", "a.png", png()).await;
        let id = file["id"].as_i64().unwrap();
        app.get_file(id).await;
        app.get_file(id).await;
        let res = app
            .get(
                &format!("/api/files/{id}?secret=query-value-never-logged"),
                &app.admin_token,
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let res = app.get("/api/files/987654321", &app.admin_token).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        let res = app
            .get("/api/no-such-thing/123456789", &app.admin_token)
            .await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        public_metrics_is_a_problem_404(&app).await;

        let text = scrape(&app).await;
        let ok =
            r#"tessera_http_requests_total{method="GET",route="/api/files/{id}",status="200"}"#;
        assert_eq!(sample(&text, ok), Some(3.0), "{text}");
        let missing =
            r#"tessera_http_requests_total{method="GET",route="/api/files/{id}",status="404"}"#;
        assert_eq!(sample(&text, missing), Some(1.0), "{text}");
        let upload =
            r#"tessera_http_requests_total{method="POST",route="/api/files",status="201"}"#;
        assert_eq!(sample(&text, upload), Some(1.0), "{text}");
        let unmatched =
            r#"tessera_http_requests_total{method="GET",route="unmatched",status="404"}"#;
        assert_eq!(sample(&text, unmatched), Some(2.0), "{text}");
        let latency = r#"tessera_http_request_duration_seconds_count{method="GET",route="/api/files/{id}",status="200"}"#;
        assert_eq!(sample(&text, latency), Some(3.0), "{text}");
        for raw in [
            format!("/api/files/{id}\""),
            "987654321".into(),
            "123456789".into(),
            "query-value".into(),
            "/metrics".into(),
        ] {
            assert!(!text.contains(&raw), "{raw} in the metrics:\n{text}");
        }

        let tier = match app.backend {
            Backend::Embedded => "in_process",
            Backend::Services => "redis",
        };
        let hits = format!(r#"tessera_cache_hits_total{{namespace="file_url",tier="{tier}"}}"#);
        assert!(sample(&text, &hits).unwrap() >= 2.0, "{text}");
        let misses = format!(r#"tessera_cache_misses_total{{namespace="file_url",tier="{tier}"}}"#);
        assert!(sample(&text, &misses).unwrap() >= 1.0, "{text}");
        let entries = format!(r#"tessera_cache_entries{{namespace="file_url",tier="{tier}"}}"#);
        assert_eq!(sample(&text, &entries), Some(1.0), "{text}");
        assert!(sample(&text, "tessera_file_url_signatures_total").unwrap() >= 1.0);
        assert_eq!(sample(&text, "tessera_cache_degraded"), Some(0.0));
        assert!(sample(&text, "tessera_db_pool_max_connections").unwrap() >= 1.0);
        assert!(sample(&text, r#"tessera_db_pool_connections{state="idle"}"#).is_some());
        assert!(sample(&text, r#"tessera_db_pool_connections{state="in_use"}"#).is_some());
        if app.backend == Backend::Services {
            // The in-process tier in front of Redis reports its own reads and its channel.
            let local = r#"tessera_cache_misses_total{namespace="file_url",tier="local"}"#;
            assert!(sample(&text, local).unwrap() >= 1.0, "{text}");
            let local = r#"tessera_cache_hits_total{namespace="session",tier="local"}"#;
            assert!(sample(&text, local).is_some(), "{text}");
            assert_eq!(
                sample(&text, "tessera_pubsub_connected"),
                Some(1.0),
                "{text}"
            );
            assert!(sample(&text, "tessera_pubsub_lag_seconds_count").unwrap() >= 1.0);
        }
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_job_runner_and_the_invalidation_channel_report_their_series() {
    let app =
        crate::helpers::spawn_app_with(Backend::Embedded, &[("METRICS_ADDR", "127.0.0.1:0")]).await;
    let metrics = &app.state.metrics;
    metrics.record_job_run("url_refresh", "ok", Duration::from_millis(40));
    metrics.record_job_run("url_refresh", "skipped", Duration::ZERO);
    metrics.record_pubsub_lag(Duration::from_millis(3));

    let text = scrape(&app).await;
    for (series, value) in [
        (
            r#"tessera_job_runs_total{job="url_refresh",outcome="ok"}"#,
            1.0,
        ),
        (
            r#"tessera_job_runs_total{job="url_refresh",outcome="skipped"}"#,
            1.0,
        ),
        (
            r#"tessera_job_run_duration_seconds_count{job="url_refresh"}"#,
            1.0,
        ),
        ("tessera_pubsub_lag_seconds_count", 1.0),
    ] {
        assert_eq!(sample(&text, series), Some(value), "{series} in\n{text}");
    }
    assert!(
        sample(
            &text,
            r#"tessera_job_last_run_timestamp_seconds{job="url_refresh"}"#
        )
        .unwrap()
            > 1.0e9
    );
    // One HELP and TYPE per family, whichever tiers report to it.
    assert_eq!(
        text.matches("# TYPE tessera_cache_hits_total counter")
            .count(),
        1,
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_web_app_built_metrics_stay_off_the_public_port_and_its_pages_share_one_label() {
    let dist = tempfile::tempdir().unwrap();
    std::fs::write(
        dist.path().join("index.html"),
        "<!doctype html><title>app</title>",
    )
    .unwrap();
    let dir = dist.path().display().to_string();
    let app = crate::helpers::spawn_app_with(
        Backend::Embedded,
        &[
            ("TESSERA_FRONTEND_DIR", &dir),
            ("METRICS_ADDR", "127.0.0.1:0"),
        ],
    )
    .await;
    public_metrics_is_a_problem_404(&app).await;
    for page in ["/", "/members/4242", "/dues"] {
        let res = app.client.get(app.url(page)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{page}");
    }
    let text = scrape(&app).await;
    let pages = r#"tessera_http_requests_total{method="GET",route="spa",status="200"}"#;
    assert_eq!(sample(&text, pages), Some(3.0), "{text}");
    assert!(!text.contains("4242"), "{text}");
}
