//! Money and dates as dues and payments take them: integer cents, ISO currency codes, ISO dates
//! and `YYYY-MM` periods. Never floats.

use chrono::NaiveDate;

use crate::error::{DomainResult, FieldError};

/// The currency when none is given.
pub const DEFAULT_CURRENCY: &str = "BRL";

/// A positive amount in cents (at most 10^12, a trillion cents).
pub fn parse_cents(field: &str, raw: i64, errors: &mut Vec<FieldError>) -> i64 {
    if !(1..=1_000_000_000_000).contains(&raw) {
        errors.push(FieldError::new(
            field,
            "must be a positive whole number of cents",
        ));
    }
    raw
}

/// An ISO 4217-shaped code: three uppercase letters (`BRL` when absent).
pub fn parse_currency(raw: Option<&str>, errors: &mut Vec<FieldError>) -> String {
    let code = raw.unwrap_or(DEFAULT_CURRENCY).trim().to_owned();
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
        errors.push(FieldError::new(
            "currency",
            "must be three uppercase letters, like BRL",
        ));
    }
    code
}

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

/// Ends a parse that collected field errors.
pub fn finish(errors: Vec<FieldError>) -> DomainResult<()> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(crate::DomainError::Validation(errors))
    }
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
