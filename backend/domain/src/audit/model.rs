//! Security events: what happened, who did it, to what, from where.

use std::net::IpAddr;

use chrono::{DateTime, Utc};

use crate::shared::{DomainError, DomainResult, UserId};

macro_rules! actions {
    ($($(#[$doc:meta])* $variant:ident => $name:literal,)+) => {
        /// What happened.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum AuditAction {
            $($(#[$doc])* $variant,)+
        }

        impl AuditAction {
            /// Every action, for documentation and filters.
            pub const ALL: &'static [AuditAction] = &[$(AuditAction::$variant,)+];

            /// The stored and shown name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(AuditAction::$variant => $name,)+
                }
            }
        }
    };
}

actions! {
    /// A login succeeded.
    LoginSucceeded => "login_succeeded",
    /// A login failed: wrong email or password, or a wrong one-time or recovery code (a missing
    /// code is the first step of a two-step login, not a failure).
    LoginFailed => "login_failed",
    /// Too many attempts: a login, password check or one-time code was refused by its limit.
    RateLimited => "rate_limited",
    /// A session was logged out.
    Logout => "logout",
    /// A retired refresh token came back; its session was ended.
    RefreshTokenReused => "refresh_token_reused",
    /// One-time codes were turned on (and recovery codes handed out).
    OtpEnabled => "otp_enabled",
    /// One-time codes were turned off, by their owner or an administrator.
    OtpDisabled => "otp_disabled",
    /// A recovery code was used in place of a one-time code.
    RecoveryCodeUsed => "recovery_code_used",
    /// A user changed its own password.
    PasswordChanged => "password_changed",
    /// An administrator reset a user's password; the user must set a new one.
    PasswordReset => "password_reset",
    /// A user was created.
    UserCreated => "user_created",
    /// A user's administrator or treasurer flag, active flag, unit or email changed.
    UserUpdated => "user_updated",
    /// A user was deleted.
    UserDeleted => "user_deleted",
    /// An API token was created.
    TokenCreated => "token_created",
    /// An API token was revoked.
    TokenRevoked => "token_revoked",
    /// File URLs were removed from the cache.
    CacheCleared => "cache_cleared",
    /// A member was deleted.
    MemberDeleted => "member_deleted",
    /// Dues were deleted.
    DuesDeleted => "dues_deleted",
    /// A payment was deleted.
    PaymentDeleted => "payment_deleted",
    /// A material type was deleted.
    MaterialTypeDeleted => "material_type_deleted",
    /// A material was deleted, with its stock.
    MaterialDeleted => "material_deleted",
    /// A unit's stock of a material was set by hand (payments change stock without this).
    StockSet => "stock_set",
}

impl AuditAction {
    /// The action with this name.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|a| a.as_str() == raw)
    }
}

/// An event to record.
#[derive(Debug, Clone)]
pub struct NewAuditEvent {
    /// What happened.
    pub action: AuditAction,
    /// Who did it, when known.
    pub actor: Option<UserId>,
    /// What it was done to (`user:7`, `token:3`, `email:ana@example.org`, `file_url:*`).
    pub subject: Option<String>,
    /// The client's address.
    pub client_ip: Option<String>,
    /// Anything else worth keeping (never a secret).
    pub detail: serde_json::Value,
}

impl NewAuditEvent {
    /// An event with no subject, address or detail yet.
    pub fn new(action: AuditAction, actor: Option<UserId>) -> Self {
        Self {
            action,
            actor,
            subject: None,
            client_ip: None,
            detail: serde_json::Value::Object(Default::default()),
        }
    }

    /// The same event about `subject`.
    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// The same event from `client_ip`.
    pub fn from_ip(mut self, client_ip: Option<IpAddr>) -> Self {
        self.client_ip = client_ip.map(|ip| ip.to_string());
        self
    }

    /// The same event with `detail`.
    pub fn detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = detail;
        self
    }
}

/// A recorded event.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    /// Its id; ids grow with time.
    pub id: i64,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// What happened (an `AuditAction` name).
    pub action: String,
    /// Who did it, when known.
    pub actor_user_id: Option<UserId>,
    /// What it was done to.
    pub subject: Option<String>,
    /// The client's address.
    pub client_ip: Option<String>,
    /// Anything else recorded.
    pub detail: serde_json::Value,
}

/// Which events to list.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only this action.
    pub action: Option<AuditAction>,
    /// Only events by this user.
    pub actor: Option<UserId>,
}

/// Parses an action name from a filter.
pub fn parse_action(raw: &str) -> DomainResult<AuditAction> {
    AuditAction::parse(raw).ok_or_else(|| {
        let names: Vec<&str> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
        DomainError::invalid("action", format!("must be one of {}", names.join(", ")))
    })
}
