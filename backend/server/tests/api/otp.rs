//! Login with a second factor: enrolment behind the current password, ±1 step of drift, no code
//! accepted for a step at or before the last one used, single-use recovery codes, and what an
//! administrator can do for a user who lost them.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::StatusCode;
use serde_json::{json, Value};
use tessera_domain::accounts::otp::OtpSecret;

use crate::both_backends;
use crate::helpers::{spawn_app_with, Backend, TestApp};

fn unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Waits (at most a few seconds) until well inside a 30-second step, so codes computed here are
/// still in the same step when the server checks them.
async fn inside_a_step() -> u64 {
    while unix() % 30 > 24 {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    unix()
}

async fn login(
    app: &TestApp,
    email: &str,
    password: &str,
    code: Option<String>,
) -> reqwest::Response {
    let mut body = json!({"email": email, "password": password});
    if let Some(code) = code {
        body["otp_code"] = json!(code);
    }
    app.client
        .post(app.url("/api/auth/login"))
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// Enrols `token`'s user (password `password`): answers the secret.
async fn set_up(app: &TestApp, token: &str, password: &str) -> OtpSecret {
    let setup: Value = app
        .post_json(
            "/api/auth/otp/setup",
            token,
            json!({"current_password": password}),
        )
        .await
        .json()
        .await
        .unwrap();
    OtpSecret::parse(setup["secret"].as_str().unwrap()).unwrap()
}

/// Enables codes with `code`: answers the status and the recovery codes.
async fn enable(
    app: &TestApp,
    token: &str,
    password: &str,
    code: &str,
) -> (StatusCode, Vec<String>) {
    let res = app
        .post_json(
            "/api/auth/otp/enable",
            token,
            json!({"current_password": password, "code": code}),
        )
        .await;
    let status = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    let codes = body["recovery_codes"]
        .as_array()
        .map(|codes| {
            codes
                .iter()
                .map(|c| c.as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default();
    (status, codes)
}

async fn code_of(res: reqwest::Response) -> String {
    res.json::<Value>().await.unwrap()["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

both_backends!(
    enrolled_users_log_in_with_a_code_once_within_one_step_of_drift,
    |app: TestApp| async move {
        let email = "ana@example.org";
        app.post_json(
            "/api/users",
            &app.admin_token,
            json!({"email": email, "password": "user-password-1", "name": "Ana"}),
        )
        .await;
        let token = app.login(email, "user-password-1").await;
        let no_password = app
            .post_json("/api/auth/otp/setup", &token, json!({}))
            .await;
        assert_eq!(no_password.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let wrong_password = app
            .post_json(
                "/api/auth/otp/setup",
                &token,
                json!({"current_password": "not-it"}),
            )
            .await;
        assert_eq!(wrong_password.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body: Value = wrong_password.json().await.unwrap();
        assert_eq!(body["errors"][0]["field"], "current_password");
        let setup: Value = app
            .post_json(
                "/api/auth/otp/setup",
                &token,
                json!({"current_password": "user-password-1"}),
            )
            .await
            .json()
            .await
            .unwrap();
        assert!(setup["otpauth_url"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/Tessera:"));
        assert!(!setup["qr_png_base64"].as_str().unwrap().is_empty());
        let secret = OtpSecret::parse(setup["secret"].as_str().unwrap()).unwrap();

        let now = inside_a_step().await;
        let (wrong, _) = enable(&app, &token, "user-password-1", "000000").await;
        assert_eq!(wrong, StatusCode::UNPROCESSABLE_ENTITY);
        let (enabled, recovery) =
            enable(&app, &token, "user-password-1", &secret.code_at(now - 30)).await;
        assert_eq!(enabled, StatusCode::OK);
        assert_eq!(recovery.len(), 10, "ten recovery codes");

        let res = login(&app, email, "user-password-1", None).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(code_of(res).await, "otp_required");
        let res = login(&app, email, "wrong-password", Some(secret.code_at(now))).await;
        assert_eq!(
            code_of(res).await,
            "unauthenticated",
            "the password is checked first"
        );
        let res = login(
            &app,
            email,
            "user-password-1",
            Some(secret.code_at(now - 90)),
        )
        .await;
        assert_eq!(code_of(res).await, "otp_invalid", "three steps old");

        let res = login(&app, email, "user-password-1", Some(secret.code_at(now))).await;
        assert_eq!(res.status(), StatusCode::OK);
        let replay = login(&app, email, "user-password-1", Some(secret.code_at(now))).await;
        assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            code_of(replay).await,
            "otp_invalid",
            "a used code is refused"
        );
        let drift = login(
            &app,
            email,
            "user-password-1",
            Some(secret.code_at(now + 30)),
        )
        .await;
        assert_eq!(drift.status(), StatusCode::OK, "one step ahead is accepted");
        let used = login(
            &app,
            email,
            "user-password-1",
            Some(secret.code_at(now - 30)),
        )
        .await;
        assert_eq!(
            code_of(used).await,
            "otp_invalid",
            "the enabling code was used already"
        );

        let again = app
            .post_json(
                "/api/auth/otp/setup",
                &token,
                json!({"current_password": "user-password-1"}),
            )
            .await;
        assert_eq!(again.status(), StatusCode::CONFLICT);
    }
);

both_backends!(
    a_code_for_a_step_at_or_before_the_last_one_used_is_refused,
    |app: TestApp| async move {
        let (email, _) = app.create_user("user-password-1", json!({})).await;
        let token = app.login(&email, "user-password-1").await;
        let secret = set_up(&app, &token, "user-password-1").await;
        let now = inside_a_step().await;
        let (enabled, _) = enable(&app, &token, "user-password-1", &secret.code_at(now)).await;
        assert_eq!(enabled, StatusCode::OK);
        // The next step's code logs in; then the current step's, though never used itself, is
        // older than the last one used: refused, as a replay would be.
        let ahead = login(
            &app,
            &email,
            "user-password-1",
            Some(secret.code_at(now + 30)),
        )
        .await;
        assert_eq!(ahead.status(), StatusCode::OK);
        let behind = login(&app, &email, "user-password-1", Some(secret.code_at(now))).await;
        assert_eq!(code_of(behind).await, "otp_invalid");
    }
);

both_backends!(
    recovery_codes_log_in_once_each_in_place_of_a_code,
    |app: TestApp| async move {
        let (email, _) = app.create_user("user-password-1", json!({})).await;
        let token = app.login(&email, "user-password-1").await;
        let secret = set_up(&app, &token, "user-password-1").await;
        let now = inside_a_step().await;
        let (_, recovery) = enable(&app, &token, "user-password-1", &secret.code_at(now)).await;
        let with = |code: &str| json!({"email": email, "password": "user-password-1", "recovery_code": code});
        let first = app
            .post_anonymous("/api/auth/login", with(&recovery[0]))
            .await;
        assert_eq!(first.status(), StatusCode::OK);
        let again = app
            .post_anonymous("/api/auth/login", with(&recovery[0]))
            .await;
        assert_eq!(code_of(again).await, "otp_invalid", "each works once");
        // Typed in capitals and without dashes, the second one still works.
        let typed = recovery[1].to_uppercase().replace('-', "");
        let second = app.post_anonymous("/api/auth/login", with(&typed)).await;
        assert_eq!(second.status(), StatusCode::OK);
        let made_up = app
            .post_anonymous("/api/auth/login", with("aaaa-bbbb-cccc-dddd"))
            .await;
        assert_eq!(code_of(made_up).await, "otp_invalid");
        let log: Value = app
            .get("/api/audit?action=recovery_code_used", &app.admin_token)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(log["total"], 2);
    }
);

both_backends!(
    an_administrator_resets_a_password_and_turns_off_codes_and_both_are_audited,
    |app: TestApp| async move {
        let (email, id) = app.create_user("user-password-1", json!({})).await;
        let token = app.login(&email, "user-password-1").await;
        let secret = set_up(&app, &token, "user-password-1").await;
        let now = inside_a_step().await;
        enable(&app, &token, "user-password-1", &secret.code_at(now)).await;

        // Lost the authenticator and the recovery codes: the administrator turns codes off.
        let off = app
            .delete(&format!("/api/users/{id}/otp"), &app.admin_token)
            .await;
        assert_eq!(off.status(), StatusCode::OK);
        assert_eq!(off.json::<Value>().await.unwrap()["otp_enabled"], false);
        // Forgot the password too: a reset ends every session of the user.
        let reset = app
            .post_json(
                &format!("/api/users/{id}/password-reset"),
                &app.admin_token,
                json!({"password": "temporary-password"}),
            )
            .await;
        assert_eq!(reset.status(), StatusCode::OK);
        assert_eq!(
            app.get("/api/auth/me", &token).await.status(),
            StatusCode::UNAUTHORIZED
        );
        let old = login(&app, &email, "user-password-1", None).await;
        assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
        let answer: Value = login(&app, &email, "temporary-password", None)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(answer["user"]["must_change_password"], true);
        let token = answer["access_token"].as_str().unwrap().to_owned();
        // Until a new password is set, only the own account and logout are open.
        let elsewhere = app.get("/api/members", &token).await;
        assert_eq!(elsewhere.status(), StatusCode::FORBIDDEN);
        assert_eq!(code_of(elsewhere).await, "password_change_required");
        assert_eq!(
            app.get("/api/auth/me", &token).await.status(),
            StatusCode::OK
        );
        let changed = app
            .patch(
                "/api/auth/me",
                &token,
                json!({"password": "my-own-password", "current_password": "temporary-password"}),
            )
            .await;
        assert_eq!(changed.status(), StatusCode::OK);
        assert_eq!(
            changed.json::<Value>().await.unwrap()["must_change_password"],
            false
        );
        assert_eq!(
            app.get("/api/members", &token).await.status(),
            StatusCode::OK
        );

        let log: Value = app
            .get("/api/audit?per_page=10", &app.admin_token)
            .await
            .json()
            .await
            .unwrap();
        let actions: Vec<&str> = log["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        for action in ["otp_disabled", "password_reset", "password_changed"] {
            assert!(actions.contains(&action), "{action} in {actions:?}");
        }
    }
);

both_backends!(
    disabling_needs_the_password_and_a_current_code,
    |app: TestApp| async move {
        let token = app.user_token().await;
        let secret = set_up(&app, &token, "user-password-1").await;
        let now = inside_a_step().await;
        let (enabled, _) = enable(&app, &token, "user-password-1", &secret.code_at(now)).await;
        assert_eq!(enabled, StatusCode::OK);
        let res = app
            .post_json(
                "/api/auth/otp/disable",
                &token,
                json!({"current_password": "user-password-1", "code": "123456"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let res = app
            .post_json(
                "/api/auth/otp/disable",
                &token,
                json!({"current_password": "not-it", "code": secret.code_at(now + 30)}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let res = app
            .post_json(
                "/api/auth/otp/disable",
                &token,
                json!({"current_password": "user-password-1", "code": secret.code_at(now + 30)}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);

        let log: Value = app
            .get("/api/audit?per_page=3", &app.admin_token)
            .await
            .json()
            .await
            .unwrap();
        let actions: Vec<&str> = log["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert_eq!(actions, ["otp_disabled", "otp_enabled", "login_succeeded"]);
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_admin_secret_enables_codes_for_the_first_admin() {
    // spawn_app_with logs the admin in with a code when ADMIN_OTP_SECRET is set.
    let app = spawn_app_with(
        Backend::Embedded,
        &[("ADMIN_OTP_SECRET", "JBSWY3DPEHPK3PXP")],
    )
    .await;
    let res = login(
        &app,
        crate::helpers::ADMIN_EMAIL,
        crate::helpers::ADMIN_PASSWORD,
        None,
    )
    .await;
    assert_eq!(code_of(res).await, "otp_required");
}
