//! The ports: what the services need from the outside world. Each has two implementations in
//! `tessera-infra` (PostgreSQL / SQLite, Redis / in-process, S3 / local disk).

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};

use crate::api_tokens::{ApiToken, ApiTokenId, NewApiToken};
use crate::audit::{AuditEvent, AuditFilter, NewAuditEvent};
use crate::dues::{Dues, DuesFilter, DuesId, DuesUpdate, NewDues};
use crate::error::DomainResult;
use crate::file::{FileFilter, FileId, FileType, NewFile, Page, PageRequest, StoredFile};
use crate::members::{Member, MemberFilter, MemberId, MemberUpdate, NewMember};
use crate::org::{OrgUnit, OrgUnitId, OrgUnitKind, UnitPath};
use crate::payments::{NewPayment, Payment, PaymentFilter, PaymentId};
use crate::user::{Email, NewUser, UnitScope, User, UserId, UserUpdate};

/// The relational store.
#[async_trait]
pub trait Store: Send + Sync {
    /// Checks the database answers.
    async fn ping(&self) -> DomainResult<()>;

    /// Creates a user; a taken email is a `Conflict` with code `email_taken`.
    async fn insert_user(&self, user: NewUser) -> DomainResult<User>;
    /// The user with this email, if any.
    async fn user_by_email(&self, email: &Email) -> DomainResult<Option<User>>;
    /// The user with this id, if any.
    async fn user_by_id(&self, id: UserId) -> DomainResult<Option<User>>;
    /// Whether at least one administrator exists.
    async fn admin_exists(&self) -> DomainResult<bool>;
    /// Sets a user's TOTP secret and whether login requires it.
    async fn set_otp(&self, id: UserId, secret: Option<&str>, enabled: bool) -> DomainResult<()>;
    /// A page of users, by id.
    async fn list_users(&self, page: PageRequest) -> DomainResult<Page<User>>;
    /// Applies a change to a user; a taken email is a `Conflict` with code `email_taken`.
    async fn update_user(&self, id: UserId, change: &UserUpdate) -> DomainResult<User>;
    /// Deletes a user nothing refers to; `Conflict` `user_in_use` when files still do; `false` when absent.
    async fn delete_user(&self, id: UserId) -> DomainResult<bool>;

    /// Creates an org unit under `parent` (or as a root) and answers it with its path.
    async fn insert_org_unit(
        &self,
        name: &str,
        kind: OrgUnitKind,
        parent: Option<&OrgUnit>,
    ) -> DomainResult<OrgUnit>;
    /// The org unit with this id, if any.
    async fn org_unit_by_id(&self, id: OrgUnitId) -> DomainResult<Option<OrgUnit>>;
    /// The org units inside a scope, ordered by path (parents before children).
    async fn list_org_units(&self, scope: &UnitScope) -> DomainResult<Vec<OrgUnit>>;
    /// Renames an org unit.
    async fn rename_org_unit(&self, id: OrgUnitId, name: &str) -> DomainResult<OrgUnit>;
    /// Moves a unit under `new_parent`, rewriting the paths of its whole subtree in one statement.
    async fn move_org_unit(
        &self,
        unit: &OrgUnit,
        new_parent: &OrgUnit,
        new_path: &UnitPath,
    ) -> DomainResult<OrgUnit>;
    /// What still refers to a unit: (child units, users, files, members).
    async fn org_unit_dependents(&self, id: OrgUnitId) -> DomainResult<(i64, i64, i64, i64)>;
    /// Deletes an org unit with no dependents; `false` when it did not exist.
    async fn delete_org_unit(&self, id: OrgUnitId) -> DomainResult<bool>;

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
    /// Marks a pending file uploaded with its real size and content type.
    async fn mark_uploaded(
        &self,
        id: FileId,
        size: i64,
        content_type: &str,
    ) -> DomainResult<StoredFile>;
    /// Deletes a file row; `false` when it did not exist.
    async fn delete_file(&self, id: FileId) -> DomainResult<bool>;

    /// Creates a member.
    async fn insert_member(&self, member: NewMember) -> DomainResult<Member>;
    /// The member with this id, if any.
    async fn member_by_id(&self, id: MemberId) -> DomainResult<Option<Member>>;
    /// Whether any dues or payment refers to the member.
    async fn member_has_money(&self, id: MemberId) -> DomainResult<bool>;
    /// A page of members matching the filter, by id.
    async fn list_members(
        &self,
        filter: MemberFilter,
        page: PageRequest,
    ) -> DomainResult<Page<Member>>;
    /// Applies a change to a member.
    async fn update_member(&self, id: MemberId, change: &MemberUpdate) -> DomainResult<Member>;
    /// Deletes a member; `Conflict` `member_in_use` while dues or payments refer to it; `false`
    /// when absent.
    async fn delete_member(&self, id: MemberId) -> DomainResult<bool>;

    /// Records dues; `Conflict` `dues_exist` when the member already has dues for the period.
    async fn insert_dues(&self, dues: NewDues) -> DomainResult<Dues>;
    /// The dues with this id, if any.
    async fn dues_by_id(&self, id: DuesId) -> DomainResult<Option<Dues>>;
    /// A page of dues matching the filter, newest period first.
    async fn list_dues(&self, filter: DuesFilter, page: PageRequest) -> DomainResult<Page<Dues>>;
    /// Applies a change to dues.
    async fn update_dues(&self, id: DuesId, change: &DuesUpdate) -> DomainResult<Dues>;
    /// Deletes dues; `Conflict` `dues_in_use` while payments refer to them; `false` when absent.
    async fn delete_dues(&self, id: DuesId) -> DomainResult<bool>;

    /// Records a payment and, when it pays dues, marks them paid, in one transaction.
    async fn insert_payment(&self, payment: NewPayment) -> DomainResult<Payment>;
    /// The payment with this id, if any.
    async fn payment_by_id(&self, id: PaymentId) -> DomainResult<Option<Payment>>;
    /// A page of payments matching the filter, newest first.
    async fn list_payments(
        &self,
        filter: PaymentFilter,
        page: PageRequest,
    ) -> DomainResult<Page<Payment>>;
    /// Deletes a payment; `false` when absent.
    async fn delete_payment(&self, id: PaymentId) -> DomainResult<bool>;

    /// Stores an API token (its hash only).
    async fn insert_api_token(&self, token: NewApiToken) -> DomainResult<ApiToken>;
    /// The token with this SHA-256 hash, if any (expired ones too).
    async fn api_token_by_hash(&self, token_hash: &str) -> DomainResult<Option<ApiToken>>;
    /// Every token, newest first.
    async fn list_api_tokens(&self) -> DomainResult<Vec<ApiToken>>;
    /// Deletes a token; answers it and its hash, or `None` when it did not exist.
    async fn delete_api_token(&self, id: ApiTokenId) -> DomainResult<Option<(ApiToken, String)>>;

    /// Appends an event to the audit log.
    async fn insert_audit_event(&self, event: NewAuditEvent) -> DomainResult<()>;
    /// A page of audit events matching the filter, newest first.
    async fn list_audit_events(
        &self,
        filter: AuditFilter,
        page: PageRequest,
    ) -> DomainResult<Page<AuditEvent>>;
}

/// Which cache implementation is in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheBackend {
    /// Redis through a bb8 pool.
    Redis,
    /// The in-process cache (no `REDIS_URL`).
    InProcess,
}

impl CacheBackend {
    /// The name shown in stats and `/readyz`.
    pub fn as_str(self) -> &'static str {
        match self {
            CacheBackend::Redis => "redis",
            CacheBackend::InProcess => "in_process",
        }
    }
}

/// A cache call failed or was skipped because the cache is degraded. Callers fall back to the source.
#[derive(Debug, thiserror::Error)]
#[error("cache unavailable: {0}")]
pub struct CacheError(pub String);

/// What the cache backend reports about itself for the stats endpoint.
#[derive(Debug, Clone, Default)]
pub struct CacheInfo {
    /// Every key in the cache's database (not only ours), when the backend knows it.
    pub total_keys: Option<u64>,
    /// Redis `INFO` fields, when the backend is Redis.
    pub redis: Option<RedisInfo>,
    /// The in-process cache's capacity, when the backend is in-process.
    pub max_entries: Option<u64>,
}

/// The Redis `INFO` fields the stats endpoint shows (names as Redis spells them).
#[derive(Debug, Clone, Default)]
pub struct RedisInfo {
    /// Redis server version.
    pub redis_version: String,
    /// Memory in use, in bytes.
    pub used_memory: u64,
    /// Memory in use, human readable (`1.02M`).
    pub used_memory_human: String,
    /// The memory limit in bytes (0 = none).
    pub maxmemory: u64,
    /// The memory limit, human readable.
    pub maxmemory_human: String,
    /// The eviction policy (`allkeys-lru`, …).
    pub maxmemory_policy: String,
    /// Keys evicted for memory since start.
    pub evicted_keys: u64,
    /// Keys expired since start.
    pub expired_keys: u64,
    /// Clients connected now.
    pub connected_clients: u64,
    /// Commands processed since start.
    pub total_commands_processed: u64,
    /// Successful key lookups since start (all clients).
    pub keyspace_hits: u64,
    /// Failed key lookups since start (all clients).
    pub keyspace_misses: u64,
}

/// A key-value cache with per-entry TTLs. Keys are given without any deployment prefix;
/// the implementation adds its configured prefix. Every call is time-bounded and fails fast
/// while the backend is degraded.
#[async_trait]
pub trait Cache: Send + Sync {
    /// Which implementation this is.
    fn backend(&self) -> CacheBackend;
    /// Whether the backend is failing right now (calls are being skipped).
    fn is_degraded(&self) -> bool;
    /// Checks the backend answers.
    async fn ping(&self) -> Result<(), CacheError>;
    /// The value under `key`.
    async fn get(&self, key: &str) -> Result<Option<String>, CacheError>;
    /// The values under `keys`, in order (one round trip).
    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<String>>, CacheError>;
    /// Stores `value` under `key` for `ttl`.
    async fn set(&self, key: &str, value: &str, ttl: Duration) -> Result<(), CacheError>;
    /// Stores many entries, each for its own TTL (one pipeline).
    async fn set_many(&self, entries: &[(String, String, Duration)]) -> Result<(), CacheError>;
    /// Stores `value` under `key` for `ttl` only if the key is absent; answers whether it stored.
    async fn set_if_absent(
        &self,
        key: &str,
        value: &str,
        ttl: Duration,
    ) -> Result<bool, CacheError>;
    /// Removes keys; answers how many existed.
    async fn delete(&self, keys: &[String]) -> Result<u64, CacheError>;
    /// Adds `member` to the set under `key` and gives the set the TTL `ttl`, in one atomic step.
    async fn add_member(&self, key: &str, member: &str, ttl: Duration) -> Result<(), CacheError>;
    /// The members of the set under `key` (empty when there is none).
    async fn members(&self, key: &str) -> Result<Vec<String>, CacheError>;
    /// Removes `member` from the set under `key`.
    async fn remove_member(&self, key: &str, member: &str) -> Result<(), CacheError>;
    /// Counts one hit on the counter under `key`, which lives for `window` from its first hit.
    /// One atomic step, so no counter is ever left without a TTL. Answers the count so far and
    /// the time left in the window.
    async fn count_hit(&self, key: &str, window: Duration) -> Result<(u64, Duration), CacheError>;
    /// Every key that starts with `prefix` (incrementally, never `KEYS`).
    async fn scan_prefix(&self, prefix: &str) -> Result<Vec<String>, CacheError>;
    /// The remaining TTL of each key, in order; `None` for a missing key or one without a TTL.
    async fn ttls(&self, keys: &[String]) -> Result<Vec<Option<Duration>>, CacheError>;
    /// What the backend reports about itself.
    async fn info(&self) -> Result<CacheInfo, CacheError>;
}

/// A signed URL and the instant it stops working.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedUrl {
    /// The URL. It is a bearer credential: never log it.
    pub url: String,
    /// When the signature (or the credential it was made with) expires, whichever is first.
    pub expires_at: DateTime<Utc>,
}

/// How a signed GET URL should make the object store answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetUrlOptions {
    /// The `Content-Type` the response carries.
    pub content_type: String,
    /// The `Content-Disposition` the response carries.
    pub content_disposition: String,
}

/// What a HEAD of an object tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectMeta {
    /// Size in bytes.
    pub size: u64,
}

/// Where the file bytes live.
#[async_trait]
pub trait ObjectStore: Send + Sync {
    /// `s3` or `local`.
    fn kind(&self) -> &'static str;
    /// Checks the store answers (the bucket exists, the directory is writable).
    async fn ping(&self) -> DomainResult<()>;
    /// Stores an object.
    async fn put(&self, key: &str, body: Bytes, content_type: &str) -> DomainResult<()>;
    /// The object's metadata, or `None` when it does not exist.
    async fn head(&self, key: &str) -> DomainResult<Option<ObjectMeta>>;
    /// Up to `len` leading bytes of the object.
    async fn read_prefix(&self, key: &str, len: usize) -> DomainResult<Bytes>;
    /// Removes an object (absent is fine).
    async fn delete(&self, key: &str) -> DomainResult<()>;
    /// A URL that GETs the object for `expires`.
    async fn presign_get(
        &self,
        key: &str,
        expires: Duration,
        options: &GetUrlOptions,
    ) -> DomainResult<SignedUrl>;
    /// A URL that PUTs the object for `expires`, with this content type.
    async fn presign_put(
        &self,
        key: &str,
        expires: Duration,
        content_type: &str,
    ) -> DomainResult<SignedUrl>;
}
