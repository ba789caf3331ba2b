//! The short link's fast path: the outermost middleware answers `GET` and
//! `HEAD` under `/r/` itself, so the redirect skips the layers that only
//! other pages need (routing over the whole route table, the setup gate,
//! bare-error bodies, the boxed futures of each `from_fn` layer, the
//! request log at info level).
//!
//! It keeps what every response must have: the security headers (added
//! here as `DefaultHeaders` would), metrics under the route `/r/{code}`, and
//! a panic turned into the 500 page. Any other method under `/r/` goes down
//! the ordinary chain, where the route answers 405.

use std::future::{Ready, ready};
use std::panic::AssertUnwindSafe;
use std::time::Instant;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::{Error, ResponseError, web};
use futures_util::FutureExt;
use futures_util::future::{Either, LocalBoxFuture, MapOk, TryFutureExt};

use super::handlers::participant::redirect;
use super::middleware::{REDIRECT_ROUTE, add_security_headers, panic_page};
use super::state::AppState;

/// The middleware; wrap it last, so that it runs first.
pub struct ShortLinks {
    state: web::Data<AppState>,
}

impl ShortLinks {
    pub fn new(state: web::Data<AppState>) -> Self {
        Self { state }
    }
}

impl<S, B> Transform<S, ServiceRequest> for ShortLinks
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = ShortLinksService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(ShortLinksService { service, state: self.state.clone() }))
    }
}

/// The running middleware: the rest of the chain, and the app state the
/// redirect reads (held here, not looked up per request).
pub struct ShortLinksService<S> {
    service: S,
    state: web::Data<AppState>,
}

/// The future of a request passed on to the rest of the chain.
type PassedOn<S, B> =
    MapOk<<S as Service<ServiceRequest>>::Future, fn(ServiceResponse<B>) -> ServiceResponse<EitherBody<B>>>;

impl<S, B> Service<ServiceRequest> for ShortLinksService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = Either<PassedOn<S, B>, LocalBoxFuture<'static, Result<Self::Response, Error>>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        if !(req.path().starts_with("/r/") && redirect::answers(req.method())) {
            let passed_on: fn(ServiceResponse<B>) -> ServiceResponse<EitherBody<B>> =
                ServiceResponse::map_into_left_body;
            return Either::Left(self.service.call(req).map_ok(passed_on));
        }
        let state = self.state.clone();
        Either::Right(Box::pin(async move {
            let start = Instant::now();
            let (req, _payload) = req.into_parts();
            let https = state.settings.https();
            let mut resp = match AssertUnwindSafe(redirect::answer(&req, &state)).catch_unwind().await {
                Ok(Ok(resp)) => resp,
                Ok(Err(e)) => e.error_response(),
                Err(panic) => panic_page(req.path(), panic.as_ref(), https),
            };
            add_security_headers(&mut resp, https);
            let elapsed = start.elapsed();
            let status = resp.status().as_u16();
            state.metrics.observe(req.method().as_str(), REDIRECT_ROUTE, status, elapsed);
            tracing::debug!(method = %req.method(), route = REDIRECT_ROUTE, status, micros = elapsed.as_micros() as u64, "request");
            Ok(ServiceResponse::new(req, resp.map_into_boxed_body()).map_into_right_body())
        }))
    }
}
