//! Login sessions: refresh tokens kept in the cache as `session:<id>`, rotated on every use, with
//! an index per user (`user_sessions:<user id>`) so "log out everywhere" is one call.
//!
//! A refresh token is `<session id>.<generation>.<mac>`: the MAC (HMAC-SHA256 under a key derived
//! from the server secret) proves the server issued that generation. The cache holds only the
//! session's current generation, never a token, so a copy of the cache yields nothing usable.
//! Each use moves the session to the next generation; presenting an older one means the token
//! was copied, and ends the whole session (the token family).

use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::shared::cache::{Cache, CacheError};
use crate::shared::time::Clock;
use crate::shared::{DomainError, DomainResult, UserId};

/// The key namespace of sessions.
pub const SESSION_NAMESPACE: &str = "session";

/// The cache key of a session: `session:<id>`.
pub fn session_key(id: &SessionId) -> String {
    format!("{SESSION_NAMESPACE}:{}", id.0)
}

/// The cache key of a user's session index: `user_sessions:<user id>`.
pub fn user_sessions_key(user: UserId) -> String {
    format!("user_sessions:{}", user.0)
}

/// The cache key that refuses a logged-out access token until it expires: `revoked_jti:<jti>`.
pub fn revoked_jti_key(jti: &str) -> String {
    format!("revoked_jti:{jti}")
}

/// A session's id: 32 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionId(String);

impl SessionId {
    /// A new random id.
    fn generate() -> Self {
        Self(uuid::Uuid::new_v4().simple().to_string())
    }

    /// The id as a token claim carries it; `None` unless it is 32 lowercase hex digits.
    pub fn parse(raw: &str) -> Option<Self> {
        (raw.len() == 32 && raw.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .then(|| Self(raw.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A refresh token. It is a credential: no `Debug`, never logged.
pub struct RefreshToken(String);

impl RefreshToken {
    /// The token, to hand to its owner once.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// What the cache holds of a session.
#[derive(Serialize, Deserialize)]
struct SessionRecord {
    user_id: i64,
    generation: u64,
    created_at: DateTime<Utc>,
    refreshed_at: DateTime<Utc>,
}

/// A new session and its first refresh token.
pub struct NewSession {
    /// The session, for the access token's `sid` claim.
    pub id: SessionId,
    /// Whose it is.
    pub user_id: UserId,
    /// The refresh token of its current generation.
    pub refresh_token: RefreshToken,
}

/// What presenting a refresh token led to.
pub enum Refresh {
    /// The token was the current one: the session moved on to a new token.
    Rotated(NewSession),
    /// The token was an older one, used again: the session is now ended.
    Reused {
        /// The session that was ended.
        id: SessionId,
        /// Whose it was.
        user_id: UserId,
    },
}

/// Starts, rotates and ends sessions.
pub struct SessionService {
    cache: Arc<dyn Cache>,
    clock: Arc<dyn Clock>,
    signer: Signer,
    ttl: Duration,
    max_age: Duration,
}

const INVALID: &str = "the refresh token is invalid or expired";

impl SessionService {
    /// Sessions in `cache` that end `ttl` after their last refresh, and `max_age` after the
    /// login however often they are refreshed; tokens are MACed with `key`.
    pub fn new(
        cache: Arc<dyn Cache>,
        clock: Arc<dyn Clock>,
        key: &[u8],
        ttl: Duration,
        max_age: Duration,
    ) -> Self {
        Self {
            cache,
            clock,
            signer: Signer(key.to_vec()),
            ttl,
            max_age,
        }
    }

    /// How long an unused session lives.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Starts a session for `user`. `Unavailable` when the cache cannot store it: the caller
    /// then goes on without a refresh token rather than refusing the login.
    pub async fn start(&self, user: UserId) -> DomainResult<NewSession> {
        let id = SessionId::generate();
        let now = self.clock.now();
        let record = SessionRecord {
            user_id: user.0,
            generation: 0,
            created_at: now,
            refreshed_at: now,
        };
        self.store(&id, &record).await?;
        Ok(NewSession {
            refresh_token: self.signer.token(&id, 0),
            id,
            user_id: user,
        })
    }

    /// Presents a refresh token: the current one rotates, an older one ends the session, and
    /// anything else is `Unauthenticated`.
    pub async fn refresh(&self, token: &str) -> DomainResult<Refresh> {
        let (id, generation) = self
            .signer
            .verify(token)
            .ok_or_else(|| DomainError::Unauthenticated(INVALID.into()))?;
        let mut record = self
            .record(&id)
            .await?
            .ok_or_else(|| DomainError::Unauthenticated(INVALID.into()))?;
        let user_id = UserId(record.user_id);
        if generation < record.generation {
            self.end(&id).await?;
            return Ok(Refresh::Reused { id, user_id });
        }
        if generation > record.generation {
            return Err(DomainError::Unauthenticated(INVALID.into()));
        }
        let age = (self.clock.now() - record.created_at)
            .to_std()
            .unwrap_or_default();
        if age > self.max_age {
            self.end(&id).await?;
            return Err(DomainError::Unauthenticated(
                "the session is too old: log in again".into(),
            ));
        }
        // Two refreshes racing with the same token both write the next generation and both
        // answer its token: the MAC is deterministic, so the family never forks.
        record.generation += 1;
        record.refreshed_at = self.clock.now();
        self.store(&id, &record).await?;
        Ok(Refresh::Rotated(NewSession {
            refresh_token: self.signer.token(&id, record.generation),
            id,
            user_id,
        }))
    }

    /// Ends one session (absent is fine).
    pub async fn end(&self, id: &SessionId) -> DomainResult<()> {
        if let Some(record) = self.record(id).await? {
            self.cache
                .remove_member(&user_sessions_key(UserId(record.user_id)), id.as_str())
                .await
                .map_err(unavailable)?;
        }
        self.cache
            .delete(&[session_key(id)])
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// Ends every session of `user`, except `keep` when given; answers how many ended.
    pub async fn end_all(&self, user: UserId, keep: Option<&SessionId>) -> DomainResult<u64> {
        end_all_sessions(self.cache.as_ref(), user, keep).await
    }

    /// Refuses the access token `jti` until `expires_at` (logout of a token that is still valid).
    pub async fn refuse_access_token(
        &self,
        jti: &str,
        expires_at: DateTime<Utc>,
    ) -> DomainResult<()> {
        let left = (expires_at - self.clock.now()).to_std().unwrap_or_default();
        if left.is_zero() {
            return Ok(());
        }
        self.cache
            .set(&revoked_jti_key(jti), "1", left)
            .await
            .map_err(unavailable)
    }

    async fn record(&self, id: &SessionId) -> DomainResult<Option<SessionRecord>> {
        let raw = self
            .cache
            .get(&session_key(id))
            .await
            .map_err(unavailable)?;
        Ok(raw.and_then(|raw| serde_json::from_str(&raw).ok()))
    }

    async fn store(&self, id: &SessionId, record: &SessionRecord) -> DomainResult<()> {
        let raw = serde_json::to_string(record)
            .map_err(|e| DomainError::Unexpected(anyhow::Error::new(e)))?;
        self.cache
            .set(&session_key(id), &raw, self.ttl)
            .await
            .map_err(unavailable)?;
        // The index lives as long as the newest session in it.
        self.cache
            .add_member(
                &user_sessions_key(UserId(record.user_id)),
                id.as_str(),
                self.ttl,
            )
            .await
            .map_err(unavailable)
    }
}

/// MACs refresh tokens with a key only the server knows.
struct Signer(Vec<u8>);

impl Signer {
    fn mac(&self, id: &SessionId, generation: u64) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(format!("refresh:{}:{generation}", id.as_str()).as_bytes());
        mac
    }

    fn token(&self, id: &SessionId, generation: u64) -> RefreshToken {
        let tag = URL_SAFE_NO_PAD.encode(self.mac(id, generation).finalize().into_bytes());
        RefreshToken(format!("{}.{generation}.{tag}", id.as_str()))
    }

    /// The session and generation of a token this server issued.
    fn verify(&self, token: &str) -> Option<(SessionId, u64)> {
        let mut parts = token.trim().splitn(3, '.');
        let id = SessionId::parse(parts.next()?)?;
        let generation: u64 = parts.next()?.parse().ok()?;
        let tag = URL_SAFE_NO_PAD.decode(parts.next()?).ok()?;
        self.mac(&id, generation)
            .verify_slice(&tag)
            .ok()
            .map(|()| (id, generation))
    }
}

/// Ends every session of `user` except `keep`, through its index; answers how many ended.
pub async fn end_all_sessions(
    cache: &dyn Cache,
    user: UserId,
    keep: Option<&SessionId>,
) -> DomainResult<u64> {
    let index = user_sessions_key(user);
    let ended: Vec<String> = cache
        .members(&index)
        .await
        .map_err(unavailable)?
        .into_iter()
        .filter(|id| keep.is_none_or(|keep| keep.as_str() != id))
        .collect();
    let keys: Vec<String> = ended
        .iter()
        .map(|id| format!("{SESSION_NAMESPACE}:{id}"))
        .collect();
    if !keys.is_empty() {
        cache.delete(&keys).await.map_err(unavailable)?;
    }
    for id in &ended {
        cache.remove_member(&index, id).await.map_err(unavailable)?;
    }
    Ok(ended.len() as u64)
}

fn unavailable(e: CacheError) -> DomainError {
    tracing::warn!(error = %e, "the session store did not answer");
    DomainError::Unavailable("the session store".into())
}

/// Whose session a cached session record is, if it is one.
pub fn session_owner(raw: &str) -> Option<UserId> {
    serde_json::from_str::<SessionRecord>(raw)
        .ok()
        .map(|r| UserId(r.user_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_only_as_issued() {
        let signer = Signer(vec![7; 32]);
        let id = SessionId::generate();
        let token = signer.token(&id, 3);
        assert_eq!(signer.verify(token.expose()), Some((id.clone(), 3)));
        let forged_generation = token.expose().replacen(".3.", ".4.", 1);
        assert_eq!(signer.verify(&forged_generation), None);
        let mut tampered = token.expose().to_owned();
        tampered.pop();
        assert_eq!(signer.verify(&tampered), None);
        assert_eq!(Signer(vec![8; 32]).verify(token.expose()), None);
        assert_eq!(signer.verify("not a token"), None);
        assert_eq!(signer.verify(""), None);
    }
}
