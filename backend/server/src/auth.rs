//! Bearer access tokens: HS256 JWTs with `sub`, `exp`, `iat`, `jti`, issuer and audience, the
//! algorithm pinned. `AuthUser` turns a request's bearer token (an access token or an API token)
//! into the domain's `Actor`, and holds API tokens to their scopes.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use actix_web::http::{header, Method, StatusCode};
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use chrono::{DateTime, Utc};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use tessera_domain::api_tokens::{ApiScope, ApiToken, TOKEN_PREFIX};
use tessera_domain::sessions::SessionId;
use tessera_domain::user::{Actor, User, UserId};
use tessera_domain::DomainError;

use crate::problem::ApiError;
use crate::state::AppState;

const ISSUER: &str = "tessera";
const AUDIENCE: &str = "tessera-api";

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
    /// The login session the token belongs to; absent when the session store was down at login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

/// What a valid access token says.
#[derive(Debug, Clone)]
pub struct AccessToken {
    /// Whose token it is.
    pub user_id: UserId,
    /// Its login session, if it has one.
    pub session: Option<SessionId>,
    /// Its unique id (what logout refuses).
    pub jti: String,
    /// When it expires.
    pub expires_at: DateTime<Utc>,
}

/// Issues and checks access tokens.
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
}

impl JwtKeys {
    /// Keys from the shared secret; tokens live for `ttl`.
    pub fn new(secret: &[u8], ttl: Duration) -> anyhow::Result<Self> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iat", "sub", "iss", "aud"]);
        validation.leeway = 5;
        Ok(Self {
            encoding: EncodingKey::from_secret(secret)?,
            decoding: DecodingKey::from_secret(secret)?,
            validation,
            ttl,
        })
    }

    /// How long tokens live.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// A new access token for `user` in `session`.
    pub fn issue(&self, user: UserId, session: Option<&SessionId>) -> Result<String, ApiError> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub: user.0.to_string(),
            exp: now + self.ttl.as_secs() as i64,
            iat: now,
            jti: uuid::Uuid::new_v4().to_string(),
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sid: session.map(|s| s.as_str().to_owned()),
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(|e| {
            ApiError::Domain(
                anyhow::Error::new(e)
                    .context("signing an access token")
                    .into(),
            )
        })
    }

    /// What a valid token says; a bad signature, algorithm, issuer, audience or expiry is 401.
    pub fn verify(&self, token: &str) -> Result<AccessToken, ApiError> {
        let invalid = || ApiError::unauthenticated("the access token is invalid or expired");
        let claims = decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| invalid())?
            .claims;
        let session = match claims.sid.as_deref() {
            Some(raw) => Some(SessionId::parse(raw).ok_or_else(invalid)?),
            None => None,
        };
        Ok(AccessToken {
            user_id: claims.sub.parse().map(UserId).map_err(|_| invalid())?,
            session,
            jti: claims.jti,
            expires_at: DateTime::from_timestamp(claims.exp, 0).ok_or_else(invalid)?,
        })
    }
}

/// The bearer token of a request, if it has one.
fn bearer(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// How the caller proved who it is.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A login access token.
    Access(AccessToken),
    /// An API token, limited to its scopes.
    ApiToken(ApiToken),
}

impl Credential {
    /// The login session behind the credential, if any.
    pub fn session(&self) -> Option<&SessionId> {
        match self {
            Credential::Access(token) => token.session.as_ref(),
            Credential::ApiToken(_) => None,
        }
    }
}

/// What an API token needs to call an endpoint: a scope, or nothing it can have (`None`:
/// managing tokens, accounts and one's own login needs a person logged in, so a leaked token
/// cannot mint tokens or create an administrator to log in as).
fn required_scope(method: &Method, path: &str) -> Option<ApiScope> {
    let reads = matches!(*method, Method::GET | Method::HEAD);
    let accounts = path == "/api/users" || path.starts_with("/api/users/");
    if path.starts_with("/api/admin/cache/") {
        Some(ApiScope::CacheAdmin)
    } else if path.starts_with("/api/tokens")
        || (accounts && !reads)
        || (path.starts_with("/api/auth/") && !(reads && path == "/api/auth/me"))
    {
        None
    } else if reads {
        Some(ApiScope::Read)
    } else {
        Some(ApiScope::Write)
    }
}

/// An authenticated caller. Extracting it answers 401 when the token is missing, invalid,
/// expired or logged out, its session has ended, or its user no longer exists or is inactive;
/// 403 when an API token lacks the scope the endpoint needs.
#[derive(Debug, Clone)]
pub struct AuthUser(pub User, pub Credential);

impl AuthUser {
    /// The caller as the domain sees it.
    pub fn actor(&self) -> Actor {
        Actor::of(&self.0)
    }
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer(req).map(str::to_owned);
        let required = required_scope(req.method(), req.path());
        // The rate-limit middleware verified this very token already, when it ran.
        let verified = req.extensions().get::<AccessToken>().cloned();
        Box::pin(async move {
            let state = state.ok_or_else(|| {
                ApiError::Domain(anyhow::anyhow!("application state missing").into())
            })?;
            let token =
                token.ok_or_else(|| ApiError::unauthenticated("Authentication required"))?;
            if token.starts_with(TOKEN_PREFIX) {
                return api_token_user(&state, &token, required).await;
            }
            let access = match verified {
                Some(access) => access,
                None => state.jwt.verify(&token)?,
            };
            let user = state
                .accounts
                .user_for_access(access.user_id, access.session.as_ref(), &access.jti)
                .await
                .map_err(|e| match e {
                    // The user is gone or inactive; a database outage stays a 503.
                    DomainError::NotFound(_) => {
                        ApiError::unauthenticated("the access token is invalid or expired")
                    }
                    e => ApiError::Domain(e),
                })?;
            Ok(AuthUser(user, Credential::Access(access)))
        })
    }
}

/// The caller behind an API token, if the token is live and carries `required`.
async fn api_token_user(
    state: &AppState,
    secret: &str,
    required: Option<ApiScope>,
) -> Result<AuthUser, ApiError> {
    let token = state.tokens.authenticate(secret).await?;
    let user = state
        .accounts
        .user(token.user_id)
        .await
        .map_err(|e| match e {
            DomainError::NotFound(_) => {
                ApiError::unauthenticated("the API token is invalid or expired")
            }
            e => ApiError::Domain(e),
        })?;
    match required {
        Some(scope) if token.allows(scope) => Ok(AuthUser(user, Credential::ApiToken(token))),
        Some(scope) => Err(ApiError::problem(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            format!("this API token does not carry the {scope} scope"),
        )),
        None => Err(ApiError::problem(
            StatusCode::FORBIDDEN,
            "session_required",
            "this endpoint needs a logged-in user; API tokens cannot call it",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_with_their_secret_only() {
        let keys = JwtKeys::new(&[1; 32], Duration::from_secs(60)).unwrap();
        let token = keys.issue(UserId(7), None).unwrap();
        assert_eq!(keys.verify(&token).unwrap().user_id, UserId(7));
        let other = JwtKeys::new(&[2; 32], Duration::from_secs(60)).unwrap();
        assert!(other.verify(&token).is_err());
        let mut tampered = token.clone();
        tampered.pop();
        assert!(keys.verify(&tampered).is_err());
    }

    #[test]
    fn api_token_scopes_follow_the_path_and_method() {
        let scope = |m: Method, p: &str| required_scope(&m, p);
        assert_eq!(
            scope(Method::GET, "/api/admin/cache/stats"),
            Some(ApiScope::CacheAdmin)
        );
        assert_eq!(
            scope(Method::POST, "/api/admin/cache/clear"),
            Some(ApiScope::CacheAdmin)
        );
        assert_eq!(scope(Method::GET, "/api/files/3"), Some(ApiScope::Read));
        assert_eq!(scope(Method::DELETE, "/api/files/3"), Some(ApiScope::Write));
        assert_eq!(scope(Method::GET, "/api/auth/me"), Some(ApiScope::Read));
        assert_eq!(scope(Method::PATCH, "/api/auth/me"), None);
        assert_eq!(scope(Method::POST, "/api/auth/logout"), None);
        assert_eq!(scope(Method::GET, "/api/tokens"), None);
        assert_eq!(scope(Method::GET, "/api/users"), Some(ApiScope::Read));
        assert_eq!(scope(Method::POST, "/api/users"), None);
        assert_eq!(scope(Method::PATCH, "/api/users/3"), None);
        assert_eq!(scope(Method::POST, "/api/members"), Some(ApiScope::Write));
    }

    #[test]
    fn unsigned_tokens_are_refused() {
        use base64::Engine;
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let now = Utc::now().timestamp();
        let header = engine.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let claims = engine.encode(
            format!(r#"{{"sub":"7","exp":{},"iat":{now},"jti":"x","iss":"tessera","aud":"tessera-api"}}"#, now + 60).as_bytes(),
        );
        let keys = JwtKeys::new(&[1; 32], Duration::from_secs(60)).unwrap();
        assert!(keys.verify(&format!("{header}.{claims}.")).is_err());
    }
}
