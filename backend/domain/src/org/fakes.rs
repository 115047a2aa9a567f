//! A small org tree for unit tests of other contexts (compiled only for tests).

use async_trait::async_trait;

use crate::access::{UnitPath, UnitScope};
use crate::org::{Dependents, MoveCheck, OrgRepo, OrgUnit, OrgUnitKind};
use crate::shared::{DomainResult, OrgUnitId};

/// Two cells, 3 and 4, under `/1/2/`; it can only be read one unit at a time, and panics on
/// anything a test of another context should not call.
pub struct TwoCells;

#[async_trait]
impl OrgRepo for TwoCells {
    async fn insert_unit(
        &self,
        _: &str,
        _: OrgUnitKind,
        _: Option<&OrgUnit>,
    ) -> DomainResult<OrgUnit> {
        unreachable!("TwoCells only reads units")
    }
    async fn unit(&self, id: OrgUnitId) -> DomainResult<Option<OrgUnit>> {
        Ok(matches!(id.0, 3 | 4).then(|| OrgUnit {
            id,
            name: format!("Cell {id}"),
            kind: OrgUnitKind::Cell,
            parent_id: Some(OrgUnitId(2)),
            path: UnitPath::from_stored(format!("/1/2/{id}/")),
        }))
    }
    async fn units(&self, _: &UnitScope) -> DomainResult<Vec<OrgUnit>> {
        unreachable!("TwoCells only reads units one by one")
    }
    async fn rename_unit(&self, _: OrgUnitId, _: &str) -> DomainResult<OrgUnit> {
        unreachable!("TwoCells only reads units")
    }
    async fn move_unit(&self, _: OrgUnitId, _: OrgUnitId, _: MoveCheck) -> DomainResult<OrgUnit> {
        unreachable!("TwoCells only reads units")
    }
    async fn dependents(&self, _: OrgUnitId) -> DomainResult<Dependents> {
        unreachable!("TwoCells only reads units")
    }
    async fn delete_unit(&self, _: OrgUnitId) -> DomainResult<bool> {
        unreachable!("TwoCells only reads units")
    }
}
