//! The dues service: unit users manage the dues of their subtree's members; treasurers those of
//! the whole organisation.

use std::sync::Arc;

use chrono::NaiveDate;
use serde_json::json;

use crate::access::{Actor, UnitScope};
use crate::audit::{AuditAction, AuditLog};
use crate::members::MemberRepo;
use crate::money::model::{
    parse_cents, parse_currency, parse_date, parse_period, Dues, DuesFilter, DuesGenerated,
    DuesInput, DuesStatus, DuesUpdate, GenerateDues, GenerateInput, NewDues,
};
use crate::money::repo::MoneyRepo;
use crate::org::OrgRepo;
use crate::shared::events::{Event, Events};
use crate::shared::time::Clock;
use crate::shared::{
    finish, DomainError, DomainResult, DuesId, FieldError, MemberId, Page, PageRequest,
};

/// Dues.
pub struct DuesService {
    money: Arc<dyn MoneyRepo>,
    members: Arc<dyn MemberRepo>,
    units: Arc<dyn OrgRepo>,
    clock: Arc<dyn Clock>,
    events: Events,
    audit: Arc<AuditLog>,
}

impl DuesService {
    /// The service over the dues, the members they are for and the units those belong to;
    /// changes are published to `events` (a treasurer's member list follows the money),
    /// deletions recorded in `audit`.
    pub fn new(
        money: Arc<dyn MoneyRepo>,
        members: Arc<dyn MemberRepo>,
        units: Arc<dyn OrgRepo>,
        clock: Arc<dyn Clock>,
        events: Events,
        audit: Arc<AuditLog>,
    ) -> Self {
        Self {
            money,
            members,
            units,
            clock,
            events,
            audit,
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
        let status = settable_status(input.status, &mut errors);
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
            .money
            .insert_dues(NewDues {
                member_id,
                period,
                amount_cents: amount,
                currency,
                due_date: due_date.unwrap_or_else(|| last_day_of_month(first_day)),
                status: status.unwrap_or(DuesStatus::Open),
            })
            .await?;
        self.events.publish(Event::MoneyChanged).await;
        Ok(dues)
    }

    /// Creates the period's dues for every active member in the caller's money scope (or in
    /// the subtree of `org_unit_id`, which must be inside it) that has none for the period yet,
    /// in one transaction. Running it again creates nothing new.
    pub async fn generate(
        &self,
        actor: &Actor,
        input: GenerateInput,
    ) -> DomainResult<DuesGenerated> {
        let mut errors = Vec::new();
        let period = match input.period.as_deref() {
            Some(raw) => parse_period(raw, &mut errors),
            None => {
                errors.push(FieldError::new("period", "is required"));
                None
            }
        };
        let amount_cents = match input.amount_cents {
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
        let money = actor.money_units();
        let units = match input.org_unit_id {
            Some(id) => match self
                .units
                .unit(id)
                .await?
                .filter(|u| money.contains(Some(&u.path)))
            {
                Some(unit) => UnitScope::Subtree(unit.path),
                None => {
                    errors.push(FieldError::new(
                        "org_unit_id",
                        "no such org unit in your scope",
                    ));
                    UnitScope::Nothing
                }
            },
            None => money,
        };
        finish(errors)?;
        let Some((period, first_day)) = period else {
            return Err(DomainError::invalid("period", "is required"));
        };
        let generated = self
            .money
            .generate_dues(&GenerateDues {
                units,
                period,
                amount_cents,
                currency,
                due_date: due_date.unwrap_or_else(|| last_day_of_month(first_day)),
            })
            .await?;
        if generated.created > 0 {
            self.events.publish(Event::MoneyChanged).await;
        }
        Ok(generated)
    }

    /// One dues record, if the caller sees it.
    pub async fn get(&self, actor: &Actor, id: DuesId) -> DomainResult<Dues> {
        self.money
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
        if let Some(raw) = &period {
            let mut errors = Vec::new();
            parse_period(raw, &mut errors);
            finish(errors)?;
        }
        self.money
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

    /// Changes the amount, due date or status of dues the caller sees that no payment paid:
    /// they may be waived or opened again, never marked paid (only a payment does that).
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
        let status = settable_status(input.status, &mut errors);
        finish(errors)?;
        let dues = self
            .money
            .update_dues(
                id,
                &DuesUpdate {
                    amount_cents,
                    due_date,
                    status,
                },
            )
            .await?;
        self.events.publish(Event::MoneyChanged).await;
        Ok(dues)
    }

    /// Deletes dues the caller sees; dues with payments are `dues_in_use`. The deletion is
    /// audited with what the dues were.
    pub async fn delete(&self, actor: &Actor, id: DuesId) -> DomainResult<()> {
        let before = self.get(actor, id).await?;
        if !self.money.delete_dues(id).await? {
            return Err(DomainError::NotFound("dues"));
        }
        self.events.publish(Event::MoneyChanged).await;
        self.audit
            .act(
                actor,
                AuditAction::DuesDeleted,
                format!("dues:{}", id.0),
                json!({"before": {"member_id": before.member_id.0, "period": before.period,
                       "amount_cents": before.amount_cents, "currency": before.currency,
                       "due_date": before.due_date, "status": before.status.as_str()}}),
            )
            .await;
        Ok(())
    }

    /// Whether the member exists and its dues are in the caller's money scope.
    async fn member_in_scope(&self, actor: &Actor, id: MemberId) -> DomainResult<bool> {
        Ok(self
            .members
            .member_by_id(id)
            .await?
            .is_some_and(|m| actor.money_units().contains(Some(&m.unit_path))))
    }
}

/// A status a client may set: open or waived; `paid` is a payment's to set.
fn settable_status(status: Option<DuesStatus>, errors: &mut Vec<FieldError>) -> Option<DuesStatus> {
    if status == Some(DuesStatus::Paid) {
        errors.push(FieldError::new(
            "status",
            "dues become paid only through a payment: record one",
        ));
        return None;
    }
    status
}

fn last_day_of_month(first: NaiveDate) -> NaiveDate {
    first
        .checked_add_months(chrono::Months::new(1))
        .and_then(|next| next.pred_opt())
        .unwrap_or(first)
}
