//! The org-unit service: administrators build and reshape the tree; everyone reads the part of
//! it inside their scope.

use std::sync::Arc;

use crate::access::Actor;
use crate::org::model::{check_move, check_parent, parse_unit_name, OrgUnit, OrgUnitKind};
use crate::org::repo::OrgRepo;
use crate::shared::cached::{CacheLayer, Invalidation, Namespace, TtlClass};
use crate::shared::events::{Event, Events};
use crate::shared::{DomainError, DomainResult, ErrorCode, OrgUnitId};

/// A change to an org unit: a new name, a new parent, or both.
#[derive(Debug, Clone, Default)]
pub struct UnitChange {
    /// The new name.
    pub name: Option<String>,
    /// The new parent (the subtree moves with the unit).
    pub parent_id: Option<OrgUnitId>,
}

/// Org units.
pub struct OrgUnitService {
    units: Arc<dyn OrgRepo>,
    cache: CacheLayer,
    events: Events,
}

/// The org tree as each scope sees it, `org:v<version>:tree:<scope tag>` (static data): every
/// change to a unit moves the version.
pub static ORG_TREE: Namespace = Namespace {
    name: "org",
    ttl: TtlClass::Static,
    invalidation: Invalidation::Version,
};

impl OrgUnitService {
    /// The service over the units, caching the tree per scope in `cache`; a move is published
    /// to `events` (scopes follow unit paths).
    pub fn new(units: Arc<dyn OrgRepo>, cache: CacheLayer, events: Events) -> Self {
        cache.register(&ORG_TREE);
        Self {
            units,
            cache,
            events,
        }
    }

    /// Creates a unit under `parent_id` (none for the central committee); the parent's kind must be
    /// the level just above.
    pub async fn create(
        &self,
        actor: &Actor,
        name: &str,
        kind: OrgUnitKind,
        parent_id: Option<OrgUnitId>,
    ) -> DomainResult<OrgUnit> {
        actor.require_admin()?;
        let name = parse_unit_name(name)?;
        let parent = match parent_id {
            Some(id) => Some(
                self.units
                    .unit(id)
                    .await?
                    .ok_or_else(|| DomainError::invalid("parent_id", "no such org unit"))?,
            ),
            None => None,
        };
        check_parent(kind, parent.as_ref())?;
        let unit = self.units.insert_unit(&name, kind, parent.as_ref()).await?;
        self.units_changed().await;
        Ok(unit)
    }

    /// One unit, if it is inside the actor's scope.
    pub async fn get(&self, actor: &Actor, id: OrgUnitId) -> DomainResult<OrgUnit> {
        self.units
            .unit(id)
            .await?
            .filter(|unit| actor.units.contains(Some(&unit.path)))
            .ok_or(DomainError::NotFound("org unit"))
    }

    /// The units inside the actor's scope, parents before children; from the cache when the
    /// same scope asked since the last change.
    pub async fn list(&self, actor: &Actor) -> DomainResult<Vec<OrgUnit>> {
        let key = format!("tree:{}", actor.units.cache_tag());
        self.cache
            .get_or_load(&ORG_TREE, &key, || self.units.units(&actor.units))
            .await
    }

    /// Renames and/or moves a unit; a move takes the whole subtree along.
    pub async fn update(
        &self,
        actor: &Actor,
        id: OrgUnitId,
        change: UnitChange,
    ) -> DomainResult<OrgUnit> {
        actor.require_admin()?;
        let mut unit = self
            .units
            .unit(id)
            .await?
            .ok_or(DomainError::NotFound("org unit"))?;
        if let Some(name) = &change.name {
            let name = parse_unit_name(name)?;
            unit = self.units.rename_unit(unit.id, &name).await?;
            self.units_changed().await;
        }
        if let Some(parent_id) = change.parent_id {
            if Some(parent_id) != unit.parent_id {
                unit = self
                    .units
                    .move_unit(unit.id, parent_id, check_move)
                    .await
                    .map_err(|e| match e {
                        DomainError::NotFound(_) => {
                            DomainError::invalid("parent_id", "no such org unit")
                        }
                        e => e,
                    })?;
                // Cached profiles carry their unit's path, which decides their scope, and
                // cached member lists were computed from the old paths.
                self.cache.invalidate(&ORG_TREE).await;
                self.events.publish(Event::OrgTreeChanged).await;
            }
        }
        Ok(unit)
    }

    /// Deletes a unit that nothing refers to any more; otherwise a 409 that says what is left.
    pub async fn delete(&self, actor: &Actor, id: OrgUnitId) -> DomainResult<()> {
        actor.require_admin()?;
        self.units
            .unit(id)
            .await?
            .ok_or(DomainError::NotFound("org unit"))?;
        if let Some(left) = self.units.dependents(id).await?.describe() {
            return Err(DomainError::conflict(
                ErrorCode::OrgUnitInUse,
                format!("the unit still has {left}: move or delete them first"),
            ));
        }
        if !self.units.delete_unit(id).await? {
            return Err(DomainError::NotFound("org unit"));
        }
        self.units_changed().await;
        Ok(())
    }

    /// After a unit was created, renamed or deleted: the tree is new, and so are the figures
    /// that name units.
    async fn units_changed(&self) {
        self.cache.invalidate(&ORG_TREE).await;
        self.events.publish(Event::OrgUnitsChanged).await;
    }
}
