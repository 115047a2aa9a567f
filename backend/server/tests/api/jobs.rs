//! Periodic jobs: each turn runs on one instance (two real `tessera serve` processes sharing
//! PostgreSQL and Redis), a killed holder's lock expires and another instance runs the job,
//! runs never overlap, and the refresh re-signs exactly the entries its expiry index names.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{
    png, spawn_app_with, Backend, ServerProcess, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD,
};

/// The test app itself runs no job, so only the server processes do.
const QUIET: &[(&str, &str)] = &[
    ("CACHE_REFRESH_EVERY", "0"),
    ("POSTS_VIEW_FLUSH_SECS", "0"),
    ("CACHE_WARM_ON_START", "false"),
];

async fn stats_of(app: &TestApp, base: &str) -> Value {
    let res = app
        .client
        .get(format!("{base}/api/admin/cache/stats"))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.json::<Value>().await.unwrap()["stats"].clone()
}

/// The recorded runs of a job (`job:<name>:runs`), oldest first.
async fn runs(app: &TestApp, job: &str) -> Vec<Value> {
    let mut redis = app.redis().await;
    let members: Vec<String> = redis::cmd("ZRANGE")
        .arg(app.redis_key(&format!("job:{job}:runs")))
        .arg(0)
        .arg(-1)
        .query_async(&mut redis)
        .await
        .unwrap();
    let mut runs: Vec<Value> = members
        .iter()
        .map(|m| serde_json::from_str(m).unwrap())
        .collect();
    runs.sort_by_key(|r| r["start_ms"].as_i64().unwrap());
    runs
}

/// No two runs overlap, and fences grow with time.
fn assert_serial(runs: &[Value]) {
    for pair in runs.windows(2) {
        assert!(
            pair[0]["end_ms"].as_i64() <= pair[1]["start_ms"].as_i64(),
            "runs overlap: {pair:?}"
        );
        assert!(
            pair[0]["fence"].as_u64() < pair[1]["fence"].as_u64(),
            "fences must grow: {pair:?}"
        );
    }
}

async fn wait_for<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while !check().await {
        assert!(Instant::now() < deadline, "waited in vain for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

both_backends!(
    the_runner_runs_every_job_and_stats_and_the_dashboard_show_it,
    &[
        ("CACHE_REFRESH_EVERY", "1"),
        ("POSTS_VIEW_FLUSH_SECS", "1"),
        ("CACHE_WARM_ON_START", "true"),
    ],
    |app: TestApp| async move {
        wait_for("a run of every job", Duration::from_secs(10), || async {
            let jobs = app.stats().await["jobs"].clone();
            ["refresh_file_urls", "post_views_flush", "warm_on_deploy"]
                .iter()
                .all(|job| jobs[job]["last_run"]["result"] == "ok")
        })
        .await;
        let jobs = app.stats().await["jobs"].clone();
        let refresh = &jobs["refresh_file_urls"];
        assert_eq!(refresh["enabled"], true);
        assert_eq!(refresh["every_secs"], 1);
        assert_eq!(refresh["last_run"]["message"], "Refreshed 0 expiring URLs");
        assert!(refresh["last_run"]["fence"].as_u64().unwrap() >= 1);
        assert!(refresh["last_run"]["instance"]
            .as_str()
            .unwrap()
            .ends_with(&format!(":{}", std::process::id())));
        assert!(refresh["last_run"]["duration_ms"].is_u64());
        assert_eq!(jobs["warm_on_deploy"]["every_secs"], Value::Null);
        assert_eq!(
            jobs["warm_on_deploy"]["last_run"]["message"],
            "Cached 0 file URLs"
        );
        // The admin dashboard shows the same.
        let res = app.get("/api/admin/dashboard", &app.admin_token).await;
        assert_eq!(res.status(), StatusCode::OK);
        let dashboard: Value = res.json().await.unwrap();
        assert_eq!(
            dashboard["jobs"]["refresh_file_urls"]["every_secs"],
            json!(1)
        );
    }
);

both_backends!(
    a_job_turned_off_is_listed_but_never_runs,
    QUIET,
    |app: TestApp| async move {
        tokio::time::sleep(Duration::from_millis(1200)).await;
        let jobs = app.stats().await["jobs"].clone();
        for job in ["refresh_file_urls", "post_views_flush", "warm_on_deploy"] {
            assert_eq!(jobs[job]["enabled"], false, "{job}");
            assert_eq!(jobs[job]["last_run"], Value::Null, "{job}");
            assert_eq!(jobs[job]["last_turn_here"], Value::Null, "{job}");
        }
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_run_each_turn_once_and_warm_each_file_once_per_deploy() {
    let app = spawn_app_with(Backend::Services, QUIET).await;
    for i in 0..3 {
        app.upload("avatar", &format!("{i}.png"), png()).await;
    }
    let deploy = format!("test-{}", uuid::Uuid::new_v4().simple());
    let settings = [
        ("CACHE_REFRESH_EVERY", "1"),
        ("POSTS_VIEW_FLUSH_SECS", "1"),
        ("CACHE_WARM_ON_START", "true"),
        ("TESSERA_DEPLOY_ID", deploy.as_str()),
    ];
    let first = ServerProcess::start(&app, &settings);
    let second = ServerProcess::start(&app, &settings);
    // Turns start a whole period after start-up, then come every second.
    tokio::time::sleep(Duration::from_millis(5500)).await;

    // Warm on deploy: one instance warmed, so each file was signed once in all.
    let (a, b) = (
        stats_of(&app, &first.address).await,
        stats_of(&app, &second.address).await,
    );
    let signed = a["signatures"].as_u64().unwrap() + b["signatures"].as_u64().unwrap();
    assert_eq!(signed, 3, "each file signed once across both instances");
    let warm = &a["jobs"]["warm_on_deploy"]["last_run"];
    assert_eq!(warm["result"], "ok");
    assert_eq!(warm["message"], "Cached 3 file URLs");
    assert_eq!(
        warm, &b["jobs"]["warm_on_deploy"]["last_run"],
        "one record, seen by both"
    );
    let warmed_by = warm["instance"].as_str().unwrap();
    let skipper = if warmed_by.ends_with(&format!(":{}", first.pid())) {
        &b
    } else {
        assert!(warmed_by.ends_with(&format!(":{}", second.pid())));
        &a
    };
    assert_eq!(
        skipper["jobs"]["warm_on_deploy"]["last_turn_here"]["result"],
        "skipped"
    );
    assert_eq!(runs(&app, "warm_on_deploy").await.len(), 1);

    // The periodic jobs: one run per period across both, never overlapping, fences growing.
    for job in ["refresh_file_urls", "post_views_flush"] {
        let runs = runs(&app, job).await;
        assert!(runs.len() >= 3, "{job}: {runs:?}");
        assert_serial(&runs);
        let mut periods: Vec<i64> = runs
            .iter()
            .map(|r| (r["start_ms"].as_i64().unwrap() + 500) / 1000)
            .collect();
        let all = periods.len();
        periods.dedup();
        assert_eq!(
            periods.len(),
            all,
            "{job} ran twice in one period: {runs:?}"
        );
    }
    // A later instance of the same deploy does not warm again.
    let third = ServerProcess::start(&app, &settings);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let c = stats_of(&app, &third.address).await;
    assert_eq!(c["signatures"], 0);
    assert_eq!(
        c["jobs"]["warm_on_deploy"]["last_turn_here"]["result"],
        "skipped"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_holder_s_lock_expires_and_the_other_instance_runs_the_job() {
    let app = spawn_app_with(Backend::Services, QUIET).await;
    // Every run holds its lock 2 s; a lock lives 3 s.
    let settings = [
        ("CACHE_REFRESH_EVERY", "1"),
        ("JOBS_TEST_HOLD_MS", "2000"),
        ("JOBS_LOCK_TTL_SECS", "3"),
    ];
    let mut servers = [
        ServerProcess::start(&app, &settings),
        ServerProcess::start(&app, &settings),
    ];
    let lock = app.redis_key("job:refresh_file_urls:lock");
    let mut redis = app.redis().await;
    // Wait for a holder, then kill it while it holds.
    let deadline = Instant::now() + Duration::from_secs(10);
    let held: String = loop {
        let value: Option<String> = redis::cmd("GET")
            .arg(&lock)
            .query_async(&mut redis)
            .await
            .unwrap();
        if let Some(value) = value {
            break value;
        }
        assert!(Instant::now() < deadline, "no instance took the lock");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let (token, instance) = held.split_once('@').unwrap();
    let token: u64 = token.parse().unwrap();
    let victim = servers
        .iter()
        .position(|s| instance.ends_with(&format!(":{}", s.pid())))
        .expect("a server process holds it");
    servers[victim].kill();
    let killed_at = chrono::Utc::now().timestamp_millis();
    let left: i64 = redis::cmd("PTTL")
        .arg(&lock)
        .query_async(&mut redis)
        .await
        .unwrap();
    assert!(left > 0, "the dead holder's lock is still there");
    let survivor = &servers[1 - victim];

    // Until it expires, the survivor's turns are skipped: the dead holder's lock is respected.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let turn = stats_of(&app, &survivor.address).await["jobs"]["refresh_file_urls"]
        ["last_turn_here"]
        .clone();
    if chrono::Utc::now().timestamp_millis() < killed_at + left - 200 {
        assert_eq!(turn["result"], "skipped", "{turn}");
        assert!(
            turn["message"]
                .as_str()
                .unwrap()
                .contains(&format!("fence {token}")),
            "{turn}"
        );
    }
    // Then it runs the job with a larger fence, after the lock expired.
    wait_for("a run by the survivor", Duration::from_secs(10), || async {
        runs(&app, "refresh_file_urls")
            .await
            .iter()
            .any(|r| r["fence"].as_u64().unwrap() > token)
    })
    .await;
    let runs = runs(&app, "refresh_file_urls").await;
    assert!(
        runs.iter().all(|r| r["fence"].as_u64().unwrap() != token),
        "the killed run never finished"
    );
    let next = runs
        .iter()
        .find(|r| r["fence"].as_u64().unwrap() > token)
        .unwrap();
    assert!(next["instance"]
        .as_str()
        .unwrap()
        .ends_with(&format!(":{}", survivor.pid())));
    assert!(
        next["start_ms"].as_i64().unwrap() >= killed_at + left - 50,
        "the survivor started only after the dead holder's lock expired: {next} (expired at {})",
        killed_at + left
    );
    assert_serial(&runs);
    let last = &stats_of(&app, &survivor.address).await["jobs"]["refresh_file_urls"]["last_run"];
    assert_eq!(last["result"], "ok", "{last}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_resigns_exactly_the_entries_the_expiry_index_says_are_about_to_expire() {
    let app = spawn_app_with(Backend::Services, QUIET).await;
    // 1,200 file rows straight into the database (signing needs no object), then warmed.
    let admin_id = app
        .sql_count(&format!(
            "SELECT id AS n FROM users WHERE email = '{ADMIN_EMAIL}'"
        ))
        .await;
    let _ = ADMIN_PASSWORD;
    {
        use sqlx::Connection;
        let mut db = sqlx::PgConnection::connect(&app.database_url)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO files (file_type, object_key, original_name, content_type, size, status, uploaded_by, created_at) \
             SELECT 'avatar', 'avatar/bulk-' || g, 'a.png', 'image/png', 1, 'uploaded', $1, 0 FROM generate_series(1, 1200) g",
        )
        .bind(admin_id)
        .execute(&mut db)
        .await
        .unwrap();
    }
    let ids: Vec<i64> = {
        use sqlx::{Connection, Row};
        let mut db = sqlx::PgConnection::connect(&app.database_url)
            .await
            .unwrap();
        sqlx::query("SELECT id FROM files ORDER BY id")
            .fetch_all(&mut db)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get::<i64, _>("id"))
            .collect()
    };
    assert_eq!(ids.len(), 1200);
    for chunk in ids.chunks(1000) {
        let warmed = app.admin_cache("warm", json!({ "file_ids": chunk })).await;
        assert_eq!(warmed["cached_count"], chunk.len());
    }
    let index = app.redis_key("file_url_expiry");
    let mut redis = app.redis().await;
    let indexed: u64 = redis::cmd("ZCARD")
        .arg(&index)
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(indexed, 1200, "every cached URL is in the index");
    assert_eq!(
        app.stats().await["file_url_entries"],
        1200,
        "the index is not an entry"
    );

    // Six entries about to expire: their index scores (and TTLs) set to 100 s from now.
    let soon = chrono::Utc::now().timestamp() + 100;
    let expiring = [ids[3], ids[200], ids[501], ids[777], ids[1100], ids[1199]];
    for id in expiring {
        let _: () = redis::cmd("ZADD")
            .arg(&index)
            .arg(soon)
            .arg(id)
            .query_async(&mut redis)
            .await
            .unwrap();
        let _: () = redis::cmd("EXPIRE")
            .arg(app.redis_key(&format!("file_url:{id}")))
            .arg(100)
            .query_async(&mut redis)
            .await
            .unwrap();
    }
    // One of them has left the cache, and one file was deleted behind the API's back.
    let _: () = redis::cmd("DEL")
        .arg(app.redis_key(&format!("file_url:{}", expiring[0])))
        .query_async(&mut redis)
        .await
        .unwrap();
    app.sql_count(&format!(
        "WITH d AS (DELETE FROM files WHERE id = {} RETURNING id) SELECT count(*) AS n FROM d",
        expiring[1]
    ))
    .await;

    let before = app.signatures().await;
    let refreshed = app.admin_cache("refresh", json!({})).await;
    assert_eq!(
        refreshed,
        json!({"success": true, "message": "Refreshed 4 expiring URLs", "refreshed_count": 4})
    );
    assert_eq!(
        app.signatures().await - before,
        4,
        "exactly those re-signed"
    );
    for id in &expiring[2..] {
        let ttl: i64 = redis::cmd("TTL")
            .arg(app.redis_key(&format!("file_url:{id}")))
            .query_async(&mut redis)
            .await
            .unwrap();
        assert!(ttl > 2600, "file {id} refreshed, TTL {ttl}");
        let score: f64 = redis::cmd("ZSCORE")
            .arg(&index)
            .arg(id)
            .query_async(&mut redis)
            .await
            .unwrap();
        assert!(score as i64 > soon + 2000, "its index score moved on");
    }
    // The entry that had gone and the deleted file's entry leave the index, and the deleted
    // file's entry leaves the cache.
    for id in &expiring[..2] {
        let score: Option<f64> = redis::cmd("ZSCORE")
            .arg(&index)
            .arg(id)
            .query_async(&mut redis)
            .await
            .unwrap();
        assert_eq!(score, None, "file {id}");
        let exists: i64 = redis::cmd("EXISTS")
            .arg(app.redis_key(&format!("file_url:{id}")))
            .query_async(&mut redis)
            .await
            .unwrap();
        assert_eq!(exists, 0, "file {id}");
    }
    // Nothing else is due: a second refresh finds nothing.
    assert_eq!(
        app.admin_cache("refresh", json!({})).await["refreshed_count"],
        0
    );
    // Clearing file URLs drops the index too.
    app.admin_cache("clear", json!({})).await;
    let exists: i64 = redis::cmd("EXISTS")
        .arg(&index)
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(exists, 0);
}

both_backends!(
    deleting_a_file_or_clearing_one_drops_it_from_the_expiry_index,
    QUIET,
    |app: TestApp| async move {
        let kept = app.upload("avatar", "a.png", png()).await["id"]
            .as_i64()
            .unwrap();
        let deleted = app.upload("avatar", "b.png", png()).await["id"]
            .as_i64()
            .unwrap();
        let cleared = app.upload("avatar", "c.png", png()).await["id"]
            .as_i64()
            .unwrap();
        for id in [kept, deleted, cleared] {
            app.get_file(id).await;
        }
        let res = app
            .delete(&format!("/api/files/{deleted}"), &app.admin_token)
            .await;
        assert!(res.status().is_success());
        app.admin_cache("clear", json!({ "file_id": cleared }))
            .await;
        if app.backend == Backend::Services {
            let mut redis = app.redis().await;
            let members: Vec<String> = redis::cmd("ZRANGE")
                .arg(app.redis_key("file_url_expiry"))
                .arg(0)
                .arg(-1)
                .query_async(&mut redis)
                .await
                .unwrap();
            assert_eq!(members, vec![kept.to_string()]);
        }
        // Either way, nothing is about to expire, and the kept entry is still a hit.
        assert_eq!(
            app.admin_cache("refresh", json!({})).await["refreshed_count"],
            0
        );
        let before = app.signatures().await;
        app.get_file(kept).await;
        assert_eq!(app.signatures().await, before);
    }
);
