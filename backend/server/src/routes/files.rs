//! Files: upload through the API (multipart) or directly to the object store, read with a
//! cached signed URL, list, delete.

use actix_multipart::{Multipart, MultipartError};
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use bytes::BytesMut;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};
use tessera_domain::file::{FileId, FileType, PageRequest};
use tessera_domain::files::{DirectUploadRequest, FileView};
use tessera_domain::org::OrgUnitId;
use tessera_domain::DomainError;
use utoipa::{IntoParams, ToSchema};

use crate::auth::AuthUser;
use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// What a file is for.
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

/// A file.
#[derive(Serialize, ToSchema)]
pub struct FileDto {
    /// Id; its URL is cached under `file_url:<id>`.
    pub id: i64,
    /// What the file is for.
    #[schema(value_type = FileTypeDto)]
    pub file_type: &'static str,
    /// Content type sniffed from the bytes.
    pub content_type: String,
    /// Size in bytes.
    pub size: i64,
    /// The name it was uploaded with.
    pub original_name: String,
    /// `uploaded`, or `pending` while a direct upload is not completed.
    pub status: &'static str,
    /// Who uploaded it.
    pub uploaded_by: i64,
    /// The org unit it belongs to.
    pub org_unit_id: Option<i64>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// A signed URL that shows the file (null while pending). Valid until `url_expires_at`.
    pub url: Option<String>,
    /// When `url` stops working.
    pub url_expires_at: Option<DateTime<Utc>>,
}

impl From<FileView> for FileDto {
    fn from(view: FileView) -> Self {
        let file = view.file;
        Self {
            id: file.id.0,
            file_type: file.file_type.as_str(),
            content_type: file.content_type,
            size: file.size,
            original_name: file.original_name,
            status: file.status.as_str(),
            uploaded_by: file.uploaded_by.0,
            org_unit_id: file.org_unit_id.map(|u| u.0),
            created_at: file.created_at,
            url_expires_at: view.url.as_ref().map(|u| u.expires_at),
            url: view.url.map(|u| u.url),
        }
    }
}

/// A page of files.
#[derive(Serialize, ToSchema)]
pub struct FilePage {
    /// The files of this page, newest first.
    pub items: Vec<FileDto>,
    /// The page number (1-based).
    pub page: u32,
    /// The page size.
    pub per_page: u32,
    /// How many files match in all.
    pub total: i64,
}

/// The multipart form of an upload.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// The file's bytes.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// What the file is for.
    file_type: FileTypeDto,
    /// The org unit it belongs to (default: the uploader's); must be in the uploader's scope.
    org_unit_id: Option<i64>,
}

/// Listing filters.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Page number, from 1 (default 1).
    pub page: Option<u32>,
    /// Page size, 1 to 100 (default 20).
    pub per_page: Option<u32>,
    /// Only files of this type.
    pub file_type: Option<FileTypeDto>,
}

/// A direct upload to start.
#[derive(Deserialize, ToSchema)]
pub struct StartUploadRequest {
    /// What the file is for.
    pub file_type: FileTypeDto,
    /// The file's name.
    pub original_name: String,
    /// The content type that will be PUT (must be accepted for the file type).
    pub content_type: String,
    /// The size that will be PUT, in bytes.
    pub size: u64,
    /// The org unit it belongs to (default: the uploader's); must be in the uploader's scope.
    pub org_unit_id: Option<i64>,
}

/// A started direct upload.
#[derive(Serialize, ToSchema)]
pub struct StartUploadResponse {
    /// The pending file; complete it with `POST /api/files/{id}/complete` after the PUT.
    pub file: FileDto,
    /// Where to PUT the bytes.
    pub upload_url: String,
    /// Always `PUT`.
    pub upload_method: &'static str,
    /// Headers the PUT must carry.
    pub upload_headers: std::collections::BTreeMap<String, String>,
    /// When `upload_url` stops working.
    pub upload_expires_at: DateTime<Utc>,
}

fn multipart_error(e: MultipartError) -> ApiError {
    match e {
        MultipartError::ContentTypeMissing
        | MultipartError::ContentTypeParse
        | MultipartError::ContentTypeIncompatible => ApiError::problem(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "the body must be multipart/form-data",
        ),
        other => ApiError::problem(
            StatusCode::BAD_REQUEST,
            "invalid_multipart",
            format!("the multipart body is invalid: {other}"),
        ),
    }
}

/// Uploads a file (multipart: a part `file` and a text part `file_type`). The content type is
/// sniffed from the bytes and must be accepted for the file type.
#[utoipa::path(post, path = "/api/files", tag = "files", security(("bearer" = [])),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Stored", body = FileDto),
        (status = 400, description = "Malformed multipart body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Larger than UPLOAD_MAX_BYTES", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not multipart, or content not accepted for the file type", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Missing or invalid parts", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn upload_file(
    state: web::Data<AppState>,
    user: AuthUser,
    mut form: Multipart,
) -> Result<HttpResponse, ApiError> {
    let limit = state.files.max_bytes();
    let mut file: Option<(String, BytesMut)> = None;
    let mut file_type: Option<String> = None;
    let mut org_unit: Option<String> = None;
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
            _ => {}
        }
    }
    let mut errors = Vec::new();
    if file.is_none() {
        errors.push(tessera_domain::FieldError::new(
            "file",
            "a part named file is required",
        ));
    }
    let parsed_type = match file_type.as_deref() {
        None => {
            errors.push(tessera_domain::FieldError::new(
                "file_type",
                "a part named file_type is required",
            ));
            None
        }
        Some(raw) => match raw.parse::<FileType>() {
            Ok(t) => Some(t),
            Err(DomainError::Validation(mut e)) => {
                errors.append(&mut e);
                None
            }
            Err(e) => return Err(e.into()),
        },
    };
    let org_unit_id = match org_unit.as_deref() {
        None | Some("") => None,
        Some(raw) => match raw.parse::<i64>() {
            Ok(id) => Some(OrgUnitId(id)),
            Err(_) => {
                errors.push(tessera_domain::FieldError::new(
                    "org_unit_id",
                    "must be a whole number",
                ));
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
        .upload(&user.actor(), org_unit_id, file_type, &name, bytes.freeze())
        .await?;
    tracing::info!(
        file_id = view.file.id.0,
        size = view.file.size,
        "file uploaded"
    );
    Ok(HttpResponse::Created().json(FileDto::from(view)))
}

/// Lists the files the caller may see, newest first, each with its cached URL.
#[utoipa::path(get, path = "/api/files", tag = "files", security(("bearer" = [])), params(ListQuery), responses(
    (status = 200, description = "A page of files", body = FilePage),
    (status = 400, description = "Malformed query", body = Problem, content_type = "application/problem+json"),
    (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "Out-of-range page", body = Problem, content_type = "application/problem+json"),
))]
pub async fn list_files(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = PageRequest::parse(query.page, query.per_page)?;
    let found = state
        .files
        .list(&user.actor(), query.file_type.map(FileType::from), page)
        .await?;
    Ok(HttpResponse::Ok().json(FilePage {
        items: found.items.into_iter().map(FileDto::from).collect(),
        page: page.page,
        per_page: page.per_page,
        total: found.total,
    }))
}

/// One file with its signed URL, served from the `file_url:<id>` cache when fresh.
#[utoipa::path(get, path = "/api/files/{id}", tag = "files", security(("bearer" = [])),
    params(("id" = i64, Path, description = "File id")),
    responses(
        (status = 200, description = "The file", body = FileDto),
        (status = 400, description = "The id is not a number", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such file in the caller's scope", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_file(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let view = state
        .files
        .get(&user.actor(), FileId(id.into_inner()))
        .await?;
    Ok(HttpResponse::Ok().json(FileDto::from(view)))
}

/// Deletes a file: its row, its cached URL (at once) and its object.
#[utoipa::path(delete, path = "/api/files/{id}", tag = "files", security(("bearer" = [])),
    params(("id" = i64, Path, description = "File id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such file in the caller's scope", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_file(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    state
        .files
        .delete(&user.actor(), FileId(id.into_inner()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Starts a direct upload for large files: a pending file and a presigned PUT URL (15 minutes).
#[utoipa::path(post, path = "/api/files/uploads", tag = "files", security(("bearer" = [])), request_body = StartUploadRequest, responses(
    (status = 201, description = "Started", body = StartUploadResponse),
    (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
    (status = 413, description = "Declared size over UPLOAD_MAX_BYTES", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
))]
pub async fn start_upload(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<StartUploadRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let started = state
        .files
        .start_direct_upload(
            &user.actor(),
            DirectUploadRequest {
                file_type: body.file_type.into(),
                original_name: body.original_name,
                content_type: body.content_type.clone(),
                size: body.size,
                org_unit_id: body.org_unit_id.map(OrgUnitId),
            },
        )
        .await?;
    let mut upload_headers = std::collections::BTreeMap::new();
    upload_headers.insert("Content-Type".to_owned(), body.content_type);
    Ok(HttpResponse::Created().json(StartUploadResponse {
        upload_url: started.upload.url,
        upload_method: "PUT",
        upload_headers,
        upload_expires_at: started.upload.expires_at,
        file: FileDto::from(FileView {
            file: started.file,
            url: None,
        }),
    }))
}

/// Completes a direct upload: the object must exist (HEAD), fit the limit and sniff as an accepted type.
#[utoipa::path(post, path = "/api/files/{id}/complete", tag = "files", security(("bearer" = [])),
    params(("id" = i64, Path, description = "File id")),
    responses(
        (status = 200, description = "Uploaded", body = FileDto),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such file in the caller's scope", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The object has not been uploaded yet", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The object is over UPLOAD_MAX_BYTES (it was deleted)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The content is not accepted (it was deleted)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn complete_upload(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let view = state
        .files
        .complete_direct_upload(&user.actor(), FileId(id.into_inner()))
        .await?;
    Ok(HttpResponse::Ok().json(FileDto::from(view)))
}
