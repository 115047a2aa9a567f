//! Accounts: creating and changing users, their passwords, one-time codes and recovery codes,
//! the cached profiles access reads on every request, and the first administrator. Every change
//! that matters to security is recorded in the audit log.
//!
//! Profiles are cached under `user:<id>:profile` with the same two rules as sessions: a change
//! writes a short tombstone in place of the profile, and a reader fills the cache only when the
//! key is absent, so a reader racing a demotion cannot put the old profile back.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::access::{Actor, UnitPath};
use crate::accounts::model::{NewPassword, NewUser, User, UserName, UserUnit, UserUpdate};
use crate::accounts::otp::{recovery_hash, OtpSecret, RecoveryCodes};
use crate::accounts::password::{hash_password, verify_password};
use crate::accounts::repo::UserRepo;
use crate::accounts::sessions::{SessionId, SessionService};
use crate::audit::{AuditAction, AuditLog, NewAuditEvent};
use crate::members::MemberRepo;
use crate::org::OrgRepo;
use crate::shared::cache::CachedValue;
use crate::shared::cached::{CacheLayer, Cacheable, Invalidation, Namespace, TtlClass};
use crate::shared::events::{Event, Events, Listener};
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

/// Cached user profiles, `user:<id>:profile` (user data). A change leaves a tombstone for a
/// minute, far longer than any read in flight, so a reader that fetched the old row just
/// before cannot cache it again.
pub static PROFILES: Namespace = Namespace {
    name: "user",
    ttl: TtlClass::UserData,
    invalidation: Invalidation::Tombstone(Duration::from_secs(60)),
};

/// A user's profile key inside [`PROFILES`]: `<id>:profile`.
fn profile_key(id: UserId) -> String {
    let mut key = id.0.to_string();
    key.push_str(":profile");
    key
}

/// Users, passwords and codes.
pub struct AccountService {
    users: Arc<dyn UserRepo>,
    units: Arc<dyn OrgRepo>,
    members: Arc<dyn MemberRepo>,
    sessions: Arc<SessionService>,
    cache: CacheLayer,
    audit: Arc<AuditLog>,
    events: Events,
    /// Verified against when the email is unknown, so timing does not reveal which emails exist.
    dummy_hash: String,
}

/// What is cached of a user: everything access needs, never the password hash or a secret.
#[derive(Clone, Serialize, Deserialize)]
struct CachedProfile {
    id: i64,
    email: String,
    name: String,
    is_admin: bool,
    is_treasurer: bool,
    is_active: bool,
    otp_enabled: bool,
    #[serde(default)]
    must_change_password: bool,
    unit: Option<(i64, String, String)>,
    #[serde(default)]
    member_id: Option<i64>,
    created_at: DateTime<Utc>,
}

/// A cached profile as read: the user, checked once when its text is decoded (an in-process
/// store keeps the decoded value), not on every request that reads it.
#[derive(Clone, Serialize, Deserialize)]
#[serde(try_from = "CachedProfile", into = "CachedProfile")]
struct Profile(User);

impl Cacheable for Profile {}

impl Profile {
    /// The user without what is never cached, even in this process: the password hash and the
    /// one-time-code secret.
    fn of(user: User) -> Self {
        Self(User {
            password_hash: String::new(),
            otp_secret: None,
            ..user
        })
    }
}

impl TryFrom<CachedProfile> for Profile {
    type Error = &'static str;

    fn try_from(cached: CachedProfile) -> Result<Self, Self::Error> {
        cached
            .into_user()
            .map(Profile)
            .ok_or("a cached profile whose email or unit kind does not parse")
    }
}

impl From<Profile> for CachedProfile {
    fn from(profile: Profile) -> Self {
        CachedProfile::of(&profile.0)
    }
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
            must_change_password: user.must_change_password,
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
            must_change_password: self.must_change_password,
            otp_secret: None,
            org_unit,
            member_id: self.member_id.map(MemberId),
            created_at: self.created_at,
        })
    }
}

impl AccountService {
    /// The service over the users (and the units and members they link to), ending sessions
    /// through `sessions`, caching profiles in `cache`, recording changes to `audit` and telling
    /// `events` when a user's name changes.
    pub async fn new(
        users: Arc<dyn UserRepo>,
        units: Arc<dyn OrgRepo>,
        members: Arc<dyn MemberRepo>,
        sessions: Arc<SessionService>,
        cache: CacheLayer,
        audit: Arc<AuditLog>,
        events: Events,
    ) -> DomainResult<Self> {
        let dummy_hash = hash_password("a password no account has".to_owned()).await?;
        cache.register(&PROFILES);
        Ok(Self {
            users,
            units,
            members,
            sessions,
            cache,
            audit,
            events,
            dummy_hash,
        })
    }

    /// The cache key of a user's profile, `user:<id>:profile`, for a caller that reads it with
    /// other keys in one round trip and hands it to [`AccountService::profile`].
    pub fn profile_cache_key(&self, id: UserId) -> String {
        self.cache.key(&PROFILES, &profile_key(id))
    }

    /// Drops a user's cached profile after a change (a tombstone: see [`PROFILES`]).
    pub async fn forget(&self, id: UserId) {
        self.cache.forget(&PROFILES, &[profile_key(id)]).await;
    }

    /// Ends a user's sessions (but `keep`) after its password changed or it was locked out.
    async fn end_sessions(&self, id: UserId, keep: Option<&SessionId>) -> DomainResult<()> {
        let ended = self.sessions.end_all(id, keep).await?;
        if ended > 0 {
            tracing::info!(user_id = id.0, ended, "sessions ended");
        }
        Ok(())
    }

    /// Creates a user (administrators only).
    pub async fn create_user(&self, actor: &Actor, input: CreateUser) -> DomainResult<User> {
        actor.require_admin()?;
        let user = self.insert(input).await?;
        self.record(
            actor,
            AuditAction::UserCreated,
            user.id,
            json!({"is_admin": user.is_admin, "is_treasurer": user.is_treasurer,
                   "org_unit_id": user.org_unit.as_ref().map(|u| u.id.0)}),
        )
        .await;
        Ok(user)
    }

    /// The user whose email and password match, if active; `None` for anything else, after the
    /// same work (an unknown email is checked against a dummy hash, so timing tells nothing).
    pub async fn check_password(&self, email: &str, password: &str) -> DomainResult<Option<User>> {
        let user = match Email::parse(email) {
            Ok(email) => self.users.user_by_email(&email).await?,
            Err(_) => None,
        };
        let hash = user
            .as_ref()
            .map_or(self.dummy_hash.clone(), |u| u.password_hash.clone());
        let matches = verify_password(password.to_owned(), hash).await;
        Ok(user.filter(|u| matches && u.is_active))
    }

    /// Whether `code` is right for the user's secret and for a later time step than any code
    /// accepted before (so a code works once, on every instance, whatever the cache holds).
    pub async fn accept_code(&self, user: &User, code: &str, unix: u64) -> DomainResult<bool> {
        let secret = stored_secret(user)?;
        match secret.matching_step(code, unix) {
            Some(step) => self.users.advance_otp_step(user.id, step).await,
            None => Ok(false),
        }
    }

    /// Whether `code` is one of the user's unused recovery codes; it is used up if so.
    pub async fn use_recovery_code(&self, user: &User, code: &str) -> DomainResult<bool> {
        self.users
            .use_recovery_code(user.id, &recovery_hash(code))
            .await
    }

    /// Starts enrolment: a new secret for the caller, kept until a correct code enables it.
    pub async fn otp_setup(&self, actor: &Actor) -> DomainResult<(User, OtpSecret)> {
        let user = self.stored(actor.user_id).await?;
        if user.otp_enabled {
            return Err(DomainError::conflict(
                ErrorCode::OtpAlreadyEnabled,
                "one-time codes are already enabled: disable them first to enrol again",
            ));
        }
        let secret = OtpSecret::generate();
        self.users
            .set_otp(user.id, Some(secret.expose_base32()), false)
            .await?;
        Ok((user, secret))
    }

    /// Turns one-time codes on after a correct code for the enrolled secret, and answers ten
    /// fresh recovery codes (replacing any earlier ones); `None` when codes were on already.
    pub async fn otp_enable(
        &self,
        actor: &Actor,
        code: &str,
        unix: u64,
    ) -> DomainResult<Option<RecoveryCodes>> {
        let user = self.stored(actor.user_id).await?;
        if user.otp_enabled {
            return Ok(None);
        }
        if user.otp_secret.is_none() {
            return Err(DomainError::conflict(
                ErrorCode::OtpNotEnrolled,
                "call /api/auth/otp/setup first",
            ));
        }
        if !self.accept_code(&user, code, unix).await? {
            return Err(DomainError::invalid(
                "code",
                "the code is wrong or already used",
            ));
        }
        let recovery = RecoveryCodes::generate();
        self.users
            .replace_recovery_codes(user.id, &recovery.hashes)
            .await?;
        self.users
            .set_otp(user.id, user.otp_secret.as_deref(), true)
            .await?;
        self.forget(user.id).await;
        self.record(actor, AuditAction::OtpEnabled, user.id, json!({}))
            .await;
        tracing::info!(user_id = user.id.0, "one-time codes enabled");
        Ok(Some(recovery))
    }

    /// Turns one-time codes off; needs a current code. Answers whether anything changed
    /// (already off is not an error).
    pub async fn otp_disable(&self, actor: &Actor, code: &str, unix: u64) -> DomainResult<bool> {
        let user = self.stored(actor.user_id).await?;
        if !user.otp_enabled {
            return Ok(false);
        }
        if !self.accept_code(&user, code, unix).await? {
            return Err(DomainError::invalid(
                "code",
                "the code is wrong or already used",
            ));
        }
        self.turn_off_codes(actor, &user).await?;
        Ok(true)
    }

    /// Turns a user's one-time codes off (administrators only), for someone who lost both the
    /// authenticator and the recovery codes.
    pub async fn disable_user_otp(&self, actor: &Actor, id: UserId) -> DomainResult<User> {
        actor.require_admin()?;
        let user = self.stored(id).await?;
        self.turn_off_codes(actor, &user).await?;
        self.stored(id).await
    }

    async fn turn_off_codes(&self, actor: &Actor, user: &User) -> DomainResult<()> {
        self.users.set_otp(user.id, None, false).await?;
        self.users.replace_recovery_codes(user.id, &[]).await?;
        self.forget(user.id).await;
        self.record(
            actor,
            AuditAction::OtpDisabled,
            user.id,
            json!({"by_admin": actor.user_id != user.id}),
        )
        .await;
        tracing::info!(user_id = user.id.0, "one-time codes disabled");
        Ok(())
    }

    /// Sets a new password for a user who forgot theirs (administrators only): every session of
    /// the user ends, and the user must choose a new password at the next login before anything
    /// else.
    pub async fn reset_password(
        &self,
        actor: &Actor,
        id: UserId,
        password: &str,
    ) -> DomainResult<User> {
        actor.require_admin()?;
        self.stored(id).await?;
        let password = NewPassword::parse(password)?;
        let update = UserUpdate {
            password_hash: Some(hash_password(password.expose().to_owned()).await?),
            must_change_password: Some(true),
            ..UserUpdate::default()
        };
        let user = self.users.update_user(id, &update).await?;
        self.forget(id).await;
        self.end_sessions(id, None).await?;
        self.record(actor, AuditAction::PasswordReset, id, json!({}))
            .await;
        Ok(user)
    }

    /// The active user behind an id, from its cached profile (`cached`, read by the caller in
    /// the request's one cache round trip under [`AccountService::profile_cache_key`]) or the
    /// database, caching it then unless a change just left a tombstone. An inactive or missing
    /// user is `NotFound`. The user carries no password hash or secret.
    pub async fn profile(&self, id: UserId, cached: Option<CachedValue>) -> DomainResult<User> {
        let profile = self
            .cache
            .lookup_read(&PROFILES, &profile_key(id), cached, || async {
                Ok(Profile::of(self.stored(id).await?))
            })
            .await?
            .value;
        Some(profile.0)
            .filter(|u| u.is_active)
            .ok_or(DomainError::NotFound("user"))
    }

    /// The active user behind an id (API tokens, refreshes).
    pub async fn user(&self, id: UserId) -> DomainResult<User> {
        let key = self.profile_cache_key(id);
        let cached = self.cache.cache().get(&key).await.ok().flatten();
        self.profile(id, cached).await
    }

    async fn stored(&self, id: UserId) -> DomainResult<User> {
        self.users
            .user_by_id(id)
            .await?
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
        self.stored(id).await
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
        let before = self.stored(id).await?;
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
        if user.name != before.name {
            self.events.publish(Event::UsersChanged).await;
        }
        if update.password_hash.is_some() || update.is_active == Some(false) {
            self.end_sessions(id, None).await?;
        }
        let changes = security_changes(&before, &user, update.password_hash.is_some());
        if !changes.is_empty() {
            self.record(
                actor,
                AuditAction::UserUpdated,
                id,
                json!({ "changes": changes }),
            )
            .await;
        }
        Ok(user)
    }

    /// Changes the caller's own name and password; a new password needs the current one, ends
    /// every other session of the caller (all but `current`) and clears a pending reset.
    pub async fn update_self(
        &self,
        actor: &Actor,
        current: Option<&SessionId>,
        name: Option<String>,
        password: Option<String>,
        current_password: Option<String>,
    ) -> DomainResult<User> {
        let me = self.stored(actor.user_id).await?;
        if password.is_some() && !self.password_is(&me, current_password).await {
            return Err(DomainError::invalid(
                "current_password",
                "must be your current password to set a new one",
            ));
        }
        let mut update = self
            .parse_change(ChangeUser {
                name,
                password,
                ..ChangeUser::default()
            })
            .await?;
        let changed_password = update.password_hash.is_some();
        if changed_password {
            update.must_change_password = Some(false);
        }
        let user = self.users.update_user(actor.user_id, &update).await?;
        self.forget(actor.user_id).await;
        if user.name != me.name {
            self.events.publish(Event::UsersChanged).await;
        }
        if changed_password {
            self.end_sessions(actor.user_id, current).await?;
            self.record(actor, AuditAction::PasswordChanged, me.id, json!({}))
                .await;
        }
        Ok(user)
    }

    /// Whether `given` is the user's password (false when none was given).
    pub async fn password_is(&self, user: &User, given: Option<String>) -> bool {
        match given {
            Some(given) => verify_password(given, user.password_hash.clone()).await,
            None => false,
        }
    }

    /// The stored user behind an actor (with its password hash), for checks of its password.
    pub async fn own_account(&self, actor: &Actor) -> DomainResult<User> {
        self.stored(actor.user_id).await
    }

    /// Deletes a user (administrators only, not themselves); one that files or payments refer
    /// to is `user_in_use` (deactivate it instead).
    pub async fn delete_user(&self, actor: &Actor, id: UserId) -> DomainResult<()> {
        actor.require_admin()?;
        if id == actor.user_id {
            return Err(DomainError::forbidden(
                "administrators cannot delete themselves",
            ));
        }
        let before = self.stored(id).await?;
        if !self.users.delete_user(id).await? {
            return Err(DomainError::NotFound("user"));
        }
        self.forget(id).await;
        self.end_sessions(id, None).await?;
        self.record(
            actor,
            AuditAction::UserDeleted,
            id,
            json!({"before": {"email": before.email.as_str(), "name": before.name,
                   "is_admin": before.is_admin, "is_treasurer": before.is_treasurer,
                   "org_unit_id": before.org_unit.as_ref().map(|u| u.id.0)}}),
        )
        .await;
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
            self.check_unit(id, &mut errors).await?;
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
            must_change_password: None,
            org_unit_id: change.org_unit_id,
            member_id: change.member_id,
        })
    }

    /// Adds a field error when no unit has this id.
    async fn check_unit(&self, id: OrgUnitId, errors: &mut Vec<FieldError>) -> DomainResult<()> {
        if self.units.unit(id).await?.is_none() {
            errors.push(FieldError::new("org_unit_id", "no such org unit"));
        }
        Ok(())
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
            .create_without_caller(CreateUser {
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

    /// Creates a user without a caller (start-up and the command line); recorded in the audit
    /// log with no actor.
    pub async fn create_without_caller(&self, input: CreateUser) -> DomainResult<User> {
        let user = self.insert(input).await?;
        self.audit
            .record(
                NewAuditEvent::new(AuditAction::UserCreated, None)
                    .subject(format!("user:{}", user.id.0))
                    .detail(json!({"is_admin": user.is_admin, "by": "command line or start-up"})),
            )
            .await;
        Ok(user)
    }

    async fn insert(&self, input: CreateUser) -> DomainResult<User> {
        let mut errors: Vec<FieldError> = Vec::new();
        let email = collect_field(Email::parse(&input.email), &mut errors);
        let name = collect_field(UserName::parse(&input.name), &mut errors);
        let password = collect_field(NewPassword::parse(&input.password), &mut errors);
        if let Some(id) = input.org_unit_id {
            self.check_unit(id, &mut errors).await?;
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
        let user = self
            .users
            .insert_user(NewUser {
                email,
                name,
                password_hash,
                is_admin: input.is_admin,
                is_treasurer: input.is_treasurer,
                org_unit_id: input.org_unit_id,
                member_id: input.member_id,
            })
            .await?;
        Ok(user)
    }

    /// Records an act of `actor` on user `subject`.
    async fn record(&self, actor: &Actor, action: AuditAction, subject: UserId, detail: Value) {
        self.audit
            .record(
                NewAuditEvent::new(action, Some(actor.user_id))
                    .subject(format!("user:{}", subject.0))
                    .from_ip(actor.ip)
                    .detail(detail),
            )
            .await;
    }
}

/// What changed that matters to security, as `{"field": [before, after]}` (never a password).
fn security_changes(before: &User, after: &User, password: bool) -> Map<String, Value> {
    let mut changes = Map::new();
    let mut note = |field: &str, from: Value, to: Value| {
        if from != to {
            changes.insert(field.to_owned(), json!([from, to]));
        }
    };
    note("is_admin", json!(before.is_admin), json!(after.is_admin));
    note(
        "is_treasurer",
        json!(before.is_treasurer),
        json!(after.is_treasurer),
    );
    note("is_active", json!(before.is_active), json!(after.is_active));
    note(
        "email",
        json!(before.email.as_str()),
        json!(after.email.as_str()),
    );
    note(
        "org_unit_id",
        json!(before.org_unit.as_ref().map(|u| u.id.0)),
        json!(after.org_unit.as_ref().map(|u| u.id.0)),
    );
    if password {
        changes.insert("password".to_owned(), json!("changed"));
    }
    changes
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

/// Cached profiles carry their unit's path, which decides their scope: a move of the tree
/// drops them all.
#[async_trait]
impl Listener for AccountService {
    async fn on(&self, event: Event) {
        if event == Event::OrgTreeChanged {
            // Tombstones, not deletes: a reader in flight must not bring an old path back.
            match self
                .cache
                .cache()
                .scan_prefix(&format!("{}:", PROFILES.name))
                .await
            {
                Ok(keys) => {
                    let ids: Vec<String> = keys
                        .iter()
                        .filter_map(|k| k.strip_prefix(&format!("{}:", PROFILES.name)))
                        .map(str::to_owned)
                        .collect();
                    self.cache.forget(&PROFILES, &ids).await;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "could not drop cached profiles; they expire with their TTL or when the cache recovers");
                }
            }
        }
    }
}
