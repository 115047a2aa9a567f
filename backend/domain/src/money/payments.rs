//! The payments service: money received from a member, for dues, a material or a donation.
//! Recording a payment for dues marks them paid, and one for a material takes the quantity from
//! the stock of the member's unit, in the same transaction; deleting the payment reverts exactly
//! that. Unit users see the payments of their subtree's members; treasurers those of the whole
//! organisation. Partial payments and refunds are not implied: a dues payment pays the whole
//! dues, and a material payment's amount other than price × quantity needs a note.

use std::sync::Arc;

use chrono::NaiveDate;
use serde_json::json;

use crate::access::Actor;
use crate::audit::{AuditAction, AuditLog};
use crate::files::{FileRepo, FileScope, FileStatus, FileType};
use crate::materials::service::parse_note;
use crate::materials::{MaterialRepo, MAX_QUANTITY};
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
    materials: Arc<dyn MaterialRepo>,
    files: Arc<dyn FileRepo>,
    events: Events,
    audit: Arc<AuditLog>,
}

/// The longest note a payment may carry.
const MAX_NOTE: usize = 500;

impl PaymentService {
    /// The service over the payments, the members they are from, the materials they buy and
    /// their receipt files; changes are published to `events` (a treasurer's member list
    /// follows the money), deletions recorded in `audit`.
    pub fn new(
        money: Arc<dyn MoneyRepo>,
        members: Arc<dyn MemberRepo>,
        materials: Arc<dyn MaterialRepo>,
        files: Arc<dyn FileRepo>,
        events: Events,
        audit: Arc<AuditLog>,
    ) -> Self {
        Self {
            money,
            members,
            materials,
            files,
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
        let note = parse_note("note", input.note.clone(), MAX_NOTE, &mut errors);
        let member_seen = member.is_some();
        match (purpose, input.dues_id) {
            (Some(PaymentPurpose::Dues), None) => {
                errors.push(FieldError::new("dues_id", "is required for a dues payment"));
            }
            // Dues are looked at only for a member in the caller's scope, so the answer never
            // tells whether dues of anyone else exist, or in which currency.
            (Some(PaymentPurpose::Dues), Some(_)) if !member_seen => {}
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
                        if d.amount_cents != amount_cents {
                            errors.push(FieldError::new(
                                "amount_cents",
                                format!(
                                    "must be the dues' amount, {} cents: partial payments are \
                                     not recorded (change the dues' amount first)",
                                    d.amount_cents
                                ),
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
        let material = match (purpose, input.material_id, input.quantity) {
            (Some(PaymentPurpose::Material), material_id, quantity) => {
                if material_id.is_none() {
                    errors.push(FieldError::new(
                        "material_id",
                        "is required for a material payment",
                    ));
                }
                match quantity {
                    None => errors.push(FieldError::new(
                        "quantity",
                        "is required for a material payment",
                    )),
                    Some(q) if !(1..=MAX_QUANTITY).contains(&q) => errors.push(FieldError::new(
                        "quantity",
                        format!("must be 1 to {MAX_QUANTITY}"),
                    )),
                    Some(_) => {}
                }
                match material_id {
                    Some(id) => match self.materials.material(id).await? {
                        Some(m) => Some(m),
                        None => {
                            errors.push(FieldError::new("material_id", "no such material"));
                            None
                        }
                    },
                    None => None,
                }
            }
            (_, material_id, quantity) => {
                if material_id.is_some() {
                    errors.push(FieldError::new(
                        "material_id",
                        "only a material payment refers to a material",
                    ));
                }
                if quantity.is_some() {
                    errors.push(FieldError::new(
                        "quantity",
                        "only a material payment has a quantity",
                    ));
                }
                None
            }
        };
        if let (Some(m), Some(quantity)) = (&material, input.quantity) {
            if m.currency != currency {
                errors.push(FieldError::new(
                    "currency",
                    format!("the material is priced in {}", m.currency),
                ));
            }
            let price = m.unit_price_cents.checked_mul(quantity);
            if price != Some(amount_cents) && note.is_none() {
                errors.push(FieldError::new(
                    "note",
                    format!(
                        "is required when the amount is not the unit price times the quantity ({} cents)",
                        price.map_or_else(|| "too many".to_owned(), |p| p.to_string())
                    ),
                ));
            }
        }
        let receipt_file_id = match input.receipt_file_id {
            Some(id) => {
                let scope = FileScope::of(actor);
                match self.files.file_by_id(id).await? {
                    Some(f) if f.status == FileStatus::Uploaded && scope.contains(&f) => {
                        if f.file_type != FileType::Receipt {
                            errors.push(FieldError::new(
                                "receipt_file_id",
                                "must be a file of type receipt",
                            ));
                        }
                        Some(id)
                    }
                    _ => {
                        errors.push(FieldError::new(
                            "receipt_file_id",
                            "no such file in your scope",
                        ));
                        None
                    }
                }
            }
            None => None,
        };
        finish(errors)?;
        let (Some(member), Some(purpose), Some(method), Some(paid_on)) =
            (member, purpose, method, paid_on)
        else {
            return Err(DomainError::invalid("member_id", "is required"));
        };
        let material = match (material, input.quantity) {
            // The stock of the member's own unit gives the material.
            (Some(m), Some(quantity)) => Some((m.id, quantity, member.org_unit_id)),
            _ => None,
        };
        let payment = self
            .money
            .insert_payment(NewPayment {
                member_id: member.id,
                dues_id: input.dues_id,
                purpose,
                material,
                amount_cents,
                currency,
                method,
                paid_on,
                note,
                receipt_file_id,
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
        purpose: Option<PaymentPurpose>,
        page: PageRequest,
    ) -> DomainResult<Page<Payment>> {
        self.money
            .list_payments(
                PaymentFilter {
                    units: actor.money_units(),
                    member_id,
                    purpose,
                },
                page,
            )
            .await
    }

    /// Deletes a payment the caller sees (a mistake) and reverts what it changed, in one
    /// transaction: dues it paid are open again, a material's quantity goes back to the stock
    /// it came from. The deletion is audited with what the payment was.
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
                       "material_id": before.material_id.map(|m| m.0),
                       "quantity": before.quantity,
                       "stock_org_unit_id": before.stock_org_unit_id.map(|u| u.0),
                       "amount_cents": before.amount_cents, "currency": before.currency,
                       "method": before.method.as_str(), "paid_on": before.paid_on,
                       "note": before.note,
                       "receipt_file_id": before.receipt_file_id.map(|f| f.0),
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
