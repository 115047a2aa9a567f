//! Users: accounts that log in, and the newtypes that parse their input.

use chrono::{DateTime, Utc};

use crate::error::{DomainError, DomainResult};
use crate::members::MemberId;
use crate::org::{OrgUnitId, OrgUnitKind, UnitPath};

/// A user's database id.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct UserId(pub i64);

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
    /// New org unit (`Some(None)` removes it).
    pub org_unit_id: Option<Option<OrgUnitId>>,
    /// New member link (`Some(None)` removes it).
    pub member_id: Option<Option<MemberId>>,
}

/// Which org units' data a caller may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnitScope {
    /// Every unit (administrators and the central committee).
    All,
    /// This unit and everything below it.
    Subtree(UnitPath),
    /// No unit (a user without one sees only what it uploaded itself).
    Nothing,
}

impl UnitScope {
    /// Whether data of a unit with this path is inside the scope.
    pub fn contains(&self, path: Option<&UnitPath>) -> bool {
        match (self, path) {
            (UnitScope::All, _) => true,
            (UnitScope::Subtree(root), Some(path)) => root.contains(path),
            _ => false,
        }
    }

    /// A short stable tag for cache keys that depend on the scope (`all`, `u/1/4/`, `none`).
    pub fn cache_tag(&self) -> String {
        match self {
            UnitScope::All => "all".into(),
            UnitScope::Subtree(path) => format!("u{}", path.as_str()),
            UnitScope::Nothing => "none".into(),
        }
    }
}

/// Who is making a request, computed once per request from the authenticated user: every
/// service takes it, so no query can forget the caller's scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The caller's user id.
    pub user_id: UserId,
    /// Whether the caller is an administrator.
    pub is_admin: bool,
    /// Whether the caller is a treasurer.
    pub is_treasurer: bool,
    /// The caller's org unit, if any.
    pub org_unit_id: Option<OrgUnitId>,
    /// Which units' data the caller sees.
    pub units: UnitScope,
}

impl Actor {
    /// The actor of a user: administrators and central-committee users see everything; regional,
    /// sector and cell users their subtree.
    pub fn of(user: &User) -> Self {
        let units = match &user.org_unit {
            _ if user.is_admin => UnitScope::All,
            Some(unit) if unit.kind == OrgUnitKind::Central => UnitScope::All,
            Some(unit) => UnitScope::Subtree(unit.path.clone()),
            None => UnitScope::Nothing,
        };
        Self {
            user_id: user.id,
            is_admin: user.is_admin,
            is_treasurer: user.is_treasurer,
            org_unit_id: user.org_unit.as_ref().map(|u| u.id),
            units,
        }
    }

    /// Which units' dues and payments the caller sees: a treasurer sees the whole
    /// organisation's, everyone else those of its own scope.
    pub fn money_units(&self) -> UnitScope {
        if self.is_treasurer {
            UnitScope::All
        } else {
            self.units.clone()
        }
    }

    /// Refuses anyone but an administrator.
    pub fn require_admin(&self) -> DomainResult<()> {
        if self.is_admin {
            Ok(())
        } else {
            Err(DomainError::admin_required())
        }
    }
}

/// A syntactically valid email address, trimmed and lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Parses an email: one `@`, a non-empty local part, a domain with a dot, no spaces, at most 254 chars.
    pub fn parse(raw: &str) -> DomainResult<Self> {
        let email = raw.trim().to_lowercase();
        let valid = email.len() <= 254
            && !email.chars().any(char::is_whitespace)
            && match email.split_once('@') {
                Some((local, domain)) => {
                    !local.is_empty()
                        && !domain.contains('@')
                        && domain.contains('.')
                        && !domain.starts_with('.')
                        && !domain.ends_with('.')
                }
                None => false,
            };
        if valid {
            Ok(Self(email))
        } else {
            Err(DomainError::invalid(
                "email",
                "must be a valid email address",
            ))
        }
    }

    /// The address as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A display name: 1 to 200 characters after trimming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserName(String);

impl UserName {
    /// Parses a display name.
    pub fn parse(raw: &str) -> DomainResult<Self> {
        let name = raw.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(DomainError::invalid("name", "must be 1 to 200 characters"));
        }
        Ok(Self(name.to_owned()))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(
            Email::parse("  Ana@Example.ORG ").unwrap().as_str(),
            "ana@example.org"
        );
    }

    #[test]
    fn malformed_emails_are_refused() {
        for bad in [
            "",
            "ana",
            "ana@",
            "@example.org",
            "a b@example.org",
            "ana@example",
            "a@b@c.org",
            "ana@.org",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad} should be refused");
        }
    }

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
