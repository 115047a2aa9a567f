//! Users: accounts that log in, and the newtypes that parse their input.

use chrono::{DateTime, Utc};

use crate::access::{Actor, UnitPath, UnitScope};
use crate::org::OrgUnitKind;
use crate::shared::validation::{self, Email};
use crate::shared::{DomainError, DomainResult, MemberId, OrgUnitId, UserId};

/// A user account as stored. Its `Debug` leaves out the password hash and the TOTP secret.
#[derive(Clone)]
pub struct User {
    /// Database id.
    pub id: UserId,
    /// Login email, lower-cased.
    pub email: Email,
    /// Display name.
    pub name: String,
    /// The argon2id PHC string.
    pub password_hash: String,
    /// Administrators see and manage everything.
    pub is_admin: bool,
    /// Treasurers also see every due and payment of the organisation.
    pub is_treasurer: bool,
    /// Inactive users cannot log in or use a token.
    pub is_active: bool,
    /// The org unit the user belongs to (administrators may have none).
    pub org_unit: Option<UserUnit>,
    /// The user's own member record, if linked.
    pub member_id: Option<MemberId>,
    /// Whether login needs a one-time code.
    pub otp_enabled: bool,
    /// Whether an administrator reset the password: the user must set a new one first.
    pub must_change_password: bool,
    /// The TOTP secret (base32): enabled, or an enrolment waiting for its first code. Never
    /// cached or shown after enrolment.
    pub otp_secret: Option<String>,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("is_admin", &self.is_admin)
            .field("is_treasurer", &self.is_treasurer)
            .field("is_active", &self.is_active)
            .field("org_unit", &self.org_unit)
            .field("otp_enabled", &self.otp_enabled)
            .field("must_change_password", &self.must_change_password)
            .finish_non_exhaustive()
    }
}

/// The org unit of a user, as far as access needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserUnit {
    /// The unit's id.
    pub id: OrgUnitId,
    /// Its level.
    pub kind: OrgUnitKind,
    /// Its materialized path.
    pub path: UnitPath,
}

/// What the store needs to create a user (the password is already hashed).
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Login email.
    pub email: Email,
    /// Display name.
    pub name: UserName,
    /// The argon2id PHC string.
    pub password_hash: String,
    /// Whether the user is an administrator.
    pub is_admin: bool,
    /// Whether the user is a treasurer.
    pub is_treasurer: bool,
    /// The user's org unit.
    pub org_unit_id: Option<OrgUnitId>,
    /// The user's own member record.
    pub member_id: Option<MemberId>,
}

/// A parsed change to a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserUpdate {
    /// New login email.
    pub email: Option<Email>,
    /// New display name.
    pub name: Option<UserName>,
    /// New argon2id hash.
    pub password_hash: Option<String>,
    /// New administrator flag.
    pub is_admin: Option<bool>,
    /// New treasurer flag.
    pub is_treasurer: Option<bool>,
    /// New active flag.
    pub is_active: Option<bool>,
    /// Whether the user must set a new password before anything else.
    pub must_change_password: Option<bool>,
    /// New org unit (`Some(None)` removes it).
    pub org_unit_id: Option<Option<OrgUnitId>>,
    /// New member link (`Some(None)` removes it).
    pub member_id: Option<Option<MemberId>>,
}

/// A display name: 1 to 200 characters after trimming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserName(String);

impl UserName {
    /// Parses a display name.
    pub fn parse(raw: &str) -> DomainResult<Self> {
        validation::name("name", raw, 200).map(Self)
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new password that meets the policy: 8 to 256 characters.
#[derive(Clone)]
pub struct NewPassword(String);

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(***)")
    }
}

impl NewPassword {
    /// Parses a password against the policy.
    pub fn parse(raw: &str) -> DomainResult<Self> {
        let len = raw.chars().count();
        if !(8..=256).contains(&len) {
            return Err(DomainError::invalid(
                "password",
                "must be 8 to 256 characters",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The password's text, for hashing only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl User {
    /// The caller this user is: administrators and central-committee users see everything; regional,
    /// sector and cell users their subtree.
    pub fn actor(&self) -> Actor {
        let units = match &self.org_unit {
            _ if self.is_admin => UnitScope::All,
            Some(unit) if unit.kind == OrgUnitKind::Central => UnitScope::All,
            Some(unit) => UnitScope::Subtree(unit.path.clone()),
            None => UnitScope::Nothing,
        };
        Actor {
            user_id: self.id,
            is_admin: self.is_admin,
            is_treasurer: self.is_treasurer,
            org_unit_id: self.org_unit.as_ref().map(|u| u.id),
            units,
            ip: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_passwords_are_refused_and_never_printed() {
        assert!(NewPassword::parse("short").is_err());
        let password = NewPassword::parse("long enough secret").unwrap();
        assert_eq!(format!("{password:?}"), "NewPassword(***)");
    }

    #[test]
    fn names_must_not_be_blank() {
        assert!(UserName::parse("   ").is_err());
        assert_eq!(UserName::parse(" Ana ").unwrap().as_str(), "Ana");
    }
}
