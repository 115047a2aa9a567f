//! `/api/dashboard`: the figures of the caller's part of the organisation, and
//! `/api/admin/dashboard`: the administrators' counts of everything, with the cache's summary.

use std::collections::BTreeMap;
use std::str::FromStr;

use actix_web::HttpResponse;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use tessera_domain::dashboard::{
    AdminCounts, Dashboard, DuesFigures, MemberFigures, PaymentMonth, PurposeAmount, UnitCount,
};
use tessera_domain::money::PaymentPurpose;
use utoipa::ToSchema;
use utoipa_actix_web::scope::Scope;

use crate::http::caller::{policy, Caller};
use crate::http::endpoint::endpoints;
use crate::http::problem::ApiError;
use crate::routes::admin_cache::{
    job_dtos, namespace_dtos, CacheBackendDto, JobStatusDto, NamespaceDto,
};
use crate::routes::payments::PurposeDto;
use crate::routes::Routes;

/// The routes of `/api/dashboard`.
pub fn scope() -> Scope<impl Routes> {
    utoipa_actix_web::scope("/api/dashboard").service(endpoints![dashboard])
}

/// The routes of `/api/admin/dashboard`.
pub fn admin_scope() -> Scope<impl Routes> {
    utoipa_actix_web::scope("/api/admin/dashboard").service(endpoints![admin_dashboard])
}

/// The caller's dashboard.
#[derive(Serialize, ToSchema)]
pub struct DashboardDto {
    /// The day the figures are for, in the organisation's time zone.
    pub as_of: NaiveDate,
    /// The current month, `YYYY-MM` (the period of its dues).
    #[schema(pattern = r"^\d{4}-\d{2}$", example = "2026-12")]
    pub period: String,
    /// The organisation's time zone (`TESSERA_TIME_ZONE`, an IANA name).
    #[schema(example = "America/Sao_Paulo")]
    pub time_zone: String,
    /// The members the caller sees.
    pub members: MemberFiguresDto,
    /// The current month's dues, one entry per currency (none when there are no dues).
    pub dues: Vec<DuesFiguresDto>,
    /// Payments per month over the last twelve months, oldest first; every month is listed.
    #[schema(min_items = 12, max_items = 12)]
    pub payments: Vec<PaymentMonthDto>,
    /// When the figures were computed: they are cached for up to `CACHE_TTL_DASHBOARD` and
    /// recomputed after any change to members, dues, payments or the tree.
    pub computed_at: DateTime<Utc>,
}

/// Members by status and by unit.
#[derive(Serialize, ToSchema)]
pub struct MemberFiguresDto {
    /// Every member in scope.
    pub total: i64,
    /// By status.
    pub by_status: StatusCountsDto,
    /// By unit, parents before children; units without members are left out.
    pub by_unit: Vec<UnitCountDto>,
    /// Members registered since the first day of the current month.
    pub new_this_month: i64,
}

/// Members per status.
#[derive(Serialize, ToSchema)]
pub struct StatusCountsDto {
    /// Active.
    pub active: i64,
    /// Inactive.
    pub inactive: i64,
    /// Suspended.
    pub suspended: i64,
}

/// The members of one unit.
#[derive(Serialize, ToSchema)]
pub struct UnitCountDto {
    /// The unit.
    pub org_unit_id: i64,
    /// Its name.
    pub name: String,
    /// How many members it has.
    pub count: i64,
}

/// The current month's dues in one currency.
#[derive(Serialize, ToSchema)]
pub struct DuesFiguresDto {
    /// ISO currency code.
    #[schema(example = "BRL")]
    pub currency: String,
    /// Dues of the month not waived, in cents: what the month should bring.
    pub expected_cents: i64,
    /// How many.
    pub expected_count: i64,
    /// What payments of the month's dues brought, in cents.
    pub collected_cents: i64,
    /// How many payments.
    pub collected_count: i64,
    /// Dues of the month still open after their due date, in cents.
    pub overdue_cents: i64,
    /// How many.
    pub overdue_count: i64,
}

/// The payments of one month.
#[derive(Serialize, ToSchema)]
pub struct PaymentMonthDto {
    /// `YYYY-MM`.
    #[schema(pattern = r"^\d{4}-\d{2}$", example = "2026-11")]
    pub month: String,
    /// How many payments, every purpose and currency.
    pub count: i64,
    /// Units of material handed out through material payments.
    pub materials_distributed: i64,
    /// Amounts by purpose and currency (empty in a month without payments).
    pub amounts: Vec<PurposeAmountDto>,
}

/// What payments of one purpose in one currency brought in a month.
#[derive(Serialize, ToSchema)]
pub struct PurposeAmountDto {
    /// What they were for.
    pub purpose: PurposeDto,
    /// ISO currency code.
    pub currency: String,
    /// The sum, in cents.
    pub amount_cents: i64,
    /// How many payments.
    pub count: i64,
}

/// The administrators' dashboard.
#[derive(Serialize, ToSchema)]
pub struct AdminDashboardDto {
    /// How many of each thing there is (read now, not cached).
    pub counts: AdminCountsDto,
    /// The cache at a glance (the full figures are at `/api/admin/cache/stats`).
    pub cache: CacheSummaryDto,
    /// The periodic jobs by name, as in `/api/admin/cache/stats`.
    pub jobs: BTreeMap<&'static str, JobStatusDto>,
}

/// How many of each thing there is.
#[derive(Serialize, ToSchema)]
pub struct AdminCountsDto {
    /// Users.
    pub users: i64,
    /// Org units.
    pub org_units: i64,
    /// Members.
    pub members: i64,
    /// Dues records.
    pub dues: i64,
    /// Payments.
    pub payments: i64,
    /// Files.
    pub files: i64,
    /// API tokens not expired.
    pub api_tokens: i64,
    /// Audit events.
    pub audit_events: i64,
}

/// The cache at a glance.
#[derive(Serialize, ToSchema)]
pub struct CacheSummaryDto {
    /// Which cache implementation is in use.
    pub backend: CacheBackendDto,
    /// True while the cache is failing and being skipped.
    pub degraded: bool,
    /// Lookups answered from the cache, every namespace, counted by this instance.
    pub hits: u64,
    /// Lookups that went to the source.
    pub misses: u64,
    /// hits / (hits + misses); 0 before any lookup.
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub hit_ratio: f64,
    /// Counts per namespace.
    pub namespaces: BTreeMap<&'static str, NamespaceDto>,
    /// Memory Redis uses, in bytes (null on the in-process cache or when unknown).
    pub used_memory: Option<u64>,
    /// Redis's `maxmemory` (null when unknown; 0 means no limit).
    pub maxmemory: Option<u64>,
}

/// The figures of the caller's part of the organisation: its members by status and unit, the
/// current month's dues (expected, collected, overdue) and twelve months of payments. A
/// treasurer's money figures are the whole organisation's. Months are those of
/// `TESSERA_TIME_ZONE`.
#[utoipa::path(get, path = "", tag = "dashboard", responses(
    (status = 200, description = "The caller's figures", body = DashboardDto),
))]
pub async fn dashboard(caller: Caller<policy::Read>) -> Result<HttpResponse, ApiError> {
    let dashboard = caller.state().dashboard.get(&caller.actor()).await?;
    Ok(HttpResponse::Ok().json(DashboardDto::try_from(dashboard)?))
}

/// Counts of everything and the cache's summary, for administrators.
#[utoipa::path(get, path = "", tag = "dashboard", responses(
    (status = 200, description = "Counts and the cache's summary", body = AdminDashboardDto),
))]
pub async fn admin_dashboard(caller: Caller<policy::AdminRead>) -> Result<HttpResponse, ApiError> {
    let state = caller.state();
    let actor = caller.actor();
    let counts = state.dashboard.admin_counts(&actor).await?;
    let stats = state.cache_admin.stats(&actor).await?;
    let (hits, misses) = stats
        .namespaces
        .iter()
        .fold((0, 0), |(h, m), n| (h + n.hits, m + n.misses));
    let redis = stats.info.as_ref().and_then(|info| info.redis.as_ref());
    Ok(HttpResponse::Ok().json(AdminDashboardDto {
        counts: counts.into(),
        cache: CacheSummaryDto {
            backend: stats.backend.into(),
            degraded: stats.degraded,
            hits,
            misses,
            hit_ratio: if hits + misses == 0 {
                0.0
            } else {
                hits as f64 / (hits + misses) as f64
            },
            namespaces: namespace_dtos(&stats),
            used_memory: redis.map(|r| r.used_memory),
            maxmemory: redis.map(|r| r.maxmemory),
        },
        jobs: job_dtos(state.jobs.status().await),
    }))
}

impl TryFrom<Dashboard> for DashboardDto {
    type Error = ApiError;

    fn try_from(d: Dashboard) -> Result<Self, ApiError> {
        Ok(Self {
            as_of: d.as_of,
            period: d.period,
            time_zone: d.time_zone,
            members: d.members.into(),
            dues: d.dues.into_iter().map(Into::into).collect(),
            payments: d
                .payments
                .into_iter()
                .map(PaymentMonthDto::try_from)
                .collect::<Result<_, _>>()?,
            computed_at: d.computed_at,
        })
    }
}

impl From<MemberFigures> for MemberFiguresDto {
    fn from(m: MemberFigures) -> Self {
        Self {
            total: m.total,
            by_status: StatusCountsDto {
                active: m.by_status.active,
                inactive: m.by_status.inactive,
                suspended: m.by_status.suspended,
            },
            by_unit: m.by_unit.into_iter().map(Into::into).collect(),
            new_this_month: m.new_this_month,
        }
    }
}

impl From<UnitCount> for UnitCountDto {
    fn from(u: UnitCount) -> Self {
        Self {
            org_unit_id: u.org_unit_id.0,
            name: u.name,
            count: u.count,
        }
    }
}

impl From<DuesFigures> for DuesFiguresDto {
    fn from(d: DuesFigures) -> Self {
        Self {
            currency: d.currency,
            expected_cents: d.expected_cents,
            expected_count: d.expected_count,
            collected_cents: d.collected_cents,
            collected_count: d.collected_count,
            overdue_cents: d.overdue_cents,
            overdue_count: d.overdue_count,
        }
    }
}

impl TryFrom<PaymentMonth> for PaymentMonthDto {
    type Error = ApiError;

    fn try_from(m: PaymentMonth) -> Result<Self, ApiError> {
        Ok(Self {
            month: m.month,
            count: m.count,
            materials_distributed: m.materials_distributed,
            amounts: m
                .amounts
                .into_iter()
                .map(PurposeAmountDto::try_from)
                .collect::<Result<_, _>>()?,
        })
    }
}

impl TryFrom<PurposeAmount> for PurposeAmountDto {
    type Error = ApiError;

    fn try_from(a: PurposeAmount) -> Result<Self, ApiError> {
        Ok(Self {
            purpose: PaymentPurpose::from_str(&a.purpose)?.into(),
            currency: a.currency,
            amount_cents: a.amount_cents,
            count: a.count,
        })
    }
}

impl From<AdminCounts> for AdminCountsDto {
    fn from(c: AdminCounts) -> Self {
        Self {
            users: c.users,
            org_units: c.org_units,
            members: c.members,
            dues: c.dues,
            payments: c.payments,
            files: c.files,
            api_tokens: c.api_tokens,
            audit_events: c.audit_events,
        }
    }
}
