//! Accounts: users and their passwords, one-time codes, login sessions and API tokens.

pub mod api_tokens;
pub mod model;
pub mod otp;
pub mod password;
pub mod repo;
pub mod service;
pub mod sessions;

pub use api_tokens::{
    ApiScope, ApiToken, ApiTokenService, CreateApiToken, NewApiToken, TOKEN_PREFIX,
};
pub use model::{NewPassword, NewUser, User, UserName, UserUnit, UserUpdate};
pub use otp::OtpSecret;
pub use repo::{TokenRepo, UserRepo};
pub use service::{AccountService, ChangeUser, CreateUser, USER_NAMESPACE};
pub use sessions::{NewSession, Refresh, SessionId, SessionService};
