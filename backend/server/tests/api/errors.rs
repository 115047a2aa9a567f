//! Every error, the framework's own included, is problem+json.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::TestApp;

async fn assert_problem(res: reqwest::Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(res.status(), status);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let request_id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], status.as_u16());
    assert_eq!(body["code"], code);
    assert_eq!(body["type"], format!("urn:tessera:problem:{code}"));
    assert!(body["title"].is_string() && body["detail"].is_string());
    assert_eq!(body["request_id"], request_id);
    body
}

both_backends!(
    framework_errors_are_problem_json,
    |app: TestApp| async move {
        let token = app.admin_token.clone();
        let bad_json = app
            .client
            .post(app.url("/api/auth/login"))
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_problem(bad_json, StatusCode::BAD_REQUEST, "invalid_json").await;

        let wrong_shape = app
            .client
            .post(app.url("/api/auth/login"))
            .json(&json!({"email": 1}))
            .send()
            .await
            .unwrap();
        assert_problem(
            wrong_shape,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;

        let unknown = app
            .client
            .get(app.url("/api/nothing-here"))
            .send()
            .await
            .unwrap();
        assert_problem(unknown, StatusCode::NOT_FOUND, "not_found").await;

        let wrong_method = app
            .client
            .patch(app.url("/api/files/1"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_problem(
            wrong_method,
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        )
        .await;

        let media_type = app
            .client
            .post(app.url("/api/auth/login"))
            .header("content-type", "text/plain")
            .body("hi")
            .send()
            .await
            .unwrap();
        assert_problem(
            media_type,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        )
        .await;

        let oversize = app
            .client
            .post(app.url("/api/auth/login"))
            .header("content-type", "application/json")
            .body(format!("{{\"email\":\"{}\"}}", "a".repeat(100_000)))
            .send()
            .await
            .unwrap();
        assert_problem(oversize, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;

        let bad_path = app.get("/api/files/not-a-number", &token).await;
        assert_problem(bad_path, StatusCode::NOT_FOUND, "not_found").await;

        let bad_query = app.get("/api/files?page=minus-one", &token).await;
        let body = assert_problem(
            bad_query,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert_eq!(body["errors"][0]["field"], "page");

        let not_multipart = app
            .client
            .post(app.url("/api/files"))
            .bearer_auth(&token)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_problem(
            not_multipart,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        )
        .await;
    }
);

both_backends!(
    authentication_failures_are_401_problems,
    |app: TestApp| async move {
        let missing = app.client.get(app.url("/api/files")).send().await.unwrap();
        assert_eq!(missing.headers()["www-authenticate"], "Bearer");
        assert_problem(missing, StatusCode::UNAUTHORIZED, "unauthenticated").await;
        let wrong = app
            .client
            .post(app.url("/api/auth/login"))
            .json(&json!({"email": "admin@example.org", "password": "nope"}))
            .send()
            .await
            .unwrap();
        assert_problem(wrong, StatusCode::UNAUTHORIZED, "unauthenticated").await;
        let mut tampered = app.admin_token.clone();
        tampered.push('x');
        let res = app.get("/api/auth/me", &tampered).await;
        assert_problem(res, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    }
);

both_backends!(
    validation_errors_name_their_fields_and_change_nothing,
    |app: TestApp| async move {
        let res = app
            .post_json(
                "/api/users",
                &app.admin_token,
                json!({"email": "nope", "password": "short", "name": ""}),
            )
            .await;
        let body = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        let fields: Vec<&str> = body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, vec!["email", "name", "password"]);
        let created = app
            .post_json(
                "/api/users",
                &app.admin_token,
                json!({"email": "ana@example.org", "password": "long-enough", "name": "Ana"}),
            )
            .await;
        assert_eq!(created.status(), StatusCode::CREATED);
        let again = app
            .post_json(
                "/api/users",
                &app.admin_token,
                json!({"email": "ANA@example.org", "password": "long-enough", "name": "Ana"}),
            )
            .await;
        assert_problem(again, StatusCode::CONFLICT, "email_taken").await;
        let user = app.login("ana@example.org", "long-enough").await;
        let res = app
            .post_json(
                "/api/users",
                &user,
                json!({"email": "x@example.org", "password": "long-enough", "name": "X"}),
            )
            .await;
        assert_problem(res, StatusCode::FORBIDDEN, "admin_required").await;
    }
);

both_backends!(health_and_docs_are_served, |app: TestApp| async move {
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let ready: Value = app
        .client
        .get(app.url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["status"], "ready");
    for check in ["database", "cache", "object_store"] {
        assert_eq!(ready["checks"][check]["status"], "up", "{check}");
    }
    let spec: Value = app
        .client
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(spec["paths"]["/api/admin/cache/stats"].is_object());
    let docs = app.client.get(app.url("/api/docs")).send().await.unwrap();
    assert_eq!(docs.status(), StatusCode::OK);
    assert!(docs.text().await.unwrap().contains("swagger"));
    let me: Value = app
        .get("/api/auth/me", &app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["is_admin"], true);
});

both_backends!(
    every_response_carries_the_security_headers,
    |app: TestApp| async move {
        for path in ["/healthz", "/api/nothing-here", "/api/files"] {
            let res = app.client.get(app.url(path)).send().await.unwrap();
            assert_eq!(res.headers()["x-content-type-options"], "nosniff", "{path}");
            assert_eq!(res.headers()["x-frame-options"], "DENY", "{path}");
            assert_eq!(res.headers()["referrer-policy"], "no-referrer", "{path}");
        }
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_configured_spa_origin_may_call_the_api_and_others_may_not() {
    let app = crate::helpers::spawn_app_with(
        crate::helpers::Backend::Embedded,
        &[("TESSERA_CORS_ORIGINS", "https://app.example.org")],
    )
    .await;
    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/api/files"))
        .header("origin", "https://app.example.org")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success());
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "https://app.example.org"
    );
    let res = app
        .client
        .get(app.url("/api/auth/me"))
        .bearer_auth(&app.admin_token)
        .header("origin", "https://app.example.org")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://app.example.org"
    );
    let res = app
        .client
        .get(app.url("/api/auth/me"))
        .bearer_auth(&app.admin_token)
        .header("origin", "https://evil.example.org")
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
}
