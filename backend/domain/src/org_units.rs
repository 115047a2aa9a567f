//! The org-unit service: administrators build and reshape the tree; everyone reads the part of
//! it inside their scope.

use std::sync::Arc;

use crate::accounts::forget_all_profiles;
use crate::error::ErrorCode;
use crate::error::{DomainError, DomainResult};
use crate::members::forget_member_lists;
use crate::org::{parse_unit_name, OrgUnit, OrgUnitId, OrgUnitKind};
use crate::ports::{Cache, Store};
use crate::user::Actor;

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
    store: Arc<dyn Store>,
    cache: Arc<dyn Cache>,
}

impl OrgUnitService {
    /// The service over the store; moves evict the cached user profiles in `cache`.
    pub fn new(store: Arc<dyn Store>, cache: Arc<dyn Cache>) -> Self {
        Self { store, cache }
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
                self.store
                    .org_unit_by_id(id)
                    .await?
                    .ok_or_else(|| DomainError::invalid("parent_id", "no such org unit"))?,
            ),
            None => None,
        };
        check_parent(kind, parent.as_ref())?;
        self.store
            .insert_org_unit(&name, kind, parent.as_ref())
            .await
    }

    /// One unit, if it is inside the actor's scope.
    pub async fn get(&self, actor: &Actor, id: OrgUnitId) -> DomainResult<OrgUnit> {
        self.store
            .org_unit_by_id(id)
            .await?
            .filter(|unit| actor.units.contains(Some(&unit.path)))
            .ok_or(DomainError::NotFound("org unit"))
    }

    /// The units inside the actor's scope, parents before children.
    pub async fn list(&self, actor: &Actor) -> DomainResult<Vec<OrgUnit>> {
        self.store.list_org_units(&actor.units).await
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
            .store
            .org_unit_by_id(id)
            .await?
            .ok_or(DomainError::NotFound("org unit"))?;
        if let Some(name) = &change.name {
            let name = parse_unit_name(name)?;
            unit = self.store.rename_org_unit(unit.id, &name).await?;
        }
        if let Some(parent_id) = change.parent_id {
            if Some(parent_id) != unit.parent_id {
                let parent = self
                    .store
                    .org_unit_by_id(parent_id)
                    .await?
                    .ok_or_else(|| DomainError::invalid("parent_id", "no such org unit"))?;
                if unit.path.contains(&parent.path) {
                    return Err(DomainError::invalid(
                        "parent_id",
                        "a unit cannot move below itself",
                    ));
                }
                check_parent(unit.kind, Some(&parent))?;
                let new_path = parent.path.child(unit.id);
                unit = self.store.move_org_unit(&unit, &parent, &new_path).await?;
                // Cached profiles carry their unit's path, which decides their scope, and
                // cached member lists were computed from the old paths.
                forget_all_profiles(self.cache.as_ref()).await;
                forget_member_lists(self.cache.as_ref()).await;
            }
        }
        Ok(unit)
    }

    /// Deletes a unit that nothing refers to any more; otherwise a 409 that says what is left.
    pub async fn delete(&self, actor: &Actor, id: OrgUnitId) -> DomainResult<()> {
        actor.require_admin()?;
        self.store
            .org_unit_by_id(id)
            .await?
            .ok_or(DomainError::NotFound("org unit"))?;
        let (units, users, files, members) = self.store.org_unit_dependents(id).await?;
        let left: Vec<String> = [
            (units, "unit"),
            (users, "user"),
            (members, "member"),
            (files, "file"),
        ]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}{}", if n == 1 { "" } else { "s" }))
        .collect();
        if let Some((last, rest)) = left.split_last() {
            let list = match rest {
                [] => last.clone(),
                _ => format!("{} and {last}", rest.join(", ")),
            };
            return Err(DomainError::Conflict {
                code: ErrorCode::OrgUnitInUse,
                message: format!("the unit still has {list}: move or delete them first"),
            });
        }
        if !self.store.delete_org_unit(id).await? {
            return Err(DomainError::NotFound("org unit"));
        }
        Ok(())
    }
}

fn check_parent(kind: OrgUnitKind, parent: Option<&OrgUnit>) -> DomainResult<()> {
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
