//! The one error type of the domain, and the one table of error codes the API answers with.
//! The server maps each code to an HTTP status in one `match`; `docs/errors.md` is checked
//! against [`ErrorCode::ALL`] by a test.

use serde::Serialize;

use crate::shared::limits::Decision;

/// Declares the codes once: the enum, its wire names and the list of all of them.
macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident => $name:literal,)+) => {
        /// A stable snake_case code that clients branch on; the `code` of every problem answer.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)+
        }

        impl ErrorCode {
            /// Every code, in the order `docs/errors.md` lists them.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)+];

            /// The wire name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $name,)+
                }
            }
        }
    };
}

error_codes! {
    /// The body is not JSON.
    InvalidJson => "invalid_json",
    /// A broken multipart body.
    InvalidMultipart => "invalid_multipart",
    /// A request body that could not be read.
    InvalidBody => "invalid_body",
    /// Any other malformed request.
    BadRequest => "bad_request",
    /// No, an invalid or an expired credential.
    Unauthenticated => "unauthenticated",
    /// The password was right; the account needs a one-time code too.
    OtpRequired => "otp_required",
    /// The one-time code is wrong, stale or already used.
    OtpInvalid => "otp_invalid",
    /// The call needs an administrator.
    AdminRequired => "admin_required",
    /// An API token without the scope the route needs.
    InsufficientScope => "insufficient_scope",
    /// An API token on a route that needs a person logged in.
    SessionRequired => "session_required",
    /// The caller sees the record but may not do this.
    Forbidden => "forbidden",
    /// The account's password was reset by an administrator: set a new one first.
    PasswordChangeRequired => "password_change_required",
    /// A local-disk object URL was tampered with.
    SignatureInvalid => "signature_invalid",
    /// A local-disk object URL has expired, or was already used.
    UrlExpired => "url_expired",
    /// No such route, or no such record in the caller's scope.
    NotFound => "not_found",
    /// The path exists, the method does not.
    MethodNotAllowed => "method_not_allowed",
    /// A user with this email exists.
    EmailTaken => "email_taken",
    /// An org unit that still has units, users, members or files.
    OrgUnitInUse => "org_unit_in_use",
    /// A user that files or payments refer to.
    UserInUse => "user_in_use",
    /// A member that dues or payments refer to.
    MemberInUse => "member_in_use",
    /// The member already has dues for the period.
    DuesExist => "dues_exist",
    /// Dues that payments refer to.
    DuesInUse => "dues_in_use",
    /// Paying dues that are not open (already paid, or waived).
    DuesNotOpen => "dues_not_open",
    /// A material type with this name exists.
    MaterialTypeExists => "material_type_exists",
    /// A material type that materials refer to.
    MaterialTypeInUse => "material_type_in_use",
    /// A material that payments refer to.
    MaterialInUse => "material_in_use",
    /// The unit's stock of the material is smaller than the quantity (`available` says how
    /// many there are).
    InsufficientStock => "insufficient_stock",
    /// Completing a direct upload whose object was not stored yet.
    UploadMissing => "upload_missing",
    /// One-time codes are already on.
    OtpAlreadyEnabled => "otp_already_enabled",
    /// Enabling one-time codes without a setup first.
    OtpNotEnrolled => "otp_not_enrolled",
    /// The body is larger than allowed.
    PayloadTooLarge => "payload_too_large",
    /// The media type or the content is not accepted here.
    UnsupportedMediaType => "unsupported_media_type",
    /// Fields are invalid (`errors[]` names them).
    ValidationFailed => "validation_failed",
    /// Over a rate limit.
    RateLimited => "rate_limited",
    /// A bug or an unexpected failure.
    InternalError => "internal_error",
    /// A dependency the call cannot do without is down.
    ServiceUnavailable => "service_unavailable",
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

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
        /// The stable code of the clash.
        code: ErrorCode,
        /// What clashed.
        message: String,
    },
    /// A unit has fewer of a material than asked for; nothing was taken.
    #[error("only {available} in stock")]
    InsufficientStock {
        /// How many the unit has now.
        available: i64,
    },
    /// One or more input fields are invalid.
    #[error("invalid input: {}", describe(.0))]
    Validation(Vec<FieldError>),
    /// The caller is known but may not do this.
    #[error("{message}")]
    Forbidden {
        /// `forbidden`, `admin_required`, `insufficient_scope`, `session_required`,
        /// `password_change_required`.
        code: ErrorCode,
        /// Why, for a person.
        message: String,
    },
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
    /// Over a rate limit; the decision says which, and when the window starts over.
    #[error("too many attempts ({})", .0.policy.name)]
    RateLimited(Decision),
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

    /// The caller may not do this (`forbidden`).
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden {
            code: ErrorCode::Forbidden,
            message: message.into(),
        }
    }

    /// The call needs an administrator (`admin_required`); the text is the original API's.
    pub fn admin_required() -> Self {
        Self::Forbidden {
            code: ErrorCode::AdminRequired,
            message: "Admin access required".into(),
        }
    }

    /// A clash with existing state.
    pub fn conflict(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
        }
    }

    /// The stable code this error answers with.
    pub fn code(&self) -> ErrorCode {
        match self {
            DomainError::NotFound(_) => ErrorCode::NotFound,
            DomainError::Conflict { code, .. } | DomainError::Forbidden { code, .. } => *code,
            DomainError::InsufficientStock { .. } => ErrorCode::InsufficientStock,
            DomainError::Validation(_) => ErrorCode::ValidationFailed,
            DomainError::OtpRequired => ErrorCode::OtpRequired,
            DomainError::OtpInvalid => ErrorCode::OtpInvalid,
            DomainError::Unauthenticated(_) => ErrorCode::Unauthenticated,
            DomainError::PayloadTooLarge { .. } => ErrorCode::PayloadTooLarge,
            DomainError::UnsupportedMediaType(_) => ErrorCode::UnsupportedMediaType,
            DomainError::RateLimited(_) => ErrorCode::RateLimited,
            DomainError::Unavailable(_) => ErrorCode::ServiceUnavailable,
            DomainError::Unexpected(_) => ErrorCode::InternalError,
        }
    }
}

/// The fields and what is wrong with each, for a person (`email: must be …; password: …`).
fn describe(fields: &[FieldError]) -> String {
    fields
        .iter()
        .map(|f| format!("{}: {}", f.field, f.message))
        .collect::<Vec<_>>()
        .join("; ")
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

/// Ends a parse that collected field errors: all of them in one answer, or nothing.
pub fn finish(errors: Vec<FieldError>) -> DomainResult<()> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(DomainError::Validation(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case_names() {
        let mut names: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert!(names
            .iter()
            .all(|n| n.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')));
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ErrorCode::ALL.len());
    }
}
