//! The organisation: a tree of org units (central committee → regional committees → sectors →
//! cells), and the rules of its shape.

use std::str::FromStr;

use crate::access::UnitPath;
use crate::shared::validation;
use crate::shared::{DomainError, DomainResult, OrgUnitId};

/// The level of an org unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
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

/// An org unit as stored.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
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
pub fn parse_unit_name(raw: &str) -> DomainResult<String> {
    validation::name("name", raw, 200)
}

/// Whether a unit of `kind` may sit under `parent` (none: a root): each kind sits under the kind
/// just above it.
pub fn check_parent(kind: OrgUnitKind, parent: Option<&OrgUnit>) -> DomainResult<()> {
    match (kind.parent_kind(), parent) {
        (None, None) => Ok(()),
        (None, Some(_)) => Err(DomainError::invalid(
            "parent_id",
            "the central committee has no parent",
        )),
        (Some(expected), None) => Err(DomainError::invalid(
            "parent_id",
            format!(
                "a {} unit needs a {} parent",
                kind.as_str(),
                expected.as_str()
            ),
        )),
        (Some(expected), Some(parent)) if parent.kind != expected => Err(DomainError::invalid(
            "parent_id",
            format!(
                "a {} unit needs a {} parent, not a {} one",
                kind.as_str(),
                expected.as_str(),
                parent.kind.as_str()
            ),
        )),
        _ => Ok(()),
    }
}

/// Whether `unit` may move under `parent`, as both stand now: never below itself, and only
/// under the level just above it.
pub fn check_move(unit: &OrgUnit, parent: &OrgUnit) -> DomainResult<()> {
    if unit.path.contains(&parent.path) {
        return Err(DomainError::invalid(
            "parent_id",
            "a unit cannot move below itself",
        ));
    }
    check_parent(unit.kind, Some(parent))
}

/// What still refers to a unit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Dependents {
    /// Units directly below it.
    pub units: i64,
    /// Users who belong to it.
    pub users: i64,
    /// Members in it.
    pub members: i64,
    /// Files that belong to it.
    pub files: i64,
}

impl Dependents {
    /// What is left, in words (`1 user and 2 members`), or `None` when nothing is.
    pub fn describe(&self) -> Option<String> {
        let left: Vec<String> = [
            (self.units, "unit"),
            (self.users, "user"),
            (self.members, "member"),
            (self.files, "file"),
        ]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}{}", if n == 1 { "" } else { "s" }))
        .collect();
        let (last, rest) = left.split_last()?;
        Some(match rest {
            [] => last.clone(),
            _ => format!("{} and {last}", rest.join(", ")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_nest_in_one_order() {
        assert_eq!(OrgUnitKind::Cell.parent_kind(), Some(OrgUnitKind::Sector));
        assert_eq!(OrgUnitKind::Central.parent_kind(), None);
        assert!("branch".parse::<OrgUnitKind>().is_err());
    }

    fn unit(id: i64, kind: OrgUnitKind, path: &str) -> OrgUnit {
        OrgUnit {
            id: OrgUnitId(id),
            name: format!("unit {id}"),
            kind,
            parent_id: None,
            path: UnitPath::from_stored(path.into()),
        }
    }

    #[test]
    fn a_unit_moves_only_under_the_level_above_and_never_below_itself() {
        let sector = unit(4, OrgUnitKind::Sector, "/1/2/4/");
        let cell = unit(9, OrgUnitKind::Cell, "/1/2/4/9/");
        let other_sector = unit(5, OrgUnitKind::Sector, "/1/3/5/");
        let regional = unit(2, OrgUnitKind::Regional, "/1/2/");
        assert!(check_move(&cell, &other_sector).is_ok());
        assert!(check_move(&cell, &regional).is_err());
        assert!(check_move(&sector, &cell).is_err());
        assert!(check_move(&sector, &sector).is_err());
    }

    #[test]
    fn what_is_left_in_a_unit_is_said_in_words() {
        assert_eq!(Dependents::default().describe(), None);
        let left = Dependents {
            users: 1,
            members: 2,
            ..Dependents::default()
        };
        assert_eq!(left.describe().unwrap(), "1 user and 2 members");
    }
}
