//! Time-based one-time passwords (RFC 6238 with totp-rs): SHA-1, 6 digits, 30-second steps, one
//! step of drift either way. A code is accepted only for a time step after the last one accepted
//! (kept in the database, so neither a cache loss nor a second instance lets it be replayed).
//! Recovery codes stand in for a code once each.

use sha2::{Digest, Sha256};
use totp_rs::{Algorithm, Builder, Secret, Totp};

/// The issuer shown in authenticator apps.
pub const ISSUER: &str = "Tessera";
const STEP: u64 = 30;
const DIGITS: u8 = 6;

/// A base32 TOTP secret of at least 80 bits (the seed's `JBSWY3DPEHPK3PXP` is exactly 80).
#[derive(Clone, PartialEq, Eq)]
pub struct OtpSecret {
    base32: String,
    bytes: Vec<u8>,
}

impl std::fmt::Debug for OtpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OtpSecret(***)")
    }
}

impl OtpSecret {
    /// Parses a base32 secret (spaces and case ignored); the error says what is wrong.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let base32: String = raw
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_uppercase();
        let bytes = Secret::try_from_base32(base32.trim_end_matches('='))
            .map_err(|_| "not valid base32 (letters A-Z and digits 2-7)".to_owned())?
            .as_bytes()
            .to_vec();
        if bytes.len() < 10 {
            return Err(format!(
                "too short: {} bits, at least 80 are needed",
                bytes.len() * 8
            ));
        }
        Ok(Self { base32, bytes })
    }

    /// A new random 160-bit secret.
    pub fn generate() -> Self {
        let secret = Secret::generate();
        Self {
            base32: secret.to_base32(),
            bytes: secret.as_bytes().to_vec(),
        }
    }

    /// The secret in base32, as stored and as typed into an authenticator.
    pub fn expose_base32(&self) -> &str {
        &self.base32
    }

    /// The seed's 80-bit secret is below RFC 4226's 128-bit recommendation, so the builder's
    /// non-compliant path is used; `parse` still refuses anything under 80 bits.
    fn totp(&self, account: &str) -> Totp {
        Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(DIGITS)
            .with_skew(0)
            .with_step_duration(STEP)
            .with_secret(self.bytes.clone())
            .with_issuer(Some(ISSUER))
            .with_account_name(account)
            .build_noncompliant()
    }

    /// The code for a Unix time (tests and the command line use it).
    pub fn code_at(&self, unix: u64) -> String {
        self.totp("").generate(unix).to_string()
    }

    /// The time step a code is valid for at `unix`, trying the current step and one either side.
    pub fn matching_step(&self, code: &str, unix: u64) -> Option<u64> {
        let code = code.trim();
        if code.len() != usize::from(DIGITS) || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let totp = self.totp("");
        [unix.saturating_sub(STEP), unix, unix + STEP]
            .into_iter()
            .find(|t| totp.check(code, *t).is_some())
            .map(|t| t / STEP)
    }

    /// The `otpauth://` URL authenticator apps scan.
    pub fn otpauth_url(&self, account: &str) -> String {
        self.totp(account).to_url().unwrap_or_default()
    }

    /// The otpauth URL as a QR code, a base64 PNG.
    pub fn qr_png_base64(&self, account: &str) -> Result<String, String> {
        self.totp(account).to_qr_base64().map_err(|e| e.to_string())
    }
}

/// How many recovery codes enabling one-time codes hands out.
pub const RECOVERY_CODES: usize = 10;

/// Single-use recovery codes, each 80 random bits written as 16 base32 letters in groups of
/// four (`abcd-efgh-ijkl-mnop`). Only their SHA-256 is stored: with 80 bits of entropy a fast
/// hash is enough.
pub struct RecoveryCodes {
    /// The codes, to show their owner once. A credential: never logged.
    pub codes: Vec<String>,
    /// Their hashes, to store.
    pub hashes: Vec<String>,
}

impl RecoveryCodes {
    /// A fresh set.
    pub fn generate() -> Self {
        let codes: Vec<String> = (0..RECOVERY_CODES)
            .map(|_| {
                let mut bytes = [0u8; 10];
                rand::fill(&mut bytes);
                let letters = base32_lower(&bytes);
                letters
                    .as_bytes()
                    .chunks(4)
                    .map(|c| String::from_utf8_lossy(c).into_owned())
                    .collect::<Vec<_>>()
                    .join("-")
            })
            .collect();
        let hashes = codes.iter().map(|c| recovery_hash(c)).collect();
        Self { codes, hashes }
    }
}

/// The stored form of a recovery code as a person types it: case, spaces and dashes ignored.
pub fn recovery_hash(code: &str) -> String {
    let normal: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    hex::encode(Sha256::digest(normal.as_bytes()))
}

fn base32_lower(bytes: &[u8]) -> String {
    Secret::from(bytes.to_vec())
        .to_base32()
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_secret_is_accepted_and_bad_ones_say_why() {
        let secret = OtpSecret::parse("JBSWY3DPEHPK3PXP").unwrap();
        assert_eq!(secret.expose_base32(), "JBSWY3DPEHPK3PXP");
        assert!(OtpSecret::parse("jbsw y3dp ehpk 3pxp").is_ok());
        assert!(OtpSecret::parse("NOT-BASE32!")
            .unwrap_err()
            .contains("base32"));
        assert!(OtpSecret::parse("JBSWY3DP")
            .unwrap_err()
            .contains("too short"));
        assert_eq!(format!("{secret:?}"), "OtpSecret(***)");
    }

    #[test]
    fn codes_are_accepted_one_step_either_side_and_not_two() {
        let secret = OtpSecret::generate();
        let now = 1_800_000_000;
        assert_eq!(
            secret.matching_step(&secret.code_at(now), now),
            Some(now / 30)
        );
        assert_eq!(
            secret.matching_step(&secret.code_at(now - 30), now),
            Some(now / 30 - 1)
        );
        assert_eq!(
            secret.matching_step(&secret.code_at(now + 30), now),
            Some(now / 30 + 1)
        );
        assert_eq!(secret.matching_step(&secret.code_at(now - 60), now), None);
        assert_eq!(secret.matching_step("12345", now), None);
        assert_eq!(secret.matching_step("abcdef", now), None);
    }

    #[test]
    fn recovery_codes_are_unique_and_hashed_as_typed() {
        let set = RecoveryCodes::generate();
        assert_eq!(set.codes.len(), RECOVERY_CODES);
        let mut unique = set.codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), RECOVERY_CODES);
        let code = &set.codes[0];
        assert_eq!(code.len(), 19);
        assert_eq!(
            recovery_hash(&code.to_uppercase().replace('-', " ")),
            set.hashes[0]
        );
    }

    #[test]
    fn the_otpauth_url_names_the_issuer_and_account() {
        let secret = OtpSecret::parse("JBSWY3DPEHPK3PXP").unwrap();
        let url = secret.otpauth_url("ana@example.org");
        assert!(
            url.starts_with("otpauth://totp/Tessera:ana%40example.org?"),
            "{url}"
        );
        assert!(url.contains("secret=JBSWY3DPEHPK3PXP"));
    }
}
