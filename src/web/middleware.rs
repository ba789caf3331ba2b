//! Middleware that every response passes through: metrics and request
//! logs, security headers, a body for bare error statuses, and a panic
//! guard that turns a panicking handler into a 500 page.

use std::borrow::Cow;
use std::panic::AssertUnwindSafe;
use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::{DefaultHeaders, Next};
use actix_web::{Error, HttpResponse, web};
use futures_util::FutureExt;

use super::error::{ApiError, html_error_page};
use super::state::AppState;

pub const CSP: &str =
    "default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// Headers every response carries, errors included.
pub const SECURITY_HEADERS: [(&str, &str); 6] = [
    ("content-security-policy", CSP),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "strict-origin-when-cross-origin"),
    ("x-frame-options", "DENY"),
    ("cross-origin-opener-policy", "same-origin"),
    ("permissions-policy", "camera=(), microphone=(), geolocation=()"),
];
const HSTS: &str = "max-age=31536000";

/// [`SECURITY_HEADERS`] parsed when compiling, for the responses that pass
/// no `DefaultHeaders` (inserting them then copies no bytes).
static SECURITY_HEADER_VALUES: [(HeaderName, HeaderValue); 6] = [
    parsed(SECURITY_HEADERS[0]),
    parsed(SECURITY_HEADERS[1]),
    parsed(SECURITY_HEADERS[2]),
    parsed(SECURITY_HEADERS[3]),
    parsed(SECURITY_HEADERS[4]),
    parsed(SECURITY_HEADERS[5]),
];

const fn parsed((name, value): (&'static str, &'static str)) -> (HeaderName, HeaderValue) {
    (HeaderName::from_static(name), HeaderValue::from_static(value))
}

/// The middleware that adds [`SECURITY_HEADERS`] (and HSTS on https).
pub fn security_headers(https: bool) -> DefaultHeaders {
    let headers = SECURITY_HEADERS.iter().fold(DefaultHeaders::new(), |h, (name, value)| h.add((*name, *value)));
    if https { headers.add((header::STRICT_TRANSPORT_SECURITY, HSTS)) } else { headers }
}

/// Adds the security headers (those the response does not set itself) to
/// a response built outside the middleware chain: the panic page, which
/// travels as an error past `DefaultHeaders`, and the short-link fast path.
pub fn add_security_headers(resp: &mut HttpResponse, https: bool) {
    let headers = resp.headers_mut();
    for (name, value) in &SECURITY_HEADER_VALUES {
        if !headers.contains_key(name) {
            headers.insert(name.clone(), value.clone());
        }
    }
    if https && !headers.contains_key(header::STRICT_TRANSPORT_SECURITY) {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
    }
}

/// The route pattern of the short link, the hot path.
pub const REDIRECT_ROUTE: &str = "/r/{code}";

/// The matched route pattern (`/r/{code}`), never the raw path, so that
/// metric labels stay few; requests that matched no route share one label.
fn route_label(res: &ServiceResponse<impl MessageBody>) -> Cow<'static, str> {
    let req = res.request();
    // `match_pattern` runs the router's patterns again; every path under
    // `/r/` is the redirect's (see `redirect::scope`).
    if req.path().starts_with("/r/") {
        return Cow::Borrowed(REDIRECT_ROUTE);
    }
    req.match_pattern().map_or(Cow::Borrowed("unmatched"), Cow::Owned)
}

/// Counts and times every request, and logs it.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let start = Instant::now();
    let method = req.method().clone();
    let metrics = req.app_data::<web::Data<AppState>>().map(|s| s.metrics.clone());
    let res = match next.call(req).await {
        Ok(res) => res,
        Err(e) => {
            // Only the panic guard answers with an error; count it too.
            let status = e.as_response_error().status_code().as_u16();
            if let Some(m) = metrics {
                m.observe(method.as_str(), "unknown", status, start.elapsed());
            }
            return Err(e);
        }
    };
    let elapsed = start.elapsed();
    let status = res.status().as_u16();
    let route = route_label(&res);
    if let Some(m) = metrics {
        m.observe(method.as_str(), &route, status, elapsed);
    }
    // The hot path is logged at debug level only; everything else at info.
    if route == REDIRECT_ROUTE {
        tracing::debug!(%method, route = &*route, status, micros = elapsed.as_micros() as u64, "request");
    } else {
        tracing::info!(%method, route = &*route, status, micros = elapsed.as_micros() as u64, "request");
    }
    Ok(res)
}

/// Gives bare error statuses (a 405 from the router, a 413 from a body
/// limit, a 500 from the panic guard) an HTML page or, under `/api`, the
/// JSON error shape. Responses that already have a body type are left alone.
pub async fn error_bodies(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let res = next.call(req).await?;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) || res.headers().contains_key(header::CONTENT_TYPE) {
        return Ok(res.map_into_boxed_body());
    }
    let is_api = res.request().path().starts_with("/api/");
    let (req, old) = res.into_parts();
    let mut fresh: HttpResponse = if is_api {
        actix_web::ResponseError::error_response(&ApiError::for_status(status))
    } else {
        html_error_page(status, "")
    };
    for (name, value) in old.headers() {
        if name != header::CONTENT_LENGTH && !fresh.headers().contains_key(name) {
            fresh.headers_mut().insert(name.clone(), value.clone());
        }
    }
    Ok(ServiceResponse::new(req, fresh))
}

/// Logs a handler's panic and gives the 500 page (JSON under `/api`),
/// security headers included.
pub fn panic_page(path: &str, panic: &(dyn std::any::Any + Send), https: bool) -> HttpResponse {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic".into());
    tracing::error!(path, panic = %what, "handler panicked");
    let status = actix_web::http::StatusCode::INTERNAL_SERVER_ERROR;
    let mut resp = if path.starts_with("/api/") {
        actix_web::ResponseError::error_response(&ApiError::for_status(status))
    } else {
        html_error_page(status, "The error was logged. Please try again in a moment.")
    };
    add_security_headers(&mut resp, https);
    resp
}

/// Turns a panic in a handler into a logged 500 page instead of a dropped
/// connection. The request cannot be kept for the response (routing needs
/// sole ownership of it), so the page travels as an error carrying a
/// complete response, security headers included.
pub async fn catch_panic(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let path = req.path().to_string();
    let https = req.app_data::<web::Data<AppState>>().is_some_and(|s| s.settings.https());
    match AssertUnwindSafe(next.call(req)).catch_unwind().await {
        Ok(res) => res.map(ServiceResponse::map_into_boxed_body),
        Err(panic) => {
            let resp = panic_page(&path, panic.as_ref(), https);
            Err(actix_web::error::InternalError::from_response("handler panicked", resp).into())
        }
    }
}

#[cfg(test)]
mod tests {
    use actix_web::middleware::from_fn;
    use actix_web::{App, HttpResponse, test, web};

    use super::*;

    #[actix_web::test]
    async fn a_panicking_handler_becomes_a_500_page_with_security_headers() {
        let app = test::init_service(
            App::new()
                .wrap(from_fn(catch_panic))
                .route("/boom", web::get().to(|| async { panic!("boom") as HttpResponse }))
                .route("/api/v1/boom", web::get().to(|| async { panic!("boom") as HttpResponse })),
        )
        .await;
        let Err(err) = test::try_call_service(&app, test::TestRequest::get().uri("/boom").to_request()).await else {
            panic!("the panic travels as an error with a full response");
        };
        let resp = err.error_response();
        assert_eq!(resp.status(), 500);
        assert_eq!(resp.headers().get("content-security-policy").unwrap(), CSP);
        assert!(resp.headers().get("content-type").unwrap().to_str().unwrap().starts_with("text/html"));

        let Err(err) = test::try_call_service(&app, test::TestRequest::get().uri("/api/v1/boom").to_request()).await
        else {
            panic!("the panic travels as an error");
        };
        assert_eq!(err.error_response().headers().get("content-type").unwrap(), "application/json");
    }
}
