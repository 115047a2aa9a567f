//! Members: the people of the organisation, each in one cell. Unit users see and change the
//! members of their subtree; a treasurer also sees (read only) every member that dues or
//! payments refer to. Member lists are cached per scope and invalidated by a version bump.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::NaiveDate;
use serde_json::json;

use crate::access::Actor;
use crate::audit::{AuditAction, AuditLog};
use crate::files::{FileRepo, FileScope, FileStatus, FileType, FileUrls, SignedUrl};
use crate::members::model::{
    fold, Member, MemberFilter, MemberInput, MemberQuery, MemberStatus, MemberUpdate, NewMember,
};
use crate::members::repo::MemberRepo;
use crate::org::{OrgRepo, OrgUnitKind};
use crate::shared::cached::{CacheLayer, Invalidation, Namespace, TtlClass};
use crate::shared::events::{Event, Events, Listener};
use crate::shared::time::{after, Clock};
use crate::shared::validation::{self, Email};
use crate::shared::{
    finish, DomainError, DomainResult, FieldError, FileId, MemberId, OrgUnitId, Page, PageRequest,
};

/// Cached pages of member lists, `members:v<version>:list:<scope>…` (user data): every write
/// to members, dues or payments and every org-tree change moves the version.
pub static MEMBER_LISTS: Namespace = Namespace {
    name: "members",
    ttl: TtlClass::UserData,
    invalidation: Invalidation::Version,
};

/// How long a phone number, notes and search text may be, in characters.
const PHONE_LENGTH: std::ops::RangeInclusive<usize> = 8..=20;
const NOTES_MAX: usize = 2000;
const Q_MAX: usize = 100;

/// A member as the caller may see it, with its picture's view URL (`None` without a picture).
#[derive(Debug, Clone)]
pub struct MemberView {
    /// The member (contacts removed where the caller may not see them).
    pub member: Member,
    /// The signed view URL of its avatar, from the file-URL cache.
    pub avatar_url: Option<SignedUrl>,
}

/// Members.
pub struct MemberService {
    members: Arc<dyn MemberRepo>,
    units: Arc<dyn OrgRepo>,
    files: Arc<dyn FileRepo>,
    urls: Arc<FileUrls>,
    clock: Arc<dyn Clock>,
    cache: CacheLayer,
    events: Events,
    audit: Arc<AuditLog>,
}

/// The ports a [`MemberService`] reads and writes through.
pub struct MemberPorts {
    /// The members.
    pub members: Arc<dyn MemberRepo>,
    /// The units they belong to.
    pub units: Arc<dyn OrgRepo>,
    /// The files their avatars are.
    pub files: Arc<dyn FileRepo>,
    /// The avatars' view URLs.
    pub urls: Arc<FileUrls>,
    /// Today, for joining dates.
    pub clock: Arc<dyn Clock>,
}

impl MemberService {
    /// The service over the members (and the units and avatar files they refer to), caching
    /// lists in `cache`, publishing changes to `events` and recording deletions in `audit`.
    pub fn new(
        ports: MemberPorts,
        cache: CacheLayer,
        events: Events,
        audit: Arc<AuditLog>,
    ) -> Self {
        cache.register(&MEMBER_LISTS);
        Self {
            members: ports.members,
            units: ports.units,
            files: ports.files,
            urls: ports.urls,
            clock: ports.clock,
            cache,
            events,
            audit,
        }
    }

    /// Creates a member in a cell of the caller's scope.
    pub async fn create(&self, actor: &Actor, input: MemberInput) -> DomainResult<MemberView> {
        let mut errors = Vec::new();
        let name = match input.name.as_deref() {
            Some(name) => parse_name(name, &mut errors),
            None => {
                errors.push(FieldError::new("name", "is required"));
                String::new()
            }
        };
        let email = parse_email(input.email.flatten(), &mut errors);
        let phone = parse_phone(input.phone.flatten(), &mut errors);
        let joined_on = self.parse_joined_on(input.joined_on.flatten(), &mut errors);
        let notes = parse_notes(input.notes.flatten(), &mut errors);
        let avatar_file_id = self
            .avatar(actor, input.avatar_file_id.flatten(), &mut errors)
            .await?;
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
                phone,
                joined_on,
                notes,
                avatar_file_id,
            })
            .await?;
        self.written().await;
        self.view(member).await
    }

    /// One member, if the caller sees it; outside the caller's units, without contacts.
    pub async fn get(&self, actor: &Actor, id: MemberId) -> DomainResult<MemberView> {
        let member = self
            .visible(actor, id)
            .await
            .map(|m| for_caller(actor, m))?;
        self.view(member).await
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

    /// The members the caller sees that match the query (outside the caller's units, without
    /// contacts); served from the cache when the same scope asked the same page since the last
    /// change. Avatar URLs are added after the cache, from the file-URL cache in one batch.
    ///
    /// `org_unit_id` narrows what the caller sees to that unit's subtree: a unit outside the
    /// caller's scope, or one that does not exist, gives an empty page (what the caller sees
    /// there), never an error that would tell the two apart.
    pub async fn list(
        &self,
        actor: &Actor,
        query: MemberQuery,
        page: PageRequest,
    ) -> DomainResult<Page<MemberView>> {
        let q = match query.q.as_deref() {
            Some(raw) => parse_q(raw)?,
            None => None,
        };
        // The key holds everything the answer depends on: the scope and the treasurer's view
        // (which decide both what is listed and which contacts are removed) above all.
        let key = list_key(actor, &query, q.as_deref(), page);
        let found = self
            .cache
            .get_or_load(&MEMBER_LISTS, &key, || async {
                let subtree = match query.org_unit_id {
                    Some(id) => match self.units.unit(id).await? {
                        Some(unit) => Some(unit.path),
                        None => {
                            return Ok(Page {
                                items: Vec::new(),
                                total: 0,
                            })
                        }
                    },
                    None => None,
                };
                let filter = MemberFilter {
                    units: actor.units.clone(),
                    with_money: actor.is_treasurer,
                    status: query.status,
                    subtree,
                    q: q.clone(),
                    sort: query.sort,
                };
                let members = self.members.list_members(filter, page).await?;
                Ok(members.map(|m| for_caller(actor, m)))
            })
            .await?;
        self.views(found).await
    }

    /// Changes a member of the caller's subtree (a treasurer's read-only view is not enough).
    pub async fn update(
        &self,
        actor: &Actor,
        id: MemberId,
        input: MemberInput,
    ) -> DomainResult<MemberView> {
        self.writable(actor, id).await?;
        let mut errors = Vec::new();
        let name = input.name.as_deref().map(|n| parse_name(n, &mut errors));
        let email = input.email.map(|e| parse_email(e, &mut errors));
        let phone = input.phone.map(|p| parse_phone(p, &mut errors));
        let joined_on = input
            .joined_on
            .map(|d| self.parse_joined_on(d, &mut errors));
        let notes = input.notes.map(|n| parse_notes(n, &mut errors));
        let avatar_file_id = match input.avatar_file_id {
            Some(avatar) => Some(self.avatar(actor, avatar, &mut errors).await?),
            None => None,
        };
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
                    phone,
                    joined_on,
                    notes,
                    avatar_file_id,
                },
            )
            .await?;
        self.written().await;
        self.view(member).await
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

    /// One member with its avatar's URL.
    async fn view(&self, member: Member) -> DomainResult<MemberView> {
        let mut page = self
            .views(Page {
                items: vec![member],
                total: 1,
            })
            .await?;
        page.items
            .pop()
            .ok_or_else(|| DomainError::Unexpected(anyhow::anyhow!("a member view went missing")))
    }

    /// Members with their avatars' URLs: one read of the avatar files (an avatar deleted since
    /// a list was cached is gone from it here) and one batch from the file-URL cache.
    async fn views(&self, page: Page<Member>) -> DomainResult<Page<MemberView>> {
        let mut ids: Vec<FileId> = page.items.iter().filter_map(|m| m.avatar_file_id).collect();
        ids.sort_by_key(|id| id.0);
        ids.dedup();
        let files = if ids.is_empty() {
            Vec::new()
        } else {
            self.files.files_by_ids(&ids).await?
        };
        let files: Vec<_> = files
            .into_iter()
            .filter(|f| f.file_type == FileType::Avatar)
            .collect();
        let urls: HashMap<FileId, SignedUrl> = if files.is_empty() {
            HashMap::new()
        } else {
            self.urls.urls_for(&files).await?
        };
        Ok(page.map(|mut member| {
            let avatar_url = member.avatar_file_id.and_then(|id| urls.get(&id).cloned());
            if avatar_url.is_none() {
                member.avatar_file_id = None;
            }
            MemberView { member, avatar_url }
        }))
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

    /// The avatar to set: an uploaded file of type avatar the caller may see, or a field error
    /// that does not tell a file outside the caller's scope from one that does not exist.
    async fn avatar(
        &self,
        actor: &Actor,
        id: Option<FileId>,
        errors: &mut Vec<FieldError>,
    ) -> DomainResult<Option<FileId>> {
        let Some(id) = id else {
            return Ok(None);
        };
        let file = self
            .files
            .file_by_id(id)
            .await?
            .filter(|f| FileScope::of(actor).contains(f));
        match file {
            Some(f) if f.file_type == FileType::Avatar && f.status == FileStatus::Uploaded => {
                Ok(Some(f.id))
            }
            Some(f) if f.file_type != FileType::Avatar => {
                errors.push(FieldError::new(
                    "avatar_file_id",
                    "must be a file of type avatar",
                ));
                Ok(None)
            }
            Some(_) => {
                errors.push(FieldError::new(
                    "avatar_file_id",
                    "the file's upload is not complete",
                ));
                Ok(None)
            }
            None => {
                errors.push(FieldError::new(
                    "avatar_file_id",
                    "no such file in your scope",
                ));
                Ok(None)
            }
        }
    }

    /// A joining date: `YYYY-MM-DD`, not after today anywhere on Earth (UTC+14), so a date a
    /// client east of UTC calls today is never refused.
    fn parse_joined_on(
        &self,
        raw: Option<String>,
        errors: &mut Vec<FieldError>,
    ) -> Option<NaiveDate> {
        let raw = raw?;
        // chrono takes `2026-1-5` too; the spec's `date` format does not.
        let date = NaiveDate::parse_from_str(&raw, "%Y-%m-%d")
            .ok()
            .filter(|_| raw.len() == 10);
        let Some(date) = date else {
            errors.push(FieldError::new("joined_on", "must be a date, YYYY-MM-DD"));
            return None;
        };
        let latest_today = after(self.clock.now(), Duration::from_secs(14 * 3600)).date_naive();
        if date > latest_today {
            errors.push(FieldError::new("joined_on", "must not be in the future"));
            return None;
        }
        Some(date)
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
            Event::OrgUnitsChanged | Event::MembersChanged | Event::UsersChanged => {}
        }
    }
}

/// The key of a list page inside [`MEMBER_LISTS`]: the scope, the treasurer's view, every
/// filter, the order and the page; the search text (free text) comes last, so no value can be
/// mistaken for another part.
fn list_key(actor: &Actor, query: &MemberQuery, q: Option<&str>, page: PageRequest) -> String {
    format!(
        "list:{}{}:status={}:unit={}:sort={}:p{}x{}:q={}",
        actor.units.cache_tag(),
        if actor.is_treasurer { "+treasurer" } else { "" },
        query.status.map_or("any", MemberStatus::as_str),
        query.org_unit_id.map_or("any".into(), |u| u.0.to_string()),
        query.sort.as_str(),
        page.page,
        page.per_page,
        q.unwrap_or("")
    )
}

/// The member as the caller may see it: a treasurer sees members outside its units only as
/// far as money needs (who and where), not how to reach them nor what is noted about them.
fn for_caller(actor: &Actor, mut member: Member) -> Member {
    if !actor.units.contains(Some(&member.unit_path)) {
        member.email = None;
        member.phone = None;
        member.notes = None;
    }
    member
}

/// The search text of a list query, folded like the stored text: 1 to 100 characters as sent,
/// no control characters; only spaces means no search.
fn parse_q(raw: &str) -> DomainResult<Option<String>> {
    let length = raw.chars().count();
    if length == 0 || length > Q_MAX {
        return Err(DomainError::invalid(
            "q",
            format!("must be 1 to {Q_MAX} characters"),
        ));
    }
    if raw.chars().any(char::is_control) {
        return Err(DomainError::invalid(
            "q",
            "must not contain control characters",
        ));
    }
    let q = fold(raw.trim());
    Ok((!q.is_empty()).then_some(q))
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

/// A phone number: 8 to 20 characters of digits, spaces and `+ - ( )`, at least one digit;
/// kept as sent (the published pattern says the same).
fn parse_phone(raw: Option<String>, errors: &mut Vec<FieldError>) -> Option<String> {
    let raw = raw?;
    let allowed = raw
        .chars()
        .all(|c| c.is_ascii_digit() || " +-()".contains(c));
    if !PHONE_LENGTH.contains(&raw.chars().count())
        || !allowed
        || !raw.chars().any(|c| c.is_ascii_digit())
    {
        errors.push(FieldError::new(
            "phone",
            "must be 8 to 20 characters of digits, spaces and + - ( )",
        ));
        return None;
    }
    Some(raw)
}

/// Notes: at most 2000 characters, no control characters but line breaks and tabs; blank
/// notes are none.
fn parse_notes(raw: Option<String>, errors: &mut Vec<FieldError>) -> Option<String> {
    let raw = raw?;
    if raw.chars().count() > NOTES_MAX {
        errors.push(FieldError::new(
            "notes",
            format!("must be at most {NOTES_MAX} characters"),
        ));
        return None;
    }
    if raw
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        errors.push(FieldError::new(
            "notes",
            "must not contain control characters other than line breaks and tabs",
        ));
        return None;
    }
    (!raw.trim().is_empty()).then_some(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::collections::HashSet;
    use std::sync::Mutex;

    use chrono::Utc;

    use crate::access::{UnitPath, UnitScope};
    use crate::audit::AuditRepo;
    use crate::files::{FileFilter, GetUrlOptions, NewFile, ObjectStore, StoredFile, UrlPolicy};
    use crate::members::MemberSort;
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

    /// No files: these tests never show an avatar.
    struct NoFiles;

    #[async_trait]
    impl FileRepo for NoFiles {
        async fn insert_file(&self, _: NewFile) -> DomainResult<StoredFile> {
            Err(DomainError::Unexpected(anyhow::anyhow!("not used here")))
        }
        async fn file_by_id(&self, _: FileId) -> DomainResult<Option<StoredFile>> {
            Ok(None)
        }
        async fn files_by_ids(&self, _: &[FileId]) -> DomainResult<Vec<StoredFile>> {
            Ok(Vec::new())
        }
        async fn list_files(
            &self,
            _: FileFilter,
            _: PageRequest,
        ) -> DomainResult<Page<StoredFile>> {
            Err(DomainError::Unexpected(anyhow::anyhow!("not used here")))
        }
        async fn newest_files(&self, _: Option<FileType>, _: u32) -> DomainResult<Vec<StoredFile>> {
            Err(DomainError::Unexpected(anyhow::anyhow!("not used here")))
        }
        async fn mark_uploaded(
            &self,
            _: FileId,
            _: i64,
            _: &str,
            _: &str,
        ) -> DomainResult<Option<StoredFile>> {
            Err(DomainError::Unexpected(anyhow::anyhow!("not used here")))
        }
        async fn delete_file(&self, _: FileId) -> DomainResult<bool> {
            Err(DomainError::Unexpected(anyhow::anyhow!("not used here")))
        }
    }

    /// No objects: nothing is signed without files.
    struct NoObjects;

    #[async_trait]
    impl ObjectStore for NoObjects {
        fn kind(&self) -> &'static str {
            "none"
        }
        async fn ping(&self) -> DomainResult<()> {
            Ok(())
        }
        async fn put(&self, _: &str, _: bytes::Bytes, _: &str) -> DomainResult<()> {
            Err(DomainError::Unexpected(anyhow::anyhow!("not used here")))
        }
        async fn head(&self, _: &str) -> DomainResult<Option<crate::files::ObjectMeta>> {
            Ok(None)
        }
        async fn read_prefix(&self, _: &str, _: usize) -> DomainResult<bytes::Bytes> {
            Err(DomainError::Unexpected(anyhow::anyhow!("not used here")))
        }
        async fn delete(&self, _: &str) -> DomainResult<()> {
            Ok(())
        }
        async fn presign_get(
            &self,
            _: &str,
            _: Duration,
            _: &GetUrlOptions,
        ) -> DomainResult<SignedUrl> {
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
            phone: Some(format!("+55 11 9000-000{id}")),
            joined_on: None,
            notes: Some(format!("notes on {id}")),
            avatar_file_id: None,
            created_at: Utc::now(),
        }
    }

    /// Member 1 in cell /1/2/, member 2 in cell /1/3/ with money, member 3 in /1/3/ without.
    fn service(audit: &Arc<Recorded>) -> MemberService {
        service_at(audit, Arc::new(SystemClock))
    }

    /// [`service`] with its own clock.
    fn service_at(audit: &Arc<Recorded>, clock: Arc<dyn Clock>) -> MemberService {
        let members = Members {
            rows: Mutex::new(vec![
                member(1, "/1/2/"),
                member(2, "/1/3/"),
                member(3, "/1/3/"),
            ]),
            with_money: HashSet::from([MemberId(2)]),
        };
        let cache = CacheLayer::new(
            Arc::new(MapCache::default()),
            Arc::new(SystemClock),
            TtlClasses::default(),
        );
        MemberService::new(
            MemberPorts {
                members: Arc::new(members),
                units: Arc::new(NoUnits),
                files: Arc::new(NoFiles),
                urls: Arc::new(FileUrls::new(
                    cache.clone(),
                    Arc::new(NoObjects),
                    UrlPolicy::default(),
                )),
                clock,
            },
            cache,
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
            ip: Some([192, 0, 2, 9].into()),
        }
    }

    #[tokio::test]
    async fn a_treasurer_sees_members_outside_its_units_without_contacts() {
        let members = service(&Arc::default());
        let treasurer = user_of("/1/2/", true);
        let outside = members.get(&treasurer, MemberId(2)).await.unwrap().member;
        assert_eq!(outside.name, "Member 2");
        assert_eq!(outside.email, None);
        assert_eq!(outside.phone, None);
        assert_eq!(outside.notes, None);
        let own = members.get(&treasurer, MemberId(1)).await.unwrap().member;
        assert_eq!(own.email.as_deref(), Some("m1@example.org"));
        assert_eq!(own.phone.as_deref(), Some("+55 11 9000-0001"));
        assert_eq!(own.notes.as_deref(), Some("notes on 1"));
        assert!(matches!(
            members.get(&treasurer, MemberId(3)).await,
            Err(DomainError::NotFound(_))
        ));
        // The same from the database and from the cache.
        for _ in 0..2 {
            let page = members
                .list(
                    &treasurer,
                    MemberQuery::default(),
                    PageRequest::parse(None, None).unwrap(),
                )
                .await
                .unwrap();
            let contacts: Vec<_> = page
                .items
                .iter()
                .map(|v| {
                    (
                        v.member.email.as_deref(),
                        v.member.phone.as_deref(),
                        v.member.notes.as_deref(),
                    )
                })
                .collect();
            assert_eq!(
                contacts,
                [
                    (
                        Some("m1@example.org"),
                        Some("+55 11 9000-0001"),
                        Some("notes on 1")
                    ),
                    (None, None, None)
                ]
            );
        }
        assert_eq!(members.cache.counters(&MEMBER_LISTS).hits(), 1);
        // The unit's own users see the contacts.
        let cell = user_of("/1/3/", false);
        let inside = members.get(&cell, MemberId(2)).await.unwrap().member;
        assert_eq!(inside.email.as_deref(), Some("m2@example.org"));
        assert_eq!(inside.notes.as_deref(), Some("notes on 2"));
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

    /// A clock stopped at one instant.
    struct Stopped(chrono::DateTime<Utc>);

    impl Clock for Stopped {
        fn now(&self) -> chrono::DateTime<Utc> {
            self.0
        }
    }

    fn fields(errors: &[FieldError]) -> Vec<&str> {
        errors.iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn joining_dates_may_be_today_anywhere_on_earth_but_not_later() {
        // 20:00 UTC on 3 December: already 4 December east of UTC+4, never 5 December.
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-03T20:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let members = service_at(&Arc::default(), Arc::new(Stopped(now)));
        for (raw, ok) in [
            ("1990-01-31", true),
            ("2026-12-03", true),
            ("2026-12-04", true),
            ("2026-12-05", false),
            ("2026-02-29", false),
            ("2026-1-5", false),
            ("03/12/2026", false),
        ] {
            let mut errors = Vec::new();
            let parsed = members.parse_joined_on(Some(raw.into()), &mut errors);
            assert_eq!(parsed.is_some(), ok, "{raw}");
            assert_eq!(fields(&errors), if ok { vec![] } else { vec!["joined_on"] });
        }
        let mut errors = Vec::new();
        assert_eq!(members.parse_joined_on(None, &mut errors), None);
        assert!(errors.is_empty());
    }

    #[test]
    fn phones_and_notes_are_checked_as_the_spec_says() {
        for (raw, ok) in [
            ("12345678", true),
            ("+55 (11) 98765-4321", true),
            ("12345678901234567890", true),
            ("1234567", false),
            ("123456789012345678901", false),
            ("1234 567x", false),
            ("+() -+() -", false),
            ("１２３４５６７８", false),
        ] {
            let mut errors = Vec::new();
            assert_eq!(
                parse_phone(Some(raw.into()), &mut errors).is_some(),
                ok,
                "{raw}"
            );
            assert_eq!(fields(&errors), if ok { vec![] } else { vec!["phone"] });
        }
        for (raw, kept) in [
            ("a\nb\tc\r\n".to_owned(), true),
            ("é".repeat(2000), true),
            ("   ".to_owned(), false),
        ] {
            let mut errors = Vec::new();
            assert_eq!(parse_notes(Some(raw.clone()), &mut errors).is_some(), kept);
            assert!(errors.is_empty(), "{raw:?}");
        }
        for raw in [
            "é".repeat(2001),
            "bell \u{7}".to_owned(),
            "\u{85}".to_owned(),
        ] {
            let mut errors = Vec::new();
            assert_eq!(parse_notes(Some(raw.clone()), &mut errors), None);
            assert_eq!(fields(&errors), ["notes"], "{raw:?}");
        }
    }

    #[test]
    fn searches_are_folded_and_bounded() {
        assert_eq!(parse_q("  JOÃO ").unwrap().as_deref(), Some("joao"));
        assert_eq!(parse_q("   ").unwrap(), None);
        assert_eq!(parse_q(&"a".repeat(100)).unwrap().unwrap().len(), 100);
        for bad in [String::new(), "a".repeat(101), "a\u{1f}b".to_owned()] {
            let Err(DomainError::Validation(errors)) = parse_q(&bad) else {
                panic!("{bad:?} was accepted");
            };
            assert_eq!(fields(&errors), ["q"]);
        }
    }

    #[test]
    fn a_list_key_holds_every_input_of_the_answer() {
        let page = PageRequest::parse(Some(2), Some(50)).unwrap();
        let query = MemberQuery {
            status: Some(MemberStatus::Suspended),
            org_unit_id: Some(OrgUnitId(7)),
            q: Some("Ignored: the folded q is passed".into()),
            sort: MemberSort::JoinedOnDesc,
        };
        assert_eq!(
            list_key(&user_of("/1/3/", true), &query, Some("jo:ao"), page),
            "list:u/1/3/+treasurer:status=suspended:unit=7:sort=-joined_on:p2x50:q=jo:ao"
        );
        assert_eq!(
            list_key(
                &user_of("/1/3/", false),
                &MemberQuery::default(),
                None,
                page
            ),
            "list:u/1/3/:status=any:unit=any:sort=id:p2x50:q="
        );
    }
}
