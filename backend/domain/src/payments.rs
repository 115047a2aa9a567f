//! Payments: money received from a member, for dues, a material or a donation. Recording a
//! payment for dues marks them paid, in the same transaction. Unit users see the payments of
//! their subtree's members; treasurers those of the whole organisation.

use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};

use crate::dues::DuesId;
use crate::error::{DomainError, DomainResult, FieldError};
use crate::file::{Page, PageRequest};
use crate::members::{MemberId, MemberService};
use crate::money::{finish, parse_cents, parse_currency, parse_date};
use crate::org::UnitPath;
use crate::ports::Store;
use crate::user::{Actor, UnitScope, UserId};

/// A payment's database id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PaymentId(pub i64);

/// Named values of a payment field, parsed from their wire names.
macro_rules! named {
    ($(#[$doc:meta])* $name:ident, $field:literal, { $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// The wire and database name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl FromStr for $name {
            type Err = DomainError;

            fn from_str(raw: &str) -> Result<Self, Self::Err> {
                match raw {
                    $($text => Ok($name::$variant),)+
                    _ => Err(DomainError::invalid(
                        $field,
                        concat!("must be one of:", $(" ", $text),+),
                    )),
                }
            }
        }
    };
}

named!(
    /// What a payment is for.
    PaymentPurpose, "purpose", {
        /// Dues.
        Dues => "dues",
        /// A material.
        Material => "material",
        /// A donation.
        Donation => "donation",
    }
);

named!(
    /// How the money came.
    PaymentMethod, "method", {
        /// Cash.
        Cash => "cash",
        /// Pix (Brazil's instant transfer).
        Pix => "pix",
        /// A bank transfer.
        Transfer => "transfer",
        /// A card.
        Card => "card",
        /// Anything else.
        Other => "other",
    }
);

/// A payment as stored, with its member's cell path.
#[derive(Debug, Clone)]
pub struct Payment {
    /// Id.
    pub id: PaymentId,
    /// Who paid.
    pub member_id: MemberId,
    /// The member's cell path (who sees it).
    pub unit_path: UnitPath,
    /// The dues it pays, if any.
    pub dues_id: Option<DuesId>,
    /// What it is for.
    pub purpose: PaymentPurpose,
    /// Amount in cents.
    pub amount_cents: i64,
    /// ISO currency code.
    pub currency: String,
    /// How it came.
    pub method: PaymentMethod,
    /// When it was paid.
    pub paid_on: NaiveDate,
    /// Who recorded it.
    pub recorded_by: UserId,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
}

/// A payment to store.
#[derive(Debug, Clone)]
pub struct NewPayment {
    /// Who paid.
    pub member_id: MemberId,
    /// The dues it pays (marked paid with it).
    pub dues_id: Option<DuesId>,
    /// What it is for.
    pub purpose: PaymentPurpose,
    /// Amount in cents.
    pub amount_cents: i64,
    /// Currency.
    pub currency: String,
    /// How it came.
    pub method: PaymentMethod,
    /// When it was paid.
    pub paid_on: NaiveDate,
    /// Who recorded it.
    pub recorded_by: UserId,
}

/// Input for a payment, still unparsed.
#[derive(Debug, Clone, Default)]
pub struct PaymentInput {
    /// Who paid.
    pub member_id: Option<MemberId>,
    /// The dues it pays (required for `dues`, refused otherwise).
    pub dues_id: Option<DuesId>,
    /// What it is for.
    pub purpose: Option<PaymentPurpose>,
    /// Amount in cents.
    pub amount_cents: Option<i64>,
    /// Currency (`BRL` when absent).
    pub currency: Option<String>,
    /// How the money came.
    pub method: Option<PaymentMethod>,
    /// `YYYY-MM-DD` (today when absent).
    pub paid_on: Option<String>,
}

/// Which payments a query may return.
#[derive(Debug, Clone)]
pub struct PaymentFilter {
    /// The units whose members' payments are in scope.
    pub units: UnitScope,
    /// Only this member's.
    pub member_id: Option<MemberId>,
}

/// Payments.
pub struct PaymentService {
    store: Arc<dyn Store>,
    members: Arc<MemberService>,
}

impl PaymentService {
    /// The service; `members` is told of changes (a treasurer's member list follows payments).
    pub fn new(store: Arc<dyn Store>, members: Arc<MemberService>) -> Self {
        Self { store, members }
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
                .store
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
            (Some(PaymentPurpose::Dues), Some(dues_id)) => {
                let dues = self.store.dues_by_id(dues_id).await?;
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
            .store
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
        self.members.changed().await;
        Ok(payment)
    }

    /// One payment, if the caller sees it.
    pub async fn get(&self, actor: &Actor, id: PaymentId) -> DomainResult<Payment> {
        self.store
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
        self.store
            .list_payments(
                PaymentFilter {
                    units: actor.money_units(),
                    member_id,
                },
                page,
            )
            .await
    }

    /// Deletes a payment the caller sees (a mistake); dues it paid stay as they are.
    pub async fn delete(&self, actor: &Actor, id: PaymentId) -> DomainResult<()> {
        self.get(actor, id).await?;
        if !self.store.delete_payment(id).await? {
            return Err(DomainError::NotFound("payment"));
        }
        self.members.changed().await;
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
