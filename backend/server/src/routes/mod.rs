//! The HTTP routes: one module per context, each exporting the `scope()` that declares its
//! routes with their OpenAPI entries (see `crate::http::endpoint`), and [`mount`], which puts
//! them all on an app. Nothing else registers an API route.

use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use utoipa_actix_web::UtoipaApp;

pub mod admin_cache;
pub mod audit;
pub mod auth;
pub mod dashboard;
pub mod docs;
pub mod dues;
pub mod files;
pub mod health;
pub mod material_types;
pub mod materials;
pub mod members;
pub mod objects;
pub mod org_units;
pub mod payments;
pub mod posts;
pub mod spa;
pub mod tokens;
pub mod users;

/// What a context's `scope()` is made of: an actix service factory, named so each scope can say
/// it returns one.
pub trait Routes:
    ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse,
        Error = actix_web::Error,
        InitError = (),
    > + 'static
{
}

impl<T> Routes for T where
    T: ServiceFactory<
            ServiceRequest,
            Config = (),
            Response = ServiceResponse,
            Error = actix_web::Error,
            InitError = (),
        > + 'static
{
}

/// Mounts every API route, and its entry in the spec, on `app`.
pub fn mount<T>(app: UtoipaApp<T>) -> UtoipaApp<T>
where
    T: ServiceFactory<ServiceRequest, Config = (), Error = actix_web::Error, InitError = ()>,
{
    // The router tries scopes in order: the cached file read, the hottest route, first.
    app.service(files::scope())
        .configure(health::configure)
        .service(auth::scope())
        .service(tokens::scope())
        .service(audit::scope())
        .service(users::scope())
        .service(org_units::scope())
        .service(members::scope())
        .service(dues::scope())
        .service(payments::scope())
        .service(posts::scope())
        .service(material_types::scope())
        .service(materials::scope())
        .service(dashboard::scope())
        .service(dashboard::admin_scope())
        .service(admin_cache::scope())
        .service(objects::scope())
}
