//! Sessions: refresh tokens that rotate, reuse that ends the family, logout, and access tokens
//! refused for a bad expiry, audience, issuer, algorithm or signature.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use redis::AsyncCommands;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{Backend, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD, JWT_SECRET};

async fn refresh(app: &TestApp, token: &str) -> reqwest::Response {
    app.post_anonymous("/api/auth/refresh", json!({"refresh_token": token}))
        .await
}

fn text(v: &Value, field: &str) -> String {
    v[field].as_str().unwrap().to_owned()
}

async fn me_status(app: &TestApp, token: &str) -> StatusCode {
    app.get("/api/auth/me", token).await.status()
}

both_backends!(
    refresh_tokens_rotate_and_a_reused_one_ends_the_session,
    |app: TestApp| async move {
        let (email, _) = app.create_user("user-password-1", json!({})).await;
        let login = app.login_answer(&email, "user-password-1").await;
        let first = text(&login, "refresh_token");
        assert_eq!(login["token_type"], "Bearer");
        assert!(login["refresh_expires_in"].as_u64().unwrap() > 3600);

        let res = refresh(&app, &first).await;
        assert_eq!(res.status(), StatusCode::OK);
        let rotated: Value = res.json().await.unwrap();
        let second = text(&rotated, "refresh_token");
        assert_ne!(second, first);
        assert_eq!(rotated["user"]["email"], email.as_str());
        let access = text(&rotated, "access_token");
        assert_eq!(me_status(&app, &access).await, StatusCode::OK);

        // The retired token comes back: someone copied it. The whole session ends.
        let res = refresh(&app, &first).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        let problem: Value = res.json().await.unwrap();
        assert_eq!(problem["code"], "unauthenticated");
        assert_eq!(
            refresh(&app, &second).await.status(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(me_status(&app, &access).await, StatusCode::UNAUTHORIZED);
        assert_eq!(
            me_status(&app, &text(&login, "access_token")).await,
            StatusCode::UNAUTHORIZED
        );

        // Another login is a session of its own, untouched by all this.
        let other = app.login(&email, "user-password-1").await;
        assert_eq!(me_status(&app, &other).await, StatusCode::OK);

        for bad in ["garbage", &first.replace('.', "x"), &format!("{second}x")] {
            let res = refresh(&app, bad).await;
            assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{bad:?}");
        }
        for shapeless in [json!({}), json!({"refresh_token": ""})] {
            let res = app.post_anonymous("/api/auth/refresh", shapeless).await;
            assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        }
    }
);

both_backends!(
    logout_refuses_the_access_token_and_ends_its_session_only,
    |app: TestApp| async move {
        let (email, _) = app.create_user("user-password-1", json!({})).await;
        let a = app.login_answer(&email, "user-password-1").await;
        let b = app.login_answer(&email, "user-password-1").await;
        let a_access = text(&a, "access_token");

        let res = app
            .client
            .post(app.url("/api/auth/logout"))
            .bearer_auth(&a_access)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        assert_eq!(me_status(&app, &a_access).await, StatusCode::UNAUTHORIZED);
        assert_eq!(
            refresh(&app, &text(&a, "refresh_token")).await.status(),
            StatusCode::UNAUTHORIZED
        );
        // Logging out twice is refused like any other dead token.
        let res = app
            .post_json("/api/auth/logout", &a_access, json!({}))
            .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

        assert_eq!(
            me_status(&app, &text(&b, "access_token")).await,
            StatusCode::OK
        );
        assert_eq!(
            refresh(&app, &text(&b, "refresh_token")).await.status(),
            StatusCode::OK
        );
    }
);

both_backends!(
    logout_everywhere_and_lockouts_end_every_session,
    |app: TestApp| async move {
        let (email, id) = app.create_user("user-password-1", json!({})).await;
        let a = app.login_answer(&email, "user-password-1").await;
        let b = app.login_answer(&email, "user-password-1").await;
        let res = app
            .post_json(
                "/api/auth/logout",
                &text(&a, "access_token"),
                json!({"everywhere": true}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        for login in [&a, &b] {
            assert_eq!(
                me_status(&app, &text(login, "access_token")).await,
                StatusCode::UNAUTHORIZED
            );
            assert_eq!(
                refresh(&app, &text(login, "refresh_token")).await.status(),
                StatusCode::UNAUTHORIZED
            );
        }

        // A new password ends the other sessions, not the one that changed it.
        let here = app.login_answer(&email, "user-password-1").await;
        let elsewhere = app.login_answer(&email, "user-password-1").await;
        let res = app
            .patch(
                "/api/auth/me",
                &text(&here, "access_token"),
                json!({"password": "user-password-2", "current_password": "user-password-1"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(
            me_status(&app, &text(&here, "access_token")).await,
            StatusCode::OK
        );
        assert_eq!(
            me_status(&app, &text(&elsewhere, "access_token")).await,
            StatusCode::UNAUTHORIZED
        );

        // Deactivation ends them all; the refresh token stops too.
        let res = app
            .patch(
                &format!("/api/users/{id}"),
                &app.admin_token,
                json!({"is_active": false}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(
            refresh(&app, &text(&here, "refresh_token")).await.status(),
            StatusCode::UNAUTHORIZED
        );

        let res = app
            .post_json(
                "/api/auth/logout",
                &app.admin_token,
                json!({"everything": 1}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
);

fn forged(claims: Value) -> String {
    signed_with(Algorithm::HS256, &claims)
}

fn signed_with(algorithm: Algorithm, claims: &Value) -> String {
    encode(
        &Header::new(algorithm),
        claims,
        &EncodingKey::from_secret(JWT_SECRET.as_bytes()).unwrap(),
    )
    .unwrap()
}

/// One base64url part of a JWT.
fn part(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

/// `header.payload.` with no signature, as an `alg: none` attacker sends it.
fn unsigned(claims: &Value) -> String {
    format!(
        "{}.{}.",
        part(&json!({"alg": "none", "typ": "JWT"})),
        part(claims)
    )
}

both_backends!(
    expired_wrong_audience_wrong_issuer_unsigned_and_tampered_tokens_are_refused,
    |app: TestApp| async move {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        // The admin's own session, read from its token: a forged token names a live session.
        let payload = app.admin_token.split('.').nth(1).unwrap();
        let admin: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        let sid = admin["sid"].as_str().unwrap().to_owned();
        let claims = |exp: i64, iss: &str, aud: &str| json!({"sub": "1", "iat": now - 60, "exp": exp, "jti": "j", "iss": iss, "aud": aud, "sid": sid});
        // The same secret and claims, made by the test: accepted, so the refusals below are
        // about the one claim each changes.
        let valid = claims(now + 300, "tessera", "tessera-api");
        let good = forged(valid.clone());
        assert_eq!(me_status(&app, &good).await, StatusCode::OK);
        // The good token's header and signature over a payload that lives a day longer: accepted
        // but for its signature (the same user, who exists).
        let mut other = valid.clone();
        other["exp"] = json!(now + 86_400);
        let good_parts: Vec<&str> = good.split('.').collect();
        let swapped_payload = format!("{}.{}.{}", good_parts[0], part(&other), good_parts[2]);
        for token in [
            forged(claims(now - 120, "tessera", "tessera-api")),
            forged(claims(now + 300, "tessera", "another-api")),
            forged(claims(now + 300, "someone-else", "tessera-api")),
            unsigned(&valid),
            // The right secret under another HMAC: the algorithm is pinned, not read from the token.
            signed_with(Algorithm::HS512, &valid),
            swapped_payload,
        ] {
            let res = app.get("/api/auth/me", &token).await;
            assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
            assert_eq!(
                res.json::<Value>().await.unwrap()["code"],
                "unauthenticated"
            );
        }
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_live_in_the_database_and_a_redis_that_lost_its_data_logs_nobody_out() {
    let app = crate::helpers::spawn_app(Backend::Services).await;
    let (email, id) = app.create_user("user-password-1", json!({})).await;
    let login = app.login_answer(&email, "user-password-1").await;
    let session = text(&login, "refresh_token")
        .split('.')
        .next()
        .unwrap()
        .to_owned();
    let access = text(&login, "access_token");
    assert_eq!(me_status(&app, &access).await, StatusCode::OK);
    let mut redis = app.redis().await;
    let key = app.redis_key(&format!("session:{session}"));
    let ttl: i64 = redis.ttl(&key).await.unwrap();
    assert!(
        ttl > 0 && ttl <= 16 * 60,
        "the session is cached briefly: TTL {ttl}"
    );
    let profile = app.redis_key(&format!("user:{id}:profile"));
    let cached: bool = redis.exists(&profile).await.unwrap();
    assert!(cached, "the request cached the profile");

    // Everything this app had in Redis is gone (a restart without persistence, an eviction):
    // the database still knows the session.
    let keys: Vec<String> = redis.keys(app.redis_key("*")).await.unwrap();
    let _: () = redis.del(keys).await.unwrap();
    assert_eq!(me_status(&app, &access).await, StatusCode::OK);
    let res = refresh(&app, &text(&login, "refresh_token")).await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "the refresh token still works"
    );
    let rotated: Value = res.json().await.unwrap();

    let access = text(&rotated, "access_token");
    let res = app.post_json("/api/auth/logout", &access, json!({})).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let state: String = redis.get(&key).await.unwrap();
    assert_eq!(
        state, "ended",
        "a tombstone, so no reader can cache the session again"
    );
    assert_eq!(me_status(&app, &access).await, StatusCode::UNAUTHORIZED);
    // And when Redis forgets the tombstone, the database still says the session is over.
    let keys: Vec<String> = redis.keys(app.redis_key("*")).await.unwrap();
    let _: () = redis.del(keys).await.unwrap();
    assert_eq!(me_status(&app, &access).await, StatusCode::UNAUTHORIZED);
    let res = refresh(&app, &text(&rotated, "refresh_token")).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

both_backends!(
    a_refresh_after_logout_everywhere_fails_and_two_refreshes_with_one_token_never_both_succeed,
    |app: TestApp| async move {
        let (email, _) = app.create_user("user-password-1", json!({})).await;
        // Two refreshes at once with one token: one rotates, the other is a reuse, which ends
        // the session (the web app refreshes once across its tabs, so it never does this).
        let login = app.login_answer(&email, "user-password-1").await;
        let token = text(&login, "refresh_token");
        let (a, b) = tokio::join!(refresh(&app, &token), refresh(&app, &token));
        let mut statuses = [a.status(), b.status()];
        statuses.sort();
        assert_eq!(statuses, [StatusCode::OK, StatusCode::UNAUTHORIZED]);

        // A refresh token read before "log out everywhere" is worth nothing after it.
        let login = app.login_answer(&email, "user-password-1").await;
        let other = app.login_answer(&email, "user-password-1").await;
        let res = app
            .post_json(
                "/api/auth/logout",
                &text(&other, "access_token"),
                json!({"everywhere": true}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        let res = refresh(&app, &text(&login, "refresh_token")).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            me_status(&app, &text(&login, "access_token")).await,
            StatusCode::UNAUTHORIZED
        );
    }
);

both_backends!(
    logout_also_ends_the_session_of_the_refresh_token_it_is_sent,
    |app: TestApp| async move {
        let (email, _) = app.create_user("user-password-1", json!({})).await;
        let first = app.login_answer(&email, "user-password-1").await;
        let second = app.login_answer(&email, "user-password-1").await;
        let someone = app.login_answer(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        // The body most clients send: the refresh token they hold. Someone else's is ignored.
        let res = app
            .post_json(
                "/api/auth/logout",
                &text(&first, "access_token"),
                json!({"refresh_token": text(&second, "refresh_token")}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        let res = refresh(&app, &text(&second, "refresh_token")).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        let third = app.login_answer(&email, "user-password-1").await;
        let res = app
            .post_json(
                "/api/auth/logout",
                &text(&third, "access_token"),
                json!({"refresh_token": text(&someone, "refresh_token")}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        let res = refresh(&app, &text(&someone, "refresh_token")).await;
        assert_eq!(
            res.status(),
            StatusCode::OK,
            "another user's session is untouched"
        );
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_end_at_their_maximum_age_however_often_refreshed() {
    let app = crate::helpers::spawn_app_with(
        Backend::Embedded,
        &[
            ("JWT_ACCESS_TTL", "1"),
            ("JWT_REFRESH_TTL", "2"),
            ("SESSION_MAX_AGE", "2"),
        ],
    )
    .await;
    let (email, _) = app.create_user("user-password-1", json!({})).await;
    let login = app.login_answer(&email, "user-password-1").await;
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    let res = refresh(&app, &text(&login, "refresh_token")).await;
    assert_eq!(res.status(), StatusCode::OK, "refreshed within its TTL");
    let rotated: Value = res.json().await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    // Refreshed 1.2 s ago, so its TTL has not run out; but it is 2.4 s old.
    let res = refresh(&app, &text(&rotated, "refresh_token")).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let problem: Value = res.json().await.unwrap();
    assert!(problem["detail"].as_str().unwrap().contains("too old"));
}
