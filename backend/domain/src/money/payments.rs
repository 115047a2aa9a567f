//! The payments service: money received from a member, for dues, a material or a donation.
//! Recording a payment for dues marks them paid, in the same transaction. Unit users see the
//! payments of their subtree's members; treasurers those of the whole organisation.

use std::sync::Arc;

use chrono::NaiveDate;
use serde_json::json;

use crate::access::Actor;
use crate::audit::{AuditAction, AuditLog};
use crate::members::MemberRepo;
use crate::money::model::{
    parse_cents, parse_currency, parse_date, NewPayment, Payment, PaymentFilter, PaymentInput,
    PaymentPurpose,
};
use crate::money::repo::MoneyRepo;
use crate::shared::events::{Event, Events};
use crate::shared::{
    finish, DomainError, DomainResult, FieldError, MemberId, Page, PageRequest, PaymentId,
};

/// Payments.
pub struct PaymentService {
    money: Arc<dyn MoneyRepo>,
    members: Arc<dyn MemberRepo>,
    events: Events,
    audit: Arc<AuditLog>,
}

impl PaymentService {
    /// The service over the payments and the members they are from; changes are published to
    /// `events` (a treasurer's member list follows the money), deletions recorded in `audit`.
    pub fn new(
        money: Arc<dyn MoneyRepo>,
        members: Arc<dyn MemberRepo>,
        events: Events,
        audit: Arc<AuditLog>,
    ) -> Self {
        Self {
            money,
            members,
            events,
            audit,
        }
    }

    /// Records a payment from a member the caller may manage money of; for dues, marks them paid.
    pub async fn create(
        &self,
        actor: &Actor,
        input: PaymentInput,
        today: NaiveDate,
    ) -> DomainResult<Payment> {
        let mut errors = Vec::new();
        let purpose = required(input.purpose, "purpose", &mut errors);
        let method = required(input.method, "method", &mut errors);
        let amount_cents = match input.amount_cents {
            Some(cents) => parse_cents("amount_cents", cents, &mut errors),
            None => {
                errors.push(FieldError::new("amount_cents", "is required"));
                0
            }
        };
        let currency = parse_currency(input.currency.as_deref(), &mut errors);
        let paid_on = match input.paid_on.as_deref() {
            Some(raw) => parse_date("paid_on", raw, &mut errors),
            None => Some(today),
        };
        let money = actor.money_units();
        let member = match input.member_id {
            Some(id) => self
                .members
                .member_by_id(id)
                .await?
                .filter(|m| money.contains(Some(&m.unit_path))),
            None => None,
        };
        if member.is_none() {
            errors.push(FieldError::new("member_id", "no such member in your scope"));
        }
        match (purpose, input.dues_id) {
            (Some(PaymentPurpose::Dues), None) => {
                errors.push(FieldError::new("dues_id", "is required for a dues payment"));
            }
            // Dues are looked at only for a member in the caller's scope, so the answer never
            // tells whether dues of anyone else exist, or in which currency.
            (Some(PaymentPurpose::Dues), Some(_)) if member.is_none() => {}
            (Some(PaymentPurpose::Dues), Some(dues_id)) => {
                let dues = self.money.dues_by_id(dues_id).await?;
                match dues {
                    Some(d) if Some(d.member_id) == input.member_id => {
                        if d.currency != currency {
                            errors.push(FieldError::new(
                                "currency",
                                format!("the dues are in {}", d.currency),
                            ));
                        }
                    }
                    _ => errors.push(FieldError::new("dues_id", "no such dues of this member")),
                }
            }
            (Some(_), Some(_)) => errors.push(FieldError::new(
                "dues_id",
                "only a dues payment refers to dues",
            )),
            _ => {}
        }
        finish(errors)?;
        let (Some(member), Some(purpose), Some(method), Some(paid_on)) =
            (member, purpose, method, paid_on)
        else {
            return Err(DomainError::invalid("member_id", "is required"));
        };
        let payment = self
            .money
            .insert_payment(NewPayment {
                member_id: member.id,
                dues_id: input.dues_id,
                purpose,
                amount_cents,
                currency,
                method,
                paid_on,
                recorded_by: actor.user_id,
            })
            .await?;
        self.events.publish(Event::MoneyChanged).await;
        Ok(payment)
    }

    /// One payment, if the caller sees it.
    pub async fn get(&self, actor: &Actor, id: PaymentId) -> DomainResult<Payment> {
        self.money
            .payment_by_id(id)
            .await?
            .filter(|p| actor.money_units().contains(Some(&p.unit_path)))
            .ok_or(DomainError::NotFound("payment"))
    }

    /// The payments the caller sees, newest first.
    pub async fn list(
        &self,
        actor: &Actor,
        member_id: Option<MemberId>,
        page: PageRequest,
    ) -> DomainResult<Page<Payment>> {
        self.money
            .list_payments(
                PaymentFilter {
                    units: actor.money_units(),
                    member_id,
                },
                page,
            )
            .await
    }

    /// Deletes a payment the caller sees (a mistake); dues it paid stay as they are. The
    /// deletion is audited with what the payment was.
    pub async fn delete(&self, actor: &Actor, id: PaymentId) -> DomainResult<()> {
        let before = self.get(actor, id).await?;
        if !self.money.delete_payment(id).await? {
            return Err(DomainError::NotFound("payment"));
        }
        self.events.publish(Event::MoneyChanged).await;
        self.audit
            .act(
                actor,
                AuditAction::PaymentDeleted,
                format!("payment:{}", id.0),
                json!({"before": {"member_id": before.member_id.0,
                       "dues_id": before.dues_id.map(|d| d.0), "purpose": before.purpose.as_str(),
                       "amount_cents": before.amount_cents, "currency": before.currency,
                       "method": before.method.as_str(), "paid_on": before.paid_on,
                       "recorded_by": before.recorded_by.0}}),
            )
            .await;
        Ok(())
    }
}

/// A required field, or a field error.
fn required<T>(value: Option<T>, field: &str, errors: &mut Vec<FieldError>) -> Option<T> {
    if value.is_none() {
        errors.push(FieldError::new(field, "is required"));
    }
    value
}
