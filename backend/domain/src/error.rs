//! The one error type of the domain. The server maps each variant to a status and a stable code.

use serde::Serialize;

/// One invalid input field, named as the client sent it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field's name in the request (`email`, `file_type`, …).
    pub field: String,
    /// What is wrong with it, in words a person can act on.
    pub message: String,
}

impl FieldError {
    /// A field error for `field` saying `message`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Everything that can go wrong in a domain operation.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// The record does not exist, or is outside the caller's scope (both look the same).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The request clashes with existing state (a taken email, an upload not finished yet).
    #[error("{message}")]
    Conflict {
        /// A stable snake_case code for the clash.
        code: &'static str,
        /// What clashed.
        message: String,
    },
    /// One or more input fields are invalid.
    #[error("invalid input")]
    Validation(Vec<FieldError>),
    /// The caller is known but may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The caller is known but the action needs an administrator.
    #[error("Admin access required")]
    AdminRequired,
    /// The password was right; the account needs a one-time code too.
    #[error("a one-time code is required")]
    OtpRequired,
    /// The one-time code is wrong, expired or already used.
    #[error("the one-time code is invalid")]
    OtpInvalid,
    /// No valid credentials were given.
    #[error("{0}")]
    Unauthenticated(String),
    /// The body is larger than allowed.
    #[error("the upload is larger than the limit of {limit} bytes")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The content type of the bytes is not accepted here.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// A dependency the operation cannot do without is down.
    #[error("{0} is unavailable")]
    Unavailable(String),
    /// A bug or an unexpected failure; the cause goes to the log, never to the client.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl DomainError {
    /// A validation error about a single field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }
}

/// Shorthand for results of domain operations.
pub type DomainResult<T> = Result<T, DomainError>;

/// The value of a parse, or `None` with its field errors added to `errors`, so one answer can
/// name every invalid field.
pub fn collect_field<T>(parsed: DomainResult<T>, errors: &mut Vec<FieldError>) -> Option<T> {
    match parsed {
        Ok(value) => Some(value),
        Err(DomainError::Validation(mut more)) => {
            errors.append(&mut more);
            None
        }
        Err(_) => None,
    }
}
