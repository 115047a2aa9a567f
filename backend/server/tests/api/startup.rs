//! Start-up refuses bad settings with one clear line.

use std::process::Command;

#[test]
fn a_bad_redis_url_stops_start_up_with_a_line_naming_it() {
    let data = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .arg("serve")
        .current_dir(data.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TESSERA_DATA_DIR", data.path())
        .env("REDIS_URL", "localhost:6379")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains("invalid REDIS_URL"), "{stderr}");
}

#[test]
fn an_inconsistent_url_policy_stops_start_up() {
    let data = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .current_dir(data.path())
        .env_clear()
        .env("TESSERA_DATA_DIR", data.path())
        .env("FILE_URL_EXPIRES", "600")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("FILE_URL_EXPIRES"));
}

#[test]
fn an_invalid_admin_otp_secret_stops_start_up() {
    let data = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .current_dir(data.path())
        .env_clear()
        .env("TESSERA_DATA_DIR", data.path())
        .env("ADMIN_OTP_SECRET", "not-base32!")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("invalid ADMIN_OTP_SECRET"));
}

#[test]
fn admin_create_prints_the_enrolment_and_falls_back_to_a_temp_png() {
    let data = tempfile::tempdir().unwrap();
    let admin_create = |email: &str, more: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_tessera"))
            .current_dir(data.path())
            .env_clear()
            .env("TESSERA_DATA_DIR", data.path())
            .args(["admin", "create", "--email", email])
            .args(["--password", "ops-password-1"])
            .args(more)
            .output()
            .unwrap()
    };
    let output = admin_create("ops@example.org", &["--qr-png", "/nonexistent-dir/qr.png"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("created administrator ops@example.org"),
        "{stdout}"
    );
    assert!(
        stdout.contains("otpauth://totp/Tessera:ops%40example.org?"),
        "{stdout}"
    );
    assert!(stdout.contains('█'), "a QR code is drawn");
    let fallback = stdout
        .lines()
        .find_map(|l| l.split("QR code written to ").nth(1))
        .map(|rest| rest.trim_end_matches(" instead").to_owned())
        .expect("the PNG's path is printed");
    let png = std::fs::read(&fallback).unwrap();
    assert!(png.starts_with(b"\x89PNG"));
    std::fs::remove_file(fallback).unwrap();

    let output = admin_create("script@example.org", &["--no-otp"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("created administrator script@example.org"));
    assert!(!stdout.contains("otpauth://"), "{stdout}");
}

/// `tessera token create` bootstraps a token for scripts; the running server accepts it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_create_prints_a_token_the_server_accepts_within_its_scopes() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().display().to_string();
    let app = crate::helpers::spawn_app_with(
        crate::helpers::Backend::Embedded,
        &[("TESSERA_DATA_DIR", &dir)],
    )
    .await;
    let tessera = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_tessera"))
            .current_dir(data.path())
            .env_clear()
            .env("TESSERA_DATA_DIR", data.path())
            .args(args)
            .output()
            .unwrap()
    };
    let output = tessera(&[
        "token",
        "create",
        "--email",
        crate::helpers::ADMIN_EMAIL,
        "--name",
        "nightly warm",
        "--scopes",
        "cache:admin,read",
        "--expires-in-days",
        "7",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("cache:admin read"), "{stderr}");
    let token = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    assert!(token.starts_with("tsk_"), "only the token is on stdout");
    // Only a hash is stored: the secret is in no file of the database (nor its WAL).
    for entry in std::fs::read_dir(data.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
                "{} holds the token",
                path.display()
            );
        }
    }

    let res = app.get("/api/admin/cache/stats", &token).await;
    assert_eq!(res.status(), reqwest::StatusCode::OK);
    let res = app
        .post_json("/api/admin/cache/warm", &token, serde_json::json!({}))
        .await;
    assert_eq!(res.status(), reqwest::StatusCode::OK);
    let res = app.delete("/api/files/1", &token).await;
    assert_eq!(res.status(), reqwest::StatusCode::FORBIDDEN);

    let output = tessera(&[
        "token",
        "create",
        "--email",
        "nobody@example.org",
        "--name",
        "x",
        "--scopes",
        "read",
    ]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("no active administrator"));
    let output = tessera(&[
        "token",
        "create",
        "--email",
        crate::helpers::ADMIN_EMAIL,
        "--name",
        "x",
        "--scopes",
        "root",
    ]);
    assert!(!output.status.success());
}
