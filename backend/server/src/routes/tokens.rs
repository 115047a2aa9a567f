//! `/api/tokens`: API tokens for scripts and third-party clients (administrators, logged in).

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tessera_domain::accounts::api_tokens::{ApiScope, ApiToken, CreateApiToken};
use tessera_domain::shared::ApiTokenId;
use utoipa::ToSchema;
use utoipa_actix_web::scope::Scope;

use crate::http::caller::{policy, Caller};
use crate::http::endpoint::endpoints;
use crate::http::extract::Json;
use crate::http::problem::ApiError;
use crate::routes::Routes;

/// The routes of `/api/tokens`.
pub fn scope() -> Scope<impl Routes> {
    utoipa_actix_web::scope("/api/tokens")
        .service(endpoints![create_token, list_tokens])
        .service(endpoints![revoke_token])
}

/// What an API token may do.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
pub enum ScopeDto {
    /// The admin cache endpoints, `/api/admin/cache/*`.
    #[serde(rename = "cache:admin")]
    CacheAdmin,
    /// Reads (GET) elsewhere.
    #[serde(rename = "read")]
    Read,
    /// Writes elsewhere, except accounts and tokens.
    #[serde(rename = "write")]
    Write,
}

impl From<ScopeDto> for ApiScope {
    fn from(scope: ScopeDto) -> Self {
        match scope {
            ScopeDto::CacheAdmin => ApiScope::CacheAdmin,
            ScopeDto::Read => ApiScope::Read,
            ScopeDto::Write => ApiScope::Write,
        }
    }
}

impl From<ApiScope> for ScopeDto {
    fn from(scope: ApiScope) -> Self {
        match scope {
            ApiScope::CacheAdmin => ScopeDto::CacheAdmin,
            ApiScope::Read => ScopeDto::Read,
            ApiScope::Write => ScopeDto::Write,
        }
    }
}

/// An API token as listed: never its secret.
#[derive(Serialize, ToSchema)]
pub struct ApiTokenDto {
    /// Id.
    pub id: i64,
    /// What it is for.
    pub name: String,
    /// What it may do.
    pub scopes: Vec<ScopeDto>,
    /// The user it acts as (the administrator who created it).
    pub user_id: i64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

impl From<&ApiToken> for ApiTokenDto {
    fn from(token: &ApiToken) -> Self {
        Self {
            id: token.id.0,
            name: token.name.clone(),
            scopes: token.scopes.iter().copied().map(ScopeDto::from).collect(),
            user_id: token.user_id.0,
            created_at: token.created_at,
            expires_at: token.expires_at,
        }
    }
}

/// A new token.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTokenRequest {
    /// What it is for.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: String,
    /// What it may do.
    #[schema(min_items = 1, max_items = 3)]
    pub scopes: Vec<ScopeDto>,
    /// Days until it expires (default 90).
    #[schema(minimum = 1, maximum = 365)]
    pub expires_in_days: Option<i64>,
}

/// A created token, with its secret: shown this once, never again.
#[derive(Serialize, ToSchema)]
pub struct CreatedTokenDto {
    /// The bearer token for `Authorization: Bearer …`; store it now.
    pub token: String,
    /// The token as listed.
    #[serde(flatten)]
    pub listed: ApiTokenDto,
}

/// Creates an API token acting as the caller.
#[utoipa::path(post, path = "", tag = "tokens", request_body = CreateTokenRequest, responses(
    (status = 201, description = "Created; `token` is shown only here", body = CreatedTokenDto),
))]
pub async fn create_token(
    caller: Caller<policy::AdminSession>,
    body: Json<CreateTokenRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let (token, secret) = caller
        .state()
        .tokens
        .create(
            &caller.actor(),
            CreateApiToken {
                name: body.name,
                scopes: body
                    .scopes
                    .into_iter()
                    .map(|s| ApiScope::from(s).as_str().to_owned())
                    .collect(),
                expires_in_days: body.expires_in_days,
            },
        )
        .await?;
    let listed = ApiTokenDto::from(&token);
    Ok(HttpResponse::Created().json(CreatedTokenDto {
        token: secret.expose().to_owned(),
        listed,
    }))
}

/// Every API token.
#[derive(Serialize, ToSchema)]
pub struct TokenList {
    /// The tokens, newest first, without their secrets.
    pub items: Vec<ApiTokenDto>,
}

/// Lists the API tokens, without their secrets.
#[utoipa::path(get, path = "", tag = "tokens", responses(
    (status = 200, description = "The tokens", body = TokenList),
))]
pub async fn list_tokens(caller: Caller<policy::AdminSession>) -> Result<HttpResponse, ApiError> {
    let tokens = caller.state().tokens.list(&caller.actor()).await?;
    Ok(HttpResponse::Ok().json(TokenList {
        items: tokens.iter().map(ApiTokenDto::from).collect(),
    }))
}

/// Revokes an API token: it stops working at once.
#[utoipa::path(delete, path = "/{id}", tag = "tokens",
    params(("id" = i64, Path, description = "Token id", minimum = 1)),
    responses((status = 204, description = "Revoked")))]
pub async fn revoke_token(
    caller: Caller<policy::AdminSession>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    caller
        .state()
        .tokens
        .revoke(&caller.actor(), ApiTokenId(id.into_inner()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
