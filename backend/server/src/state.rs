//! The application state shared by every handler: settings and the ports, no globals.

use std::sync::Arc;

use tessera_domain::accounts::AccountService;
use tessera_domain::api_tokens::ApiTokenService;
use tessera_domain::audit::AuditLog;
use tessera_domain::cache_admin::CacheAdmin;
use tessera_domain::clock::Clock;
use tessera_domain::dues::DuesService;
use tessera_domain::file_urls::FileUrls;
use tessera_domain::files::FileService;
use tessera_domain::members::MemberService;
use tessera_domain::org_units::OrgUnitService;
use tessera_domain::payments::PaymentService;
use tessera_domain::ports::{Cache, ObjectStore, Store};
use tessera_domain::rate_limit::RateLimiter;
use tessera_domain::sessions::SessionService;
use tessera_infra::objects_local::LocalObjects;

use crate::http::jwt::JwtKeys;
use crate::settings::Settings;

/// What every handler can reach.
pub struct AppState {
    /// The settings in force.
    pub settings: Settings,
    /// The relational store.
    pub store: Arc<dyn Store>,
    /// The cache.
    pub cache: Arc<dyn Cache>,
    /// The object store.
    pub objects: Arc<dyn ObjectStore>,
    /// The local-disk store, when it is the object store (its route serves signed URLs).
    pub local_objects: Option<LocalObjects>,
    /// Files.
    pub files: FileService,
    /// The file-URL cache.
    pub urls: Arc<FileUrls>,
    /// Cache administration.
    pub cache_admin: CacheAdmin,
    /// Users and passwords.
    pub accounts: AccountService,
    /// The organisation tree.
    pub org_units: OrgUnitService,
    /// Members.
    pub members: Arc<MemberService>,
    /// Dues.
    pub dues: DuesService,
    /// Payments.
    pub payments: PaymentService,
    /// Login sessions and their refresh tokens.
    pub sessions: SessionService,
    /// Access tokens.
    pub jwt: JwtKeys,
    /// API tokens.
    pub tokens: ApiTokenService,
    /// The audit log.
    pub audit: AuditLog,
    /// Rate limits.
    pub limiter: RateLimiter,
    /// The clock.
    pub clock: Arc<dyn Clock>,
}
