//! The application state shared by every handler: settings and the ports, no globals.

use std::sync::Arc;

use tessera_domain::access::rate_limit::RateLimiter;
use tessera_domain::accounts::sessions::SessionService;
use tessera_domain::accounts::{AccountService, ApiTokenService, AuthService};
use tessera_domain::audit::AuditLog;
use tessera_domain::cache::CacheAdmin;
use tessera_domain::dashboard::DashboardService;
use tessera_domain::files::{FileService, FileUrls, ObjectStore};
use tessera_domain::jobs::JobRunner;
use tessera_domain::materials::MaterialService;
use tessera_domain::members::MemberService;
use tessera_domain::money::{DuesService, PaymentService};
use tessera_domain::org::OrgUnitService;
use tessera_domain::posts::PostService;
use tessera_domain::shared::cache::Cache;
use tessera_domain::shared::time::Clock;
use tessera_infra::objects::local::LocalObjects;
use tessera_infra::sql::SqlStore;

use crate::http::jwt::JwtKeys;
use crate::metrics::Metrics;
use crate::settings::Settings;

/// What every handler can reach.
pub struct AppState {
    /// The settings in force.
    pub settings: Settings,
    /// The database (every repository; the state holds it for readiness checks).
    pub db: Arc<SqlStore>,
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
    pub accounts: Arc<AccountService>,
    /// Logins, sessions and the caller's own credentials.
    pub auth: AuthService,
    /// The organisation tree.
    pub org_units: OrgUnitService,
    /// Members.
    pub members: Arc<MemberService>,
    /// Dues.
    pub dues: DuesService,
    /// Payments.
    pub payments: PaymentService,
    /// Dashboards.
    pub dashboard: Arc<DashboardService>,
    /// The posts board.
    pub posts: Arc<PostService>,
    /// The material catalogue and its stock.
    pub materials: MaterialService,
    /// Login sessions and their refresh tokens.
    pub sessions: Arc<SessionService>,
    /// Access tokens.
    pub jwt: JwtKeys,
    /// API tokens.
    pub tokens: ApiTokenService,
    /// The audit log.
    pub audit: Arc<AuditLog>,
    /// Rate limits.
    pub limiter: Arc<RateLimiter>,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// Prometheus metrics (served on `METRICS_ADDR`; other parts report to it).
    pub metrics: Arc<Metrics>,
    /// The periodic jobs (spawned by `Application::build`, not by `build_state`).
    pub jobs: Arc<JobRunner>,
}
