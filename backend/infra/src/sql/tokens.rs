//! The API tokens' repository (their SHA-256 hashes only).

use std::str::FromStr;

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::AssertSqlSafe;
use tessera_domain::accounts::{ApiScope, ApiToken, NewApiToken, TokenRepo};
use tessera_domain::shared::{ApiTokenId, DomainResult, UserId};

use super::{corrupt, db_error, get, time, SqlStore};

const TOKEN_COLUMNS: &str = "id, user_id, name, scopes, created_at, expires_at";

/// Scopes as stored: names joined by spaces.
fn scopes_text(scopes: &[ApiScope]) -> String {
    scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

fn token_from_row(row: &AnyRow) -> DomainResult<ApiToken> {
    let scopes: String = get(row, "scopes")?;
    Ok(ApiToken {
        id: ApiTokenId(get(row, "id")?),
        user_id: UserId(get(row, "user_id")?),
        name: get(row, "name")?,
        scopes: scopes
            .split_whitespace()
            .map(|s| ApiScope::from_str(s).map_err(|_| corrupt("token scope", s)))
            .collect::<DomainResult<_>>()?,
        created_at: time(get(row, "created_at")?),
        expires_at: time(get(row, "expires_at")?),
    })
}

#[async_trait]
impl TokenRepo for SqlStore {
    async fn insert_api_token(&self, token: NewApiToken) -> DomainResult<ApiToken> {
        let sql = format!(
            "INSERT INTO api_tokens (user_id, name, scopes, token_hash, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {TOKEN_COLUMNS}"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(token.user_id.0)
            .bind(&token.name)
            .bind(scopes_text(&token.scopes))
            .bind(&token.token_hash)
            .bind(token.created_at.timestamp_millis())
            .bind(token.expires_at.timestamp_millis())
            .fetch_one(&self.pool)
            .await
            .map_err(db_error)?;
        token_from_row(&row)
    }

    async fn api_token_by_hash(&self, token_hash: &str) -> DomainResult<Option<ApiToken>> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.as_ref().map(token_from_row).transpose()
    }

    async fn list_api_tokens(&self) -> DomainResult<Vec<ApiToken>> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY id DESC");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        rows.iter().map(token_from_row).collect()
    }

    async fn delete_api_token(&self, id: ApiTokenId) -> DomainResult<Option<(ApiToken, String)>> {
        let sql =
            format!("DELETE FROM api_tokens WHERE id = $1 RETURNING {TOKEN_COLUMNS}, token_hash");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.as_ref()
            .map(|row| Ok((token_from_row(row)?, get(row, "token_hash")?)))
            .transpose()
    }
}
