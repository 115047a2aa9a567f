//! Dues: what a member owes for a month. Unit users see and manage the dues of their subtree's
//! members; treasurers those of the whole organisation.

use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};

use crate::clock::Clock;
use crate::error::{DomainError, DomainResult, FieldError};
use crate::file::{Page, PageRequest};
use crate::members::{MemberId, MemberService};
use crate::money::{finish, parse_cents, parse_currency, parse_date, parse_period};
use crate::org::UnitPath;
use crate::ports::Store;
use crate::user::{Actor, UnitScope};

/// A dues record's database id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DuesId(pub i64);

/// Where a dues record stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DuesStatus {
    /// Owed.
    Open,
    /// Paid.
    Paid,
    /// Forgiven.
    Waived,
}

impl DuesStatus {
    /// The wire and database name.
    pub fn as_str(self) -> &'static str {
        match self {
            DuesStatus::Open => "open",
            DuesStatus::Paid => "paid",
            DuesStatus::Waived => "waived",
        }
    }
}

impl FromStr for DuesStatus {
    type Err = DomainError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        [DuesStatus::Open, DuesStatus::Paid, DuesStatus::Waived]
            .into_iter()
            .find(|s| s.as_str() == raw)
            .ok_or_else(|| DomainError::invalid("status", "must be open, paid or waived"))
    }
}

/// A dues record as stored, with its member's cell path.
#[derive(Debug, Clone)]
pub struct Dues {
    /// Id.
    pub id: DuesId,
    /// Who owes it.
    pub member_id: MemberId,
    /// The member's cell path (who sees it).
    pub unit_path: UnitPath,
    /// The month, `YYYY-MM`.
    pub period: String,
    /// Amount in cents.
    pub amount_cents: i64,
    /// ISO currency code.
    pub currency: String,
    /// When it is due.
    pub due_date: NaiveDate,
    /// Open, paid or waived.
    pub status: DuesStatus,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
}

impl Dues {
    /// Open and past its due date.
    pub fn is_overdue(&self, today: NaiveDate) -> bool {
        self.status == DuesStatus::Open && self.due_date < today
    }
}

/// A dues record to store.
#[derive(Debug, Clone)]
pub struct NewDues {
    /// Who owes it.
    pub member_id: MemberId,
    /// The month.
    pub period: String,
    /// Amount in cents.
    pub amount_cents: i64,
    /// Currency.
    pub currency: String,
    /// Due date.
    pub due_date: NaiveDate,
    /// Status.
    pub status: DuesStatus,
}

/// A change to dues; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct DuesUpdate {
    /// New amount.
    pub amount_cents: Option<i64>,
    /// New due date.
    pub due_date: Option<NaiveDate>,
    /// New status.
    pub status: Option<DuesStatus>,
}

/// Input for dues, still unparsed.
#[derive(Debug, Clone, Default)]
pub struct DuesInput {
    /// The member (creation only).
    pub member_id: Option<MemberId>,
    /// The month, `YYYY-MM` (creation only).
    pub period: Option<String>,
    /// Amount in cents.
    pub amount_cents: Option<i64>,
    /// Currency (creation only; `BRL` when absent).
    pub currency: Option<String>,
    /// Due date, `YYYY-MM-DD` (the period's last day when absent).
    pub due_date: Option<String>,
    /// Status.
    pub status: Option<DuesStatus>,
}

/// Which dues a query may return.
#[derive(Debug, Clone)]
pub struct DuesFilter {
    /// The units whose members' dues are in scope.
    pub units: UnitScope,
    /// Only this member's.
    pub member_id: Option<MemberId>,
    /// Only this status.
    pub status: Option<DuesStatus>,
    /// Only this month.
    pub period: Option<String>,
}

/// Dues.
pub struct DuesService {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    members: Arc<MemberService>,
}

impl DuesService {
    /// The service; `members` is told of changes (a treasurer's member list follows dues).
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, members: Arc<MemberService>) -> Self {
        Self {
            store,
            clock,
            members,
        }
    }

    /// Today, for overdue.
    pub fn today(&self) -> NaiveDate {
        self.clock.now().date_naive()
    }

    /// Records dues for a member the caller may manage dues of.
    pub async fn create(&self, actor: &Actor, input: DuesInput) -> DomainResult<Dues> {
        let mut errors = Vec::new();
        let period = match input.period.as_deref() {
            Some(raw) => parse_period(raw, &mut errors),
            None => {
                errors.push(FieldError::new("period", "is required"));
                None
            }
        };
        let amount = match input.amount_cents {
            Some(cents) => parse_cents("amount_cents", cents, &mut errors),
            None => {
                errors.push(FieldError::new("amount_cents", "is required"));
                0
            }
        };
        let currency = parse_currency(input.currency.as_deref(), &mut errors);
        let due_date = input
            .due_date
            .as_deref()
            .and_then(|raw| parse_date("due_date", raw, &mut errors));
        let status = input.status;
        match input.member_id {
            Some(id) => {
                if !self.member_in_scope(actor, id).await? {
                    errors.push(FieldError::new("member_id", "no such member in your scope"));
                }
            }
            None => errors.push(FieldError::new("member_id", "is required")),
        }
        finish(errors)?;
        let (Some(member_id), Some((period, first_day))) = (input.member_id, period) else {
            return Err(DomainError::invalid("period", "is required"));
        };
        let dues = self
            .store
            .insert_dues(NewDues {
                member_id,
                period,
                amount_cents: amount,
                currency,
                due_date: due_date.unwrap_or_else(|| last_day_of_month(first_day)),
                status: status.unwrap_or(DuesStatus::Open),
            })
            .await?;
        self.members.changed().await;
        Ok(dues)
    }

    /// One dues record, if the caller sees it.
    pub async fn get(&self, actor: &Actor, id: DuesId) -> DomainResult<Dues> {
        self.store
            .dues_by_id(id)
            .await?
            .filter(|d| actor.money_units().contains(Some(&d.unit_path)))
            .ok_or(DomainError::NotFound("dues"))
    }

    /// The dues the caller sees, newest month first.
    pub async fn list(
        &self,
        actor: &Actor,
        member_id: Option<MemberId>,
        status: Option<DuesStatus>,
        period: Option<String>,
        page: PageRequest,
    ) -> DomainResult<Page<Dues>> {
        self.store
            .list_dues(
                DuesFilter {
                    units: actor.money_units(),
                    member_id,
                    status,
                    period,
                },
                page,
            )
            .await
    }

    /// Changes the amount, due date or status of dues the caller sees.
    pub async fn update(&self, actor: &Actor, id: DuesId, input: DuesInput) -> DomainResult<Dues> {
        self.get(actor, id).await?;
        let mut errors = Vec::new();
        if input.member_id.is_some() || input.period.is_some() || input.currency.is_some() {
            errors.push(FieldError::new(
                "member_id",
                "member, period and currency cannot change: delete and record the dues again",
            ));
        }
        let amount_cents = input
            .amount_cents
            .map(|c| parse_cents("amount_cents", c, &mut errors));
        let due_date = input
            .due_date
            .as_deref()
            .and_then(|raw| parse_date("due_date", raw, &mut errors));
        let status = input.status;
        finish(errors)?;
        self.store
            .update_dues(
                id,
                &DuesUpdate {
                    amount_cents,
                    due_date,
                    status,
                },
            )
            .await
    }

    /// Deletes dues the caller sees; dues with payments are `dues_in_use`.
    pub async fn delete(&self, actor: &Actor, id: DuesId) -> DomainResult<()> {
        self.get(actor, id).await?;
        if !self.store.delete_dues(id).await? {
            return Err(DomainError::NotFound("dues"));
        }
        self.members.changed().await;
        Ok(())
    }

    /// Whether the member exists and its dues are in the caller's money scope.
    async fn member_in_scope(&self, actor: &Actor, id: MemberId) -> DomainResult<bool> {
        Ok(self
            .store
            .member_by_id(id)
            .await?
            .is_some_and(|m| actor.money_units().contains(Some(&m.unit_path))))
    }
}

fn last_day_of_month(first: NaiveDate) -> NaiveDate {
    first
        .checked_add_months(chrono::Months::new(1))
        .and_then(|next| next.pred_opt())
        .unwrap_or(first)
}
