//! The device cookie `gw_dev`: a random id a participant's own browser
//! gets on their portal (and, later, the ask pages). A referee whose
//! browser carries the referrer's own id is the referrer on another
//! address: the same-device check. The id means nothing by itself and is
//! kept hashed.

use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, SameSite, time::Duration};

pub const DEVICE_COOKIE: &str = "gw_dev";

/// The browser's device id, if it carries a well-formed one.
pub fn from_request(req: &HttpRequest) -> Option<String> {
    let cookie = req.cookie(DEVICE_COOKIE)?;
    let value = cookie.value();
    let well_formed =
        (16..=64).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    well_formed.then(|| value.to_string())
}

/// The browser's device id, and the cookie that gives it one when it had
/// none (or a malformed one).
pub fn ensure(req: &HttpRequest, secure: bool) -> (String, Option<Cookie<'static>>) {
    if let Some(id) = from_request(req) {
        return (id, None);
    }
    let id = crate::crypto::random_token(24);
    let cookie = Cookie::build(DEVICE_COOKIE, id.clone())
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .max_age(Duration::days(400))
        .finish();
    (id, Some(cookie))
}
