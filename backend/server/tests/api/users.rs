//! User administration and one's own profile.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{png, TestApp, ADMIN_EMAIL};

async fn create(app: &TestApp, email: &str) -> Value {
    let res = app
        .post_json(
            "/api/users",
            &app.admin_token,
            json!({"email": email, "password": "user-password-1", "name": "Ana"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json().await.unwrap()
}

async fn patch(app: &TestApp, path: &str, token: &str, body: Value) -> reqwest::Response {
    app.patch(path, token, body).await
}

both_backends!(
    admins_list_read_change_and_delete_users,
    |app: TestApp| async move {
        let unit = app.org_unit("CC", "central", None).await;
        let ana = create(&app, "ana@example.org").await;
        let id = ana["id"].as_i64().unwrap();
        let page: Value = app
            .get("/api/users?per_page=1", &app.admin_token)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(page["total"], 2);
        assert_eq!(page["items"][0]["email"], ADMIN_EMAIL);
        assert!(page["items"][0].get("password_hash").is_none());

        let res = patch(
            &app,
            &format!("/api/users/{id}"),
            &app.admin_token,
            json!({"name": "Ana Maria", "is_treasurer": true, "org_unit_id": unit}),
        )
        .await;
        assert_eq!(res.status(), StatusCode::OK);
        let changed: Value = res.json().await.unwrap();
        assert_eq!(
            (
                changed["name"].as_str(),
                changed["is_treasurer"].as_bool(),
                changed["org_unit_id"].as_i64()
            ),
            (Some("Ana Maria"), Some(true), Some(unit))
        );
        assert_eq!(changed["email"], "ana@example.org", "fields left out stay");

        let res = patch(
            &app,
            &format!("/api/users/{id}"),
            &app.admin_token,
            json!({"org_unit_id": null}),
        )
        .await;
        assert!(
            res.json::<Value>().await.unwrap()["org_unit_id"].is_null(),
            "null removes the unit"
        );

        let res = patch(
            &app,
            &format!("/api/users/{id}"),
            &app.admin_token,
            json!({"email": ADMIN_EMAIL}),
        )
        .await;
        assert_eq!(res.status(), StatusCode::CONFLICT);
        let res = patch(
            &app,
            &format!("/api/users/{id}"),
            &app.admin_token,
            json!({"org_unit_id": 999_999}),
        )
        .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);

        let ana_token = app.login("ana@example.org", "user-password-1").await;
        assert_eq!(
            app.get("/api/users", &ana_token).await.status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            app.get(&format!("/api/users/{id}"), &ana_token)
                .await
                .status(),
            StatusCode::OK
        );
        assert_eq!(
            app.get("/api/users/1", &ana_token).await.status(),
            StatusCode::NOT_FOUND
        );

        let res = app
            .client
            .delete(app.url(&format!("/api/users/{id}")))
            .bearer_auth(&app.admin_token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        assert_eq!(
            app.get("/api/auth/me", &ana_token).await.status(),
            StatusCode::UNAUTHORIZED,
            "a deleted user's token stops working"
        );
    }
);

both_backends!(
    a_deactivated_user_can_neither_log_in_nor_use_its_token,
    |app: TestApp| async move {
        let ana = create(&app, "ana@example.org").await;
        let token = app.login("ana@example.org", "user-password-1").await;
        let res = patch(
            &app,
            &format!("/api/users/{}", ana["id"]),
            &app.admin_token,
            json!({"is_active": false}),
        )
        .await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(
            app.get("/api/auth/me", &token).await.status(),
            StatusCode::UNAUTHORIZED
        );
        let res = app
            .client
            .post(app.url("/api/auth/login"))
            .json(&json!({"email": "ana@example.org", "password": "user-password-1"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
);

both_backends!(
    admins_cannot_lock_themselves_out,
    |app: TestApp| async move {
        let me: Value = app
            .get("/api/auth/me", &app.admin_token)
            .await
            .json()
            .await
            .unwrap();
        let path = format!("/api/users/{}", me["id"]);
        for body in [json!({"is_admin": false}), json!({"is_active": false})] {
            assert_eq!(
                patch(&app, &path, &app.admin_token, body).await.status(),
                StatusCode::FORBIDDEN
            );
        }
        let res = app
            .client
            .delete(app.url(&path))
            .bearer_auth(&app.admin_token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
    }
);

both_backends!(
    a_user_with_files_is_deactivated_rather_than_deleted,
    |app: TestApp| async move {
        let ana = create(&app, "ana@example.org").await;
        let token = app.login("ana@example.org", "user-password-1").await;
        assert_eq!(
            app.upload_as(&token, "avatar", "a.png", png())
                .await
                .status(),
            StatusCode::CREATED
        );
        let res = app
            .client
            .delete(app.url(&format!("/api/users/{}", ana["id"])))
            .bearer_auth(&app.admin_token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CONFLICT);
        assert_eq!(res.json::<Value>().await.unwrap()["code"], "user_in_use");
    }
);

both_backends!(
    users_change_their_own_name_and_password,
    |app: TestApp| async move {
        create(&app, "ana@example.org").await;
        let token = app.login("ana@example.org", "user-password-1").await;
        let res = patch(&app, "/api/auth/me", &token, json!({"name": "Ana Paula"})).await;
        assert_eq!(res.json::<Value>().await.unwrap()["name"], "Ana Paula");
        let res = patch(
            &app,
            "/api/auth/me",
            &token,
            json!({"password": "a-new-password"}),
        )
        .await;
        assert_eq!(
            res.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "a new password needs the current one"
        );
        let res = patch(
            &app,
            "/api/auth/me",
            &token,
            json!({"password": "a-new-password", "current_password": "wrong-one"}),
        )
        .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let res = patch(
            &app,
            "/api/auth/me",
            &token,
            json!({"password": "a-new-password", "current_password": "user-password-1"}),
        )
        .await;
        assert_eq!(res.status(), StatusCode::OK);
        app.login("ana@example.org", "a-new-password").await;
        let res = patch(&app, "/api/auth/me", &token, json!({"is_admin": true})).await;
        assert_eq!(
            res.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "no promoting oneself"
        );
    }
);
