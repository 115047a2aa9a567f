//! Login with a second factor: enrolment, ±1 step of drift, replay refused.

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
        let setup: Value = app
            .post_json("/api/auth/otp/setup", &token, json!({}))
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
        let wrong = app
            .post_json("/api/auth/otp/enable", &token, json!({"code": "000000"}))
            .await;
        assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let enabled = app
            .post_json(
                "/api/auth/otp/enable",
                &token,
                json!({"code": secret.code_at(now - 30)}),
            )
            .await;
        assert_eq!(enabled.status(), StatusCode::NO_CONTENT);

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
            .post_json("/api/auth/otp/setup", &token, json!({}))
            .await;
        assert_eq!(again.status(), StatusCode::CONFLICT);
    }
);

both_backends!(disabling_needs_a_current_code, |app: TestApp| async move {
    let token = app.user_token().await;
    let setup: Value = app
        .post_json("/api/auth/otp/setup", &token, json!({}))
        .await
        .json()
        .await
        .unwrap();
    let secret = OtpSecret::parse(setup["secret"].as_str().unwrap()).unwrap();
    let now = inside_a_step().await;
    assert_eq!(
        app.post_json(
            "/api/auth/otp/enable",
            &token,
            json!({"code": secret.code_at(now)})
        )
        .await
        .status(),
        StatusCode::NO_CONTENT
    );
    let res = app
        .post_json("/api/auth/otp/disable", &token, json!({"code": "123456"}))
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = app
        .post_json(
            "/api/auth/otp/disable",
            &token,
            json!({"code": secret.code_at(now + 30)}),
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
});

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
