//! Bearer access tokens: HS256 JWTs with `sub`, `exp`, `iat`, `jti`, issuer and audience, the
//! algorithm pinned. A token that verified once is remembered until it expires, so a client
//! that calls again with it is not checked (HMAC, base64, claims JSON) on every request.
//! Each thread remembers its own: whether a token verifies depends on its text alone, so
//! nothing is shared between the worker threads and nothing needs invalidating.

use std::cell::RefCell;
use std::num::NonZeroUsize;
use std::time::Duration;

use chrono::Utc;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use lru::LruCache;
use serde::{Deserialize, Serialize};
use tessera_domain::accounts::sessions::SessionId;
use tessera_domain::shared::DomainError;
use tessera_domain::shared::UserId;
use thread_local::ThreadLocal;

const ISSUER: &str = "tessera";
const AUDIENCE: &str = "tessera-api";
/// Clock skew allowed on `exp`, in seconds.
const LEEWAY_SECS: u64 = 5;

/// The claims of an access token.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// Expiry, Unix seconds.
    pub exp: i64,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// A unique token id.
    pub jti: String,
    /// Always `tessera`.
    pub iss: String,
    /// Always `tessera-api`.
    pub aud: String,
    /// The login session the token belongs to: the token works while the session lives.
    pub sid: String,
}

/// What a valid access token says.
#[derive(Debug, Clone)]
pub struct AccessToken {
    /// Whose token it is.
    pub user_id: UserId,
    /// Its login session: the token works while the session lives.
    pub session: SessionId,
}

/// A token that verified, and when it stops being valid (Unix seconds, leeway included).
#[derive(Clone)]
struct Verified {
    access: AccessToken,
    valid_until: i64,
}

/// How many verified tokens each thread remembers: beyond it the least used are checked again.
const VERIFIED_PER_THREAD: NonZeroUsize = NonZeroUsize::new(2048).unwrap();

/// One thread's verified tokens, by their exact text.
type Remembered = RefCell<LruCache<Box<str>, Verified>>;

/// Issues and checks access tokens.
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
    /// Tokens that verified, per thread. Only tokens that passed every check are kept
    /// (invented ones cost a check each, as before, and no memory); whether the token's session
    /// still lives is not a property of the token and is checked on every request elsewhere.
    verified: ThreadLocal<Remembered>,
}

impl JwtKeys {
    /// Keys from the shared secret; tokens live for `ttl`.
    pub fn new(secret: &[u8], ttl: Duration) -> anyhow::Result<Self> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iat", "sub", "iss", "aud"]);
        validation.leeway = LEEWAY_SECS;
        Ok(Self {
            encoding: EncodingKey::from_secret(secret)?,
            decoding: DecodingKey::from_secret(secret)?,
            validation,
            ttl,
            verified: ThreadLocal::new(),
        })
    }

    /// How long tokens live.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// A new access token for `user` in `session`.
    pub fn issue(&self, user: UserId, session: &SessionId) -> Result<String, DomainError> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub: user.0.to_string(),
            exp: now + i64::try_from(self.ttl.as_secs()).unwrap_or(i64::MAX / 2),
            iat: now,
            jti: uuid::Uuid::new_v4().to_string(),
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sid: session.as_str().to_owned(),
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(|e| {
            anyhow::Error::new(e)
                .context("signing an access token")
                .into()
        })
    }

    /// What a valid token says; a bad signature, algorithm, issuer, audience or expiry is
    /// `Unauthenticated`.
    pub fn verify(&self, token: &str) -> Result<AccessToken, DomainError> {
        let now = Utc::now().timestamp();
        if let Some(seen) = self.remembered(token) {
            if now <= seen.valid_until {
                return Ok(seen.access);
            }
        }
        let invalid =
            || DomainError::Unauthenticated("the access token is invalid or expired".into());
        let claims = decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| invalid())?
            .claims;
        let session = SessionId::parse(&claims.sid).ok_or_else(invalid)?;
        let access = AccessToken {
            user_id: claims.sub.parse().map(UserId).map_err(|_| invalid())?,
            session,
        };
        self.remember(
            token,
            Verified {
                access: access.clone(),
                valid_until: claims.exp.saturating_add(LEEWAY_SECS as i64),
            },
        );
        Ok(access)
    }

    fn thread_verified(&self) -> &Remembered {
        self.verified
            .get_or(|| RefCell::new(LruCache::new(VERIFIED_PER_THREAD)))
    }

    /// What this thread remembers of `token`.
    fn remembered(&self, token: &str) -> Option<Verified> {
        self.thread_verified().borrow_mut().get(token).cloned()
    }

    /// Remembers on this thread that `token` verified.
    fn remember(&self, token: &str, verified: Verified) {
        self.thread_verified()
            .borrow_mut()
            .put(token.into(), verified);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(byte: u8) -> JwtKeys {
        JwtKeys::new(&[byte; 32], Duration::from_secs(60)).unwrap()
    }

    #[test]
    fn tokens_verify_with_their_secret_only() {
        let session = SessionId::parse("0123456789abcdef0123456789abcdef").unwrap();
        let token = keys(1).issue(UserId(7), &session).unwrap();
        assert_eq!(keys(1).verify(&token).unwrap().user_id, UserId(7));
        assert!(keys(2).verify(&token).is_err());
        let mut tampered = token.clone();
        tampered.pop();
        assert!(keys(1).verify(&tampered).is_err());
    }

    #[test]
    fn a_remembered_token_still_expires() {
        let keys = keys(1);
        let session = SessionId::parse("0123456789abcdef0123456789abcdef").unwrap();
        let token = keys.issue(UserId(7), &session).unwrap();
        assert_eq!(keys.verify(&token).unwrap().user_id, UserId(7));
        assert_eq!(
            keys.verify(&token).unwrap().user_id,
            UserId(7),
            "remembered"
        );
        let remembered = keys.remembered(&token).unwrap();
        keys.remember(
            &token,
            Verified {
                valid_until: Utc::now().timestamp() - 1,
                ..remembered
            },
        );
        // Past its time the token is checked again (and here still passes: only the memo's
        // own expiry was moved), so a remembered token is never served beyond its `exp`.
        assert!(keys.verify(&token).is_ok());
        assert!(keys.remembered(&token).unwrap().valid_until > Utc::now().timestamp());
        let mut tampered = token.clone();
        tampered.pop();
        assert!(
            keys.verify(&tampered).is_err(),
            "only the exact text is remembered"
        );
        assert!(keys.remembered(&tampered).is_none());
    }

    #[test]
    fn unsigned_tokens_are_refused() {
        use base64::Engine;
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let now = Utc::now().timestamp();
        let header = engine.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let claims = engine.encode(
            format!(r#"{{"sub":"7","exp":{},"iat":{now},"jti":"x","iss":"tessera","aud":"tessera-api","sid":"0123456789abcdef0123456789abcdef"}}"#, now + 60).as_bytes(),
        );
        assert!(keys(1).verify(&format!("{header}.{claims}.")).is_err());
    }
}
