//! Who is calling and which part of the organisation it sees. The organisation is a tree of
//! units stored with a materialized path (`/1/4/9/`), so "this unit and everything below it" is
//! one range scan on an ordinary index, on PostgreSQL and SQLite alike.

use std::net::IpAddr;

use crate::shared::{DomainError, DomainResult, OrgUnitId, UserId};

/// A unit's materialized path: the ids from the root down to it, `/1/4/9/`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct UnitPath(String);

impl UnitPath {
    /// The path of a root unit.
    pub fn root(id: OrgUnitId) -> Self {
        Self(format!("/{id}/"))
    }

    /// The path of a child of this unit.
    pub fn child(&self, id: OrgUnitId) -> Self {
        Self(format!("{}{id}/", self.0))
    }

    /// Wraps a path read from the store.
    pub fn from_stored(path: String) -> Self {
        Self(path)
    }

    /// The path as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The half-open range `[self, end)` holding this unit and every unit below it, in byte order:
    /// every descendant's path starts with this one, and `'0'` follows `'/'`.
    pub fn subtree_range(&self) -> (String, String) {
        let end = format!("{}0", &self.0[..self.0.len() - 1]);
        (self.0.clone(), end)
    }

    /// Whether `other` is this unit or below it.
    pub fn contains(&self, other: &UnitPath) -> bool {
        other.0.starts_with(&self.0)
    }
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
    /// Where the request came from, for the audit log and login limits (`None` on the command
    /// line). An address, not text: it is formatted only when something is recorded.
    pub ip: Option<IpAddr>,
}

impl Actor {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subtree_range_holds_descendants_and_nothing_else() {
        let cr = UnitPath::root(OrgUnitId(1)).child(OrgUnitId(4));
        let (start, end) = cr.subtree_range();
        let inside = |p: &str| p >= start.as_str() && p < end.as_str();
        assert!(inside("/1/4/"));
        assert!(inside("/1/4/9/"));
        assert!(inside("/1/4/99/123/"));
        assert!(!inside("/1/"));
        assert!(!inside("/1/40/"));
        assert!(!inside("/1/5/"));
        assert!(!inside("/1/3/9/"));
        assert!(cr.contains(&UnitPath::from_stored("/1/4/9/".into())));
        assert!(!cr.contains(&UnitPath::from_stored("/1/40/".into())));
    }
}
