//! The audit log: security events recorded in the database, readable by administrators.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::TestApp;

async fn audit(app: &TestApp, query: &str) -> Value {
    let res = app
        .get(&format!("/api/audit{query}"), &app.admin_token)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

fn actions(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

both_backends!(
    security_events_are_recorded_and_listed_newest_first,
    |app: TestApp| async move {
        let (email, user_id) = app.create_user("user-password-1", json!({})).await;
        let res = app
            .post_anonymous(
                "/api/auth/login",
                json!({"email": email.to_uppercase(), "password": "not-the-password"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        let token = app.login(&email, "user-password-1").await;
        let res = app.post_json("/api/auth/logout", &token, json!({})).await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        let created: Value = app
            .post_json(
                "/api/tokens",
                &app.admin_token,
                json!({"name": "cron", "scopes": ["cache:admin"]}),
            )
            .await
            .json()
            .await
            .unwrap();
        let token_id = created["id"].as_i64().unwrap();
        let secret = created["token"].as_str().unwrap();
        app.post_json("/api/admin/cache/clear", secret, json!({}))
            .await;
        app.delete(&format!("/api/tokens/{token_id}"), &app.admin_token)
            .await;

        let page = audit(&app, "").await;
        assert_eq!(
            actions(&page),
            [
                "token_revoked",
                "cache_cleared",
                "token_created",
                "logout",
                "login_succeeded",
                "login_failed",
                "user_created",
                "login_succeeded",
                "user_created",
            ]
        );
        let failed = &page["items"][5];
        assert_eq!(failed["subject"], format!("email:{email}"));
        assert_eq!(failed["client_ip"], "127.0.0.1");
        assert_eq!(failed["detail"]["reason"], "invalid_credentials");
        assert!(failed["actor_user_id"].is_null());
        assert_eq!(page["items"][4]["actor_user_id"], user_id);
        assert_eq!(page["items"][1]["subject"], "file_url:*");
        assert_eq!(page["items"][2]["subject"], format!("token:{token_id}"));
        assert!(!page.to_string().contains(secret), "no secret is logged");
        assert_eq!(page["total"], 9);

        let failed_only = audit(&app, "?action=login_failed").await;
        assert_eq!(actions(&failed_only), ["login_failed"]);
        let by_user = audit(&app, &format!("?user_id={user_id}")).await;
        assert_eq!(actions(&by_user), ["logout", "login_succeeded"]);
        let paged = audit(&app, "?per_page=2&page=2").await;
        assert_eq!(actions(&paged), ["token_created", "logout"]);
        assert_eq!(paged["total"], 9);
    }
);

both_backends!(
    only_administrators_read_the_audit_log,
    |app: TestApp| async move {
        let user = app.user_token().await;
        let res = app.get("/api/audit", &user).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        let res = app.get("/api/audit", "").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        let res = app
            .get("/api/audit?action=everything", &app.admin_token)
            .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let problem: Value = res.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], "action");
        let res = app.get("/api/audit?per_page=1000", &app.admin_token).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
);
