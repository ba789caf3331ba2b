//! `GET /r/{code}`: the short link, the hot path. Resolved from the cache,
//! the click queued for the writer, the answer sent; nothing here waits on
//! the database when the code is cached.

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, ContentType};
use actix_web::{HttpRequest, HttpResponse, get, web};
use askama::Template;

use crate::domain::ReferralCode;
use crate::domain::channel::parse_channel;
use crate::domain::click_id::click_id;
use crate::domain::program::ProgramStatus;
use crate::domain::user_agent::{is_bot, is_link_preview};
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
    let (code, click) = value.split_once('.')?;
    (ReferralCode::plausible(code) && !click.is_empty() && click.len() <= 32).then_some((code, click))
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

#[get("/r/{code}")]
pub async fn follow(req: HttpRequest, code: web::Path<String>, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let code = code.into_inner();
    if !ReferralCode::plausible(&code) {
        return not_found("Check that the whole link was copied.");
    }
    let ip = client_ip(&req, &state.settings.trusted_proxies);
    if let Some(ip) = ip
        && let Err(wait) = state.limits.check_redirect(ip)
    {
        return Err(AppError::TooManyRequests { retry_after_secs: retry_after_secs(wait) });
    }
    let Some(link) = links::resolve(&state.db, &state.links, &code).await? else {
        return not_found("Check that the whole link was copied.");
    };
    if link.link.disabled || link.program.status() == ProgramStatus::Archived {
        return not_found("The person who shared it may have a newer link.");
    }
    let user_agent = req.headers().get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("");
    // Every preview fetcher is a bot: browsers are classified in one pass.
    let bot = is_bot(user_agent);
    let preview = bot && is_link_preview(user_agent);
    let at = state.clock.now_utc();
    let click_id = click_id(unix_millis(at), rand::random());
    let (channel, referrer_host) = (channel(&req), referrer_host(&req));
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
        return preview_page(&state, &link);
    }
    let config = &link.program.config;
    let cookie = Cookie::build(REF_COOKIE, format!("{code}.{click_id}"))
        .path("/")
        .http_only(true)
        .secure(state.settings.https())
        .same_site(SameSite::Lax)
        .max_age(CookieDuration::days(i64::from(config.attribution.window_days)))
        .finish();
    Ok(HttpResponse::Found()
        .insert_header((header::LOCATION, format!("/join/{}", link.link.program_slug)))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .cookie(cookie)
        .finish())
}

fn unix_millis(at: time::PrimitiveDateTime) -> u64 {
    u64::try_from(at.assume_utc().unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
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
    fn the_attribution_cookie_holds_code_and_click() {
        assert_eq!(parse_ref_cookie("Ab3dEf9h.V1StGXR8_Z5jdHi6"), Some(("Ab3dEf9h", "V1StGXR8_Z5jdHi6")));
        assert_eq!(parse_ref_cookie("nodot"), None);
        assert_eq!(parse_ref_cookie("a/b.c"), None);
        assert_eq!(parse_ref_cookie("Ab3dEf9h."), None);
    }
}
