//! `//api/users` is `/api/users`: repeated slashes in a path are merged before routing, as
//! actix-web's `NormalizePath` does (a trailing slash stays a different path, a 404). Only a
//! path that has two slashes in a row pays for it: `NormalizePath` runs a regex over every
//! path, which the hot cached reads would otherwise pay on each request.

use std::rc::Rc;

use actix_web::dev::{forward_ready, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::middleware::{NormalizePath, TrailingSlash};
use futures::future::{ready, Either, Ready};

/// Middleware: merges repeated slashes of the paths that have them.
pub struct MergeSlashes;

impl<S, B> Transform<S, ServiceRequest> for MergeSlashes
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Transform =
        MergeSlashesService<S, <NormalizePath as Transform<Rc<S>, ServiceRequest>>::Transform>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, ()>>;

    fn new_transform(&self, service: S) -> Self::Future {
        let service = Rc::new(service);
        let normalizing =
            NormalizePath::new(TrailingSlash::MergeOnly).new_transform(Rc::clone(&service));
        // `NormalizePath` makes its service at once: its future is ready.
        let normalizing = match futures::FutureExt::now_or_never(normalizing) {
            Some(Ok(normalizing)) => normalizing,
            _ => return ready(Err(())),
        };
        ready(Ok(MergeSlashesService {
            service,
            normalizing,
        }))
    }
}

/// The service [`MergeSlashes`] makes: the inner service `S`, reached directly or through
/// `NormalizePath`'s service `N` over it.
pub struct MergeSlashesService<S, N> {
    service: Rc<S>,
    normalizing: N,
}

impl<S, N, B> Service<ServiceRequest> for MergeSlashesService<S, N>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    N: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = Either<S::Future, N::Future>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        if req.path().contains("//") {
            Either::Right(self.normalizing.call(req))
        } else {
            Either::Left(self.service.call(req))
        }
    }
}
