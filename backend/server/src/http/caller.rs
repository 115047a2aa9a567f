//! Who may call a route, stated in its handler's signature. A handler's first argument is a
//! [`Caller<P>`] (a logged-in user or an API token that policy `P` admits), [`Anonymous`]
//! (anyone, counted against the API rate limit per address) or [`Public`] (anyone, not counted).
//! Only these three hand out the application state, and the route registrar
//! ([`crate::http::endpoint`]) accepts no handler whose first argument is not one of them, so a
//! route cannot be added without saying who may call it.
//!
//! The decision is made by the extractor of the route the router matched, never by looking at
//! the request's path: `POST /api/%75sers` meets exactly the `Caller<AdminSession>` that
//! `POST /api/users` meets. The same value ([`Access`]) writes the route's `security` and its
//! 401/403 answers into the OpenAPI document, so the spec says what the server does.

use std::marker::PhantomData;
use std::net::IpAddr;
use std::rc::Rc;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, Error, FromRequest, HttpMessage, HttpRequest};
use futures::future::LocalBoxFuture;
use tessera_domain::access::rate_limit::{Policy as LimitPolicy, Subject};
use tessera_domain::access::Actor;
use tessera_domain::accounts::api_tokens::{ApiScope, ApiToken, TOKEN_PREFIX};
use tessera_domain::accounts::sessions::SessionId;
use tessera_domain::accounts::User;
use tessera_domain::shared::DomainError;
use tessera_domain::shared::ErrorCode;

use crate::http::client_ip::client_ip_of;
use crate::http::jwt::AccessToken;
use crate::http::problem::ApiError;
use crate::state::AppState;
use crate::telemetry::CallerId;

/// What the app holds for the extractors of this module; nothing else can read the state out.
/// Each worker has its own (the app is built once per worker): every request takes a reference
/// to its worker's, so no reference count is shared between threads, where each increment
/// would move a cache line from one core to the other.
pub struct AppHandle(WorkerState);

/// The application state as a worker's requests hold it.
type WorkerState = Rc<web::Data<AppState>>;

impl AppHandle {
    /// The handle to register with `App::app_data`, in the worker's app factory.
    pub fn new(state: web::Data<AppState>) -> Self {
        Self(Rc::new(state))
    }
}

fn state_of(req: &HttpRequest) -> Result<WorkerState, ApiError> {
    req.app_data::<AppHandle>()
        .map(|handle| Rc::clone(&handle.0))
        .ok_or_else(|| {
            ApiError::Domain(anyhow::anyhow!("the application state is not registered").into())
        })
}

/// What a route asks of its caller. The extractors enforce it and the route registrar writes it
/// into the spec (`security`, 401, 403, 429).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, not counted against the API limit (health probes, signed object URLs).
    Public,
    /// Anyone, counted against the API limit per client address (login, refresh).
    Anonymous,
    /// A logged-in user, or an API token carrying `api_scope` (`None`: login sessions only);
    /// administrators only when `admin`. Counted against the API limit per user or token.
    Caller {
        /// Whether the user must be an administrator.
        admin: bool,
        /// The scope an API token needs; `None` refuses API tokens.
        api_scope: Option<ApiScope>,
    },
}

/// A rule for [`Caller`]; the marker types in [`policy`] are the rules there are.
pub trait Policy: 'static {
    /// Whether the user must be an administrator.
    const ADMIN: bool;
    /// The scope an API token needs; `None`: only a login session may call.
    const API_SCOPE: Option<ApiScope>;
    /// Whether a user whose password an administrator reset may call before choosing a new one
    /// (only to read and change its own account, and to log out).
    const DURING_PASSWORD_CHANGE: bool = false;
}

/// The rules a route can ask of its caller.
pub mod policy {
    use super::{ApiScope, Policy};

    macro_rules! policies {
        ($($(#[$doc:meta])* $name:ident: admin = $admin:literal, token = $scope:expr, reset = $reset:literal;)+) => {$(
            $(#[$doc])*
            #[derive(Debug)]
            pub struct $name;

            impl Policy for $name {
                const ADMIN: bool = $admin;
                const API_SCOPE: Option<ApiScope> = $scope;
                const DURING_PASSWORD_CHANGE: bool = $reset;
            }
        )+};
    }

    policies! {
        /// Any user, or an API token with `read`.
        Read: admin = false, token = Some(ApiScope::Read), reset = false;
        /// Any user, or an API token with `write`.
        Write: admin = false, token = Some(ApiScope::Write), reset = false;
        /// A user logged in; API tokens cannot call (managing one's own login).
        Session: admin = false, token = None, reset = false;
        /// Any user reading its own account, or an API token with `read`; also while a reset
        /// password waits to be replaced.
        OwnRead: admin = false, token = Some(ApiScope::Read), reset = true;
        /// A user logged in, changing its own account or logging out; also while a reset
        /// password waits to be replaced.
        Own: admin = false, token = None, reset = true;
        /// An administrator, or an API token with `read`.
        AdminRead: admin = true, token = Some(ApiScope::Read), reset = false;
        /// An administrator, or an API token with `write`.
        AdminWrite: admin = true, token = Some(ApiScope::Write), reset = false;
        /// An administrator logged in; API tokens cannot call (accounts and tokens, so a leaked
        /// token cannot mint more or make an administrator to log in as).
        AdminSession: admin = true, token = None, reset = false;
        /// An administrator, or an API token with `cache:admin`.
        CacheAdmin: admin = true, token = Some(ApiScope::CacheAdmin), reset = false;
    }
}

/// How the caller proved who it is.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A login access token.
    Access(AccessToken),
    /// An API token, limited to its scopes.
    ApiToken(ApiToken),
}

/// An authenticated caller that policy `P` admits. Extracting it answers 401 when the token is
/// missing, invalid, expired or logged out, its session has ended, or its user is gone or
/// inactive; 403 when `P` refuses the caller; 429 over the API limit.
pub struct Caller<P> {
    state: WorkerState,
    /// The user behind the credential.
    pub user: User,
    /// How the caller proved who it is.
    pub credential: Credential,
    /// The client's address.
    pub ip: Option<IpAddr>,
    policy: PhantomData<P>,
}

impl<P> Caller<P> {
    /// The application state.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The caller as the domain sees it, with the address it calls from.
    pub fn actor(&self) -> Actor {
        Actor {
            ip: self.ip,
            ..self.user.actor()
        }
    }

    /// The login session behind the credential, if any.
    pub fn session(&self) -> Option<&SessionId> {
        match &self.credential {
            Credential::Access(token) => Some(&token.session),
            Credential::ApiToken(_) => None,
        }
    }
}

impl<P: Policy> FromRequest for Caller<P> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = state_of(&req)?;
            let ip = client_ip_of(&req, &state.settings.trusted_proxies);
            let (user, credential) = authenticate(&state, &req, ip).await?;
            req.extensions_mut().insert(match &credential {
                Credential::Access(_) => CallerId::User(user.id.0),
                Credential::ApiToken(token) => CallerId::ApiToken(token.id.0),
            });
            admit::<P>(&user, &credential)?;
            Ok(Caller {
                state,
                user,
                credential,
                ip,
                policy: PhantomData,
            })
        })
    }
}

/// Anyone, counted against the API limit per client address.
pub struct Anonymous {
    state: WorkerState,
    /// The client's address.
    pub ip: Option<IpAddr>,
}

impl Anonymous {
    /// The application state.
    pub fn state(&self) -> &AppState {
        &self.state
    }
}

impl FromRequest for Anonymous {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = state_of(&req)?;
            let ip = client_ip_of(&req, &state.settings.trusted_proxies);
            meter(&state, &req, Subject::Ip(ip)).await?;
            Ok(Anonymous { state, ip })
        })
    }
}

/// Anyone, not counted (health probes; signed object URLs, authorised by their signature).
pub struct Public {
    state: WorkerState,
}

impl Public {
    /// The application state.
    pub fn state(&self) -> &AppState {
        &self.state
    }
}

impl FromRequest for Public {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(state_of(req).map(|state| Public { state }))
    }
}

/// An extractor that states who may call: the first argument of every handler.
pub trait Guard {
    /// What it asks of the caller.
    const ACCESS: Access;
}

impl<P: Policy> Guard for Caller<P> {
    const ACCESS: Access = Access::Caller {
        admin: P::ADMIN,
        api_scope: P::API_SCOPE,
    };
}

impl Guard for Anonymous {
    const ACCESS: Access = Access::Anonymous;
}

impl Guard for Public {
    const ACCESS: Access = Access::Public;
}

/// A handler's arguments whose first states who may call. They are extracted in order, the
/// caller first: a request that may not call the route is refused before its body is read, so
/// every spelling and every body meets the same decision.
pub trait GuardedArgs: Sized {
    /// What the first argument asks of the caller.
    const ACCESS: Access;

    /// Extracts the arguments, the caller first and then the rest in order.
    fn extract(req: HttpRequest, payload: Payload) -> LocalBoxFuture<'static, Result<Self, Error>>;
}

macro_rules! guarded_args {
    ($($rest:ident),*) => {
        impl<G, $($rest),*> GuardedArgs for (G, $($rest,)*)
        where
            G: Guard + FromRequest + 'static,
            $($rest: FromRequest + 'static,)*
        {
            const ACCESS: Access = G::ACCESS;

            #[allow(non_snake_case, unused_mut, unused_variables)]
            fn extract(
                req: HttpRequest,
                mut payload: Payload,
            ) -> LocalBoxFuture<'static, Result<Self, Error>> {
                Box::pin(async move {
                    let guard = G::from_request(&req, &mut Payload::None)
                        .await
                        .map_err(Into::into)?;
                    $(
                        let $rest = $rest::from_request(&req, &mut payload)
                            .await
                            .map_err(Into::into)?;
                    )*
                    Ok((guard, $($rest,)*))
                })
            }
        }
    };
}

guarded_args!();
guarded_args!(A);
guarded_args!(A, B);
guarded_args!(A, B, C);
guarded_args!(A, B, C, D);
guarded_args!(A, B, C, D, E);

/// The bearer token of a request, if it has one.
fn bearer(req: &HttpRequest) -> Option<&str> {
    // UTF-8, not `to_str`'s byte-by-byte visible-ASCII check: a token with any other byte
    // fails its own check anyway, and this runs on every request.
    let value = std::str::from_utf8(req.headers().get(header::AUTHORIZATION)?.as_bytes()).ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The user and credential behind the request's bearer token. Each request counts once against
/// the API limit: per user or token when the credential is good, per address when it is missing
/// or bad (so invented tokens cannot dodge the limit).
async fn authenticate(
    state: &AppState,
    req: &HttpRequest,
    ip: Option<IpAddr>,
) -> Result<(User, Credential), ApiError> {
    let Some(token) = bearer(req) else {
        meter(state, req, Subject::Ip(ip)).await?;
        return Err(ApiError::unauthenticated("Authentication required"));
    };
    if token.starts_with(TOKEN_PREFIX) {
        let api_token = match state.tokens.authenticate(token).await {
            Ok(api_token) => api_token,
            Err(e @ DomainError::Unauthenticated(_)) => {
                meter(state, req, Subject::Ip(ip)).await?;
                return Err(e.into());
            }
            Err(e) => return Err(e.into()),
        };
        meter(state, req, Subject::ApiToken(token)).await?;
        let user = state
            .accounts
            .user(api_token.user_id)
            .await
            .map_err(gone("the API token is invalid or expired"))?;
        return Ok((user, Credential::ApiToken(api_token)));
    }
    let access = match state.jwt.verify(token) {
        Ok(access) => access,
        Err(e) => {
            meter(state, req, Subject::Ip(ip)).await?;
            return Err(e.into());
        }
    };
    meter(state, req, Subject::User(access.user_id.0)).await?;
    let user = state
        .auth
        .user_for_access(access.user_id, &access.session)
        .await
        .map_err(gone("the access token is invalid or expired"))?;
    Ok((user, Credential::Access(access)))
}

/// A user that is gone or inactive is a 401; a database outage stays a 503.
fn gone(detail: &'static str) -> impl Fn(DomainError) -> ApiError {
    move |e| match e {
        DomainError::NotFound(_) => ApiError::unauthenticated(detail),
        e => ApiError::Domain(e),
    }
}

/// Whether rule `P` lets this user with this credential in.
fn admit<P: Policy>(user: &User, credential: &Credential) -> Result<(), ApiError> {
    if let Credential::ApiToken(token) = credential {
        match P::API_SCOPE {
            None => {
                return Err(ApiError::problem(
                    ErrorCode::SessionRequired,
                    "this endpoint needs a logged-in user; API tokens cannot call it",
                ))
            }
            Some(scope) if !token.allows(scope) => {
                return Err(ApiError::problem(
                    ErrorCode::InsufficientScope,
                    format!("this API token does not carry the {scope} scope"),
                ))
            }
            Some(_) => {}
        }
    }
    if P::ADMIN && !user.is_admin {
        return Err(DomainError::admin_required().into());
    }
    if user.must_change_password && !P::DURING_PASSWORD_CHANGE {
        return Err(DomainError::Forbidden {
            code: ErrorCode::PasswordChangeRequired,
            message: "an administrator reset this password: set a new one first \
                      (PATCH /api/auth/me with password and current_password)"
                .into(),
        }
        .into());
    }
    Ok(())
}

/// Counts one request against the API limit; over it is a 429. The decision is kept on the
/// request so the response carries the `RateLimit` headers.
async fn meter(state: &AppState, req: &HttpRequest, subject: Subject<'_>) -> Result<(), ApiError> {
    let limit = state.settings.rate_limits.api_per_minute;
    if limit == 0 {
        return Ok(());
    }
    let decision = state
        .limiter
        .hit(LimitPolicy::per_minute("api", limit).in_batches(), &subject)
        .await;
    req.extensions_mut().insert(decision);
    if decision.allowed {
        Ok(())
    } else {
        Err(DomainError::RateLimited(decision).into())
    }
}
