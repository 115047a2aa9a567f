//! The organisation tree: central committee → regional committees → sectors → cells.
//! Administrators build and reshape it; everyone reads the part inside their scope.

#[cfg(test)]
pub mod fakes;
pub mod model;
pub mod repo;
pub mod service;

pub use model::{check_move, check_parent, parse_unit_name, Dependents, OrgUnit, OrgUnitKind};
pub use repo::{MoveCheck, OrgRepo};
pub use service::{OrgUnitService, UnitChange, ORG_TREE};
