//! The files service: upload (through the API or directly to the object store), read, list and
//! delete, each inside the caller's scope.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::access::Actor;
use crate::files::content_type;
use crate::files::model::{FileFilter, FileScope, FileStatus, FileType, NewFile, StoredFile};
use crate::files::objects::{ObjectStore, SignedUrl};
use crate::files::repo::FileRepo;
use crate::files::urls::FileUrls;
use crate::org::OrgRepo;
use crate::shared::cached::{Cacheable, Invalidation, Namespace, TtlClass};
use crate::shared::time::Clock;
use crate::shared::{
    DomainError, DomainResult, ErrorCode, FieldError, FileId, OrgUnitId, Page, PageRequest,
};

/// How long a presigned upload URL stays valid.
pub const UPLOAD_URL_EXPIRES: Duration = Duration::from_secs(15 * 60);

/// Where direct uploads are PUT. On S3 nothing stays under it once an upload is completed (the
/// object is sealed into a copy outside it), so a bucket lifecycle rule that expires `uploads/`
/// after a day clears abandoned uploads and anything PUT again to a used URL. The local store
/// keeps completed uploads where they were PUT: its upload URLs cannot replace an object.
pub const UPLOADS_PREFIX: &str = "uploads/";

/// File rows by id, `file:<id>`: every read of a file (and of its URL) starts with its row, so
/// a cached read needs no database. Completing an upload and deleting a file leave a
/// tombstone, and fills never overwrite one, so a reader that loaded the row just before a
/// delete cannot bring it back (nor, through it, the file's URL).
pub static FILE_ROWS: Namespace = Namespace {
    name: "file",
    ttl: TtlClass::UserData,
    invalidation: Invalidation::Tombstone(Duration::from_secs(60)),
};

/// What a row lookup found; absence is not cached (ids are cheap to invent). The file is shared
/// by every read of the cached entry, not copied.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct Row(Option<Arc<StoredFile>>);

impl Cacheable for Row {
    fn ttl(&self, class: Duration, _now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
        self.0.as_ref().map(|_| class)
    }
}

/// A file and, once uploaded, its view URL.
#[derive(Debug, Clone)]
pub struct FileView {
    /// The file; the very value of the cache entry it was read from, when it was.
    pub file: Arc<StoredFile>,
    /// Its signed view URL; `None` while the upload is pending.
    pub url: Option<SignedUrl>,
}

/// A direct upload that was started: the pending file and where to PUT the bytes.
#[derive(Debug, Clone)]
pub struct DirectUpload {
    /// The pending file.
    pub file: StoredFile,
    /// The presigned PUT URL.
    pub upload: SignedUrl,
}

/// What a client declares when it starts a direct upload.
#[derive(Debug, Clone)]
pub struct DirectUploadRequest {
    /// What the file is for.
    pub file_type: FileType,
    /// The file's name.
    pub original_name: String,
    /// The content type the client will send.
    pub content_type: String,
    /// The size the client will send.
    pub size: u64,
    /// The org unit the file belongs to (default: the uploader's).
    pub org_unit_id: Option<OrgUnitId>,
}

/// Files: storage, rows, URLs.
pub struct FileService {
    files: Arc<dyn FileRepo>,
    units: Arc<dyn OrgRepo>,
    objects: Arc<dyn ObjectStore>,
    urls: Arc<FileUrls>,
    clock: Arc<dyn Clock>,
    max_bytes: u64,
}

impl FileService {
    /// The service over these ports, refusing uploads over `max_bytes`.
    pub fn new(
        files: Arc<dyn FileRepo>,
        units: Arc<dyn OrgRepo>,
        objects: Arc<dyn ObjectStore>,
        urls: Arc<FileUrls>,
        clock: Arc<dyn Clock>,
        max_bytes: u64,
    ) -> Self {
        Self {
            files,
            units,
            objects,
            urls,
            clock,
            max_bytes,
        }
    }

    /// The upload size limit in bytes.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// Stores an uploaded file: sniffs its type, checks it, stores the object, then the row.
    pub async fn upload(
        &self,
        actor: &Actor,
        org_unit_id: Option<OrgUnitId>,
        file_type: FileType,
        original_name: &str,
        bytes: Bytes,
    ) -> DomainResult<FileView> {
        let original_name =
            parse_file_name(original_name).map_err(|e| DomainError::Validation(vec![e]))?;
        if bytes.len() as u64 > self.max_bytes {
            return Err(DomainError::PayloadTooLarge {
                limit: self.max_bytes,
            });
        }
        if bytes.is_empty() {
            return Err(DomainError::invalid("file", "must not be empty"));
        }
        let org_unit_id = self.unit_for(actor, org_unit_id).await?;
        let content_type = content_type::sniff(&bytes)
            .filter(|ct| content_type::is_allowed(file_type, ct))
            .ok_or_else(|| not_accepted(file_type))?;
        let object_key = self.object_key(file_type, content_type);
        let size = bytes.len() as i64;
        self.objects.put(&object_key, bytes, content_type).await?;
        let inserted = self
            .files
            .insert_file(NewFile {
                file_type,
                object_key: object_key.clone(),
                original_name,
                content_type: content_type.to_owned(),
                size,
                status: FileStatus::Uploaded,
                uploaded_by: actor.user_id,
                org_unit_id,
            })
            .await;
        let file = match inserted {
            Ok(file) => file,
            Err(e) => {
                self.delete_object(&object_key).await;
                return Err(e);
            }
        };
        let url = self.urls.url_for(&file).await?;
        Ok(FileView {
            file: Arc::new(file),
            url: Some(url),
        })
    }

    /// Starts a direct upload: a pending row and a presigned PUT URL.
    pub async fn start_direct_upload(
        &self,
        actor: &Actor,
        request: DirectUploadRequest,
    ) -> DomainResult<DirectUpload> {
        let mut errors = Vec::new();
        let original_name = parse_file_name(&request.original_name)
            .map_err(|e| errors.push(e))
            .ok();
        if !content_type::is_allowed(request.file_type, &request.content_type) {
            errors.push(FieldError::new(
                "content_type",
                format!(
                    "{} files accept {}",
                    request.file_type,
                    content_type::allowed(request.file_type).join(", ")
                ),
            ));
        }
        if request.size == 0 {
            errors.push(FieldError::new("size", "must be at least 1 byte"));
        }
        let (Some(original_name), true) = (original_name, errors.is_empty()) else {
            return Err(DomainError::Validation(errors));
        };
        if request.size > self.max_bytes {
            return Err(DomainError::PayloadTooLarge {
                limit: self.max_bytes,
            });
        }
        let org_unit_id = self.unit_for(actor, request.org_unit_id).await?;
        let object_key = format!(
            "{UPLOADS_PREFIX}{}",
            self.object_key(request.file_type, &request.content_type)
        );
        // The signature fixes the length and the content type, so the URL cannot store more
        // (or other) than was declared and checked here.
        let upload = self
            .objects
            .presign_upload(
                &object_key,
                UPLOAD_URL_EXPIRES,
                &request.content_type,
                request.size,
            )
            .await?;
        let file = self
            .files
            .insert_file(NewFile {
                file_type: request.file_type,
                object_key,
                original_name,
                content_type: request.content_type,
                size: i64::try_from(request.size).unwrap_or(i64::MAX),
                status: FileStatus::Pending,
                uploaded_by: actor.user_id,
                org_unit_id,
            })
            .await?;
        Ok(DirectUpload { file, upload })
    }

    /// Finishes a direct upload: the object must exist, fit the limit and sniff as an accepted type.
    /// A refused object is deleted. Completing an uploaded file again answers it unchanged.
    ///
    /// The upload URL stays valid after this, and a presigned S3 URL cannot be made single-use, so
    /// the object is first sealed (see [`ObjectStore::seal_upload`]): what is checked here is the
    /// sealed object, and that is what the file serves from then on, whatever is PUT to the upload
    /// URL later.
    pub async fn complete_direct_upload(
        &self,
        actor: &Actor,
        id: FileId,
    ) -> DomainResult<FileView> {
        let file = self.visible(actor, id).await?;
        if file.status == FileStatus::Uploaded {
            return self.view(file).await;
        }
        let upload_key = file.object_key.clone();
        let fresh_key = self.object_key(file.file_type, &file.content_type);
        let Some(key) = self.objects.seal_upload(&upload_key, &fresh_key).await? else {
            // Nothing there: not PUT yet, or a concurrent completion already took it.
            return self.completed_elsewhere(actor, id).await;
        };
        let copied = key != upload_key;
        let Some(meta) = self.objects.head(&key).await? else {
            return self.completed_elsewhere(actor, id).await;
        };
        if meta.size > self.max_bytes {
            self.delete_upload(&upload_key, copied.then_some(key.as_str()))
                .await;
            return Err(DomainError::PayloadTooLarge {
                limit: self.max_bytes,
            });
        }
        let head = self
            .objects
            .read_prefix(&key, content_type::SNIFF_LEN)
            .await?;
        let Some(content_type) =
            content_type::sniff(&head).filter(|ct| content_type::is_allowed(file.file_type, ct))
        else {
            self.delete_upload(&upload_key, copied.then_some(key.as_str()))
                .await;
            return Err(not_accepted(file.file_type));
        };
        let size = i64::try_from(meta.size).unwrap_or(i64::MAX);
        let marked = self
            .files
            .mark_uploaded(file.id, size, content_type, &key)
            .await;
        self.forget_row(file.id).await;
        match marked {
            Ok(Some(file)) => {
                if copied {
                    // The row points at the copy now; what is left at the upload key is not
                    // served, whatever the URL still PUTs there.
                    self.delete_object(&upload_key).await;
                }
                self.view(Arc::new(file)).await
            }
            Ok(None) => {
                // Another completion won (it serves its own copy), or the file was deleted.
                if copied {
                    self.delete_object(&key).await;
                }
                let file = self.visible(actor, id).await?;
                self.view(file).await
            }
            Err(e) => {
                // The upload key is untouched: completing again starts over from it.
                if copied {
                    self.delete_object(&key).await;
                }
                Err(e)
            }
        }
    }

    /// The answer when no object is found to complete: the file as another completion left it,
    /// or `upload_missing` while it is still pending.
    async fn completed_elsewhere(&self, actor: &Actor, id: FileId) -> DomainResult<FileView> {
        let file = self.visible(actor, id).await?;
        if file.status == FileStatus::Uploaded {
            return self.view(file).await;
        }
        Err(DomainError::Conflict {
            code: ErrorCode::UploadMissing,
            message: "the object has not been uploaded yet: PUT it to the upload URL first".into(),
        })
    }

    /// Deletes a refused direct upload: the uploaded object and its sealed copy, if any.
    async fn delete_upload(&self, upload_key: &str, copy: Option<&str>) {
        self.delete_object(upload_key).await;
        if let Some(copy) = copy {
            self.delete_object(copy).await;
        }
    }

    /// One file, with its (cached) URL.
    pub async fn get(&self, actor: &Actor, id: FileId) -> DomainResult<FileView> {
        let file = self.visible(actor, id).await?;
        self.view(file).await
    }

    /// A page of the files the actor may see, newest first, each with its URL.
    pub async fn list(
        &self,
        actor: &Actor,
        file_type: Option<FileType>,
        page: PageRequest,
    ) -> DomainResult<Page<FileView>> {
        let filter = FileFilter {
            scope: FileScope::of(actor),
            file_type,
        };
        let found = self.files.list_files(filter, page).await?;
        let mut urls = self.urls.urls_for(&found.items).await?;
        Ok(Page {
            total: found.total,
            items: found
                .items
                .into_iter()
                .map(|file| {
                    let url = urls.remove(&file.id);
                    FileView {
                        file: Arc::new(file),
                        url,
                    }
                })
                .collect(),
        })
    }

    /// Deletes a file: the row, its cached URL at once, then the object.
    pub async fn delete(&self, actor: &Actor, id: FileId) -> DomainResult<()> {
        let file = self.visible(actor, id).await?;
        let deleted = self.files.delete_file(file.id).await?;
        self.forget_row(file.id).await;
        if !deleted {
            return Err(DomainError::NotFound("file"));
        }
        self.urls.evict(file.id).await;
        self.delete_object(&file.object_key).await;
        Ok(())
    }

    /// The file if it exists and the actor may see it; otherwise `NotFound` (existence is not revealed).
    async fn visible(&self, actor: &Actor, id: FileId) -> DomainResult<Arc<StoredFile>> {
        let Row(row) = self
            .urls
            .cache()
            .get_or_load(&FILE_ROWS, &id.to_string(), || async {
                Ok(Row(self.files.file_by_id(id).await?.map(Arc::new)))
            })
            .await?;
        row.filter(|file| FileScope::of(actor).contains(file))
            .ok_or(DomainError::NotFound("file"))
    }

    /// Drops the cached row of a file that changed.
    async fn forget_row(&self, id: FileId) {
        self.urls
            .cache()
            .forget(&FILE_ROWS, &[id.to_string()])
            .await;
    }

    /// The unit a new file belongs to: the requested one if it is in the actor's scope, else the actor's own.
    async fn unit_for(
        &self,
        actor: &Actor,
        requested: Option<OrgUnitId>,
    ) -> DomainResult<Option<OrgUnitId>> {
        let Some(id) = requested else {
            return Ok(actor.org_unit_id);
        };
        match self.units.unit(id).await? {
            Some(unit) if actor.units.contains(Some(&unit.path)) => Ok(Some(unit.id)),
            _ => Err(DomainError::invalid(
                "org_unit_id",
                "no such org unit in your scope",
            )),
        }
    }

    async fn view(&self, file: Arc<StoredFile>) -> DomainResult<FileView> {
        let url = match file.status {
            FileStatus::Uploaded => Some(self.urls.url_for(&file).await?),
            FileStatus::Pending => None,
        };
        Ok(FileView { file, url })
    }

    /// `<type>/<yyyy>/<mm>/<uuid>.<ext>`: unguessable, never derived from the client's name.
    fn object_key(&self, file_type: FileType, content_type: &str) -> String {
        let now = self.clock.now();
        format!(
            "{}/{}/{}.{}",
            file_type,
            now.format("%Y/%m"),
            uuid::Uuid::new_v4(),
            content_type::extension(content_type)
        )
    }

    async fn delete_object(&self, key: &str) {
        if let Err(e) = self.objects.delete(key).await {
            tracing::warn!(error = %e, "could not delete an object; it is orphaned");
        }
    }
}

fn not_accepted(file_type: FileType) -> DomainError {
    DomainError::UnsupportedMediaType(format!(
        "the content is not accepted for {} files; accepted: {}",
        file_type,
        content_type::allowed(file_type).join(", ")
    ))
}

/// A file name: the last path component, 1 to 255 characters, no control characters.
fn parse_file_name(raw: &str) -> Result<String, FieldError> {
    let name = raw.rsplit(['/', '\\']).next().unwrap_or_default().trim();
    if name.is_empty() || name.chars().count() > 255 || name.chars().any(char::is_control) {
        return Err(FieldError::new(
            "original_name",
            "must be 1 to 255 characters without control characters",
        ));
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_lose_their_directories() {
        assert_eq!(
            parse_file_name("C:\\Users\\ana\\foto.png").unwrap(),
            "foto.png"
        );
        assert_eq!(parse_file_name("../../etc/passwd").unwrap(), "passwd");
        assert!(parse_file_name("dir/").is_err());
        assert!(parse_file_name("a\nb").is_err());
    }
}
