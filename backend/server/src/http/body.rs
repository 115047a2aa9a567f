//! Bodies that may be left out: `POST /api/auth/logout` and the admin cache calls are often
//! sent with none (the seed's curl lines), which reads as `{}`.

use serde::de::DeserializeOwned;
use tessera_domain::shared::ErrorCode;

use crate::http::problem::ApiError;

/// An optional JSON body: empty (or only whitespace) means `T::default()`.
pub fn optional_json<T: DeserializeOwned + Default>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| {
        if e.is_data() {
            ApiError::problem(
                ErrorCode::ValidationFailed,
                format!("the JSON body does not fit: {e}"),
            )
        } else {
            ApiError::problem(
                ErrorCode::InvalidJson,
                format!("the body is not valid JSON: {e}"),
            )
        }
    })
}
