//! `GET /r/{code}`: the short link, the hot path. Resolved from the cache,
//! the click queued for the writer, the answer sent; nothing here waits on
//! the database when the code is cached.

use actix_web::http::Method;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, ContentType};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::domain::ReferralCode;
use crate::domain::channel::parse_channel;
use crate::domain::click_id::click_id_at;
use crate::domain::program::{AttributionModel, ProgramStatus};
use crate::domain::user_agent::Visitor;
use crate::services::clicks::NewClick;
use crate::services::link_cache::CachedLink;
use crate::services::links;
use crate::web::client_ip::client_ip;
use crate::web::error::{AppError, AppResult};
use crate::web::rate_limit::retry_after_secs;
use crate::web::state::AppState;

use super::not_found;

/// The attribution cookie: `{code}.{click_id}`.
pub const REF_COOKIE: &str = "gw_ref";

/// Reads the attribution cookie into (code, click id).
pub fn parse_ref_cookie(value: &str) -> Option<(&str, &str)> {
    ReferralCode::split_ref_value(value)
}

#[derive(Template)]
#[template(path = "participant/preview.html")]
struct PreviewPage<'a> {
    title: &'a str,
    description: &'a str,
    image_url: Option<&'a str>,
    canonical_url: String,
    site_name: &'a str,
}

/// The short links' routes: everything under `/r`. A scope with a static
/// prefix is matched by comparing strings, where a `/r/{code}` pattern
/// would run a regular expression on every redirect.
pub fn scope() -> actix_web::Scope {
    web::scope("/r").default_service(web::to(follow))
}

/// Every request under `/r` that the short-link fast path
/// ([`crate::web::hot_path`]) passed on: other methods get 405. `GET` and
/// `HEAD` are answered here too, for an app built without the fast path.
async fn follow(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    if !answers(req.method()) {
        // A bare status: the error-body middleware gives it its page.
        return Ok(HttpResponse::MethodNotAllowed().insert_header((header::ALLOW, "GET, HEAD")).finish());
    }
    answer(&req, &state).await
}

/// The methods a short link answers: `GET`, and `HEAD`, which some link
/// checkers send.
pub fn answers(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD)
}

/// `GET /r/{code}`: the redirect (or the preview page, the 404 page, 429).
pub async fn answer(req: &HttpRequest, state: &AppState) -> AppResult<HttpResponse> {
    // The raw path: a real code has no character that is percent-encoded.
    let code = req.path().strip_prefix("/r/").unwrap_or_default();
    if !ReferralCode::plausible(code) {
        return not_found("Check that the whole link was copied.");
    }
    let ip = client_ip(req, &state.settings.trusted_proxies);
    if let Some(ip) = ip
        && let Err(wait) = state.limits.check_redirect(ip)
    {
        return Err(AppError::TooManyRequests { retry_after_secs: retry_after_secs(wait) });
    }
    let Some(link) = links::resolve(&state.db, &state.links, code).await? else {
        return not_found("Check that the whole link was copied.");
    };
    if link.link.disabled || link.program.status() == ProgramStatus::Archived {
        return not_found("The person who shared it may have a newer link.");
    }
    let user_agent = req.headers().get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("");
    let visitor = Visitor::of(user_agent);
    // Every preview fetcher is a bot too: its visit is not a counted click.
    let (bot, preview) = (visitor != Visitor::Browser, visitor == Visitor::LinkPreview);
    let at = state.clock.now_utc();
    let click_id = click_id_at(at, rand::random());
    let (channel, referrer_host) = (channel(req), referrer_host(req));
    state
        .clicks
        .record(NewClick {
            id: &click_id,
            link: &link,
            at,
            channel: channel.as_deref(),
            user_agent,
            referrer_host: referrer_host.as_deref(),
            ip,
            is_bot: bot,
        })
        .await;
    if preview {
        return preview_page(state, &link);
    }
    let mut location = String::with_capacity(6 + link.link.program_slug.len());
    location.push_str("/join/");
    location.push_str(&link.link.program_slug);
    let mut answer = HttpResponse::Found();
    answer.insert_header((header::LOCATION, location)).insert_header((header::CACHE_CONTROL, "no-store"));
    if !keeps_first_click(req, state, &link).await {
        let window_days = link.program.config.attribution.window_days;
        answer.insert_header((header::SET_COOKIE, ref_cookie(code, &click_id, window_days, state.settings.https())));
    }
    Ok(answer.finish())
}

/// Whether the visitor's attribution cookie must stay as it is: the
/// program attributes to the first click, and the cookie (which expires
/// with the window) already names a link of this program.
async fn keeps_first_click(req: &HttpRequest, state: &AppState, link: &CachedLink) -> bool {
    if link.program.config.attribution.model != AttributionModel::FirstClick {
        return false;
    }
    let Some(cookie) = req.cookie(REF_COOKIE) else { return false };
    let Some((code, _)) = parse_ref_cookie(cookie.value()) else { return false };
    matches!(
        links::resolve(&state.db, &state.links, code).await,
        Ok(Some(earlier)) if earlier.link.program_id == link.link.program_id
    )
}

/// The `Set-Cookie` value of the attribution cookie, written out directly:
/// the code and click id are of URL-safe characters only, and this is the
/// hot path (the cookie builder and its formatting cost more than the rest
/// of the answer).
fn ref_cookie(code: &str, click_id: &str, window_days: u32, secure: bool) -> String {
    let max_age = u64::from(window_days) * 86_400;
    let mut cookie = String::with_capacity(96);
    cookie.push_str(REF_COOKIE);
    cookie.push('=');
    cookie.push_str(code);
    cookie.push('.');
    cookie.push_str(click_id);
    cookie.push_str("; HttpOnly; SameSite=Lax");
    if secure {
        cookie.push_str("; Secure");
    }
    cookie.push_str("; Path=/; Max-Age=");
    cookie.push_str(&max_age.to_string());
    cookie
}

/// The channel from `?c=…`, if it is a plausible channel name.
fn channel(req: &HttpRequest) -> Option<String> {
    let query = req.query_string();
    if query.is_empty() {
        return None;
    }
    url::form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "c").and_then(|(_, v)| parse_channel(&v))
}

fn referrer_host(req: &HttpRequest) -> Option<String> {
    let referer = req.headers().get(header::REFERER)?.to_str().ok()?;
    let host = url::Url::parse(referer).ok()?.host_str()?.to_ascii_lowercase();
    (host.len() <= 255).then_some(host)
}

/// Open Graph and Twitter card tags for a messaging app's link preview.
fn preview_page(state: &AppState, link: &CachedLink) -> AppResult<HttpResponse> {
    let config = &link.program.config;
    let landing = &config.landing;
    let description = if landing.referee_offer.is_empty() { &landing.body } else { &landing.referee_offer };
    let description: String = description.chars().take(300).collect();
    let page = PreviewPage {
        title: &landing.headline,
        description: &description,
        image_url: landing.image_url.as_deref(),
        canonical_url: state.url(&format!("/join/{}", link.link.program_slug)),
        site_name: &config.name,
    };
    Ok(HttpResponse::build(StatusCode::OK)
        .content_type(ContentType::html())
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(page.render()?))
}

#[cfg(test)]
mod tests {
    use super::parse_ref_cookie;

    #[test]
    fn the_attribution_cookie_is_http_only_lax_and_lives_as_long_as_the_window() {
        let cookie = super::ref_cookie("Ab3dEf9h", "V1StGXR8_Z5jdHi6", 30, true);
        let parsed = actix_web::cookie::Cookie::parse(cookie.as_str()).unwrap();
        assert_eq!((parsed.name(), parsed.value()), ("gw_ref", "Ab3dEf9h.V1StGXR8_Z5jdHi6"));
        assert_eq!(parsed.http_only(), Some(true));
        assert_eq!(parsed.secure(), Some(true));
        assert_eq!(parsed.same_site(), Some(actix_web::cookie::SameSite::Lax));
        assert_eq!(parsed.path(), Some("/"));
        assert_eq!(parsed.max_age(), Some(actix_web::cookie::time::Duration::days(30)));
        let plain = super::ref_cookie("Ab3dEf9h", "V1StGXR8_Z5jdHi6", 7, false);
        assert!(!plain.contains("Secure") && plain.ends_with("Max-Age=604800"));
    }

    #[test]
    fn the_attribution_cookie_holds_code_and_click() {
        assert_eq!(parse_ref_cookie("Ab3dEf9h.V1StGXR8_Z5jdHi6"), Some(("Ab3dEf9h", "V1StGXR8_Z5jdHi6")));
        assert_eq!(parse_ref_cookie("nodot"), None);
        assert_eq!(parse_ref_cookie("a/b.c"), None);
        assert_eq!(parse_ref_cookie("Ab3dEf9h."), None);
    }
}
