//! Serves the local-disk object store's signed URLs (embedded default only). Like S3, a
//! tampered, edited or expired URL answers 403.

use actix_files::NamedFile;
use actix_web::http::header::{ContentDisposition, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use futures::StreamExt;
use tessera_infra::objects_local::{LocalObjects, Refusal, SignedQuery};

use crate::problem::{ApiError, Problem};
use crate::state::AppState;

fn local(state: &AppState) -> Result<&LocalObjects, ApiError> {
    state
        .local_objects
        .as_ref()
        .ok_or_else(|| ApiError::problem(StatusCode::NOT_FOUND, "not_found", "no such route"))
}

fn refused(refusal: Refusal) -> ApiError {
    match refusal {
        Refusal::Expired => ApiError::problem(
            StatusCode::FORBIDDEN,
            "url_expired",
            "the signed URL has expired",
        ),
        Refusal::BadSignature | Refusal::BadKey => ApiError::problem(
            StatusCode::FORBIDDEN,
            "signature_invalid",
            "the URL's signature does not match",
        ),
    }
}

/// Query parameters of a signed URL, for the spec.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct SignedParams {
    /// `GET` or `PUT`.
    method: String,
    /// Unix seconds.
    expires: i64,
    /// Content type.
    content_type: String,
    /// Content disposition.
    disposition: Option<String>,
    /// HMAC signature.
    signature: String,
}

/// Serves an object of the local-disk store through a URL the server signed.
#[utoipa::path(get, path = "/api/objects/{key}", tag = "objects",
    params(("key" = String, Path, description = "Object key"), SignedParams),
    responses(
        (status = 200, description = "The object's bytes"),
        (status = 403, description = "Signature invalid or expired", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such object", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_object(
    req: HttpRequest,
    state: web::Data<AppState>,
    key: web::Path<String>,
    query: web::Query<SignedQuery>,
) -> Result<HttpResponse, ApiError> {
    let store = local(&state)?;
    let path = store
        .verify("GET", &key, &query, state.clock.now())
        .map_err(refused)?;
    let file = NamedFile::open_async(&path)
        .await
        .map_err(|_| ApiError::problem(StatusCode::NOT_FOUND, "not_found", "no such object"))?;
    let mut file = file.use_etag(true).use_last_modified(true);
    if let Ok(mime) = query.content_type.parse() {
        file = file.set_content_type(mime);
    }
    if let Ok(value) = HeaderValue::from_str(&query.disposition) {
        if let Ok(disposition) = ContentDisposition::from_raw(&value) {
            file = file.set_content_disposition(disposition);
        }
    }
    Ok(file.into_response(&req))
}

/// Receives a direct upload to the local-disk store through a URL the server signed.
#[utoipa::path(put, path = "/api/objects/{key}", tag = "objects",
    params(("key" = String, Path, description = "Object key"), SignedParams),
    responses(
        (status = 200, description = "Stored"),
        (status = 403, description = "Signature invalid or expired", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Larger than UPLOAD_MAX_BYTES", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn put_object(
    state: web::Data<AppState>,
    key: web::Path<String>,
    query: web::Query<SignedQuery>,
    mut body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let store = local(&state)?;
    let path = store
        .verify("PUT", &key, &query, state.clock.now())
        .map_err(refused)?;
    let limit = state.settings.upload_max_bytes;
    let mut bytes = web::BytesMut::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::problem(
                StatusCode::BAD_REQUEST,
                "invalid_body",
                format!("reading the body failed: {e}"),
            )
        })?;
        if (bytes.len() + chunk.len()) as u64 > limit {
            return Err(tessera_domain::DomainError::PayloadTooLarge { limit }.into());
        }
        bytes.extend_from_slice(&chunk);
    }
    LocalObjects::write_atomically(&path, &bytes)
        .await
        .map_err(|e| {
            ApiError::Domain(
                anyhow::Error::new(e)
                    .context("writing an uploaded object")
                    .into(),
            )
        })?;
    Ok(HttpResponse::Ok().finish())
}
