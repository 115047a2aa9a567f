//! The dashboard: the figures of the caller's part of the organisation (members, dues of the
//! month, twelve months of payments), computed with one query per figure and cached per scope
//! and day; administrators also get counts of everything.

pub mod model;
pub mod repo;
pub mod service;

pub use model::{
    AdminCounts, Dashboard, DashboardQuery, DuesFigures, MemberFigures, MonthWindow, PaymentMonth,
    PaymentMonthRow, PurposeAmount, StatusCounts, UnitCount,
};
pub use repo::DashboardRepo;
pub use service::{DashboardService, DASHBOARDS};
