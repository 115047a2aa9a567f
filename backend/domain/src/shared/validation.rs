//! Parsing of input shared by several contexts: emails and names.

use crate::shared::error::{DomainError, DomainResult};

/// A syntactically valid email address, trimmed and lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Parses an email: one `@`, a non-empty local part, a domain with a dot, no spaces, at most 254 chars.
    pub fn parse(raw: &str) -> DomainResult<Self> {
        let email = raw.trim().to_lowercase();
        let valid = raw.trim().chars().count() <= 254
            && !email.chars().any(char::is_whitespace)
            && match email.split_once('@') {
                Some((local, domain)) => {
                    !local.is_empty()
                        && !domain.contains('@')
                        && domain.contains('.')
                        && !domain.starts_with('.')
                        && !domain.ends_with('.')
                }
                None => false,
            };
        if valid {
            Ok(Self(email))
        } else {
            Err(DomainError::invalid(
                "email",
                "must be a valid email address",
            ))
        }
    }

    /// The address as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A name (of a person, unit or token): at most `max` characters as sent, not only spaces and
/// no control characters, kept trimmed; the error names `field`. The same rule as the pattern
/// the API publishes for names.
pub fn name(field: &str, raw: &str, max: usize) -> DomainResult<String> {
    if raw.chars().any(char::is_control) {
        return Err(DomainError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    let name = raw.trim();
    if name.is_empty() || raw.chars().count() > max {
        return Err(DomainError::invalid(
            field,
            format!("must be 1 to {max} characters, not only spaces"),
        ));
    }
    Ok(name.to_owned())
}

/// The currency when none is given.
pub const DEFAULT_CURRENCY: &str = "BRL";

/// A positive amount in cents (at most 10^12, a trillion cents).
pub fn parse_cents(field: &str, raw: i64, errors: &mut Vec<crate::shared::FieldError>) -> i64 {
    if !(1..=1_000_000_000_000).contains(&raw) {
        errors.push(crate::shared::FieldError::new(
            field,
            "must be a positive whole number of cents",
        ));
    }
    raw
}

/// An ISO 4217-shaped code: three uppercase letters (`BRL` when absent).
pub fn parse_currency(raw: Option<&str>, errors: &mut Vec<crate::shared::FieldError>) -> String {
    let code = raw.unwrap_or(DEFAULT_CURRENCY).trim().to_owned();
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
        errors.push(crate::shared::FieldError::new(
            "currency",
            "must be three uppercase letters, like BRL",
        ));
    }
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(
            Email::parse("  Ana@Example.ORG ").unwrap().as_str(),
            "ana@example.org"
        );
    }

    #[test]
    fn malformed_emails_are_refused() {
        for bad in [
            "",
            "ana",
            "ana@",
            "@example.org",
            "a b@example.org",
            "ana@example",
            "a@b@c.org",
            "ana@.org",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn names_are_trimmed_and_never_blank() {
        assert_eq!(name("name", " Ana ", 200).unwrap(), "Ana");
        assert!(name("name", "   ", 200).is_err());
        assert!(name("name", &"a".repeat(201), 200).is_err());
        assert!(name("name", "Ana\u{1f}", 200).is_err());
    }
}
