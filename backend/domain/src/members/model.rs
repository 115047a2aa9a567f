//! Members: the people of the organisation, each in one cell.

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

use crate::access::{UnitPath, UnitScope};
use crate::shared::{DomainError, FileId, MemberId, OrgUnitId};

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
    /// Contact phone, if known.
    pub phone: Option<String>,
    /// When the member joined the organisation, if known.
    pub joined_on: Option<NaiveDate>,
    /// Free notes about the member.
    pub notes: Option<String>,
    /// The member's picture (a file of type avatar), if any.
    pub avatar_file_id: Option<FileId>,
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
    /// Contact phone.
    pub phone: Option<String>,
    /// When the member joined.
    pub joined_on: Option<NaiveDate>,
    /// Free notes.
    pub notes: Option<String>,
    /// The member's picture.
    pub avatar_file_id: Option<FileId>,
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
    /// New phone (`Some(None)` removes it).
    pub phone: Option<Option<String>>,
    /// New joining date (`Some(None)` removes it).
    pub joined_on: Option<Option<NaiveDate>>,
    /// New notes (`Some(None)` removes them).
    pub notes: Option<Option<String>>,
    /// New picture (`Some(None)` removes it).
    pub avatar_file_id: Option<Option<FileId>>,
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
    /// Contact phone (`Some(None)` removes it).
    pub phone: Option<Option<String>>,
    /// When the member joined, `YYYY-MM-DD` (`Some(None)` removes it).
    pub joined_on: Option<Option<String>>,
    /// Free notes (`Some(None)` removes them).
    pub notes: Option<Option<String>>,
    /// A file of type avatar the caller may see (`Some(None)` removes it).
    pub avatar_file_id: Option<Option<FileId>>,
}

/// The order of a member list; ties are broken by id in the same direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MemberSort {
    /// By id, oldest first (the default).
    #[default]
    Id,
    /// By name, case and accents ignored, A to Z (then by email: the stored search text).
    Name,
    /// By name, Z to A.
    NameDesc,
    /// By joining date, earliest first; members without one last.
    JoinedOn,
    /// By joining date, latest first; members without one last.
    JoinedOnDesc,
}

impl MemberSort {
    /// The wire name (`name`, `-name`, …), also used in cache keys.
    pub fn as_str(self) -> &'static str {
        match self {
            MemberSort::Id => "id",
            MemberSort::Name => "name",
            MemberSort::NameDesc => "-name",
            MemberSort::JoinedOn => "joined_on",
            MemberSort::JoinedOnDesc => "-joined_on",
        }
    }
}

/// What a caller asks of the member list, before its scope is applied.
#[derive(Debug, Clone, Default)]
pub struct MemberQuery {
    /// Only this status.
    pub status: Option<MemberStatus>,
    /// Only members of this unit and the units below it.
    pub org_unit_id: Option<OrgUnitId>,
    /// Only members whose name or email contains this text (case and accents ignored).
    pub q: Option<String>,
    /// The order.
    pub sort: MemberSort,
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
    /// Only members of the unit with this path and of the units below it.
    pub subtree: Option<UnitPath>,
    /// Only members whose search text contains this, already [`fold`]ed (matched literally).
    pub q: Option<String>,
    /// The order.
    pub sort: MemberSort,
}

/// Text as member search compares it: lower-cased, compatibility-decomposed and stripped of
/// combining marks (so "João" and "JOAO" are both "joao"), then recomposed.
pub fn fold(text: &str) -> String {
    text.to_lowercase()
        .nfkd()
        .filter(|c| !is_combining_mark(*c))
        .nfc()
        .collect()
}

/// What separates the name from the email in [`search_text`]: a control character, which
/// neither holds once folded, so a pattern can require its match to lie before it (in the name).
pub const SEARCH_SEPARATOR: char = '\u{1f}';

/// What member search looks in: the folded name and email, `"<name>\u{1f}<email>"`. Stored
/// with every write, so a search is one `LIKE` on one column (and one trigram index on
/// PostgreSQL); the separator sorts before every printable character, so sorting by this text
/// sorts by name first ("Ana" before "Ana Maria").
pub fn search_text(name: &str, email: Option<&str>) -> String {
    let clean = |text: &str| -> String { fold(text).chars().filter(|c| !c.is_control()).collect() };
    format!(
        "{}{SEARCH_SEPARATOR}{}",
        clean(name),
        clean(email.unwrap_or_default())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_ignores_case_and_accents() {
        assert_eq!(fold("João"), "joao");
        assert_eq!(fold("SÍLVIA Ñúñez"), "silvia nunez");
        assert_eq!(fold("ﬁlipe"), "filipe");
        assert_eq!(fold("Ærø"), "ærø");
        assert_eq!(
            search_text("José da Silva", Some("silva@x.org")),
            "jose da silva\u{1f}silva@x.org"
        );
        assert_eq!(search_text("Ana", None), "ana\u{1f}");
        assert_eq!(
            search_text("A\u{1f}b", Some("c\u{1f}@d.org")),
            "ab\u{1f}c@d.org"
        );
        assert!(search_text("Ana", None) < search_text("Ana Maria", Some("a@b.org")));
    }
}
