//! PostgreSQL gone: every request that needs it answers 503 problem+json with `Retry-After`,
//! never 500, nothing is half-written, and reads and writes work again as soon as it is back.
//! The app reaches PostgreSQL through a proxy in the test that can cut every connection (the
//! port then refuses, as a stopped server's does) and restore it on the same port.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::{Response, StatusCode};
use serde_json::{json, Value};
use sqlx::Connection;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::helpers::{spawn_app_with, Backend, Services, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD};

/// A TCP proxy to PostgreSQL on a port of its own.
struct DbProxy {
    port: u16,
    upstream: String,
    acceptor: Option<JoinHandle<()>>,
    links: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl DbProxy {
    async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut proxy = Self {
            port: listener.local_addr().unwrap().port(),
            upstream,
            acceptor: None,
            links: Arc::default(),
        };
        proxy.serve(listener);
        proxy
    }

    fn serve(&mut self, listener: TcpListener) {
        let upstream = self.upstream.clone();
        let links = Arc::clone(&self.links);
        self.acceptor = Some(tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    continue;
                };
                let upstream = upstream.clone();
                let link = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                let mut links = links.lock().unwrap();
                links.retain(|link| !link.is_finished());
                links.push(link);
            }
        }));
    }

    /// Closes the port (connections are refused) and drops every open connection.
    async fn cut(&mut self) {
        if let Some(acceptor) = self.acceptor.take() {
            acceptor.abort();
            let _ = acceptor.await;
        }
        let links = std::mem::take(&mut *self.links.lock().unwrap());
        for link in links {
            link.abort();
            let _ = link.await;
        }
    }

    /// Accepts again on the same port.
    async fn restore(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let listener = loop {
            match TcpListener::bind(("127.0.0.1", self.port)).await {
                Ok(listener) => break listener,
                Err(e) => {
                    assert!(
                        Instant::now() < deadline,
                        "cannot listen on port {} again: {e}",
                        self.port
                    );
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        };
        self.serve(listener);
    }
}

impl Drop for DbProxy {
    fn drop(&mut self) {
        if let Some(acceptor) = self.acceptor.take() {
            acceptor.abort();
        }
        for link in self.links.lock().unwrap().drain(..) {
            link.abort();
        }
    }
}

/// A database of this test's own, dropped at the end.
struct OwnDatabase {
    admin_url: String,
    name: String,
}

impl OwnDatabase {
    async fn create(admin_url: &str) -> Self {
        let name = format!("tessera_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::PgConnection::connect(admin_url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut conn)
            .await
            .unwrap();
        Self {
            admin_url: admin_url.to_owned(),
            name,
        }
    }

    /// The URL of this database, at `host:port`.
    fn url_at(&self, port: Option<u16>) -> String {
        let mut url = url::Url::parse(&self.admin_url).unwrap();
        url.set_path(&self.name);
        if let Some(port) = port {
            url.set_host(Some("127.0.0.1")).unwrap();
            url.set_port(Some(port)).unwrap();
        }
        url.to_string()
    }

    /// What the database itself holds, past the app and its cache.
    async fn count(&self, sql: &str, bind: &str) -> i64 {
        let mut conn = sqlx::PgConnection::connect(&self.url_at(None))
            .await
            .unwrap();
        let count: (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(sql.to_owned()))
            .bind(bind.to_owned())
            .fetch_one(&mut conn)
            .await
            .unwrap();
        count.0
    }
}

impl Drop for OwnDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
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

/// `host:port` of a PostgreSQL URL.
fn host_port(url: &str) -> String {
    let url = url::Url::parse(url).unwrap();
    format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432))
}

/// Checks an answer given while the database may be down: a success, or a 503 problem with
/// `Retry-After`; never anything else. Answers the status.
async fn outage_answer(res: Response, what: &str) -> StatusCode {
    let status = res.status();
    if status.is_success() {
        return status;
    }
    let headers = res.headers().clone();
    let body = res.text().await.unwrap();
    assert_eq!(
        status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{what} answered {status}: {body}"
    );
    assert_eq!(
        headers["content-type"], "application/problem+json",
        "{what}"
    );
    let retry_after: u64 = headers
        .get("retry-after")
        .unwrap_or_else(|| panic!("{what}: a 503 without Retry-After"))
        .to_str()
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("{what}: Retry-After is not a number of seconds"));
    assert!(retry_after >= 1, "{what}: Retry-After {retry_after}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["code"], "service_unavailable", "{what}");
    assert_eq!(body["status"], 503, "{what}");
    let detail = body["detail"].as_str().unwrap();
    assert!(
        !detail.contains("sqlx") && !detail.contains("connection") && !detail.contains("127.0.0.1"),
        "{what}: the cause leaks: {detail}"
    );
    status
}

/// What the requests of the mix work on.
#[derive(Clone, Copy)]
struct Targets {
    sector: i64,
    cell: i64,
    member: i64,
}

/// One request of the mix, by number: reads and writes of members and org units.
async fn mixed_request(app: &TestApp, n: usize, t: Targets) -> (String, Response) {
    let token = &app.admin_token;
    match n % 5 {
        0 => (
            "GET /api/members".into(),
            app.get("/api/members", token).await,
        ),
        1 => (
            "GET /api/org-units".into(),
            app.get("/api/org-units", token).await,
        ),
        2 => (
            "POST /api/members".into(),
            app.post_json(
                "/api/members",
                token,
                json!({"name": format!("Load {n}"), "org_unit_id": t.cell}),
            )
            .await,
        ),
        3 => (
            "POST /api/org-units".into(),
            app.post_json(
                "/api/org-units",
                token,
                json!({"name": format!("Load unit {n}"), "kind": "cell", "parent_id": t.sector}),
            )
            .await,
        ),
        _ => (
            "PATCH /api/members/{id}".into(),
            app.patch(
                &format!("/api/members/{}", t.member),
                token,
                json!({"name": format!("Load {n}")}),
            )
            .await,
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_postgres_gone_requests_answer_503_with_retry_after_and_work_again_when_it_is_back() {
    let services = Services::from_env();
    let database = OwnDatabase::create(&services.postgres_url).await;
    let mut proxy = DbProxy::start(host_port(&services.postgres_url)).await;
    let app = Arc::new(
        spawn_app_with(
            Backend::Services,
            &[("DATABASE_URL", &database.url_at(Some(proxy.port)))],
        )
        .await,
    );
    let token = app.admin_token.clone();
    let central = app.org_unit("CC", "central", None).await;
    let regional = app.org_unit("CR", "regional", Some(central)).await;
    let sector = app.org_unit("S", "sector", Some(regional)).await;
    let cell = app.org_unit("Cell", "cell", Some(sector)).await;
    let res = app
        .post_json(
            "/api/members",
            &token,
            json!({"name": "Before", "org_unit_id": cell}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let member = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let targets = Targets {
        sector,
        cell,
        member,
    };
    assert_eq!(
        app.get("/api/members", &token).await.status(),
        StatusCode::OK
    );
    let refresh = app.login_answer(ADMIN_EMAIL, ADMIN_PASSWORD).await["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();

    // Under load: the cut lands while requests are in flight; they answer as they can, but never
    // 500. Each worker stops once it sees the cut.
    let cut = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..6)
        .map(|worker| {
            let (app, cut, sent) = (Arc::clone(&app), Arc::clone(&cut), Arc::clone(&sent));
            tokio::spawn(async move {
                let mut round = 0;
                while !cut.load(Ordering::Acquire) {
                    let (what, res) = mixed_request(&app, worker + 6 * round, targets).await;
                    outage_answer(res, &what).await;
                    sent.fetch_add(1, Ordering::AcqRel);
                    round += 1;
                }
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    while sent.load(Ordering::Acquire) < 30 {
        assert!(Instant::now() < deadline, "the load never got going");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    proxy.cut().await;
    cut.store(true, Ordering::Release);

    // With the database gone: writes (and logins, refreshes) answer 503; reads too, unless the
    // cache holds their answer.
    let marker = format!("During the cut {}", uuid::Uuid::new_v4().simple());
    let member_path = format!("/api/members/{member}");
    let (
        create_member,
        create_unit,
        change_member,
        login,
        refreshed,
        members,
        unread,
        units,
        ready,
    ) = tokio::join!(
        app.post_json(
            "/api/members",
            &token,
            json!({"name": &marker, "org_unit_id": cell})
        ),
        app.post_json(
            "/api/org-units",
            &token,
            json!({"name": &marker, "kind": "cell", "parent_id": sector})
        ),
        app.patch(&member_path, &token, json!({"name": &marker})),
        app.post_anonymous(
            "/api/auth/login",
            json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        ),
        app.post_anonymous("/api/auth/refresh", json!({"refresh_token": &refresh})),
        app.get("/api/members", &token),
        app.get("/api/members?status=suspended&per_page=7", &token),
        app.get("/api/org-units", &token),
        app.client.get(app.url("/readyz")).send(),
    );
    for (what, res) in [
        ("POST /api/members", create_member),
        ("POST /api/org-units", create_unit),
        ("PATCH /api/members/{id}", change_member),
        ("POST /api/auth/login", login),
        ("POST /api/auth/refresh", refreshed),
        ("GET /api/members?status=suspended (never cached)", unread),
    ] {
        assert_eq!(
            outage_answer(res, what).await,
            StatusCode::SERVICE_UNAVAILABLE,
            "{what}"
        );
    }
    for (what, res) in [("GET /api/members", members), ("GET /api/org-units", units)] {
        outage_answer(res, what).await;
    }
    for worker in workers {
        worker.await.unwrap();
    }
    let ready = ready.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let ready_headers = ready.headers().clone();
    assert!(
        ready_headers.contains_key("retry-after"),
        "{ready_headers:?}"
    );
    let ready: Value = ready.json().await.unwrap();
    assert_eq!(
        ready["checks"]["database"]["status"], "down",
        "{ready_headers:?} {ready}"
    );

    proxy.restore().await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let res = app.get("/api/org-units", &token).await;
        if res.status() == StatusCode::OK {
            break;
        }
        outage_answer(res, "GET /api/org-units after the restore").await;
        assert!(
            Instant::now() < deadline,
            "the app never reached the database again"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Nothing of what was refused was written.
    for (what, sql) in [
        ("member", "SELECT COUNT(*) FROM members WHERE name = $1"),
        ("org unit", "SELECT COUNT(*) FROM org_units WHERE name = $1"),
    ] {
        assert_eq!(
            database.count(sql, &marker).await,
            0,
            "a {what} refused with 503 was written"
        );
    }
    let res = app.get(&member_path, &token).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_ne!(res.json::<Value>().await.unwrap()["name"], marker.as_str());
    // The refused refresh did not use up the token.
    let res = app
        .post_anonymous("/api/auth/refresh", json!({"refresh_token": &refresh}))
        .await;
    assert_eq!(res.status(), StatusCode::OK, "the refresh token was lost");

    // Reads and writes work again.
    let res = app
        .post_json(
            "/api/members",
            &token,
            json!({"name": "After", "org_unit_id": cell}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let after = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let res = app
        .patch(&member_path, &token, json!({"name": "Changed after"}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        app.post_json(
            "/api/org-units",
            &token,
            json!({"name": "After", "kind": "cell", "parent_id": sector}),
        )
        .await
        .status(),
        StatusCode::CREATED
    );
    let res = app.get("/api/members?per_page=100", &token).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    let names: Vec<(i64, String)> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["id"].as_i64().unwrap(),
                m["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(names.contains(&(after, "After".to_owned())), "{names:?}");
    assert!(
        names.contains(&(member, "Changed after".to_owned())),
        "{names:?}"
    );
    app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
}
