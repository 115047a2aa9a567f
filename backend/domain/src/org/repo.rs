//! What the org context needs from storage.

use async_trait::async_trait;

use crate::access::UnitScope;
use crate::org::model::{Dependents, OrgUnit, OrgUnitKind};
use crate::shared::{DomainResult, OrgUnitId};

/// A rule a move must pass, applied to the unit and its new parent as they stand inside the
/// move's transaction.
pub type MoveCheck = fn(&OrgUnit, &OrgUnit) -> DomainResult<()>;

/// The org units.
#[async_trait]
pub trait OrgRepo: Send + Sync {
    /// Creates a unit under `parent` (or as a root) and answers it with its path, taken from the
    /// parent as it stands inside the insert's transaction (a move may have changed it since
    /// `parent` was read). `NotFound` when the parent is gone.
    async fn insert_unit(
        &self,
        name: &str,
        kind: OrgUnitKind,
        parent: Option<&OrgUnit>,
    ) -> DomainResult<OrgUnit>;
    /// The unit with this id, if any.
    async fn unit(&self, id: OrgUnitId) -> DomainResult<Option<OrgUnit>>;
    /// The units inside a scope, parents before children.
    async fn units(&self, scope: &UnitScope) -> DomainResult<Vec<OrgUnit>>;
    /// Renames a unit.
    async fn rename_unit(&self, id: OrgUnitId, name: &str) -> DomainResult<OrgUnit>;
    /// Moves `id` under `parent` in one transaction that excludes every other move and insert:
    /// `check` sees both units as they stand inside it (so two moves at once cannot make a cycle
    /// or a stale path), then the paths of the whole subtree are rewritten. `NotFound` when
    /// either unit is gone.
    async fn move_unit(
        &self,
        id: OrgUnitId,
        parent: OrgUnitId,
        check: MoveCheck,
    ) -> DomainResult<OrgUnit>;
    /// What still refers to a unit.
    async fn dependents(&self, id: OrgUnitId) -> DomainResult<Dependents>;
    /// Deletes a unit with no dependents; `false` when it did not exist.
    async fn delete_unit(&self, id: OrgUnitId) -> DomainResult<bool>;
}
