//! Money as the organisation keeps it: dues (what a member owes for a month) and payments
//! (money received, for dues, a material or a donation). Integer cents and ISO currency codes,
//! ISO dates and `YYYY-MM` periods; never floats.

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};

use crate::access::{UnitPath, UnitScope};
use crate::shared::{
    DomainError, DuesId, FieldError, FileId, MaterialId, MemberId, OrgUnitId, PaymentId, UserId,
};

// Amounts and currencies are parsed alike wherever money appears (materials too).
pub use crate::shared::validation::{parse_cents, parse_currency, DEFAULT_CURRENCY};

/// An ISO date, `YYYY-MM-DD`.
pub fn parse_date(field: &str, raw: &str, errors: &mut Vec<FieldError>) -> Option<NaiveDate> {
    let date = NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d").ok();
    if date.is_none() {
        errors.push(FieldError::new(field, "must be a date like 2026-11-30"));
    }
    date
}

/// A month, `YYYY-MM`; answers it with its first day.
pub fn parse_period(raw: &str, errors: &mut Vec<FieldError>) -> Option<(String, NaiveDate)> {
    let raw = raw.trim();
    let first = NaiveDate::parse_from_str(&format!("{raw}-01"), "%Y-%m-%d")
        .ok()
        .filter(|_| raw.len() == 7);
    match first {
        Some(first) => Some((raw.to_owned(), first)),
        None => {
            errors.push(FieldError::new("period", "must be a month like 2026-11"));
            None
        }
    }
}

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
    /// The material it pays for, if any.
    pub material_id: Option<MaterialId>,
    /// How many of the material.
    pub quantity: Option<i64>,
    /// The unit whose stock the material was taken from (deleting the payment puts it back
    /// there); `None` when the unit was deleted since.
    pub stock_org_unit_id: Option<OrgUnitId>,
    /// Amount in cents.
    pub amount_cents: i64,
    /// ISO currency code.
    pub currency: String,
    /// How it came.
    pub method: PaymentMethod,
    /// When it was paid.
    pub paid_on: NaiveDate,
    /// Why the amount is what it is, when it is not the plain price.
    pub note: Option<String>,
    /// The receipt (a file of type `receipt`).
    pub receipt_file_id: Option<FileId>,
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
    /// The dues it pays (marked paid with it, when they are open).
    pub dues_id: Option<DuesId>,
    /// What it is for.
    pub purpose: PaymentPurpose,
    /// The material it pays for, the quantity, and the unit whose stock gives it (taken with
    /// the payment, when the unit holds enough).
    pub material: Option<(MaterialId, i64, OrgUnitId)>,
    /// Amount in cents.
    pub amount_cents: i64,
    /// Currency.
    pub currency: String,
    /// How it came.
    pub method: PaymentMethod,
    /// When it was paid.
    pub paid_on: NaiveDate,
    /// Why the amount is what it is.
    pub note: Option<String>,
    /// The receipt.
    pub receipt_file_id: Option<FileId>,
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
    /// The material it pays for (required for `material`, refused otherwise).
    pub material_id: Option<MaterialId>,
    /// How many of the material (required for `material`, refused otherwise).
    pub quantity: Option<i64>,
    /// Why the amount is what it is (required when a material payment's amount is not the
    /// unit price times the quantity).
    pub note: Option<String>,
    /// The receipt: an uploaded file of type `receipt` the caller sees.
    pub receipt_file_id: Option<FileId>,
}

/// What `POST /api/dues/generate` asks for, still unparsed.
#[derive(Debug, Clone, Default)]
pub struct GenerateInput {
    /// The month, `YYYY-MM`.
    pub period: Option<String>,
    /// Amount in cents, for every member.
    pub amount_cents: Option<i64>,
    /// Currency (`BRL` when absent).
    pub currency: Option<String>,
    /// Due date, `YYYY-MM-DD` (the period's last day when absent).
    pub due_date: Option<String>,
    /// Only the members of this unit and the units below it.
    pub org_unit_id: Option<OrgUnitId>,
}

/// The dues of one period to create for every active member of a scope.
#[derive(Debug, Clone)]
pub struct GenerateDues {
    /// Whose members get dues.
    pub units: UnitScope,
    /// The month.
    pub period: String,
    /// Amount in cents.
    pub amount_cents: i64,
    /// Currency.
    pub currency: String,
    /// Due date.
    pub due_date: NaiveDate,
}

/// What a generation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DuesGenerated {
    /// Dues created now.
    pub created: i64,
    /// Active members in scope who had dues for the period already.
    pub skipped: i64,
}

/// Which payments a query may return.
#[derive(Debug, Clone)]
pub struct PaymentFilter {
    /// The units whose members' payments are in scope.
    pub units: UnitScope,
    /// Only this member's.
    pub member_id: Option<MemberId>,
    /// Only payments for this.
    pub purpose: Option<PaymentPurpose>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_and_dates_parse_strictly() {
        let mut errors = Vec::new();
        assert_eq!(parse_currency(None, &mut errors), "BRL");
        assert_eq!(parse_period("2026-11", &mut errors).unwrap().0, "2026-11");
        assert!(parse_date("due_date", "2026-11-30", &mut errors).is_some());
        parse_cents("amount_cents", 2500, &mut errors);
        assert!(errors.is_empty());
        parse_currency(Some("brl"), &mut errors);
        parse_period("2026-13", &mut errors);
        parse_period("2026-1", &mut errors);
        parse_date("due_date", "30/11/2026", &mut errors);
        parse_cents("amount_cents", 0, &mut errors);
        assert_eq!(errors.len(), 5);
    }
}
