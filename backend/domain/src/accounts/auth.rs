//! Authentication use-cases: logging in (password, then a one-time or recovery code), refreshing
//! and ending sessions, the per-request check of an access token's session and user, and the
//! caller's own password and one-time codes. Each applies its rate limits and records what it
//! did in the audit log, so the HTTP API and the command line share one behaviour.

use std::net::IpAddr;
use std::sync::Arc;

use chrono::Utc;
use serde_json::json;

use crate::access::rate_limit::{Policy, RateLimiter, Subject};
use crate::access::Actor;
use crate::accounts::model::User;
use crate::accounts::otp::{OtpSecret, RecoveryCodes};
use crate::accounts::service::AccountService;
use crate::accounts::sessions::{session_key, NewSession, Refresh, SessionId, SessionService};
use crate::audit::{AuditAction, AuditLog, NewAuditEvent};
use crate::shared::cache::Cache;
use crate::shared::{DomainError, DomainResult, UserId};

/// Attempts allowed per minute (0 turns a limit off).
#[derive(Debug, Clone, Copy)]
pub struct AuthLimits {
    /// Logins and password checks, per account and per address.
    pub login_per_minute: u64,
    /// One-time and recovery codes, per account and per address.
    pub otp_per_minute: u64,
}

/// A login attempt. No `Debug`: it holds a password.
pub struct LoginAttempt<'a> {
    /// The email typed.
    pub email: &'a str,
    /// The password typed.
    pub password: &'a str,
    /// The current one-time code, for accounts that have them.
    pub otp_code: Option<&'a str>,
    /// A recovery code, in place of a one-time code.
    pub recovery_code: Option<&'a str>,
    /// Where it came from.
    pub ip: Option<IpAddr>,
}

/// A successful login or refresh: the user and its session.
pub struct SignedIn {
    /// Who.
    pub user: User,
    /// The session and its refresh token.
    pub session: NewSession,
}

/// Logins, sessions and the caller's own credentials.
pub struct AuthService {
    accounts: Arc<AccountService>,
    sessions: Arc<SessionService>,
    cache: Arc<dyn Cache>,
    limiter: Arc<RateLimiter>,
    audit: Arc<AuditLog>,
    limits: AuthLimits,
}

impl AuthService {
    /// The use-cases over these services, with these limits.
    pub fn new(
        accounts: Arc<AccountService>,
        sessions: Arc<SessionService>,
        cache: Arc<dyn Cache>,
        limiter: Arc<RateLimiter>,
        audit: Arc<AuditLog>,
        limits: AuthLimits,
    ) -> Self {
        Self {
            accounts,
            sessions,
            cache,
            limiter,
            audit,
            limits,
        }
    }

    /// Logs in: counts the attempt against the login limits (and the code limits when a code is
    /// given) for the account and the address, checks the password, then a one-time code or a
    /// recovery code when the account has codes, and starts a session. A wrong email or
    /// password is `Unauthenticated`, the same for both; a missing code `OtpRequired`; a wrong,
    /// stale or reused one `OtpInvalid`.
    pub async fn login(&self, attempt: LoginAttempt<'_>) -> DomainResult<SignedIn> {
        let email = attempt.email.trim().to_lowercase();
        // An email is at most 254 characters; anything longer is cut so a flood of long strings
        // cannot bloat the log.
        let subject = format!("email:{}", email.chars().take(254).collect::<String>());
        let login = Policy::per_minute("login", self.limits.login_per_minute);
        let otp = Policy::per_minute("otp", self.limits.otp_per_minute);
        let mut checks = vec![
            (login, Subject::Ip(attempt.ip)),
            (login, Subject::Account(&email)),
        ];
        if attempt.otp_code.is_some() || attempt.recovery_code.is_some() {
            checks.extend([
                (otp, Subject::Ip(attempt.ip)),
                (otp, Subject::Account(&email)),
            ]);
        }
        self.limit(&checks, None, &subject, attempt.ip).await?;
        let failed = |reason: &'static str| {
            NewAuditEvent::new(AuditAction::LoginFailed, None)
                .subject(subject.clone())
                .from_ip(attempt.ip)
                .detail(json!({ "reason": reason }))
        };
        let Some(user) = self
            .accounts
            .check_password(attempt.email, attempt.password)
            .await?
        else {
            self.audit.record(failed("invalid_credentials")).await;
            return Err(DomainError::Unauthenticated(
                "invalid email or password".into(),
            ));
        };
        if user.otp_enabled {
            let accepted = match (attempt.otp_code, attempt.recovery_code) {
                (Some(code), _) => self.accounts.accept_code(&user, code, unix_now()).await?,
                (None, Some(code)) => {
                    let used = self.accounts.use_recovery_code(&user, code).await?;
                    if used {
                        self.audit
                            .record(
                                NewAuditEvent::new(AuditAction::RecoveryCodeUsed, Some(user.id))
                                    .subject(format!("user:{}", user.id.0))
                                    .from_ip(attempt.ip),
                            )
                            .await;
                    }
                    used
                }
                // The first step of a two-step login, not a failure.
                (None, None) => return Err(DomainError::OtpRequired),
            };
            if !accepted {
                self.audit.record(failed("otp_invalid")).await;
                return Err(DomainError::OtpInvalid);
            }
        }
        let session = self.sessions.start(user.id).await?;
        self.audit
            .record(
                NewAuditEvent::new(AuditAction::LoginSucceeded, Some(user.id))
                    .subject(format!("user:{}", user.id.0))
                    .from_ip(attempt.ip),
            )
            .await;
        tracing::info!(user_id = user.id.0, "login succeeded");
        Ok(SignedIn { user, session })
    }

    /// Exchanges a refresh token for the session's next one. A retired token ends the whole
    /// session (recorded); a token of a user gone or inactive ends it too.
    pub async fn refresh(&self, token: &str, ip: Option<IpAddr>) -> DomainResult<SignedIn> {
        let session = match self.sessions.refresh(token).await? {
            Refresh::Rotated(session) => session,
            Refresh::Reused { id, user_id } => {
                tracing::warn!(
                    user_id = user_id.0,
                    session = id.as_str(),
                    "a retired refresh token was used again; the session is ended"
                );
                self.audit
                    .record(
                        NewAuditEvent::new(AuditAction::RefreshTokenReused, None)
                            .subject(format!("user:{}", user_id.0))
                            .from_ip(ip),
                    )
                    .await;
                return Err(DomainError::Unauthenticated(
                    "the refresh token was already used: the session has ended, log in again"
                        .into(),
                ));
            }
        };
        match self.accounts.user(session.user_id).await {
            Ok(user) => Ok(SignedIn { user, session }),
            Err(DomainError::NotFound(_)) => {
                self.sessions.end(&session.id).await?;
                Err(DomainError::Unauthenticated(
                    "the refresh token is invalid or expired".into(),
                ))
            }
            Err(e) => Err(e),
        }
    }

    /// Logs out: ends the caller's session (`current`), or all of them with `everywhere`; a
    /// refresh token given too ends its session when it is the caller's (clients send the token
    /// they hold). Drops the caller's cached data.
    pub async fn logout(
        &self,
        actor: &Actor,
        current: &SessionId,
        refresh_token: Option<&str>,
        everywhere: bool,
    ) -> DomainResult<()> {
        if everywhere {
            self.sessions.end_all(actor.user_id, None).await?;
        } else {
            self.sessions.end(current).await?;
            if let Some(token) = refresh_token {
                if let Some(id) = self.sessions.owned_by(token, actor.user_id).await? {
                    self.sessions.end(&id).await?;
                }
            }
        }
        self.accounts.forget(actor.user_id).await;
        self.audit
            .record(
                NewAuditEvent::new(AuditAction::Logout, Some(actor.user_id))
                    .subject(format!("user:{}", actor.user_id.0))
                    .from_ip(actor.ip)
                    .detail(json!({ "everywhere": everywhere })),
            )
            .await;
        tracing::info!(user_id = actor.user_id.0, everywhere, "logged out");
        Ok(())
    }

    /// The active user behind an access token of `session`, read in one cache round trip with
    /// the session's state: an ended session is `Unauthenticated`, a user gone or inactive
    /// `NotFound`. When the cache cannot answer, both come from the database.
    pub async fn user_for_access(&self, user: UserId, session: &SessionId) -> DomainResult<User> {
        let keys = [self.accounts.profile_cache_key(user), session_key(session)];
        let (profile, state) = match self.cache.get_many(&keys).await {
            Ok(mut values) => {
                let state = values.pop().flatten();
                (values.pop().flatten(), state)
            }
            Err(_) => (None, None),
        };
        if !self
            .sessions
            .is_live(session, user, state.as_deref())
            .await?
        {
            return Err(DomainError::Unauthenticated(
                "the session has ended: log in again".into(),
            ));
        }
        self.accounts.profile(user, profile).await
    }

    /// Changes the caller's own name or password; the current password is checked under the
    /// login limits, so this is no side door for guessing it.
    pub async fn update_self(
        &self,
        actor: &Actor,
        session: Option<&SessionId>,
        name: Option<String>,
        password: Option<String>,
        current_password: Option<String>,
    ) -> DomainResult<User> {
        if password.is_some() {
            self.password_attempt(actor).await?;
        }
        self.accounts
            .update_self(actor, session, name, password, current_password)
            .await
    }

    /// Starts one-time code enrolment after the caller's current password (checked under the
    /// login limits).
    pub async fn otp_setup(
        &self,
        actor: &Actor,
        current_password: Option<String>,
    ) -> DomainResult<(User, OtpSecret)> {
        self.password_attempt(actor).await?;
        self.confirm_password(actor, current_password).await?;
        self.accounts.otp_setup(actor).await
    }

    /// Turns one-time codes on after the current password and a correct code; answers the
    /// recovery codes (`None` when codes were on already).
    pub async fn otp_enable(
        &self,
        actor: &Actor,
        current_password: Option<String>,
        code: &str,
    ) -> DomainResult<Option<RecoveryCodes>> {
        // One attempt under the code limits covers the password and the code it comes with.
        self.code_attempt(actor).await?;
        self.confirm_password(actor, current_password).await?;
        self.accounts.otp_enable(actor, code, unix_now()).await
    }

    /// Turns one-time codes off after the current password and a current code; answers whether
    /// anything changed.
    pub async fn otp_disable(
        &self,
        actor: &Actor,
        current_password: Option<String>,
        code: &str,
    ) -> DomainResult<bool> {
        self.code_attempt(actor).await?;
        self.confirm_password(actor, current_password).await?;
        self.accounts.otp_disable(actor, code, unix_now()).await
    }

    /// The caller's current password (the caller counted the attempt); a wrong or missing one
    /// is a field error on `current_password`.
    async fn confirm_password(&self, actor: &Actor, given: Option<String>) -> DomainResult<()> {
        let me = self.accounts.own_account(actor).await?;
        if self.accounts.password_is(&me, given).await {
            Ok(())
        } else {
            Err(DomainError::invalid(
                "current_password",
                "must be your current password",
            ))
        }
    }

    async fn password_attempt(&self, actor: &Actor) -> DomainResult<()> {
        let login = Policy::per_minute("login", self.limits.login_per_minute);
        let ip = actor.ip;
        let checks = [
            (login, Subject::Ip(ip)),
            (login, Subject::User(actor.user_id.0)),
        ];
        self.limit(&checks, Some(actor.user_id), &user_subject(actor), ip)
            .await
    }

    async fn code_attempt(&self, actor: &Actor) -> DomainResult<()> {
        let otp = Policy::per_minute("otp", self.limits.otp_per_minute);
        let ip = actor.ip;
        let checks = [
            (otp, Subject::Ip(ip)),
            (otp, Subject::User(actor.user_id.0)),
        ];
        self.limit(&checks, Some(actor.user_id), &user_subject(actor), ip)
            .await
    }

    /// Counts one hit under each check; over a limit is `RateLimited`, recorded once per window.
    async fn limit(
        &self,
        checks: &[(Policy, Subject<'_>)],
        actor: Option<UserId>,
        subject: &str,
        ip: Option<IpAddr>,
    ) -> DomainResult<()> {
        match self.limiter.hit_all(checks).await {
            Some(decision) if !decision.allowed => {
                if decision.is_first_refusal() {
                    self.audit
                        .record(
                            NewAuditEvent::new(AuditAction::RateLimited, actor)
                                .subject(subject.to_owned())
                                .from_ip(ip)
                                .detail(json!({ "policy": decision.policy.name })),
                        )
                        .await;
                }
                Err(DomainError::RateLimited(decision))
            }
            _ => Ok(()),
        }
    }
}

fn user_subject(actor: &Actor) -> String {
    format!("user:{}", actor.user_id.0)
}

fn unix_now() -> u64 {
    u64::try_from(Utc::now().timestamp()).unwrap_or_default()
}
