//! Cross-site request forgery defence for every browser form: a token
//! bound to the browser (the `gw_csrf` cookie) and to the admin session,
//! signed with the secret key, plus a check that the request's `Origin`
//! (or `Referer`) is this site.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::crypto::sha256_hex;

use super::error::AppError;
use super::state::{AppState, Keys};

pub const CSRF_COOKIE: &str = "gw_csrf";
pub const CSRF_FIELD: &str = "csrf_token";
pub const SESSION_COOKIE: &str = "gw_session";

/// The token a form must carry for this browser and session.
pub fn token_for(keys: &Keys, browser: &str, session_token: Option<&str>) -> String {
    let session = session_token.map(sha256_hex).unwrap_or_default();
    keys.csrf.sign(&format!("{browser}|{session}"))
}

/// Whether the request comes from one of our own pages: its `Origin` (or,
/// without one, its `Referer`) is the configured base URL or the origin the
/// request was addressed to.
pub fn same_origin(req: &HttpRequest, base_url: &str) -> bool {
    let claimed = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .filter(|o| *o != "null")
        .map(str::to_string)
        .or_else(|| {
            let referer = req.headers().get(header::REFERER)?.to_str().ok()?;
            Some(url::Url::parse(referer).ok()?.origin().ascii_serialization())
        });
    let Some(claimed) = claimed else {
        return false;
    };
    if claimed.eq_ignore_ascii_case(base_url) {
        return true;
    }
    let conn = req.connection_info();
    let own = format!("{}://{}", conn.scheme(), conn.host());
    claimed.eq_ignore_ascii_case(&own)
}

/// The app state, or a 500 when it is missing (a wiring mistake).
pub fn app_state(req: &HttpRequest) -> Result<&web::Data<AppState>, AppError> {
    req.app_data::<web::Data<AppState>>().ok_or_else(|| AppError::Internal("app state missing".into()))
}

/// Refuses a form sent from another site (403).
pub fn check_origin(req: &HttpRequest, state: &AppState) -> Result<(), AppError> {
    if same_origin(req, &state.settings.base_url) {
        Ok(())
    } else {
        Err(AppError::Forbidden("This form was not sent from this site. Reload the page and try again.".into()))
    }
}

/// Refuses a form whose token is missing or not this browser's and
/// session's (403).
pub fn check_token(req: &HttpRequest, state: &AppState, sent: Option<&str>) -> Result<(), AppError> {
    let browser = req.cookie(CSRF_COOKIE).map(|c| c.value().to_string());
    let session = req.cookie(SESSION_COOKIE).map(|c| c.value().to_string());
    let valid = match (sent, browser) {
        (Some(sent), Some(browser)) => {
            crate::crypto::constant_time_eq(&token_for(&state.keys, &browser, session.as_deref()), sent)
        }
        _ => false,
    };
    if valid {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "This form has expired or was not sent from this site. Reload the page and try again.".into(),
        ))
    }
}

#[derive(Deserialize)]
struct CsrfField {
    #[serde(rename = "csrf_token")]
    token: Option<String>,
}

/// A url-encoded form whose CSRF token and origin were checked. Every POST
/// handler of a browser route takes its body through this extractor.
pub struct CsrfForm<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for CsrfForm<T> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            let state = app_state(&req)?;
            check_origin(&req, state)?;
            let body = web::Bytes::from_request(&req, &mut payload).await.map_err(|e| {
                let status = e.as_response_error().status_code();
                if status == actix_web::http::StatusCode::PAYLOAD_TOO_LARGE {
                    AppError::PayloadTooLarge
                } else {
                    AppError::BadRequest("The form could not be read.".into())
                }
            })?;
            let field: CsrfField = serde_urlencoded::from_bytes(&body).unwrap_or(CsrfField { token: None });
            check_token(&req, state, field.token.as_deref())?;
            serde_urlencoded::from_bytes::<T>(&body)
                .map(CsrfForm)
                .map_err(|e| AppError::BadRequest(format!("The form could not be read: {e}")))
        })
    }
}
