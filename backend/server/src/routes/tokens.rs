//! API tokens for scripts and third-party clients (administrators; a login session is needed).

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tessera_domain::api_tokens::{ApiToken, ApiTokenId, CreateApiToken};
use tessera_domain::audit::{AuditAction, NewAuditEvent};
use utoipa::ToSchema;

use crate::auth::AuthUser;
use crate::limits::client_ip_of;
use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// An API token as listed: never its secret.
#[derive(Serialize, ToSchema)]
pub struct ApiTokenDto {
    /// Id.
    pub id: i64,
    /// What it is for.
    pub name: String,
    /// What it may do: `cache:admin`, `read`, `write`.
    pub scopes: Vec<String>,
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
            scopes: token.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
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
    /// What it is for (1 to 100 characters).
    pub name: String,
    /// What it may do: any of `cache:admin`, `read`, `write`.
    pub scopes: Vec<String>,
    /// Days until it expires: 1 to 365 (default 90).
    pub expires_in_days: Option<i64>,
}

/// A created token, with its secret: shown this once, never again.
#[derive(Serialize, ToSchema)]
pub struct CreatedTokenDto {
    /// Id.
    pub id: i64,
    /// The bearer token for `Authorization: Bearer …`; store it now.
    pub token: String,
    /// What it is for.
    pub name: String,
    /// What it may do.
    pub scopes: Vec<String>,
    /// The user it acts as.
    pub user_id: i64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// Creates an API token acting as the caller (administrators, logged in).
#[utoipa::path(post, path = "/api/tokens", tag = "tokens", security(("bearer" = [])), request_body = CreateTokenRequest, responses(
    (status = 201, description = "Created; `token` is shown only here", body = CreatedTokenDto),
    (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
    (status = 403, description = "Not an administrator, or called with an API token (`session_required`)", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "Invalid name, scopes or expiry", body = Problem, content_type = "application/problem+json"),
))]
pub async fn create_token(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: AuthUser,
    body: web::Json<CreateTokenRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let (token, secret) = state
        .tokens
        .create(
            &caller.actor(),
            CreateApiToken {
                name: body.name,
                scopes: body.scopes,
                expires_in_days: body.expires_in_days,
            },
        )
        .await?;
    let listed = ApiTokenDto::from(&token);
    state
        .audit
        .record(
            NewAuditEvent::new(AuditAction::TokenCreated, Some(caller.0.id))
                .subject(format!("token:{}", token.id.0))
                .from_ip(Some(client_ip_of(&req, &state)))
                .detail(json!({"name": listed.name, "scopes": listed.scopes, "expires_at": listed.expires_at})),
        )
        .await;
    Ok(HttpResponse::Created().json(CreatedTokenDto {
        id: listed.id,
        token: secret.expose().to_owned(),
        name: listed.name,
        scopes: listed.scopes,
        user_id: listed.user_id,
        created_at: listed.created_at,
        expires_at: listed.expires_at,
    }))
}

/// Every API token.
#[derive(Serialize, ToSchema)]
pub struct TokenList {
    /// The tokens, newest first, without their secrets.
    pub items: Vec<ApiTokenDto>,
}

/// Lists the API tokens, without their secrets (administrators, logged in).
#[utoipa::path(get, path = "/api/tokens", tag = "tokens", security(("bearer" = [])), responses(
    (status = 200, description = "The tokens", body = TokenList),
    (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
    (status = 403, description = "Not an administrator, or called with an API token", body = Problem, content_type = "application/problem+json"),
))]
pub async fn list_tokens(
    state: web::Data<AppState>,
    caller: AuthUser,
) -> Result<HttpResponse, ApiError> {
    let tokens = state.tokens.list(&caller.actor()).await?;
    Ok(HttpResponse::Ok().json(TokenList {
        items: tokens.iter().map(ApiTokenDto::from).collect(),
    }))
}

/// Revokes an API token: it stops working at once (administrators, logged in).
#[utoipa::path(delete, path = "/api/tokens/{id}", tag = "tokens", security(("bearer" = [])), params(("id" = i64, Path, description = "Token id")), responses(
    (status = 204, description = "Revoked"),
    (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
    (status = 403, description = "Not an administrator, or called with an API token", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such token", body = Problem, content_type = "application/problem+json"),
))]
pub async fn revoke_token(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: AuthUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let token = state
        .tokens
        .revoke(&caller.actor(), ApiTokenId(id.into_inner()))
        .await?;
    state
        .audit
        .record(
            NewAuditEvent::new(AuditAction::TokenRevoked, Some(caller.0.id))
                .subject(format!("token:{}", token.id.0))
                .from_ip(Some(client_ip_of(&req, &state)))
                .detail(json!({"name": token.name})),
        )
        .await;
    Ok(HttpResponse::NoContent().finish())
}
