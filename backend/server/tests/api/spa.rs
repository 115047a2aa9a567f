//! The single-page app as a browser and a client of the API see it: the build served at `/`,
//! client-side routes answered with `index.html`, never under `/api/` or `/assets/`.

use reqwest::{header, StatusCode};

use crate::helpers::{spawn_app, spawn_app_with, Backend, TestApp};

const INDEX: &str = "<!doctype html><title>Tessera app</title><div id=\"root\"></div>";

/// An app whose `TESSERA_FRONTEND_DIR` holds a small build (kept alive with the app).
async fn app_with_build() -> (TestApp, tempfile::TempDir) {
    let dist = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dist.path().join("assets")).unwrap();
    std::fs::write(dist.path().join("index.html"), INDEX).unwrap();
    std::fs::write(dist.path().join("assets/app-3f2a.js"), "console.log('app')").unwrap();
    std::fs::write(dist.path().join("favicon.svg"), "<svg/>").unwrap();
    let dir = dist.path().display().to_string();
    let app = spawn_app_with(Backend::Embedded, &[("TESSERA_FRONTEND_DIR", &dir)]).await;
    (app, dist)
}

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    app.client.get(app.url(path)).send().await.unwrap()
}

#[actix_web::test]
async fn the_build_is_served_at_the_root_and_for_every_client_side_route() {
    let (app, _dist) = app_with_build().await;
    for path in [
        "/",
        "/members",
        "/members/12/edit",
        "/admin/cache",
        "/login?next=%2Fdues",
    ] {
        let res = get(&app, path).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert_eq!(res.headers()[header::CACHE_CONTROL], "no-cache", "{path}");
        assert!(res.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        assert_eq!(res.text().await.unwrap(), INDEX, "{path}");
    }
}

#[actix_web::test]
async fn hashed_assets_are_cached_for_a_year_and_a_missing_one_is_a_404() {
    let (app, _dist) = app_with_build().await;
    let res = get(&app, "/assets/app-3f2a.js").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(res.text().await.unwrap(), "console.log('app')");

    let res = get(&app, "/favicon.svg").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[header::CACHE_CONTROL], "no-cache");

    // A script that is not there must not come back as HTML.
    let res = get(&app, "/assets/app-0000.js").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        res.headers()[header::CONTENT_TYPE],
        "application/problem+json"
    );
}

#[actix_web::test]
async fn api_paths_never_fall_back_to_the_app() {
    let (app, _dist) = app_with_build().await;
    for path in [
        "/api",
        "/api/",
        "/api/nothing-here",
        "/api/members/1/nope",
        "//api/nope",
    ] {
        let res = get(&app, path).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(
            res.headers()[header::CONTENT_TYPE],
            "application/problem+json",
            "{path}"
        );
    }
    for path in ["/api/nothing-here", "/members"] {
        let res = app.client.post(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "POST {path}");
        assert_eq!(
            res.headers()[header::CONTENT_TYPE],
            "application/problem+json",
            "POST {path}"
        );
    }
    // Routes still answer as themselves.
    let res = get(&app, "/api/openapi.json").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    assert_eq!(get(&app, "/healthz").await.status(), StatusCode::OK);
}

#[actix_web::test]
async fn odd_spellings_cannot_leave_the_build_directory() {
    let (app, dist) = app_with_build().await;
    // A file beside the build that must stay unreachable.
    let secret = dist.path().parent().unwrap().join("tessera-spa-secret.txt");
    std::fs::write(&secret, "secret").unwrap();
    for path in [
        "/../tessera-spa-secret.txt",
        "/%2e%2e/tessera-spa-secret.txt",
        "/assets/%2e%2e/%2e%2e/tessera-spa-secret.txt",
        "/assets/..%2f..%2ftessera-spa-secret.txt",
        "/%2e%2e%5ctessera-spa-secret.txt",
    ] {
        let res = get(&app, path).await;
        let status = res.status();
        let body = res.text().await.unwrap();
        assert!(!body.contains("secret"), "{path}: {status} {body}");
    }
    std::fs::remove_file(secret).unwrap();
}

#[actix_web::test]
async fn without_a_build_the_root_says_how_to_build_the_app() {
    let app = spawn_app(Backend::Embedded).await;
    let res = get(&app, "/").await;
    assert_eq!(res.status(), StatusCode::OK);
    let body = res.text().await.unwrap();
    assert!(body.contains("npm run build"), "{body}");
    assert!(body.contains("/api/docs/"), "{body}");
    assert_eq!(get(&app, "/members").await.status(), StatusCode::NOT_FOUND);
}
