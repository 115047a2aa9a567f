//! The one way to declare a route: a handler's `#[utoipa::path]` names its method and path once,
//! and [`endpoints!`] registers the handlers of one path as one actix resource together with
//! their OpenAPI entries (through utoipa-actix-web's scopes). So the spec cannot list a route the
//! server lacks or miss one it has, and a wrong method answers 405 with `Allow`.
//!
//! Every handler's first argument must state its caller ([`GuardedArgs`]): a handler without one
//! does not compile here. That same argument writes the operation's `security` and its shared
//! problem answers (401, 403, 429) into the spec; a JSON body adds 400, 413, 415 and 422, path
//! parameters 404. What a handler declares itself wins over these defaults.
//!
//! Routes write their operations only inside [`describing`] (what `crate::openapi::spec` does,
//! once at start): every actix worker mounts the same routes, and building the whole document
//! in each of them left megabytes of heap per worker for a spec the worker never reads.

use std::cell::Cell;

use actix_web::dev::{AppService, HttpServiceFactory};
use actix_web::http::Method;
use actix_web::{web, Handler, HttpRequest, Responder};
use utoipa::openapi::path::{HttpMethod, Operation, ParameterIn, Paths};
use utoipa::openapi::schema::Schema;
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{Ref, RefOr};
use utoipa_actix_web::OpenApiFactory;

use crate::http::caller::{Access, GuardedArgs};

thread_local! {
    /// Whether routes registered on this thread write their OpenAPI operations.
    static DESCRIBING: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with the routes it registers (on this thread) writing their OpenAPI operations and
/// schemas: how the document is built. Outside it routes only serve.
pub fn describing<R>(f: impl FnOnce() -> R) -> R {
    /// Puts the flag back as it was, even when `f` panics.
    struct Restore(bool);

    impl Drop for Restore {
        fn drop(&mut self) {
            DESCRIBING.with(|flag| flag.set(self.0));
        }
    }

    let _restore = Restore(DESCRIBING.with(|flag| flag.replace(true)));
    f()
}

/// Whether [`describing`] is running on this thread.
fn is_describing() -> bool {
    DESCRIBING.with(Cell::get)
}

/// The handlers of one path: one actix resource, and their operations for the spec.
pub struct Endpoints {
    path: Option<String>,
    pattern: Option<String>,
    routes: Vec<actix_web::Route>,
    paths: Paths,
    schemas: Vec<(String, RefOr<Schema>)>,
}

impl Default for Endpoints {
    fn default() -> Self {
        Self::new()
    }
}

impl Endpoints {
    /// No handlers yet.
    pub fn new() -> Self {
        Self {
            path: None,
            pattern: None,
            routes: Vec::new(),
            paths: Paths::new(),
            schemas: Vec::new(),
        }
    }

    /// The actix pattern, when it must differ from the spec's path (a tail spanning segments,
    /// `{key:.*}`, which OpenAPI writes `{key}`).
    pub fn pattern(mut self, pattern: &str) -> Self {
        self.pattern = Some(pattern.to_owned());
        self
    }

    /// Adds a handler, described by `op` (the struct `#[utoipa::path]` made for it); the
    /// description is kept only inside [`describing`].
    ///
    /// # Panics
    /// At start-up, when two handlers of one resource declare different paths.
    pub fn route<Op, F, Args>(mut self, op: Op, handler: F) -> Self
    where
        Op: utoipa::Path + OpenApiFactory,
        F: Handler<Args>,
        Args: GuardedArgs + 'static,
        F::Output: Responder + 'static,
    {
        let path = Op::path();
        match &self.path {
            Some(existing) => assert_eq!(
                existing, &path,
                "the handlers of one resource must share one path"
            ),
            None => self.path = Some(path),
        }
        for method in Op::methods() {
            let handler = handler.clone();
            self.routes.push(web::method(actix_method(&method)).to(
                move |req: HttpRequest, payload: web::Payload| {
                    let handler = handler.clone();
                    async move {
                        let args = Args::extract(req, payload.into_inner()).await?;
                        Ok::<_, actix_web::Error>(handler.call(args).await)
                    }
                },
            ));
        }
        if is_describing() {
            let mut paths = op.paths();
            for item in paths.paths.values_mut() {
                for operation in [
                    &mut item.get,
                    &mut item.put,
                    &mut item.post,
                    &mut item.delete,
                    &mut item.patch,
                ]
                .into_iter()
                .flatten()
                {
                    describe_shared_answers(operation, Args::ACCESS);
                }
            }
            self.paths.merge(paths);
            op.schemas(&mut self.schemas);
        }
        self
    }
}

fn actix_method(method: &HttpMethod) -> Method {
    match method {
        HttpMethod::Get => Method::GET,
        HttpMethod::Post => Method::POST,
        HttpMethod::Put => Method::PUT,
        HttpMethod::Delete => Method::DELETE,
        HttpMethod::Options => Method::OPTIONS,
        HttpMethod::Head => Method::HEAD,
        HttpMethod::Patch => Method::PATCH,
        HttpMethod::Trace => Method::TRACE,
    }
}

/// Writes who may call into the operation, and the problem answers the framework gives every
/// route of its kind (shared responses under `#/components/responses`).
fn describe_shared_answers(operation: &mut Operation, access: Access) {
    if let Access::Caller { admin, api_scope } = access {
        answer(operation, "401", "Unauthorized");
        answer(operation, "403", "Forbidden");
        let mut security = vec![SecurityRequirement::new(
            "session",
            if admin { vec!["admin"] } else { Vec::new() },
        )];
        if let Some(scope) = api_scope {
            security.push(SecurityRequirement::new("api_token", [scope.as_str()]));
        }
        operation.security = Some(security);
    }
    if access != Access::Public {
        answer(operation, "429", "TooManyRequests");
        answer(operation, "503", "ServiceUnavailable");
    }
    let (mut path, mut query) = (false, false);
    for parameter in operation.parameters.iter().flatten() {
        if let RefOr::T(parameter) = parameter {
            path |= matches!(parameter.parameter_in, ParameterIn::Path);
            query |= matches!(parameter.parameter_in, ParameterIn::Query);
        }
    }
    let body = operation.request_body.is_some();
    if body {
        answer(operation, "400", "BadRequest");
    }
    if body {
        answer(operation, "413", "PayloadTooLarge");
        answer(operation, "415", "UnsupportedMediaType");
    }
    if body || query {
        answer(operation, "422", "UnprocessableEntity");
    }
    if path {
        answer(operation, "404", "NotFound");
    }
}

/// Adds a shared problem answer unless the handler declared that status itself.
fn answer(operation: &mut Operation, status: &str, response: &str) {
    operation
        .responses
        .responses
        .entry(status.to_owned())
        .or_insert_with(|| RefOr::Ref(Ref::from_response_name(response)));
}

impl HttpServiceFactory for Endpoints {
    fn register(self, config: &mut AppService) {
        let pattern = self.pattern.or(self.path).unwrap_or_default();
        let resource = self
            .routes
            .into_iter()
            .fold(web::resource(pattern), |resource, route| {
                resource.route(route)
            });
        resource.register(config);
    }
}

impl OpenApiFactory for Endpoints {
    fn paths(&self) -> Paths {
        self.paths.clone()
    }

    fn schemas(&self, schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.extend(self.schemas.iter().cloned());
    }
}

/// The handlers of one path, as one resource with their OpenAPI entries:
/// `endpoints![list_users, create_user]`. Each must carry `#[utoipa::path]`.
macro_rules! endpoints {
    ($($handler:ident),+ $(,)?) => {
        $crate::http::endpoint::Endpoints::new()
            $(.route(::pastey::paste!([<__path_ $handler>]), $handler))+
    };
}

pub(crate) use endpoints;

#[cfg(test)]
mod tests {
    use actix_web::App;
    use utoipa_actix_web::AppExt;

    use super::*;
    use crate::routes;

    #[test]
    fn routes_write_their_operations_only_while_describing() {
        let (_, served) = routes::mount(App::new().into_utoipa_app()).split_for_parts();
        assert!(served.paths.paths.is_empty());
        assert!(served
            .components
            .is_none_or(|components| components.schemas.is_empty()));

        let (_, described) =
            describing(|| routes::mount(App::new().into_utoipa_app()).split_for_parts());
        assert!(described.paths.paths.contains_key("/readyz"));
        assert!(described.paths.paths.contains_key("/api/auth/login"));
        assert!(!is_describing(), "the flag is put back afterwards");
    }

    #[test]
    fn describing_is_put_back_after_a_panic() {
        let panicked = std::panic::catch_unwind(|| describing(|| panic!("while describing")));
        assert!(panicked.is_err());
        assert!(!is_describing());
    }
}
