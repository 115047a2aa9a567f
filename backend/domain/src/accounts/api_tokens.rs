//! API tokens for scripts and third-party clients: created by an administrator with a name, an
//! expiry and scopes, shown once, stored as a SHA-256 hash, and accepted as a bearer token
//! wherever an access token is, limited to their scopes.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::access::Actor;
use crate::accounts::repo::TokenRepo;
use crate::audit::{AuditAction, AuditLog, NewAuditEvent};
use crate::shared::cached::{CacheLayer, Cacheable, Invalidation, Namespace, TtlClass};
use crate::shared::time::Clock;
use crate::shared::{ApiTokenId, DomainError, DomainResult, FieldError, UserId};

/// Every API token starts with this, so secret scanners and our own extractor can tell one.
pub const TOKEN_PREFIX: &str = "tsk_";
/// The expiry when none is asked for.
pub const DEFAULT_EXPIRES_IN_DAYS: u32 = 90;
/// The longest expiry allowed.
pub const MAX_EXPIRES_IN_DAYS: u32 = 365;
/// How long a token's lookup stays cached at most, and how long a revoked token's tombstone
/// does.
const LOOKUP_TTL: Duration = Duration::from_secs(300);
/// How long "no such token" stays cached, so a flood of invented tokens costs no database
/// reads after the first of each (a real token is never refused by it: its hash is new).
const UNKNOWN_TTL: Duration = Duration::from_secs(60);

/// Token lookups by hash, `api_token:<sha-256 hex>`: the token, or that there is none.
/// Revocation leaves a tombstone and lookups fill only where nothing is, so a lookup racing a
/// revocation cannot bring the token back.
pub static TOKEN_LOOKUPS: Namespace = Namespace {
    name: "api_token",
    ttl: TtlClass::UserData,
    invalidation: Invalidation::Tombstone(LOOKUP_TTL),
};

/// What a lookup found: the token, or nothing.
#[derive(Clone, Serialize, Deserialize)]
struct Lookup(Option<ApiToken>);

impl Cacheable for Lookup {
    fn ttl(&self, class: Duration, now: DateTime<Utc>) -> Option<Duration> {
        match &self.0 {
            None => Some(UNKNOWN_TTL),
            Some(token) => (token.expires_at - now)
                .to_std()
                .ok()
                .map(|left| left.min(LOOKUP_TTL).min(class)),
        }
    }
}

/// What an API token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ApiScope {
    /// The admin cache endpoints (`/api/admin/cache/*`).
    #[serde(rename = "cache:admin")]
    CacheAdmin,
    /// Reads (`GET`) of everything else the owner may read.
    #[serde(rename = "read")]
    Read,
    /// Writes (`POST`, `PATCH`, `PUT`, `DELETE`) of everything else the owner may write.
    #[serde(rename = "write")]
    Write,
}

impl ApiScope {
    /// Every scope.
    pub const ALL: [ApiScope; 3] = [ApiScope::CacheAdmin, ApiScope::Read, ApiScope::Write];

    /// The scope's name.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiScope::CacheAdmin => "cache:admin",
            ApiScope::Read => "read",
            ApiScope::Write => "write",
        }
    }
}

impl fmt::Display for ApiScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ApiScope {
    type Err = DomainError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == raw)
            .ok_or_else(|| {
                DomainError::invalid(
                    "scopes",
                    format!("unknown scope {raw:?}: use cache:admin, read or write"),
                )
            })
    }
}

/// An API token as stored (without its secret).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiToken {
    /// Its id.
    pub id: ApiTokenId,
    /// The user it acts as (the administrator who created it).
    pub user_id: UserId,
    /// What it is for.
    pub name: String,
    /// What it may do.
    pub scopes: Vec<ApiScope>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

impl ApiToken {
    /// Whether it carries `scope`.
    pub fn allows(&self, scope: ApiScope) -> bool {
        self.scopes.contains(&scope)
    }
}

/// A token to store.
#[derive(Debug, Clone)]
pub struct NewApiToken {
    /// The user it acts as.
    pub user_id: UserId,
    /// What it is for.
    pub name: String,
    /// What it may do.
    pub scopes: Vec<ApiScope>,
    /// SHA-256 of the token, hex.
    pub token_hash: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// A request for a token, still unparsed.
#[derive(Debug, Clone)]
pub struct CreateApiToken {
    /// What it is for (1 to 100 characters).
    pub name: String,
    /// Scope names.
    pub scopes: Vec<String>,
    /// Days until it expires (1 to 365; 90 when absent).
    pub expires_in_days: Option<i64>,
}

/// A token's secret, shown once. No `Debug`: it is a credential.
pub struct TokenSecret(String);

impl TokenSecret {
    /// The secret, to hand to its owner once.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// SHA-256 of a token, hex. Tokens carry 256 random bits, so a fast hash is enough.
fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Creates, lists, revokes and checks API tokens.
pub struct ApiTokenService {
    tokens: Arc<dyn TokenRepo>,
    cache: CacheLayer,
    clock: Arc<dyn Clock>,
    audit: Arc<AuditLog>,
}

impl ApiTokenService {
    /// The service over the stored tokens, caching lookups in `cache`, recording to `audit`.
    pub fn new(
        tokens: Arc<dyn TokenRepo>,
        cache: CacheLayer,
        clock: Arc<dyn Clock>,
        audit: Arc<AuditLog>,
    ) -> Self {
        cache.register(&TOKEN_LOOKUPS);
        Self {
            tokens,
            cache,
            clock,
            audit,
        }
    }

    /// Creates a token acting as the caller (administrators only), and records it in the audit
    /// log: the API and the command line both come here.
    pub async fn create(
        &self,
        actor: &Actor,
        input: CreateApiToken,
    ) -> DomainResult<(ApiToken, TokenSecret)> {
        actor.require_admin()?;
        let (token, secret) = self.issue(actor.user_id, input).await?;
        self.audit
            .record(
                NewAuditEvent::new(AuditAction::TokenCreated, Some(actor.user_id))
                    .subject(format!("token:{}", token.id))
                    .from_ip(actor.ip)
                    .detail(serde_json::json!({
                        "name": token.name,
                        "scopes": token.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
                        "expires_at": token.expires_at,
                    })),
            )
            .await;
        Ok((token, secret))
    }

    async fn issue(
        &self,
        user: UserId,
        input: CreateApiToken,
    ) -> DomainResult<(ApiToken, TokenSecret)> {
        let mut errors = Vec::new();
        let name = crate::shared::collect_field(
            crate::shared::validation::name("name", &input.name, 100),
            &mut errors,
        )
        .unwrap_or_default();
        let mut scopes: Vec<ApiScope> = Vec::new();
        for raw in &input.scopes {
            match raw.parse::<ApiScope>() {
                Ok(scope) if !scopes.contains(&scope) => scopes.push(scope),
                Ok(_) => {}
                Err(DomainError::Validation(mut more)) => errors.append(&mut more),
                Err(e) => return Err(e),
            }
        }
        if input.scopes.is_empty() {
            errors.push(FieldError::new(
                "scopes",
                "give at least one of cache:admin, read, write",
            ));
        }
        let days = input
            .expires_in_days
            .unwrap_or(i64::from(DEFAULT_EXPIRES_IN_DAYS));
        if !(1..=i64::from(MAX_EXPIRES_IN_DAYS)).contains(&days) {
            errors.push(FieldError::new(
                "expires_in_days",
                format!("must be 1 to {MAX_EXPIRES_IN_DAYS}"),
            ));
        }
        if !errors.is_empty() {
            return Err(DomainError::Validation(errors));
        }
        let mut random = [0u8; 32];
        rand::fill(&mut random);
        let secret = TokenSecret(format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(random)));
        // One reading of the clock, so the token lives exactly the days asked for.
        let now = self.clock.now();
        let token = self
            .tokens
            .insert_api_token(NewApiToken {
                user_id: user,
                name,
                scopes,
                token_hash: hash(secret.expose()),
                created_at: now,
                expires_at: now + chrono::Duration::days(days),
            })
            .await?;
        Ok((token, secret))
    }

    /// Every token, newest first (administrators only).
    pub async fn list(&self, actor: &Actor) -> DomainResult<Vec<ApiToken>> {
        actor.require_admin()?;
        self.tokens.list_api_tokens().await
    }

    /// Revokes a token (administrators only): it stops working at once. Recorded in the audit
    /// log.
    pub async fn revoke(&self, actor: &Actor, id: ApiTokenId) -> DomainResult<ApiToken> {
        actor.require_admin()?;
        let (token, token_hash) = self
            .tokens
            .delete_api_token(id)
            .await?
            .ok_or(DomainError::NotFound("API token"))?;
        self.cache.forget(&TOKEN_LOOKUPS, &[token_hash]).await;
        self.audit
            .record(
                NewAuditEvent::new(AuditAction::TokenRevoked, Some(actor.user_id))
                    .subject(format!("token:{}", token.id))
                    .from_ip(actor.ip)
                    .detail(serde_json::json!({"name": token.name})),
            )
            .await;
        Ok(token)
    }

    /// The live token behind `secret`; anything else is `Unauthenticated`.
    pub async fn authenticate(&self, secret: &str) -> DomainResult<ApiToken> {
        let invalid = || DomainError::Unauthenticated("the API token is invalid or expired".into());
        if !secret.starts_with(TOKEN_PREFIX) {
            return Err(invalid());
        }
        let token_hash = hash(secret);
        let token = self
            .cache
            .get_or_load(&TOKEN_LOOKUPS, &token_hash, || async {
                Ok(Lookup(self.tokens.api_token_by_hash(&token_hash).await?))
            })
            .await?
            .0
            .ok_or_else(invalid)?;
        if token.expires_at <= self.clock.now() {
            return Err(invalid());
        }
        Ok(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Mutex;

    use async_trait::async_trait;
    use tokio::sync::Notify;

    use crate::access::UnitScope;
    use crate::shared::cache::Cache;
    use crate::shared::cached::TtlClasses;
    use crate::shared::fakes::{MapCache, Recorded};
    use crate::shared::time::SystemClock;

    /// Tokens in a list; counts lookups by hash, and can hold a lookup between its read and its
    /// answer, to let a revocation happen in between.
    #[derive(Default)]
    struct Tokens {
        rows: Mutex<Vec<(ApiToken, String)>>,
        lookups: AtomicUsize,
        hold: AtomicBool,
        read: Notify,
        release: Notify,
    }

    #[async_trait]
    impl TokenRepo for Tokens {
        async fn insert_api_token(&self, new: NewApiToken) -> DomainResult<ApiToken> {
            let mut rows = self.rows.lock().unwrap();
            let token = ApiToken {
                id: ApiTokenId(rows.len() as i64 + 1),
                user_id: new.user_id,
                name: new.name,
                scopes: new.scopes,
                created_at: new.created_at,
                expires_at: new.expires_at,
            };
            rows.push((token.clone(), new.token_hash));
            Ok(token)
        }
        async fn api_token_by_hash(&self, token_hash: &str) -> DomainResult<Option<ApiToken>> {
            self.lookups.fetch_add(1, Ordering::SeqCst);
            let found = self
                .rows
                .lock()
                .unwrap()
                .iter()
                .find(|(_, h)| h == token_hash)
                .map(|(t, _)| t.clone());
            if self.hold.swap(false, Ordering::SeqCst) {
                self.read.notify_one();
                self.release.notified().await;
            }
            Ok(found)
        }
        async fn list_api_tokens(&self) -> DomainResult<Vec<ApiToken>> {
            Ok(self
                .rows
                .lock()
                .unwrap()
                .iter()
                .map(|(t, _)| t.clone())
                .collect())
        }
        async fn delete_api_token(
            &self,
            id: ApiTokenId,
        ) -> DomainResult<Option<(ApiToken, String)>> {
            let mut rows = self.rows.lock().unwrap();
            let at = rows.iter().position(|(t, _)| t.id == id);
            Ok(at.map(|i| rows.remove(i)))
        }
    }

    fn service(tokens: &Arc<Tokens>, cache: &Arc<MapCache>) -> ApiTokenService {
        ApiTokenService::new(
            Arc::clone(tokens) as Arc<dyn TokenRepo>,
            CacheLayer::new(
                Arc::clone(cache) as Arc<dyn Cache>,
                Arc::new(SystemClock),
                TtlClasses::default(),
            ),
            Arc::new(SystemClock),
            Arc::new(AuditLog::new(Arc::new(Recorded::default()))),
        )
    }

    fn admin() -> Actor {
        Actor {
            user_id: UserId(1),
            is_admin: true,
            is_treasurer: false,
            org_unit_id: None,
            units: UnitScope::All,
            ip: None,
        }
    }

    async fn issue(service: &ApiTokenService) -> (ApiToken, TokenSecret) {
        service
            .create(
                &admin(),
                CreateApiToken {
                    name: "cron".into(),
                    scopes: vec!["read".into()],
                    expires_in_days: None,
                },
            )
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn an_invented_token_costs_one_database_read_and_a_real_one_is_not_shadowed() {
        let tokens = Arc::new(Tokens::default());
        let cache = Arc::new(MapCache::default());
        let service = service(&tokens, &cache);
        let invented = format!("{TOKEN_PREFIX}{}", "A".repeat(43));
        for _ in 0..5 {
            let refused = service.authenticate(&invented).await;
            assert!(matches!(refused, Err(DomainError::Unauthenticated(_))));
        }
        assert_eq!(tokens.lookups.load(Ordering::SeqCst), 1);
        // Not even one read for what cannot be a token.
        assert!(service.authenticate("Bearer-ish").await.is_err());
        assert_eq!(tokens.lookups.load(Ordering::SeqCst), 1);

        let (token, secret) = issue(&service).await;
        for _ in 0..3 {
            assert_eq!(
                service.authenticate(secret.expose()).await.unwrap().id,
                token.id
            );
        }
        assert_eq!(
            tokens.lookups.load(Ordering::SeqCst),
            2,
            "then served from the cache"
        );
    }

    #[tokio::test]
    async fn a_lookup_racing_a_revocation_cannot_bring_the_token_back() {
        let tokens = Arc::new(Tokens::default());
        let cache = Arc::new(MapCache::default());
        let service = Arc::new(service(&tokens, &cache));
        let (token, secret) = issue(&service).await;
        let secret = secret.expose().to_owned();

        // A request reads the token from the database...
        tokens.hold.store(true, Ordering::SeqCst);
        let in_flight = tokio::spawn({
            let service = Arc::clone(&service);
            let secret = secret.clone();
            async move { service.authenticate(&secret).await.map(|t| t.id) }
        });
        tokens.read.notified().await;
        // ...the token is revoked before that request fills the cache...
        service.revoke(&admin(), token.id).await.unwrap();
        tokens.release.notify_one();
        // ...which answers that request as it started, and no later one.
        assert_eq!(in_flight.await.unwrap().unwrap(), token.id);
        let refused = service.authenticate(&secret).await;
        assert!(matches!(refused, Err(DomainError::Unauthenticated(_))));
    }

    #[test]
    fn scopes_parse_by_name_only() {
        for scope in ApiScope::ALL {
            assert_eq!(scope.as_str().parse::<ApiScope>().unwrap(), scope);
        }
        assert!("admin".parse::<ApiScope>().is_err());
        assert!("READ".parse::<ApiScope>().is_err());
    }
}
