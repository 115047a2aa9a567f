//! Tessera's HTTP server: settings, start-up, the HTTP layer shared by every route (callers,
//! route declaration, problem+json), the routes, the OpenAPI document and telemetry.

pub mod cli;
pub mod frontend;
pub mod http;
pub mod jobs;
pub mod metrics;
pub mod openapi;
pub mod routes;
pub mod seed;
pub mod settings;
pub mod startup;
pub mod state;
pub mod telemetry;
