//! Login sessions. A session is a row in the database, cached as `session:<id>`: the database is
//! the truth and the cache only spares it a read per request (as Django's `cached_db`
//! sessions), so a Redis restart or eviction costs a read, never a login.
//!
//! A refresh token is `<session id>.<generation>.<mac>`: the MAC (HMAC-SHA256 under a key derived
//! from the server secret) proves the server issued that generation. Nothing stored is a token,
//! so a copy of the database or the cache yields nothing usable. Each use moves the session to
//! its next generation with one compare-and-set in the database, so two uses of one token never
//! both succeed, and a refresh racing a logout cannot bring the ended session back; presenting
//! an older generation means the token was copied, and ends the whole session.
//!
//! The cache is kept coherent by two rules: whoever ends a session writes a tombstone under its
//! key (for as long as an access token of it can live), and whoever fills the cache from the
//! database does so only when the key is absent. A reader that saw the row just before it was
//! deleted therefore cannot put it back.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::shared::cache::Cache;
use crate::shared::time::Clock;
use crate::shared::{DomainError, DomainResult, UserId};

/// The key namespace of cached sessions.
pub const SESSION_NAMESPACE: &str = "session";
/// What a cached session key holds once the session has ended.
const ENDED: &str = "ended";

/// The cache key of a session: `session:<id>`.
pub fn session_key(id: &SessionId) -> String {
    [SESSION_NAMESPACE, ":", &id.0].concat()
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

/// A session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Its id.
    pub id: SessionId,
    /// Whose it is.
    pub user_id: UserId,
    /// How many times it was refreshed: the generation of its one valid refresh token.
    pub generation: u64,
    /// The login.
    pub created_at: DateTime<Utc>,
    /// The last refresh (the login at first).
    pub refreshed_at: DateTime<Utc>,
    /// When it ends unless refreshed.
    pub expires_at: DateTime<Utc>,
}

/// What the sessions need from storage.
#[async_trait]
pub trait SessionRepo: Send + Sync {
    /// Stores a new session.
    async fn insert_session(&self, session: &Session) -> DomainResult<()>;
    /// The session with this id, if it exists (expired or not).
    async fn session(&self, id: &SessionId) -> DomainResult<Option<Session>>;
    /// Moves the session from `generation` to the next one and answers it, if it is still at
    /// `generation`, has not expired at `now` and was created after `oldest`; otherwise changes
    /// nothing and answers `None`. One atomic step.
    async fn advance_session(
        &self,
        id: &SessionId,
        generation: u64,
        now: DateTime<Utc>,
        oldest: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> DomainResult<Option<Session>>;
    /// Deletes a session; answers whether it existed.
    async fn delete_session(&self, id: &SessionId) -> DomainResult<bool>;
    /// Deletes every session of `user` but `keep`; answers the ids deleted.
    async fn delete_user_sessions(
        &self,
        user: UserId,
        keep: Option<&SessionId>,
    ) -> DomainResult<Vec<SessionId>>;
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

/// Starts, rotates, checks and ends sessions.
pub struct SessionService {
    sessions: Arc<dyn SessionRepo>,
    cache: Arc<dyn Cache>,
    clock: Arc<dyn Clock>,
    signer: Signer,
    ttl: Duration,
    max_age: Duration,
    /// How long a tombstone stays: as long as an access token of an ended session can live.
    tombstone_ttl: Duration,
}

const INVALID: &str = "the refresh token is invalid or expired";

impl SessionService {
    /// Sessions that end `ttl` after their last refresh and `max_age` after the login however
    /// often they are refreshed; refresh tokens are MACed with `key`; access tokens live
    /// `access_ttl` (so that is how long an ended session's tombstone must stay in the cache).
    pub fn new(
        sessions: Arc<dyn SessionRepo>,
        cache: Arc<dyn Cache>,
        clock: Arc<dyn Clock>,
        key: &[u8],
        lifetimes: SessionLifetimes,
    ) -> Self {
        Self {
            sessions,
            cache,
            clock,
            signer: Signer(key.to_vec()),
            ttl: lifetimes.idle,
            max_age: lifetimes.max_age,
            tombstone_ttl: lifetimes.access_token + Duration::from_secs(60),
        }
    }

    /// How long an unused session lives.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Starts a session for `user`.
    pub async fn start(&self, user: UserId) -> DomainResult<NewSession> {
        let now = self.clock.now();
        let session = Session {
            id: SessionId::generate(),
            user_id: user,
            generation: 0,
            created_at: now,
            refreshed_at: now,
            expires_at: now + span(self.ttl),
        };
        self.sessions.insert_session(&session).await?;
        Ok(NewSession {
            refresh_token: self.signer.token(&session.id, 0),
            id: session.id,
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
        let now = self.clock.now();
        let advanced = self
            .sessions
            .advance_session(
                &id,
                generation,
                now,
                now - span(self.max_age),
                now + span(self.ttl),
            )
            .await?;
        if let Some(session) = advanced {
            return Ok(Refresh::Rotated(NewSession {
                refresh_token: self.signer.token(&id, session.generation),
                user_id: session.user_id,
                id,
            }));
        }
        // Not advanced: find out why, for the answer.
        let Some(session) = self.sessions.session(&id).await? else {
            return Err(DomainError::Unauthenticated(INVALID.into()));
        };
        if generation < session.generation {
            self.end(&id).await?;
            return Ok(Refresh::Reused {
                id,
                user_id: session.user_id,
            });
        }
        if session.created_at <= now - span(self.max_age) {
            self.end(&id).await?;
            return Err(DomainError::Unauthenticated(
                "the session is too old: log in again".into(),
            ));
        }
        if session.expires_at <= now {
            self.end(&id).await?;
        }
        Err(DomainError::Unauthenticated(INVALID.into()))
    }

    /// Whether `session` is live and `user`'s: from the cache when it knows, else the database
    /// (and the cache learns it, unless a tombstone says it ended meanwhile). `cached` is what
    /// the caller already read under [`session_key`] (one round trip for the request's checks).
    pub async fn is_live(
        &self,
        session: &SessionId,
        user: UserId,
        cached: Option<&str>,
    ) -> DomainResult<bool> {
        match cached {
            Some(ENDED) => return Ok(false),
            Some(owner) => return Ok(owner.parse::<i64>().ok() == Some(user.0)),
            None => {}
        }
        let now = self.clock.now();
        let stored = self
            .sessions
            .session(session)
            .await?
            .filter(|s| s.expires_at > now);
        if let Some(stored) = &stored {
            let left = (stored.expires_at - now).to_std().unwrap_or_default();
            let _ = self
                .cache
                .set_if_absent(
                    &session_key(session),
                    &stored.user_id.0.to_string(),
                    left.min(self.tombstone_ttl),
                )
                .await;
        }
        Ok(stored.is_some_and(|s| s.user_id == user))
    }

    /// The session a refresh token belongs to, if it is `user`'s (a client logging out sends
    /// the token it holds; someone else's token ends nothing).
    pub async fn owned_by(&self, token: &str, user: UserId) -> DomainResult<Option<SessionId>> {
        let Some((id, _)) = self.signer.verify(token) else {
            return Ok(None);
        };
        Ok(self
            .sessions
            .session(&id)
            .await?
            .filter(|s| s.user_id == user)
            .map(|s| s.id))
    }

    /// Ends one session (absent is fine).
    pub async fn end(&self, id: &SessionId) -> DomainResult<()> {
        self.sessions.delete_session(id).await?;
        self.bury(std::slice::from_ref(id)).await;
        Ok(())
    }

    /// Ends every session of `user`, except `keep` when given; answers how many ended.
    pub async fn end_all(&self, user: UserId, keep: Option<&SessionId>) -> DomainResult<u64> {
        let ended = self.sessions.delete_user_sessions(user, keep).await?;
        self.bury(&ended).await;
        Ok(ended.len() as u64)
    }

    /// Writes tombstones for ended sessions. When the cache cannot take them, its entries of
    /// these sessions may outlive them until it is back: the cache drops every session entry
    /// when it recovers (`SESSION_NAMESPACE` is among the namespaces it forgets then).
    async fn bury(&self, ended: &[SessionId]) {
        if ended.is_empty() {
            return;
        }
        let entries: Vec<(String, String, Duration)> = ended
            .iter()
            .map(|id| (session_key(id), ENDED.to_owned(), self.tombstone_ttl))
            .collect();
        if let Err(e) = self.cache.set_many(&entries).await {
            tracing::warn!(error = %e, "could not mark ended sessions in the cache; the cache forgets sessions when it recovers");
        }
    }
}

/// How long sessions and their access tokens live.
#[derive(Debug, Clone, Copy)]
pub struct SessionLifetimes {
    /// An unused session ends this long after its last refresh (`JWT_REFRESH_TTL`).
    pub idle: Duration,
    /// A session ends this long after its login however often refreshed (`SESSION_MAX_AGE`).
    pub max_age: Duration,
    /// An access token lives this long (`JWT_ACCESS_TTL`).
    pub access_token: Duration,
}

fn span(d: Duration) -> chrono::TimeDelta {
    chrono::TimeDelta::from_std(d).unwrap_or(chrono::TimeDelta::MAX)
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
