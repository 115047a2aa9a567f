//! API tokens: shown once, listed without their secret, limited to their scopes, revocable.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{png, TestApp};

async fn create(app: &TestApp, body: Value) -> reqwest::Response {
    app.post_json("/api/tokens", &app.admin_token, body).await
}

async fn token(app: &TestApp, scopes: &[&str]) -> (i64, String) {
    let res = create(
        app,
        json!({"name": "ops script", "scopes": scopes, "expires_in_days": 30}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    (
        body["id"].as_i64().unwrap(),
        body["token"].as_str().unwrap().to_owned(),
    )
}

async fn code(res: reqwest::Response) -> (StatusCode, String) {
    let status = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    (status, body["code"].as_str().unwrap_or_default().to_owned())
}

both_backends!(
    tokens_are_shown_once_listed_without_secret_and_revocable,
    |app: TestApp| async move {
        let res = create(
            &app,
            json!({"name": "cache cron", "scopes": ["cache:admin"], "expires_in_days": 30}),
        )
        .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let created: Value = res.json().await.unwrap();
        let secret = created["token"].as_str().unwrap().to_owned();
        assert!(secret.starts_with("tsk_") && secret.len() > 40);
        assert_eq!(created["scopes"], json!(["cache:admin"]));
        let id = created["id"].as_i64().unwrap();

        let list: Value = app
            .get("/api/tokens", &app.admin_token)
            .await
            .json()
            .await
            .unwrap();
        let listed = &list["items"][0];
        assert_eq!(listed["id"], id);
        assert_eq!(listed["name"], "cache cron");
        assert!(listed.get("token").is_none());
        assert!(!list.to_string().contains(&secret));

        // The seed's curl call, with the token instead of a login.
        let res = app.get("/api/admin/cache/stats", &secret).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.json::<Value>().await.unwrap()["success"], true);
        let res = app
            .post_json("/api/admin/cache/clear", &secret, json!({}))
            .await;
        assert_eq!(res.status(), StatusCode::OK);

        let res = app
            .delete(&format!("/api/tokens/{id}"), &app.admin_token)
            .await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        let res = app.get("/api/admin/cache/stats", &secret).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        let res = app
            .delete(&format!("/api/tokens/{id}"), &app.admin_token)
            .await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        let res = app.get("/api/auth/me", "tsk_not-a-real-token").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
);

both_backends!(tokens_are_held_to_their_scopes, |app: TestApp| async move {
    let (_, cache) = token(&app, &["cache:admin"]).await;
    let (_, read) = token(&app, &["read"]).await;
    let (_, write) = token(&app, &["read", "write"]).await;
    let file = app.upload("avatar", "a.png", png()).await["id"]
        .as_i64()
        .unwrap();

    assert_eq!(
        code(app.get("/api/files", &cache).await).await,
        (StatusCode::FORBIDDEN, "insufficient_scope".into())
    );
    assert_eq!(app.get("/api/files", &read).await.status(), StatusCode::OK);
    assert_eq!(
        app.get(&format!("/api/files/{file}"), &read).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get("/api/auth/me", &read).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        code(app.get("/api/admin/cache/stats", &read).await).await,
        (StatusCode::FORBIDDEN, "insufficient_scope".into())
    );
    assert_eq!(
        code(app.upload_as(&read, "avatar", "b.png", png()).await).await,
        (StatusCode::FORBIDDEN, "insufficient_scope".into())
    );
    assert_eq!(
        code(app.delete(&format!("/api/files/{file}"), &read).await).await,
        (StatusCode::FORBIDDEN, "insufficient_scope".into())
    );
    assert_eq!(
        app.upload_as(&write, "avatar", "b.png", png())
            .await
            .status(),
        StatusCode::CREATED
    );
    assert_eq!(
        app.delete(&format!("/api/files/{file}"), &write)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );

    // Tokens cannot mint tokens, change the account, or log out: those need a person.
    for res in [
        app.post_json(
            "/api/tokens",
            &write,
            json!({"name": "x", "scopes": ["write"]}),
        )
        .await,
        app.get("/api/tokens", &write).await,
        app.patch("/api/auth/me", &write, json!({"name": "Bot"}))
            .await,
        app.post_json("/api/auth/logout", &write, json!({})).await,
    ] {
        assert_eq!(
            code(res).await,
            (StatusCode::FORBIDDEN, "session_required".into())
        );
    }
});

both_backends!(
    only_administrators_create_tokens_and_bad_requests_change_nothing,
    |app: TestApp| async move {
        let user = app.user_token().await;
        let res = app
            .post_json(
                "/api/tokens",
                &user,
                json!({"name": "x", "scopes": ["read"]}),
            )
            .await;
        assert_eq!(
            code(res).await,
            (StatusCode::FORBIDDEN, "admin_required".into())
        );
        assert_eq!(
            app.get("/api/tokens", &user).await.status(),
            StatusCode::FORBIDDEN
        );

        for (body, field) in [
            (json!({"name": "x", "scopes": ["root"]}), "scopes[0]"),
            (json!({"name": "x", "scopes": []}), "scopes"),
            (json!({"name": "", "scopes": ["read"]}), "name"),
            (
                json!({"name": "x", "scopes": ["read"], "expires_in_days": 0}),
                "expires_in_days",
            ),
            (
                json!({"name": "x", "scopes": ["read"], "expires_in_days": 366}),
                "expires_in_days",
            ),
        ] {
            let res = create(&app, body.clone()).await;
            assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
            let problem: Value = res.json().await.unwrap();
            assert_eq!(problem["errors"][0]["field"], field, "{body}");
        }
        let res = create(
            &app,
            json!({"name": "x", "scopes": ["read"], "admin": true}),
        )
        .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let list: Value = app
            .get("/api/tokens", &app.admin_token)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(list["items"], json!([]));

        // The default expiry is 90 days.
        let res = create(&app, json!({"name": "default", "scopes": ["read"]})).await;
        let body: Value = res.json().await.unwrap();
        let created =
            chrono::DateTime::parse_from_rfc3339(body["created_at"].as_str().unwrap()).unwrap();
        let expires =
            chrono::DateTime::parse_from_rfc3339(body["expires_at"].as_str().unwrap()).unwrap();
        assert_eq!((expires - created).num_days(), 90);
    }
);
