//! Accounts: creating and changing users, checking passwords and one-time codes, caching
//! profiles, bootstrapping the first administrator.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::access::{Actor, UnitPath};
use crate::accounts::model::{NewPassword, NewUser, User, UserName, UserUnit, UserUpdate};
use crate::accounts::otp::{accept_once, OtpSecret};
use crate::accounts::password::{hash_password, verify_password};
use crate::accounts::repo::UserRepo;
use crate::accounts::sessions::{
    end_all_sessions, revoked_jti_key, session_key, session_owner, SessionId,
};
use crate::members::MemberRepo;
use crate::org::OrgRepo;
use crate::shared::cache::Cache;
use crate::shared::counters::NamespaceCounters;
use crate::shared::events::{Event, Listener};
use crate::shared::validation::Email;
use crate::shared::{
    collect_field, DomainError, DomainResult, ErrorCode, FieldError, MemberId, OrgUnitId, Page,
    PageRequest, UserId,
};

/// Input for creating a user, still unparsed. No `Debug`: it holds a password.
#[derive(Clone)]
pub struct CreateUser {
    /// Login email.
    pub email: String,
    /// Password in clear (hashed before it is stored).
    pub password: String,
    /// Display name.
    pub name: String,
    /// Whether the new user is an administrator.
    pub is_admin: bool,
    /// Whether the new user is a treasurer.
    pub is_treasurer: bool,
    /// The new user's org unit.
    pub org_unit_id: Option<OrgUnitId>,
    /// The new user's own member record.
    pub member_id: Option<MemberId>,
}

/// A change to a user, still unparsed; `None` leaves a field as it is. No `Debug`: it may hold a
/// password.
#[derive(Clone, Default)]
pub struct ChangeUser {
    /// New login email.
    pub email: Option<String>,
    /// New password.
    pub password: Option<String>,
    /// New display name.
    pub name: Option<String>,
    /// New administrator flag.
    pub is_admin: Option<bool>,
    /// New treasurer flag.
    pub is_treasurer: Option<bool>,
    /// New active flag (inactive users cannot log in).
    pub is_active: Option<bool>,
    /// New org unit (`Some(None)` removes it).
    pub org_unit_id: Option<Option<OrgUnitId>>,
    /// New member link (`Some(None)` removes it).
    pub member_id: Option<Option<MemberId>>,
}

/// Users and passwords.
pub struct AccountService {
    users: Arc<dyn UserRepo>,
    units: Arc<dyn OrgRepo>,
    members: Arc<dyn MemberRepo>,
    cache: Arc<dyn Cache>,
    /// Stands in for `cache` while it is down (used one-time codes).
    local: Arc<dyn Cache>,
    profiles: Arc<NamespaceCounters>,
    /// Verified against when the email is unknown, so timing does not reveal which emails exist.
    dummy_hash: String,
}

/// The key namespace of cached user profiles.
pub const USER_NAMESPACE: &str = "user";
/// How long a user profile stays cached (the product's "user data" class).
pub const USER_PROFILE_TTL: Duration = Duration::from_secs(30 * 60);

/// The cache key of a user's profile: `user:<id>:profile`.
pub fn profile_key(id: UserId) -> String {
    format!("{USER_NAMESPACE}:{}:profile", id.0)
}

/// What is cached of a user: everything access needs, never the password hash.
#[derive(Serialize, Deserialize)]
struct CachedProfile {
    id: i64,
    email: String,
    name: String,
    is_admin: bool,
    is_treasurer: bool,
    is_active: bool,
    otp_enabled: bool,
    unit: Option<(i64, String, String)>,
    #[serde(default)]
    member_id: Option<i64>,
    created_at: DateTime<Utc>,
}

impl CachedProfile {
    fn of(user: &User) -> Self {
        Self {
            id: user.id.0,
            email: user.email.as_str().to_owned(),
            name: user.name.clone(),
            is_admin: user.is_admin,
            is_treasurer: user.is_treasurer,
            is_active: user.is_active,
            otp_enabled: user.otp_enabled,
            unit: user.org_unit.as_ref().map(|u| {
                (
                    u.id.0,
                    u.kind.as_str().to_owned(),
                    u.path.as_str().to_owned(),
                )
            }),
            member_id: user.member_id.map(|m| m.0),
            created_at: user.created_at,
        }
    }

    /// The user, without its password hash (never needed once a token is checked).
    fn into_user(self) -> Option<User> {
        let org_unit = match self.unit {
            Some((id, kind, path)) => Some(UserUnit {
                id: OrgUnitId(id),
                kind: kind.parse().ok()?,
                path: UnitPath::from_stored(path),
            }),
            None => None,
        };
        Some(User {
            id: UserId(self.id),
            email: Email::parse(&self.email).ok()?,
            name: self.name,
            password_hash: String::new(),
            is_admin: self.is_admin,
            is_treasurer: self.is_treasurer,
            is_active: self.is_active,
            otp_enabled: self.otp_enabled,
            otp_secret: None,
            org_unit,
            member_id: self.member_id.map(MemberId),
            created_at: self.created_at,
        })
    }
}

impl AccountService {
    /// The service over the users (and the units and members they link to), caching profiles
    /// in `cache`; `local` is an in-process cache that remembers used one-time codes while
    /// `cache` is down (it may be `cache` itself).
    pub async fn new(
        users: Arc<dyn UserRepo>,
        units: Arc<dyn OrgRepo>,
        members: Arc<dyn MemberRepo>,
        cache: Arc<dyn Cache>,
        local: Arc<dyn Cache>,
    ) -> DomainResult<Self> {
        let dummy_hash = hash_password("a password no account has".to_owned()).await?;
        Ok(Self {
            users,
            units,
            members,
            cache,
            local,
            profiles: Arc::default(),
            dummy_hash,
        })
    }

    /// Hit and miss counts of the `user` namespace.
    pub fn profile_counters(&self) -> Arc<NamespaceCounters> {
        Arc::clone(&self.profiles)
    }

    /// Drops a user's cached profile (after any change to the user).
    pub async fn forget(&self, id: UserId) {
        if let Err(e) = self.cache.delete(&[profile_key(id)]).await {
            tracing::warn!(user_id = id.0, error = %e, "could not evict a cached profile; it expires with its TTL");
        }
    }

    /// Ends a user's sessions (but `keep`) after its password changed or it was locked out.
    async fn end_sessions(&self, id: UserId, keep: Option<&SessionId>) {
        match end_all_sessions(self.cache.as_ref(), id, keep).await {
            Ok(0) => {}
            Ok(ended) => tracing::info!(user_id = id.0, ended, "sessions ended"),
            Err(_) => tracing::warn!(
                user_id = id.0,
                "could not end the sessions of a changed user; they end with their TTL"
            ),
        }
    }

    /// Creates a user (administrators only, except at bootstrap).
    pub async fn create_user(&self, actor: &Actor, input: CreateUser) -> DomainResult<User> {
        actor.require_admin()?;
        self.insert(input).await
    }

    /// The user whose email, password and (when enabled) one-time code match. A wrong email
    /// or password is `Unauthenticated`, the same for both; then a missing code is
    /// `OtpRequired` and a wrong, stale or reused one `OtpInvalid`.
    pub async fn authenticate(
        &self,
        email: &str,
        password: &str,
        otp_code: Option<&str>,
    ) -> DomainResult<User> {
        let user = match Email::parse(email) {
            Ok(email) => self.users.user_by_email(&email).await?,
            Err(_) => None,
        };
        let hash = user
            .as_ref()
            .map_or(self.dummy_hash.as_str(), |u| u.password_hash.as_str());
        let matches = verify_password(password.to_owned(), hash.to_owned()).await;
        let user = match user {
            Some(user) if matches && user.is_active => user,
            _ => {
                return Err(DomainError::Unauthenticated(
                    "invalid email or password".into(),
                ))
            }
        };
        if user.otp_enabled {
            let code = otp_code.ok_or(DomainError::OtpRequired)?;
            if !self.code_accepted(&user, code).await? {
                return Err(DomainError::OtpInvalid);
            }
        }
        Ok(user)
    }

    /// Whether `code` is right for the user's stored secret and not used before (see
    /// `accept_once`).
    async fn code_accepted(&self, user: &User, code: &str) -> DomainResult<bool> {
        let secret = stored_secret(user)?;
        Ok(accept_once(
            self.cache.as_ref(),
            self.local.as_ref(),
            user.id,
            &secret,
            code,
            unix_now(),
        )
        .await)
    }

    /// Starts enrolment: a new secret for the caller, kept until a correct code enables it.
    pub async fn otp_setup(&self, actor: &Actor) -> DomainResult<(User, OtpSecret)> {
        let user = self
            .users
            .user_by_id(actor.user_id)
            .await?
            .ok_or(DomainError::NotFound("user"))?;
        if user.otp_enabled {
            return Err(DomainError::Conflict {
                code: ErrorCode::OtpAlreadyEnabled,
                message: "one-time codes are already enabled: disable them first to enrol again"
                    .into(),
            });
        }
        let secret = OtpSecret::generate();
        self.users
            .set_otp(user.id, Some(secret.expose_base32()), false)
            .await?;
        Ok((user, secret))
    }

    /// Turns one-time codes on after a correct code for the enrolled secret; answers whether
    /// anything changed (already on is not an error).
    pub async fn otp_enable(&self, actor: &Actor, code: &str) -> DomainResult<bool> {
        let user = self
            .users
            .user_by_id(actor.user_id)
            .await?
            .ok_or(DomainError::NotFound("user"))?;
        if user.otp_enabled {
            return Ok(false);
        }
        if user.otp_secret.is_none() {
            return Err(DomainError::Conflict {
                code: ErrorCode::OtpNotEnrolled,
                message: "call /api/auth/otp/setup first".into(),
            });
        }
        if !self.code_accepted(&user, code).await? {
            return Err(DomainError::invalid(
                "code",
                "the code is wrong or already used",
            ));
        }
        self.users
            .set_otp(user.id, user.otp_secret.as_deref(), true)
            .await?;
        self.forget(user.id).await;
        tracing::info!(user_id = user.id.0, "one-time codes enabled");
        Ok(true)
    }

    /// Turns one-time codes off; needs a current code. Answers whether anything changed
    /// (already off is not an error).
    pub async fn otp_disable(&self, actor: &Actor, code: &str) -> DomainResult<bool> {
        let user = self
            .users
            .user_by_id(actor.user_id)
            .await?
            .ok_or(DomainError::NotFound("user"))?;
        if !user.otp_enabled {
            return Ok(false);
        }
        if !self.code_accepted(&user, code).await? {
            return Err(DomainError::invalid(
                "code",
                "the code is wrong or already used",
            ));
        }
        self.users.set_otp(user.id, None, false).await?;
        self.forget(user.id).await;
        tracing::info!(user_id = user.id.0, "one-time codes disabled");
        Ok(true)
    }

    /// The active user behind an id (inactive users' tokens stop working).
    /// Served from `user:<id>:profile` when cached (30 minutes; evicted on every change), without
    /// its password hash.
    pub async fn user(&self, id: UserId) -> DomainResult<User> {
        let cached = self.cache.get(&profile_key(id)).await.ok().flatten();
        self.profile(id, cached).await
    }

    /// The active user behind an access token, read in one cache round trip with the token's
    /// state: a logged-out token (`revoked_jti:<jti>`) or an ended session is `Unauthenticated`.
    /// When the cache cannot answer, the token's signature and expiry (minutes) are all that is
    /// checked, so a Redis outage logs nobody out.
    pub async fn user_for_access(
        &self,
        id: UserId,
        session: Option<&SessionId>,
        jti: &str,
    ) -> DomainResult<User> {
        let mut keys = vec![profile_key(id), revoked_jti_key(jti)];
        keys.extend(session.map(session_key));
        let (cached, live) = match self.cache.get_many(&keys).await {
            Ok(mut values) => {
                let session_live = match session {
                    Some(_) => {
                        values.pop().flatten().and_then(|raw| session_owner(&raw)) == Some(id)
                    }
                    None => true,
                };
                let revoked = values.pop().flatten().is_some();
                (values.pop().flatten(), session_live && !revoked)
            }
            Err(_) => (None, true),
        };
        if !live {
            return Err(DomainError::Unauthenticated(
                "the session has ended: log in again".into(),
            ));
        }
        self.profile(id, cached).await
    }

    /// The user from its cached profile, or from the store (caching it) on a miss.
    async fn profile(&self, id: UserId, cached: Option<String>) -> DomainResult<User> {
        let cached = cached
            .and_then(|raw| serde_json::from_str::<CachedProfile>(&raw).ok())
            .and_then(CachedProfile::into_user);
        let user = match cached {
            Some(user) => {
                self.profiles.hit();
                user
            }
            None => {
                self.profiles.miss();
                let user = self
                    .users
                    .user_by_id(id)
                    .await?
                    .ok_or(DomainError::NotFound("user"))?;
                if let Ok(raw) = serde_json::to_string(&CachedProfile::of(&user)) {
                    // A failed write only costs the next request a query.
                    let _ = self
                        .cache
                        .set(&profile_key(id), &raw, USER_PROFILE_TTL)
                        .await;
                }
                user
            }
        };
        Some(user)
            .filter(|u| u.is_active)
            .ok_or(DomainError::NotFound("user"))
    }

    /// A page of users (administrators only).
    pub async fn list_users(&self, actor: &Actor, page: PageRequest) -> DomainResult<Page<User>> {
        actor.require_admin()?;
        self.users.list_users(page).await
    }

    /// One user: administrators read anyone, others only themselves.
    pub async fn get_user(&self, actor: &Actor, id: UserId) -> DomainResult<User> {
        if !actor.is_admin && actor.user_id != id {
            return Err(DomainError::NotFound("user"));
        }
        self.users
            .user_by_id(id)
            .await?
            .ok_or(DomainError::NotFound("user"))
    }

    /// Changes a user (administrators only). An administrator cannot demote, deactivate or
    /// delete itself, so there is always someone left to undo a mistake.
    pub async fn update_user(
        &self,
        actor: &Actor,
        id: UserId,
        change: ChangeUser,
    ) -> DomainResult<User> {
        actor.require_admin()?;
        self.users
            .user_by_id(id)
            .await?
            .ok_or(DomainError::NotFound("user"))?;
        if id == actor.user_id
            && (change.is_admin == Some(false) || change.is_active == Some(false))
        {
            return Err(DomainError::forbidden(
                "administrators cannot demote or deactivate themselves",
            ));
        }
        let update = self.parse_change(change).await?;
        let user = self.users.update_user(id, &update).await?;
        self.forget(id).await;
        if update.password_hash.is_some() || update.is_active == Some(false) {
            self.end_sessions(id, None).await;
        }
        Ok(user)
    }

    /// Changes the caller's own name and password; a new password needs the current one and
    /// ends every other session of the caller (all but `current`).
    pub async fn update_self(
        &self,
        actor: &Actor,
        current: Option<&SessionId>,
        name: Option<String>,
        password: Option<String>,
        current_password: Option<String>,
    ) -> DomainResult<User> {
        let me = self
            .users
            .user_by_id(actor.user_id)
            .await?
            .ok_or(DomainError::NotFound("user"))?;
        let current_ok = match current_password {
            Some(current) => verify_password(current, me.password_hash.clone()).await,
            None => false,
        };
        if password.is_some() && !current_ok {
            return Err(DomainError::invalid(
                "current_password",
                "must be your current password to set a new one",
            ));
        }
        let update = self
            .parse_change(ChangeUser {
                name,
                password,
                ..ChangeUser::default()
            })
            .await?;
        let user = self.users.update_user(actor.user_id, &update).await?;
        self.forget(actor.user_id).await;
        if update.password_hash.is_some() {
            self.end_sessions(actor.user_id, current).await;
        }
        Ok(user)
    }

    /// Deletes a user (administrators only, not themselves); one with files is `user_in_use`.
    pub async fn delete_user(&self, actor: &Actor, id: UserId) -> DomainResult<()> {
        actor.require_admin()?;
        if id == actor.user_id {
            return Err(DomainError::forbidden(
                "administrators cannot delete themselves",
            ));
        }
        if !self.users.delete_user(id).await? {
            return Err(DomainError::NotFound("user"));
        }
        self.forget(id).await;
        self.end_sessions(id, None).await;
        Ok(())
    }

    async fn parse_change(&self, change: ChangeUser) -> DomainResult<UserUpdate> {
        let mut errors: Vec<FieldError> = Vec::new();
        let email = change
            .email
            .as_deref()
            .map(Email::parse)
            .map(|r| collect_field(r, &mut errors));
        let name = change
            .name
            .as_deref()
            .map(UserName::parse)
            .map(|r| collect_field(r, &mut errors));
        let password = change
            .password
            .as_deref()
            .map(NewPassword::parse)
            .map(|r| collect_field(r, &mut errors));
        if let Some(Some(id)) = change.org_unit_id {
            if self.units.unit(id).await?.is_none() {
                errors.push(FieldError::new("org_unit_id", "no such org unit"));
            }
        }
        if let Some(Some(id)) = change.member_id {
            self.check_member(id, &mut errors).await?;
        }
        if !errors.is_empty() {
            return Err(DomainError::Validation(errors));
        }
        let password_hash = match password.flatten() {
            Some(p) => Some(hash_password(p.expose().to_owned()).await?),
            None => None,
        };
        Ok(UserUpdate {
            email: email.flatten(),
            name: name.flatten(),
            password_hash,
            is_admin: change.is_admin,
            is_treasurer: change.is_treasurer,
            is_active: change.is_active,
            org_unit_id: change.org_unit_id,
            member_id: change.member_id,
        })
    }

    /// Adds a field error when no member has this id.
    async fn check_member(&self, id: MemberId, errors: &mut Vec<FieldError>) -> DomainResult<()> {
        if self.members.member_by_id(id).await?.is_none() {
            errors.push(FieldError::new("member_id", "no such member"));
        }
        Ok(())
    }

    /// Turns one-time codes on with a secret the operator holds (bootstrap and the command line,
    /// where no code can be asked for first).
    pub async fn activate_otp(&self, id: UserId, secret: &OtpSecret) -> DomainResult<()> {
        self.users
            .set_otp(id, Some(secret.expose_base32()), true)
            .await?;
        self.forget(id).await;
        Ok(())
    }

    /// Creates the first administrator when no administrator exists, with one-time codes enabled
    /// when a secret is given; answers whether it did.
    pub async fn ensure_first_admin(
        &self,
        email: &str,
        password: &str,
        otp_secret: Option<&OtpSecret>,
    ) -> DomainResult<bool> {
        if self.users.admin_exists().await? {
            return Ok(false);
        }
        let admin = self
            .insert(CreateUser {
                email: email.to_owned(),
                password: password.to_owned(),
                name: "Administrator".to_owned(),
                is_admin: true,
                is_treasurer: false,
                org_unit_id: None,
                member_id: None,
            })
            .await?;
        if let Some(secret) = otp_secret {
            self.activate_otp(admin.id, secret).await?;
        }
        Ok(true)
    }

    /// Creates a user without a caller (the command line).
    pub async fn insert(&self, input: CreateUser) -> DomainResult<User> {
        let mut errors: Vec<FieldError> = Vec::new();
        let email = collect_field(Email::parse(&input.email), &mut errors);
        let name = collect_field(UserName::parse(&input.name), &mut errors);
        let password = collect_field(NewPassword::parse(&input.password), &mut errors);
        if let Some(id) = input.org_unit_id {
            if self.units.unit(id).await?.is_none() {
                errors.push(FieldError::new("org_unit_id", "no such org unit"));
            }
        }
        if let Some(id) = input.member_id {
            self.check_member(id, &mut errors).await?;
        }
        let (Some(email), Some(name), Some(password), true) =
            (email, name, password, errors.is_empty())
        else {
            return Err(DomainError::Validation(errors));
        };
        let password_hash = hash_password(password.expose().to_owned()).await?;
        self.users
            .insert_user(NewUser {
                email,
                name,
                password_hash,
                is_admin: input.is_admin,
                is_treasurer: input.is_treasurer,
                org_unit_id: input.org_unit_id,
                member_id: input.member_id,
            })
            .await
    }
}

/// The enrolled secret of a user, or an error if the stored one is unusable.
fn stored_secret(user: &User) -> DomainResult<OtpSecret> {
    let raw = user.otp_secret.as_deref().ok_or(DomainError::OtpInvalid)?;
    OtpSecret::parse(raw).map_err(|e| {
        DomainError::Unexpected(anyhow::anyhow!(
            "the stored TOTP secret of user {} is unusable: {e}",
            user.id.0
        ))
    })
}

fn unix_now() -> u64 {
    u64::try_from(Utc::now().timestamp()).unwrap_or_default()
}

/// Cached profiles carry their unit's path, which decides their scope: a move of the tree
/// drops them all.
#[async_trait]
impl Listener for AccountService {
    async fn on(&self, event: Event) {
        if event == Event::OrgTreeChanged {
            let cache = self.cache.as_ref();
            let evicted = match cache.scan_prefix(&format!("{USER_NAMESPACE}:")).await {
                Ok(keys) if !keys.is_empty() => cache.delete(&keys).await.map(|_| ()),
                Ok(_) => Ok(()),
                Err(e) => Err(e),
            };
            if let Err(e) = evicted {
                tracing::warn!(error = %e, "could not evict cached profiles; they expire with their TTL");
            }
        }
    }
}
