//! Files: every uploaded object (avatars, material documents, receipts, post images), stored
//! in an object store and shown through signed URLs cached under `file_url:<id>`.

pub mod content_type;
pub mod model;
pub mod objects;
pub mod repo;
pub mod service;
pub mod urls;

pub use model::{FileFilter, FileScope, FileStatus, FileType, NewFile, StoredFile};
pub use objects::{GetUrlOptions, ObjectMeta, ObjectStore, SignedUrl};
pub use repo::FileRepo;
pub use service::{
    DirectUpload, DirectUploadRequest, FileService, FileView, FILE_ROWS, UPLOAD_URL_EXPIRES,
};
pub use urls::{file_url_key, FileUrls, UrlPolicy, FILE_URL_NAMESPACE};
