//! The organisation: a tree of org units (central committee → regional committees → sectors →
//! cells), stored with a materialized path (`/1/4/9/`) so "this unit and everything below it" is
//! one range scan on an ordinary index, on PostgreSQL and SQLite alike.

use std::fmt;
use std::str::FromStr;

use crate::error::DomainError;

/// An org unit's database id.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct OrgUnitId(pub i64);

impl fmt::Display for OrgUnitId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The level of an org unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrgUnitKind {
    /// The central committee (CC): the root.
    Central,
    /// A regional committee (CR), under the central committee.
    Regional,
    /// A sector (setor), under a regional committee.
    Sector,
    /// A cell (célula), under a sector.
    Cell,
}

impl OrgUnitKind {
    /// Every kind, top down.
    pub const ALL: [OrgUnitKind; 4] = [
        OrgUnitKind::Central,
        OrgUnitKind::Regional,
        OrgUnitKind::Sector,
        OrgUnitKind::Cell,
    ];

    /// The wire and database name.
    pub fn as_str(self) -> &'static str {
        match self {
            OrgUnitKind::Central => "central",
            OrgUnitKind::Regional => "regional",
            OrgUnitKind::Sector => "sector",
            OrgUnitKind::Cell => "cell",
        }
    }

    /// The kind a parent of this kind must have (`None`: it is a root).
    pub fn parent_kind(self) -> Option<OrgUnitKind> {
        match self {
            OrgUnitKind::Central => None,
            OrgUnitKind::Regional => Some(OrgUnitKind::Central),
            OrgUnitKind::Sector => Some(OrgUnitKind::Regional),
            OrgUnitKind::Cell => Some(OrgUnitKind::Sector),
        }
    }
}

impl FromStr for OrgUnitKind {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OrgUnitKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                DomainError::invalid("kind", "must be one of central, regional, sector, cell")
            })
    }
}

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

/// An org unit as stored.
#[derive(Debug, Clone)]
pub struct OrgUnit {
    /// Database id.
    pub id: OrgUnitId,
    /// Display name.
    pub name: String,
    /// Its level.
    pub kind: OrgUnitKind,
    /// Its parent (`None` for the central committee).
    pub parent_id: Option<OrgUnitId>,
    /// Its materialized path.
    pub path: UnitPath,
}

/// A unit name: 1 to 200 characters after trimming.
pub fn parse_unit_name(raw: &str) -> Result<String, DomainError> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(DomainError::invalid("name", "must be 1 to 200 characters"));
    }
    Ok(name.to_owned())
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

    #[test]
    fn kinds_nest_in_one_order() {
        assert_eq!(OrgUnitKind::Cell.parent_kind(), Some(OrgUnitKind::Sector));
        assert_eq!(OrgUnitKind::Central.parent_kind(), None);
        assert!("branch".parse::<OrgUnitKind>().is_err());
    }
}
