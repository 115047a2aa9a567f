//! What the accounts context needs from storage.

use async_trait::async_trait;

use crate::accounts::api_tokens::{ApiToken, NewApiToken};
use crate::accounts::model::{NewUser, User, UserUpdate};
use crate::shared::validation::Email;
use crate::shared::{ApiTokenId, DomainResult, Page, PageRequest, UserId};

/// The users.
#[async_trait]
pub trait UserRepo: Send + Sync {
    /// Creates a user; a taken email is a `Conflict` with code `email_taken`.
    async fn insert_user(&self, user: NewUser) -> DomainResult<User>;
    /// The user with this email, if any.
    async fn user_by_email(&self, email: &Email) -> DomainResult<Option<User>>;
    /// The user with this id, if any.
    async fn user_by_id(&self, id: UserId) -> DomainResult<Option<User>>;
    /// Whether at least one administrator exists.
    async fn admin_exists(&self) -> DomainResult<bool>;
    /// Sets a user's TOTP secret and whether login requires it; a new secret starts with no
    /// step used.
    async fn set_otp(&self, id: UserId, secret: Option<&str>, enabled: bool) -> DomainResult<()>;
    /// Records `step` as the last time step a code was accepted for, if it is later than the
    /// one recorded; answers whether it was (one atomic step: two uses of one code cannot both
    /// pass).
    async fn advance_otp_step(&self, id: UserId, step: u64) -> DomainResult<bool>;
    /// Replaces a user's recovery codes with these (hashes; none removes them all).
    async fn replace_recovery_codes(&self, id: UserId, hashes: &[String]) -> DomainResult<()>;
    /// Marks the unused recovery code with this hash used; answers whether there was one.
    async fn use_recovery_code(&self, id: UserId, hash: &str) -> DomainResult<bool>;
    /// A page of users, by id.
    async fn list_users(&self, page: PageRequest) -> DomainResult<Page<User>>;
    /// Applies a change to a user; a taken email is a `Conflict` with code `email_taken`.
    async fn update_user(&self, id: UserId, change: &UserUpdate) -> DomainResult<User>;
    /// Deletes a user nothing refers to; `Conflict` `user_in_use` when files or payments still
    /// do; `false` when absent.
    async fn delete_user(&self, id: UserId) -> DomainResult<bool>;
}

/// The API tokens (their hashes only).
#[async_trait]
pub trait TokenRepo: Send + Sync {
    /// Stores a token.
    async fn insert_api_token(&self, token: NewApiToken) -> DomainResult<ApiToken>;
    /// The token with this SHA-256 hash, if any (expired ones too).
    async fn api_token_by_hash(&self, token_hash: &str) -> DomainResult<Option<ApiToken>>;
    /// Every token, newest first.
    async fn list_api_tokens(&self) -> DomainResult<Vec<ApiToken>>;
    /// Deletes a token; answers it and its hash, or `None` when it did not exist.
    async fn delete_api_token(&self, id: ApiTokenId) -> DomainResult<Option<(ApiToken, String)>>;
}
