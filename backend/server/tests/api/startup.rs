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
fn admin_create_with_otp_prints_the_enrolment_and_falls_back_to_a_temp_png() {
    let data = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .current_dir(data.path())
        .env_clear()
        .env("TESSERA_DATA_DIR", data.path())
        .args([
            "admin",
            "create",
            "--email",
            "ops@example.org",
            "--password",
            "ops-password-1",
            "--otp",
        ])
        .args(["--qr-png", "/nonexistent-dir/qr.png"])
        .output()
        .unwrap();
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
}
