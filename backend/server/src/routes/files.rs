//! `/api/files`: upload through the API (multipart) or directly to the object store, read with a
//! cached signed URL, list, delete.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::sync::Arc;

use actix_multipart::{Multipart, MultipartError};
use actix_web::{web, HttpResponse};
use bytes::{Bytes, BytesMut};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};
use tessera_domain::files::{DirectUploadRequest, FileView};
use tessera_domain::files::{FileStatus, FileType, StoredFile};
use tessera_domain::shared::ErrorCode;
use tessera_domain::shared::FileId;
use tessera_domain::shared::OrgUnitId;
use tessera_domain::shared::{DomainError, FieldError};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::scope::Scope;

use crate::http::caller::{policy, Caller};
use crate::http::endpoint::endpoints;
use crate::http::extract::{Json, Query};
use crate::http::paging::{Page, PageQuery};
use crate::http::problem::{ApiError, Problem};
use crate::http::timestamp;
use crate::routes::Routes;

/// The routes of `/api/files`.
pub fn scope() -> Scope<impl Routes> {
    // The router tries resources in order, and a `{id}` costs a regex match: the cached read,
    // the hottest route of all, is the first with one. `/uploads` stays before it (a resource
    // that matches the path but not the method answers 405, it does not fall through), and
    // `/{id}` never matches `/{id}/complete`.
    utoipa_actix_web::scope("/api/files")
        .app_data(web::Data::new(RenderedFiles::new()))
        .service(endpoints![upload_file, list_files])
        .service(endpoints![start_upload])
        .service(endpoints![get_file, delete_file])
        .service(endpoints![complete_upload])
}

/// What a file is for; it decides which content types are accepted.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FileTypeDto {
    /// A member's or user's picture.
    Avatar,
    /// A material's document or cover.
    Material,
    /// A payment receipt.
    Receipt,
    /// An image attached to a post.
    PostImage,
    /// Anything else.
    General,
}

impl From<FileTypeDto> for FileType {
    fn from(t: FileTypeDto) -> Self {
        match t {
            FileTypeDto::Avatar => FileType::Avatar,
            FileTypeDto::Material => FileType::Material,
            FileTypeDto::Receipt => FileType::Receipt,
            FileTypeDto::PostImage => FileType::PostImage,
            FileTypeDto::General => FileType::General,
        }
    }
}

impl From<FileType> for FileTypeDto {
    fn from(t: FileType) -> Self {
        match t {
            FileType::Avatar => FileTypeDto::Avatar,
            FileType::Material => FileTypeDto::Material,
            FileType::Receipt => FileTypeDto::Receipt,
            FileType::PostImage => FileTypeDto::PostImage,
            FileType::General => FileTypeDto::General,
        }
    }
}

/// Whether a file's bytes are stored yet.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FileStatusDto {
    /// A direct upload was started and not completed.
    Pending,
    /// Stored; it has a URL.
    Uploaded,
}

impl From<FileStatus> for FileStatusDto {
    fn from(status: FileStatus) -> Self {
        match status {
            FileStatus::Pending => FileStatusDto::Pending,
            FileStatus::Uploaded => FileStatusDto::Uploaded,
        }
    }
}

/// A file.
#[derive(Serialize, ToSchema)]
pub struct FileDto {
    /// Id; its URL is cached under `file_url:<id>`.
    pub id: i64,
    /// What the file is for.
    pub file_type: FileTypeDto,
    /// Content type sniffed from the bytes.
    pub content_type: String,
    /// Size in bytes.
    pub size: i64,
    /// The name it was uploaded with.
    pub original_name: String,
    /// Whether its bytes are stored yet.
    pub status: FileStatusDto,
    /// Who uploaded it.
    pub uploaded_by: i64,
    /// The org unit it belongs to.
    pub org_unit_id: Option<i64>,
    /// When it was created.
    #[serde(serialize_with = "timestamp::rfc3339")]
    pub created_at: DateTime<Utc>,
    /// A signed URL that shows the file (null while pending). Valid until `url_expires_at`.
    pub url: Option<String>,
    /// When `url` stops working.
    #[serde(serialize_with = "timestamp::rfc3339_opt")]
    pub url_expires_at: Option<DateTime<Utc>>,
}

impl From<FileView> for FileDto {
    fn from(view: FileView) -> Self {
        // Moved out when this view holds the only reference, copied from a cached row.
        let file = Arc::unwrap_or_clone(view.file);
        Self {
            id: file.id.0,
            file_type: file.file_type.into(),
            content_type: file.content_type,
            size: file.size,
            original_name: file.original_name,
            status: file.status.into(),
            uploaded_by: file.uploaded_by.0,
            org_unit_id: file.org_unit_id.map(|u| u.0),
            created_at: file.created_at,
            url_expires_at: view.url.as_ref().map(|u| u.expires_at),
            url: view.url.map(|u| u.url.to_string()),
        }
    }
}

/// How many files' answers each worker keeps rendered (about 1 KiB each).
const RENDERED_FILES: NonZeroUsize = NonZeroUsize::new(2048).unwrap();

/// The rendered answers of `GET /api/files/{id}`, the hottest read: its JSON is most of what
/// the read costs once the row and the URL come from the cache. An answer is reused only while
/// the file row and the URL it was made from are the very values the cache serves now: the same
/// allocations, which the kept answer holds on to, so their addresses cannot be reused
/// meanwhile. A re-signed URL, a changed row or an invalidation from another instance makes new
/// values, and the answer is made again. Who may see the file is decided before, on every
/// request.
///
/// The router is built once per worker, and so is this: nothing here is shared between threads.
pub struct RenderedFiles(RefCell<lru::LruCache<FileId, Rendered>>);

/// One rendered answer and the values it was made from.
struct Rendered {
    file: Arc<StoredFile>,
    url: Option<Arc<str>>,
    body: Bytes,
}

impl Rendered {
    fn made_from(&self, view: &FileView) -> bool {
        Arc::ptr_eq(&self.file, &view.file)
            && match (&self.url, &view.url) {
                (Some(kept), Some(now)) => Arc::ptr_eq(kept, &now.url),
                (None, None) => true,
                _ => false,
            }
    }
}

impl RenderedFiles {
    fn new() -> Self {
        Self(RefCell::new(lru::LruCache::new(RENDERED_FILES)))
    }

    /// The JSON of `view`'s `FileDto`: the kept one when it was made from these very values.
    fn body(&self, view: FileView) -> Result<Bytes, ApiError> {
        let id = view.file.id;
        if let Some(kept) = self.0.borrow_mut().get(&id) {
            if kept.made_from(&view) {
                return Ok(kept.body.clone());
            }
        }
        let (file, url) = (
            Arc::clone(&view.file),
            view.url.as_ref().map(|u| Arc::clone(&u.url)),
        );
        let body = serde_json::to_vec(&FileDto::from(view))
            .map(Bytes::from)
            .map_err(|e| ApiError::Domain(anyhow::Error::from(e).into()))?;
        self.0.borrow_mut().put(
            id,
            Rendered {
                file,
                url,
                body: body.clone(),
            },
        );
        Ok(body)
    }
}

/// The multipart form of an upload; other parts are not part of it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct UploadForm {
    /// The file's bytes.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// What the file is for.
    file_type: FileTypeDto,
    /// The org unit it belongs to (default: the uploader's); must be in the uploader's scope.
    #[schema(minimum = 1)]
    org_unit_id: Option<i64>,
}

fn multipart_error(e: MultipartError) -> ApiError {
    match e {
        MultipartError::ContentTypeMissing
        | MultipartError::ContentTypeParse
        | MultipartError::ContentTypeIncompatible => ApiError::problem(
            ErrorCode::UnsupportedMediaType,
            "the body must be multipart/form-data",
        ),
        other => ApiError::problem(
            ErrorCode::InvalidMultipart,
            format!("the multipart body is invalid: {other}"),
        ),
    }
}

/// Uploads a file (multipart: a part `file` and a text part `file_type`). The content type is
/// sniffed from the bytes and must be accepted for the file type.
#[utoipa::path(post, path = "", tag = "files",
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Stored", body = FileDto),
        (status = 413, description = "Larger than UPLOAD_MAX_BYTES", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not multipart, or content not accepted for the file type", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn upload_file(
    caller: Caller<policy::Write>,
    mut form: Multipart,
) -> Result<HttpResponse, ApiError> {
    let state = caller.state();
    let limit = state.files.max_bytes();
    let mut file: Option<(String, BytesMut)> = None;
    let mut file_type: Option<String> = None;
    let mut org_unit: Option<String> = None;
    let mut unknown: Vec<String> = Vec::new();
    while let Some(mut field) = form.try_next().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        let part_limit = if name == "file" { limit } else { 1024 };
        let filename = field
            .content_disposition()
            .and_then(|cd| cd.get_filename())
            .unwrap_or("upload")
            .to_owned();
        let mut bytes = BytesMut::new();
        while let Some(chunk) = field.try_next().await.map_err(multipart_error)? {
            if (bytes.len() + chunk.len()) as u64 > part_limit {
                return Err(if name == "file" {
                    DomainError::PayloadTooLarge { limit }.into()
                } else {
                    DomainError::invalid(&name, "is too long").into()
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        match name.as_str() {
            "file" => file = Some((filename, bytes)),
            "file_type" => file_type = Some(String::from_utf8_lossy(&bytes).trim().to_owned()),
            "org_unit_id" => org_unit = Some(String::from_utf8_lossy(&bytes).trim().to_owned()),
            other => unknown.push(other.to_owned()),
        }
    }
    // The spec closes the form (`additionalProperties: false`), as it closes JSON bodies.
    let mut errors: Vec<FieldError> = unknown
        .iter()
        .map(|part| {
            FieldError::new(
                part,
                "is not a part of an upload (file, file_type, org_unit_id)",
            )
        })
        .collect();
    if file.is_none() {
        errors.push(FieldError::new("file", "a part named file is required"));
    }
    let parsed_type = match file_type.as_deref() {
        None => {
            errors.push(FieldError::new(
                "file_type",
                "a part named file_type is required",
            ));
            None
        }
        Some(raw) => tessera_domain::shared::collect_field(raw.parse::<FileType>(), &mut errors),
    };
    let org_unit_id = match org_unit.as_deref() {
        None | Some("") => None,
        Some(raw) => match raw.parse::<i64>() {
            Ok(id) => Some(OrgUnitId(id)),
            Err(_) => {
                errors.push(FieldError::new("org_unit_id", "must be a whole number"));
                None
            }
        },
    };
    let (Some((name, bytes)), Some(file_type), true) = (file, parsed_type, errors.is_empty())
    else {
        return Err(DomainError::Validation(errors).into());
    };
    let view = state
        .files
        .upload(
            &caller.actor(),
            org_unit_id,
            file_type,
            &name,
            bytes.freeze(),
        )
        .await?;
    tracing::info!(
        file_id = view.file.id.0,
        size = view.file.size,
        "file uploaded"
    );
    Ok(HttpResponse::Created().json(FileDto::from(view)))
}

/// Filters of the file list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FileFilterQuery {
    /// Only files of this type.
    pub file_type: Option<FileTypeDto>,
}

/// The files the caller may see, newest first, each with its cached URL.
#[utoipa::path(get, path = "", tag = "files", params(FileFilterQuery, PageQuery), responses(
    (status = 200, description = "A page of files", body = Page<FileDto>),
))]
pub async fn list_files(
    caller: Caller<policy::Read>,
    filter: Query<FileFilterQuery>,
    paging: Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = paging.request()?;
    let found = caller
        .state()
        .files
        .list(&caller.actor(), filter.file_type.map(FileType::from), page)
        .await?;
    Ok(HttpResponse::Ok().json(Page::of(found, page, FileDto::from)))
}

/// One file with its signed URL, served from the `file_url:<id>` cache when fresh.
#[utoipa::path(get, path = "/{id}", tag = "files",
    params(("id" = i64, Path, description = "File id", minimum = 1)),
    responses((status = 200, description = "The file", body = FileDto)))]
pub async fn get_file(
    caller: Caller<policy::Read>,
    id: web::Path<i64>,
    rendered: web::Data<RenderedFiles>,
) -> Result<HttpResponse, ApiError> {
    let view = caller
        .state()
        .files
        .get(&caller.actor(), FileId(id.into_inner()))
        .await?;
    Ok(HttpResponse::Ok()
        .content_type(mime::APPLICATION_JSON)
        .body(rendered.body(view)?))
}

/// Deletes a file: its row, its cached URL (at once) and its object.
#[utoipa::path(delete, path = "/{id}", tag = "files",
    params(("id" = i64, Path, description = "File id", minimum = 1)),
    responses((status = 204, description = "Deleted")))]
pub async fn delete_file(
    caller: Caller<policy::Write>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    caller
        .state()
        .files
        .delete(&caller.actor(), FileId(id.into_inner()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A direct upload to start.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartUploadRequest {
    /// What the file is for.
    pub file_type: FileTypeDto,
    /// The file's name.
    #[schema(min_length = 1, max_length = 255)]
    pub original_name: String,
    /// The content type that will be PUT (must be accepted for the file type).
    #[schema(min_length = 1, max_length = 255)]
    pub content_type: String,
    /// The size that will be PUT, in bytes.
    #[schema(minimum = 1)]
    pub size: u64,
    /// The org unit it belongs to (default: the uploader's); must be in the uploader's scope.
    #[schema(minimum = 1)]
    pub org_unit_id: Option<i64>,
}

/// Always `PUT`.
#[derive(Serialize, ToSchema)]
pub enum UploadMethod {
    /// An HTTP PUT of the bytes.
    #[serde(rename = "PUT")]
    Put,
}

/// A started direct upload.
#[derive(Serialize, ToSchema)]
pub struct StartUploadResponse {
    /// The pending file; complete it with `POST /api/files/{id}/complete` after the PUT.
    pub file: FileDto,
    /// Where to PUT the bytes.
    pub upload_url: String,
    /// Always `PUT`.
    pub upload_method: UploadMethod,
    /// Every header the PUT must carry, exactly as given: `Content-Type` and `Content-Length`
    /// (the declared content type and size), which the URL's signature covers; a PUT with other
    /// values is refused.
    pub upload_headers: BTreeMap<String, String>,
    /// When `upload_url` stops working.
    pub upload_expires_at: DateTime<Utc>,
}

/// Starts a direct upload for large files: a pending file and a presigned PUT URL (15 minutes)
/// for exactly the declared size and content type. After a successful complete, the URL can no
/// longer change the file.
#[utoipa::path(post, path = "/uploads", tag = "files", request_body = StartUploadRequest, responses(
    (status = 201, description = "Started", body = StartUploadResponse),
    (status = 413, description = "Declared size over UPLOAD_MAX_BYTES", body = Problem, content_type = "application/problem+json"),
))]
pub async fn start_upload(
    caller: Caller<policy::Write>,
    body: Json<StartUploadRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let started = caller
        .state()
        .files
        .start_direct_upload(
            &caller.actor(),
            DirectUploadRequest {
                file_type: body.file_type.into(),
                original_name: body.original_name,
                content_type: body.content_type.clone(),
                size: body.size,
                org_unit_id: body.org_unit_id.map(OrgUnitId),
            },
        )
        .await?;
    let upload_headers = BTreeMap::from([
        ("Content-Type".to_owned(), body.content_type),
        ("Content-Length".to_owned(), body.size.to_string()),
    ]);
    Ok(HttpResponse::Created().json(StartUploadResponse {
        upload_url: started.upload.url.to_string(),
        upload_method: UploadMethod::Put,
        upload_headers,
        upload_expires_at: started.upload.expires_at,
        file: FileDto::from(FileView {
            file: Arc::new(started.file),
            url: None,
        }),
    }))
}

/// Completes a direct upload: the object must exist, fit the limit and sniff as an accepted
/// type (a refused object is deleted). What was checked is what the file serves from then on:
/// the upload URL can no longer change it.
#[utoipa::path(post, path = "/{id}/complete", tag = "files",
    params(("id" = i64, Path, description = "File id", minimum = 1)),
    responses(
        (status = 200, description = "Uploaded", body = FileDto),
        (status = 409, description = "The object has not been uploaded yet (`upload_missing`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The object is over UPLOAD_MAX_BYTES (it was deleted)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The content is not accepted (it was deleted)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn complete_upload(
    caller: Caller<policy::Write>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let view = caller
        .state()
        .files
        .complete_direct_upload(&caller.actor(), FileId(id.into_inner()))
        .await?;
    Ok(HttpResponse::Ok().json(FileDto::from(view)))
}
