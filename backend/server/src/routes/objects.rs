//! `/api/objects`: the local-disk object store's signed URLs (embedded default only). Like S3, a
//! tampered, edited or expired URL answers 403; the signature is the authorisation, so anyone
//! holding the URL may call.

use actix_files::NamedFile;
use actix_web::http::header::{ContentDisposition, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};
use futures::StreamExt;
use tessera_domain::shared::ErrorCode;
use tessera_infra::objects::local::{LocalObjects, Refusal, SignedQuery};
use utoipa_actix_web::scope::Scope;

use crate::http::caller::Public;
use crate::http::endpoint::endpoints;
use crate::http::extract::Query;
use crate::http::problem::{ApiError, Problem};
use crate::routes::Routes;
use crate::state::AppState;

/// The routes of `/api/objects`.
pub fn scope() -> Scope<impl Routes> {
    utoipa_actix_web::scope("/api/objects")
        .service(endpoints![get_object, put_object].pattern("/{key:.*}"))
}

fn local(state: &AppState) -> Result<&LocalObjects, ApiError> {
    state
        .local_objects
        .as_ref()
        .ok_or_else(|| ApiError::problem(ErrorCode::NotFound, "no such route"))
}

fn refused(refusal: Refusal) -> ApiError {
    match refusal {
        Refusal::Expired => ApiError::problem(ErrorCode::UrlExpired, "the signed URL has expired"),
        Refusal::BadSignature | Refusal::BadKey => ApiError::problem(
            ErrorCode::SignatureInvalid,
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
#[utoipa::path(get, path = "/{key}", tag = "objects",
    params(("key" = String, Path, description = "Object key"), SignedParams),
    responses(
        (status = 200, description = "The object's bytes", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 403, description = "Signature invalid (`signature_invalid`) or expired (`url_expired`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_object(
    caller: Public,
    req: HttpRequest,
    key: web::Path<String>,
    query: Query<SignedQuery>,
) -> Result<HttpResponse, ApiError> {
    let state = caller.state();
    let store = local(state)?;
    let path = store
        .verify("GET", &key, &query, state.clock.now())
        .map_err(refused)?;
    let file = NamedFile::open_async(&path)
        .await
        .map_err(|_| ApiError::problem(ErrorCode::NotFound, "no such object"))?;
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
#[utoipa::path(put, path = "/{key}", tag = "objects",
    params(("key" = String, Path, description = "Object key"), SignedParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The object's bytes"),
    responses(
        (status = 200, description = "Stored"),
        (status = 403, description = "Signature invalid (`signature_invalid`) or expired (`url_expired`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn put_object(
    caller: Public,
    key: web::Path<String>,
    query: Query<SignedQuery>,
    mut body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let state = caller.state();
    let store = local(state)?;
    let path = store
        .verify("PUT", &key, &query, state.clock.now())
        .map_err(refused)?;
    let limit = state.settings.upload_max_bytes;
    let mut bytes = web::BytesMut::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::problem(
                ErrorCode::InvalidBody,
                format!("reading the body failed: {e}"),
            )
        })?;
        if (bytes.len() + chunk.len()) as u64 > limit {
            return Err(tessera_domain::shared::DomainError::PayloadTooLarge { limit }.into());
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
