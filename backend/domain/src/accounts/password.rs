//! Passwords: argon2id, hashed and checked off the request threads (argon2 is deliberately
//! slow; a login flood must not stall every other request).

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use crate::shared::{DomainError, DomainResult};

/// An argon2id PHC string for `password`, with a random salt.
pub async fn hash_password(password: String) -> DomainResult<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| DomainError::Unexpected(anyhow::anyhow!("hashing a password failed: {e}")))
    })
    .await
    .map_err(|e| {
        DomainError::Unexpected(anyhow::Error::new(e).context("the hashing task failed"))
    })?
}

/// Whether `password` matches the PHC string `hash` (false for a malformed hash).
pub async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify_only_the_right_password() {
        let hash = hash_password("correct horse".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse".into(), hash.clone()).await);
        assert!(!verify_password("wrong horse".into(), hash).await);
        assert!(!verify_password("correct horse".into(), "not a hash".into()).await);
    }
}
