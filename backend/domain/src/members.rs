//! Members: the people of the organisation, each in one cell. Unit users see and change the
//! members of their subtree; a treasurer also sees (read only) every member that dues or
//! payments refer to. Member lists are cached per scope and invalidated by a version bump.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{DomainError, DomainResult, FieldError};
use crate::file::{Page, PageRequest};
use crate::file_urls::NamespaceCounters;
use crate::money::finish;
use crate::org::{OrgUnitId, OrgUnitKind, UnitPath};
use crate::ports::{Cache, Store};
use crate::user::{Actor, Email, UnitScope};

/// The key namespace of cached member lists.
pub const MEMBERS_NAMESPACE: &str = "members";
/// How long a cached member list lives (writes invalidate it at once).
pub const MEMBER_LIST_TTL: Duration = Duration::from_secs(5 * 60);
/// The key whose value is the member lists' current version.
const VERSION_KEY: &str = "members:version";
/// How long the version lives; far longer than any list under it.
const VERSION_TTL: Duration = Duration::from_secs(24 * 3600);

/// A member's database id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MemberId(pub i64);

/// Whether a member is taking part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberStatus {
    /// Taking part.
    Active,
    /// Not taking part any more.
    Inactive,
    /// Suspended by the organisation.
    Suspended,
}

impl MemberStatus {
    /// The wire and database name.
    pub fn as_str(self) -> &'static str {
        match self {
            MemberStatus::Active => "active",
            MemberStatus::Inactive => "inactive",
            MemberStatus::Suspended => "suspended",
        }
    }
}

impl FromStr for MemberStatus {
    type Err = DomainError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        [
            MemberStatus::Active,
            MemberStatus::Inactive,
            MemberStatus::Suspended,
        ]
        .into_iter()
        .find(|s| s.as_str() == raw)
        .ok_or_else(|| DomainError::invalid("status", "must be active, inactive or suspended"))
    }
}

/// A member as stored, with its cell's path (which decides who sees it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Member {
    /// Id.
    pub id: MemberId,
    /// Full name.
    pub name: String,
    /// Contact email, if known.
    pub email: Option<String>,
    /// The member's cell.
    pub org_unit_id: OrgUnitId,
    /// The cell's path.
    pub unit_path: UnitPath,
    /// Whether the member is taking part.
    pub status: MemberStatus,
    /// When the record was created.
    pub created_at: DateTime<Utc>,
}

/// A member to store.
#[derive(Debug, Clone)]
pub struct NewMember {
    /// Full name.
    pub name: String,
    /// Contact email.
    pub email: Option<String>,
    /// The cell.
    pub org_unit_id: OrgUnitId,
    /// Status.
    pub status: MemberStatus,
}

/// A change to a member; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct MemberUpdate {
    /// New name.
    pub name: Option<String>,
    /// New email (`Some(None)` removes it).
    pub email: Option<Option<String>>,
    /// New cell.
    pub org_unit_id: Option<OrgUnitId>,
    /// New status.
    pub status: Option<MemberStatus>,
}

/// Input for a member, still unparsed.
#[derive(Debug, Clone, Default)]
pub struct MemberInput {
    /// Full name (1 to 200 characters).
    pub name: Option<String>,
    /// Contact email (`Some(None)` removes it).
    pub email: Option<Option<String>>,
    /// The cell.
    pub org_unit_id: Option<OrgUnitId>,
    /// Status.
    pub status: Option<MemberStatus>,
}

/// Which members a query may return.
#[derive(Debug, Clone)]
pub struct MemberFilter {
    /// The units whose members are in scope.
    pub units: UnitScope,
    /// Also every member that dues or payments refer to (treasurers).
    pub with_money: bool,
    /// Only this status.
    pub status: Option<MemberStatus>,
    /// Only this cell.
    pub org_unit_id: Option<OrgUnitId>,
}

/// Members.
pub struct MemberService {
    store: Arc<dyn Store>,
    cache: Arc<dyn Cache>,
    counters: Arc<NamespaceCounters>,
}

impl MemberService {
    /// The service over the store, caching lists in `cache`.
    pub fn new(store: Arc<dyn Store>, cache: Arc<dyn Cache>) -> Self {
        Self {
            store,
            cache,
            counters: Arc::default(),
        }
    }

    /// Hit and miss counts of the `members` namespace.
    pub fn counters(&self) -> Arc<NamespaceCounters> {
        Arc::clone(&self.counters)
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
            .store
            .insert_member(NewMember {
                name,
                email,
                org_unit_id,
                status: status.unwrap_or(MemberStatus::Active),
            })
            .await?;
        self.changed().await;
        Ok(member)
    }

    /// One member, if the caller sees it.
    pub async fn get(&self, actor: &Actor, id: MemberId) -> DomainResult<Member> {
        let member = self
            .store
            .member_by_id(id)
            .await?
            .ok_or(DomainError::NotFound("member"))?;
        if actor.units.contains(Some(&member.unit_path))
            || (actor.is_treasurer && self.store.member_has_money(id).await?)
        {
            Ok(member)
        } else {
            Err(DomainError::NotFound("member"))
        }
    }

    /// The members the caller sees, by id; served from the cache when the same scope asked
    /// the same page since the last change.
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
        let key = self.list_key(&filter, page).await;
        if let Some(key) = &key {
            if let Ok(Some(raw)) = self.cache.get(key).await {
                if let Ok((items, total)) = serde_json::from_str::<(Vec<Member>, i64)>(&raw) {
                    self.counters.hit();
                    return Ok(Page { items, total });
                }
            }
        }
        self.counters.miss();
        let page = self.store.list_members(filter, page).await?;
        if let Some(key) = key {
            if let Ok(raw) = serde_json::to_string(&(&page.items, page.total)) {
                let _ = self.cache.set(&key, &raw, MEMBER_LIST_TTL).await;
            }
        }
        Ok(page)
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
            .store
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
        self.changed().await;
        Ok(member)
    }

    /// Deletes a member of the caller's subtree; one with dues or payments is `member_in_use`.
    pub async fn delete(&self, actor: &Actor, id: MemberId) -> DomainResult<()> {
        self.writable(actor, id).await?;
        if !self.store.delete_member(id).await? {
            return Err(DomainError::NotFound("member"));
        }
        self.changed().await;
        Ok(())
    }

    /// Drops every cached member list (after members, dues or payments changed).
    pub async fn changed(&self) {
        forget_member_lists(self.cache.as_ref()).await;
    }

    /// The cache key of a list, or `None` when the cache cannot say its version.
    async fn list_key(&self, filter: &MemberFilter, page: PageRequest) -> Option<String> {
        let version = match self.cache.get(VERSION_KEY).await {
            Ok(version) => version.unwrap_or_else(|| "0".into()),
            Err(_) => return None,
        };
        Some(format!(
            "{MEMBERS_NAMESPACE}:list:v{version}:{}{}:status={}:unit={}:p{}x{}",
            filter.units.cache_tag(),
            if filter.with_money { "+treasurer" } else { "" },
            filter.status.map_or("any", MemberStatus::as_str),
            filter.org_unit_id.map_or("any".into(), |u| u.0.to_string()),
            page.page,
            page.per_page
        ))
    }

    /// The member, if the caller may change it: 404 when it cannot see it, 403 when it sees it
    /// only as a treasurer.
    async fn writable(&self, actor: &Actor, id: MemberId) -> DomainResult<Member> {
        let member = self.get(actor, id).await?;
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
            .store
            .org_unit_by_id(id)
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

/// Drops every cached member list by moving to a new version (after members, dues, payments or
/// the org tree changed): the old lists are never read again and expire with their TTL.
pub async fn forget_member_lists(cache: &dyn Cache) {
    if let Err(e) = cache.count_hit(VERSION_KEY, VERSION_TTL).await {
        tracing::warn!(error = %e, "could not invalidate cached member lists; they expire with their TTL");
    }
}

fn parse_name(raw: &str, errors: &mut Vec<FieldError>) -> String {
    let name = raw.trim().to_owned();
    if name.is_empty() || name.chars().count() > 200 {
        errors.push(FieldError::new("name", "must be 1 to 200 characters"));
    }
    name
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
