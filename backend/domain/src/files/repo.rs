//! What the files context needs from storage.

use async_trait::async_trait;

use crate::files::model::{FileFilter, FileType, NewFile, StoredFile};
use crate::shared::{DomainResult, FileId, Page, PageRequest};

/// The file rows (the bytes live in the object store).
#[async_trait]
pub trait FileRepo: Send + Sync {
    /// Creates a file row.
    async fn insert_file(&self, file: NewFile) -> DomainResult<StoredFile>;
    /// The file with this id, if any (any status).
    async fn file_by_id(&self, id: FileId) -> DomainResult<Option<StoredFile>>;
    /// The uploaded files with these ids that exist, in no particular order.
    async fn files_by_ids(&self, ids: &[FileId]) -> DomainResult<Vec<StoredFile>>;
    /// Uploaded files matching the filter, newest first.
    async fn list_files(
        &self,
        filter: FileFilter,
        page: PageRequest,
    ) -> DomainResult<Page<StoredFile>>;
    /// The newest uploaded files, optionally of one type.
    async fn newest_files(
        &self,
        file_type: Option<FileType>,
        limit: u32,
    ) -> DomainResult<Vec<StoredFile>>;
    /// Marks a pending file uploaded with its real size and content type, under the key its
    /// object now lives at; `None` when the file is gone or no longer pending (another
    /// completion won).
    async fn mark_uploaded(
        &self,
        id: FileId,
        size: i64,
        content_type: &str,
        object_key: &str,
    ) -> DomainResult<Option<StoredFile>>;
    /// Deletes a file row; `false` when it did not exist.
    async fn delete_file(&self, id: FileId) -> DomainResult<bool>;
}
