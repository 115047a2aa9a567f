//! Tessera's HTTP server: settings, start-up, routes, errors, auth, OpenAPI and telemetry.

pub mod auth;
pub mod limits;
pub mod openapi;
pub mod problem;
pub mod routes;
pub mod settings;
pub mod startup;
pub mod state;
pub mod telemetry;
