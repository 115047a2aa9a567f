//! Members: the people of the organisation, each in one cell. Unit users see and change the
//! members of their subtree; a treasurer also sees (read only) every member that dues or
//! payments refer to. Member lists are cached per scope and invalidated by a version bump.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::json;

use crate::access::Actor;
use crate::audit::{AuditAction, AuditLog};
use crate::members::model::{
    Member, MemberFilter, MemberInput, MemberStatus, MemberUpdate, NewMember,
};
use crate::members::repo::MemberRepo;
use crate::org::{OrgRepo, OrgUnitKind};
use crate::shared::cached::{CacheLayer, Invalidation, Namespace, TtlClass};
use crate::shared::events::{Event, Events, Listener};
use crate::shared::validation::{self, Email};
use crate::shared::{
    finish, DomainError, DomainResult, FieldError, MemberId, OrgUnitId, Page, PageRequest,
};

/// Cached pages of member lists, `members:v<version>:list:<scope>…` (user data): every write
/// to members, dues or payments and every org-tree change moves the version.
pub static MEMBER_LISTS: Namespace = Namespace {
    name: "members",
    ttl: TtlClass::UserData,
    invalidation: Invalidation::Version,
};

/// Members.
pub struct MemberService {
    members: Arc<dyn MemberRepo>,
    units: Arc<dyn OrgRepo>,
    cache: CacheLayer,
    events: Events,
    audit: Arc<AuditLog>,
}

impl MemberService {
    /// The service over the members (and the units they belong to), caching lists in `cache`,
    /// publishing changes to `events` and recording deletions in `audit`.
    pub fn new(
        members: Arc<dyn MemberRepo>,
        units: Arc<dyn OrgRepo>,
        cache: CacheLayer,
        events: Events,
        audit: Arc<AuditLog>,
    ) -> Self {
        cache.register(&MEMBER_LISTS);
        Self {
            members,
            units,
            cache,
            events,
            audit,
        }
    }

    /// Creates a member in a cell of the caller's scope.
    pub async fn create(&self, actor: &Actor, input: MemberInput) -> DomainResult<Member> {
        let mut errors = Vec::new();
        let name = match input.name.as_deref() {
            Some(name) => parse_name(name, &mut errors),
            None => {
                errors.push(FieldError::new("name", "is required"));
                String::new()
            }
        };
        let email = parse_email(input.email.flatten(), &mut errors);
        let status = input.status;
        let org_unit_id = match input.org_unit_id {
            Some(id) => self.writable_cell(actor, id, &mut errors).await?,
            None => {
                errors.push(FieldError::new("org_unit_id", "is required"));
                None
            }
        };
        finish(errors)?;
        let Some(org_unit_id) = org_unit_id else {
            return Err(DomainError::invalid("org_unit_id", "is required"));
        };
        let member = self
            .members
            .insert_member(NewMember {
                name,
                email,
                org_unit_id,
                status: status.unwrap_or(MemberStatus::Active),
            })
            .await?;
        self.written().await;
        Ok(member)
    }

    /// One member, if the caller sees it; outside the caller's units, without contacts.
    pub async fn get(&self, actor: &Actor, id: MemberId) -> DomainResult<Member> {
        self.visible(actor, id).await.map(|m| for_caller(actor, m))
    }

    /// The whole member, if the caller sees it at all.
    async fn visible(&self, actor: &Actor, id: MemberId) -> DomainResult<Member> {
        let member = self
            .members
            .member_by_id(id)
            .await?
            .ok_or(DomainError::NotFound("member"))?;
        if actor.units.contains(Some(&member.unit_path))
            || (actor.is_treasurer && self.members.member_has_money(id).await?)
        {
            Ok(member)
        } else {
            Err(DomainError::NotFound("member"))
        }
    }

    /// The members the caller sees, by id (outside the caller's units, without contacts);
    /// served from the cache when the same scope asked the same page since the last change.
    pub async fn list(
        &self,
        actor: &Actor,
        status: Option<MemberStatus>,
        org_unit_id: Option<OrgUnitId>,
        page: PageRequest,
    ) -> DomainResult<Page<Member>> {
        let filter = MemberFilter {
            units: actor.units.clone(),
            with_money: actor.is_treasurer,
            status,
            org_unit_id,
        };
        // The key holds everything the answer depends on: the scope above all.
        let key = list_key(&filter, page);
        self.cache
            .get_or_load(&MEMBER_LISTS, &key, || async {
                let members = self.members.list_members(filter, page).await?;
                Ok(members.map(|m| for_caller(actor, m)))
            })
            .await
    }

    /// Changes a member of the caller's subtree (a treasurer's read-only view is not enough).
    pub async fn update(
        &self,
        actor: &Actor,
        id: MemberId,
        input: MemberInput,
    ) -> DomainResult<Member> {
        self.writable(actor, id).await?;
        let mut errors = Vec::new();
        let name = input.name.as_deref().map(|n| parse_name(n, &mut errors));
        let email = input.email.map(|e| parse_email(e, &mut errors));
        let status = input.status;
        let org_unit_id = match input.org_unit_id {
            Some(unit) => self.writable_cell(actor, unit, &mut errors).await?,
            None => None,
        };
        finish(errors)?;
        let member = self
            .members
            .update_member(
                id,
                &MemberUpdate {
                    name,
                    email,
                    org_unit_id,
                    status,
                },
            )
            .await?;
        self.written().await;
        Ok(member)
    }

    /// Deletes a member of the caller's subtree; one with dues or payments is `member_in_use`.
    /// The deletion is audited with what the member was.
    pub async fn delete(&self, actor: &Actor, id: MemberId) -> DomainResult<()> {
        let before = self.writable(actor, id).await?;
        if !self.members.delete_member(id).await? {
            return Err(DomainError::NotFound("member"));
        }
        self.written().await;
        self.audit
            .act(
                actor,
                AuditAction::MemberDeleted,
                format!("member:{}", id.0),
                json!({"before": {"name": before.name, "email": before.email,
                       "org_unit_id": before.org_unit_id.0, "status": before.status.as_str()}}),
            )
            .await;
        Ok(())
    }

    /// Drops every cached member list (after members, dues, payments or the tree changed).
    async fn changed(&self) {
        self.cache.invalidate(&MEMBER_LISTS).await;
    }

    /// After a write to members: drops the lists and tells the contexts that count members.
    async fn written(&self) {
        self.changed().await;
        self.events.publish(Event::MembersChanged).await;
    }

    /// The member, if the caller may change it: 404 when it cannot see it, 403 when it sees it
    /// only as a treasurer.
    async fn writable(&self, actor: &Actor, id: MemberId) -> DomainResult<Member> {
        let member = self.visible(actor, id).await?;
        if actor.units.contains(Some(&member.unit_path)) {
            Ok(member)
        } else {
            Err(DomainError::forbidden(
                "treasurers read members outside their unit but cannot change them",
            ))
        }
    }

    /// The id of a cell inside the caller's scope, or a field error.
    async fn writable_cell(
        &self,
        actor: &Actor,
        id: OrgUnitId,
        errors: &mut Vec<FieldError>,
    ) -> DomainResult<Option<OrgUnitId>> {
        let unit = self
            .units
            .unit(id)
            .await?
            .filter(|u| actor.units.contains(Some(&u.path)));
        match unit {
            Some(unit) if unit.kind == OrgUnitKind::Cell => Ok(Some(unit.id)),
            Some(_) => {
                errors.push(FieldError::new("org_unit_id", "members belong to a cell"));
                Ok(None)
            }
            None => {
                errors.push(FieldError::new("org_unit_id", "no such cell in your scope"));
                Ok(None)
            }
        }
    }
}

/// Member lists follow the money (a treasurer sees the members dues and payments refer to) and
/// the tree (scopes are unit paths).
#[async_trait]
impl Listener for MemberService {
    async fn on(&self, event: Event) {
        match event {
            Event::OrgTreeChanged | Event::MoneyChanged => self.changed().await,
            // Lists show no unit names, and member writes invalidate lists themselves.
            Event::OrgUnitsChanged | Event::MembersChanged => {}
        }
    }
}

/// The key of a list page inside [`MEMBER_LISTS`]: the scope, the treasurer's view, every
/// filter and the page.
fn list_key(filter: &MemberFilter, page: PageRequest) -> String {
    format!(
        "list:{}{}:status={}:unit={}:p{}x{}",
        filter.units.cache_tag(),
        if filter.with_money { "+treasurer" } else { "" },
        filter.status.map_or("any", MemberStatus::as_str),
        filter.org_unit_id.map_or("any".into(), |u| u.0.to_string()),
        page.page,
        page.per_page
    )
}

/// The member as the caller may see it: a treasurer sees members outside its units only as
/// far as money needs (who and where), not how to reach them.
fn for_caller(actor: &Actor, mut member: Member) -> Member {
    if !actor.units.contains(Some(&member.unit_path)) {
        member.email = None;
    }
    member
}

fn parse_name(raw: &str, errors: &mut Vec<FieldError>) -> String {
    match validation::name("name", raw, 200) {
        Ok(name) => name,
        Err(e) => {
            crate::shared::collect_field::<()>(Err(e), errors);
            String::new()
        }
    }
}

fn parse_email(raw: Option<String>, errors: &mut Vec<FieldError>) -> Option<String> {
    let raw = raw.filter(|e| !e.trim().is_empty())?;
    match Email::parse(&raw) {
        Ok(email) => Some(email.as_str().to_owned()),
        Err(_) => {
            errors.push(FieldError::new("email", "must be an email address"));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::collections::HashSet;
    use std::sync::Mutex;

    use chrono::Utc;

    use crate::access::{UnitPath, UnitScope};
    use crate::audit::AuditRepo;
    use crate::org::{Dependents, MoveCheck, OrgUnit};
    use crate::shared::cached::TtlClasses;
    use crate::shared::fakes::{MapCache, Recorded};
    use crate::shared::time::SystemClock;
    use crate::shared::UserId;

    /// Members in a list; `with_money` are the ones dues or payments refer to.
    #[derive(Default)]
    struct Members {
        rows: Mutex<Vec<Member>>,
        with_money: HashSet<MemberId>,
    }

    #[async_trait]
    impl MemberRepo for Members {
        async fn insert_member(&self, _: NewMember) -> DomainResult<Member> {
            Err(DomainError::Unexpected(anyhow::anyhow!("not used here")))
        }
        async fn member_by_id(&self, id: MemberId) -> DomainResult<Option<Member>> {
            Ok(self
                .rows
                .lock()
                .unwrap()
                .iter()
                .find(|m| m.id == id)
                .cloned())
        }
        async fn member_has_money(&self, id: MemberId) -> DomainResult<bool> {
            Ok(self.with_money.contains(&id))
        }
        async fn list_members(
            &self,
            filter: MemberFilter,
            _: PageRequest,
        ) -> DomainResult<Page<Member>> {
            let items: Vec<Member> = self
                .rows
                .lock()
                .unwrap()
                .iter()
                .filter(|m| {
                    filter.units.contains(Some(&m.unit_path))
                        || (filter.with_money && self.with_money.contains(&m.id))
                })
                .cloned()
                .collect();
            let total = items.len() as i64;
            Ok(Page { items, total })
        }
        async fn update_member(&self, _: MemberId, _: &MemberUpdate) -> DomainResult<Member> {
            Err(DomainError::Unexpected(anyhow::anyhow!("not used here")))
        }
        async fn delete_member(&self, id: MemberId) -> DomainResult<bool> {
            if self.with_money.contains(&id) {
                return Err(DomainError::conflict(
                    crate::shared::ErrorCode::MemberInUse,
                    "dues or payments refer to the member",
                ));
            }
            let mut rows = self.rows.lock().unwrap();
            let before = rows.len();
            rows.retain(|m| m.id != id);
            Ok(rows.len() < before)
        }
    }

    /// No units: these tests never create or move a member.
    struct NoUnits;

    #[async_trait]
    impl OrgRepo for NoUnits {
        async fn insert_unit(
            &self,
            _: &str,
            _: OrgUnitKind,
            _: Option<&OrgUnit>,
        ) -> DomainResult<OrgUnit> {
            Err(DomainError::Unexpected(anyhow::anyhow!("not used here")))
        }
        async fn unit(&self, _: OrgUnitId) -> DomainResult<Option<OrgUnit>> {
            Ok(None)
        }
        async fn units(&self, _: &UnitScope) -> DomainResult<Vec<OrgUnit>> {
            Ok(Vec::new())
        }
        async fn rename_unit(&self, _: OrgUnitId, _: &str) -> DomainResult<OrgUnit> {
            Err(DomainError::Unexpected(anyhow::anyhow!("not used here")))
        }
        async fn move_unit(
            &self,
            _: OrgUnitId,
            _: OrgUnitId,
            _: MoveCheck,
        ) -> DomainResult<OrgUnit> {
            Err(DomainError::Unexpected(anyhow::anyhow!("not used here")))
        }
        async fn dependents(&self, _: OrgUnitId) -> DomainResult<Dependents> {
            Err(DomainError::Unexpected(anyhow::anyhow!("not used here")))
        }
        async fn delete_unit(&self, _: OrgUnitId) -> DomainResult<bool> {
            Err(DomainError::Unexpected(anyhow::anyhow!("not used here")))
        }
    }

    fn member(id: i64, cell: &str) -> Member {
        Member {
            id: MemberId(id),
            name: format!("Member {id}"),
            email: Some(format!("m{id}@example.org")),
            org_unit_id: OrgUnitId(id),
            unit_path: UnitPath::from_stored(cell.into()),
            status: MemberStatus::Active,
            created_at: Utc::now(),
        }
    }

    /// Member 1 in cell /1/2/, member 2 in cell /1/3/ with money, member 3 in /1/3/ without.
    fn service(audit: &Arc<Recorded>) -> MemberService {
        let members = Members {
            rows: Mutex::new(vec![
                member(1, "/1/2/"),
                member(2, "/1/3/"),
                member(3, "/1/3/"),
            ]),
            with_money: HashSet::from([MemberId(2)]),
        };
        MemberService::new(
            Arc::new(members),
            Arc::new(NoUnits),
            CacheLayer::new(
                Arc::new(MapCache::default()),
                Arc::new(SystemClock),
                TtlClasses::default(),
            ),
            Events::default(),
            Arc::new(AuditLog::new(Arc::clone(audit) as Arc<dyn AuditRepo>)),
        )
    }

    fn user_of(cell: &str, is_treasurer: bool) -> Actor {
        Actor {
            user_id: UserId(9),
            is_admin: false,
            is_treasurer,
            org_unit_id: None,
            units: UnitScope::Subtree(UnitPath::from_stored(cell.into())),
            ip: Some("192.0.2.9".into()),
        }
    }

    #[tokio::test]
    async fn a_treasurer_sees_members_outside_its_units_without_contacts() {
        let members = service(&Arc::default());
        let treasurer = user_of("/1/2/", true);
        let outside = members.get(&treasurer, MemberId(2)).await.unwrap();
        assert_eq!(outside.name, "Member 2");
        assert_eq!(outside.email, None);
        let own = members.get(&treasurer, MemberId(1)).await.unwrap();
        assert_eq!(own.email.as_deref(), Some("m1@example.org"));
        assert!(matches!(
            members.get(&treasurer, MemberId(3)).await,
            Err(DomainError::NotFound(_))
        ));
        // The same from the database and from the cache.
        for _ in 0..2 {
            let page = members
                .list(
                    &treasurer,
                    None,
                    None,
                    PageRequest::parse(None, None).unwrap(),
                )
                .await
                .unwrap();
            let emails: Vec<_> = page.items.iter().map(|m| m.email.as_deref()).collect();
            assert_eq!(emails, [Some("m1@example.org"), None]);
        }
        assert_eq!(members.cache.counters(&MEMBER_LISTS).hits(), 1);
        // The unit's own users see the contacts.
        let cell = user_of("/1/3/", false);
        let inside = members.get(&cell, MemberId(2)).await.unwrap();
        assert_eq!(inside.email.as_deref(), Some("m2@example.org"));
    }

    #[tokio::test]
    async fn deleting_a_member_records_what_it_was_and_a_refused_deletion_nothing() {
        let audit = Arc::new(Recorded::default());
        let members = service(&audit);
        let cell = user_of("/1/3/", false);
        assert!(matches!(
            members.delete(&cell, MemberId(2)).await,
            Err(DomainError::Conflict { .. })
        ));
        assert!(matches!(
            members.delete(&user_of("/1/2/", true), MemberId(2)).await,
            Err(DomainError::Forbidden { .. })
        ));
        assert!(audit.events().is_empty());

        members.delete(&cell, MemberId(3)).await.unwrap();
        let events = audit.events();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].action, AuditAction::MemberDeleted);
        assert_eq!(events[0].actor, Some(UserId(9)));
        assert_eq!(events[0].subject.as_deref(), Some("member:3"));
        assert_eq!(events[0].client_ip.as_deref(), Some("192.0.2.9"));
        assert_eq!(
            events[0].detail,
            json!({"before": {"name": "Member 3", "email": "m3@example.org",
                   "org_unit_id": 3, "status": "active"}})
        );
    }
}
