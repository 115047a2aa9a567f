//! `/api/objects`: the local-disk object store's signed URLs (embedded default only). Like S3, a
//! tampered, edited or expired URL answers 403; the signature is the authorisation, so anyone
//! holding the URL may call. An upload URL works once: a PUT never replaces a stored object.

use actix_files::NamedFile;
use actix_web::http::header::{self, ContentDisposition, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};
use futures::StreamExt;
use tessera_domain::shared::{DomainError, ErrorCode};
use tessera_infra::objects::local::{IncomingObject, LocalObjects, Refusal, SignedQuery};
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
        Refusal::Used => ApiError::problem(
            ErrorCode::UrlExpired,
            "the upload URL was used already: its object is stored",
        ),
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
    /// The exact body length (PUT only).
    length: Option<u64>,
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

/// Receives a direct upload to the local-disk store through a URL the server signed. The body
/// is streamed to a temporary file beside the object and becomes the object only when complete.
///
/// Refusals, like S3's where there is one: a `Content-Type` other than the signed one, or a body
/// (or `Content-Length`) of another length than the signed one, is 403 `signature_invalid`, as
/// both are part of what was signed; a body over `UPLOAD_MAX_BYTES` is 413, checked first so an
/// oversized body is named as such; a URL whose object is already stored (a second PUT, or one
/// after the upload was completed) is 403 `url_expired`, as it was used. A refused or broken PUT
/// stores nothing, so the client may PUT again.
#[utoipa::path(put, path = "/{key}", tag = "objects",
    params(("key" = String, Path, description = "Object key"), SignedParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The object's bytes"),
    responses(
        (status = 200, description = "Stored"),
        (status = 403, description = "Signature invalid, or another length or content type than signed (`signature_invalid`); expired or already used (`url_expired`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Over UPLOAD_MAX_BYTES", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn put_object(
    caller: Public,
    req: HttpRequest,
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
    let signed_length = query.length.ok_or_else(|| refused(Refusal::BadSignature))?;
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::trim);
    if content_type != Some(query.content_type.as_str()) {
        return Err(not_as_signed(
            "the Content-Type is not the one the URL was signed for",
        ));
    }
    if let Some(declared) = content_length(&req)? {
        if declared > limit {
            return Err(DomainError::PayloadTooLarge { limit }.into());
        }
        if declared != signed_length {
            return Err(not_as_signed(
                "the Content-Length is not the one the URL was signed for",
            ));
        }
    }
    // Refused before the body is read; the commit below is what really guarantees it.
    if tokio::fs::try_exists(&path).await.unwrap_or(false) {
        return Err(refused(Refusal::Used));
    }
    // Dropped on any early return, or when the client goes away, the incoming object removes
    // its temporary file.
    let mut incoming = IncomingObject::create(&path)
        .await
        .map_err(|e| write_failed(e, "starting an uploaded object"))?;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::problem(
                ErrorCode::InvalidBody,
                format!("reading the body failed: {e}"),
            )
        })?;
        let total = incoming.written() + chunk.len() as u64;
        if total > limit {
            return Err(DomainError::PayloadTooLarge { limit }.into());
        }
        if total > signed_length {
            return Err(not_as_signed(
                "the body is longer than the URL was signed for",
            ));
        }
        incoming
            .write(&chunk)
            .await
            .map_err(|e| write_failed(e, "writing an uploaded object"))?;
    }
    if incoming.written() != signed_length {
        return Err(not_as_signed(
            "the body is shorter than the URL was signed for",
        ));
    }
    match incoming.commit().await {
        Ok(()) => Ok(HttpResponse::Ok().finish()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(refused(Refusal::Used)),
        Err(e) => Err(write_failed(e, "storing an uploaded object")),
    }
}

/// A PUT that does not match what its URL was signed for.
fn not_as_signed(detail: &'static str) -> ApiError {
    ApiError::problem(ErrorCode::SignatureInvalid, detail)
}

/// The request's `Content-Length`, if it has one.
fn content_length(req: &HttpRequest) -> Result<Option<u64>, ApiError> {
    req.headers()
        .get(header::CONTENT_LENGTH)
        .map(|v| {
            v.to_str()
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .ok_or_else(|| ApiError::problem(ErrorCode::BadRequest, "invalid Content-Length"))
        })
        .transpose()
}

fn write_failed(e: std::io::Error, what: &'static str) -> ApiError {
    ApiError::Domain(anyhow::Error::new(e).context(what).into())
}
