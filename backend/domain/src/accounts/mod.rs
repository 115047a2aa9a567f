//! Accounts: users and their passwords, one-time and recovery codes, login sessions and API
//! tokens, and the authentication use-cases built on them.

pub mod api_tokens;
pub mod auth;
pub mod model;
pub mod otp;
pub mod password;
pub mod repo;
pub mod service;
pub mod sessions;

pub use api_tokens::{
    ApiScope, ApiToken, ApiTokenService, CreateApiToken, NewApiToken, TOKEN_PREFIX,
};
pub use auth::{AuthLimits, AuthService, LoginAttempt, SignedIn};
pub use model::{NewPassword, NewUser, User, UserName, UserUnit, UserUpdate};
pub use otp::{OtpSecret, RecoveryCodes};
pub use repo::{TokenRepo, UserRepo};
pub use service::{AccountService, ChangeUser, CreateUser, PROFILES};
pub use sessions::{
    NewSession, Refresh, Session, SessionId, SessionLifetimes, SessionRepo, SessionService,
    SESSION_NAMESPACE,
};
