//! Members: the people of the organisation, each in one cell.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::access::{UnitPath, UnitScope};
use crate::shared::{DomainError, MemberId, OrgUnitId};

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
