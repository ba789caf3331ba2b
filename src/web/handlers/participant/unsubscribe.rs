//! `/u/{token}`: unsubscribing from an email. The token (signed) names the
//! address and the kind. `POST /u/{token}` turns that kind off in one
//! request — the RFC 8058 one-click POST a mail client sends (no session,
//! no CSRF token: the signature is the authority), or the page's button.
//! The page lists every kind to turn on or off.

use actix_web::{HttpResponse, get, post, web};
use askama::Template;

use crate::domain::email_kind::EmailKind;
use crate::services::email::unsubscribe;
use crate::web::csrf::CsrfForm;
use crate::web::error::AppResult;
use crate::web::page::PageCtx;
use crate::web::state::AppState;

struct KindView {
    value: &'static str,
    label: &'static str,
    on: bool,
}

#[derive(Template)]
#[template(path = "participant/unsubscribe.html")]
struct PreferencesPage {
    csrf: String,
    token: String,
    address: String,
    kind_label: &'static str,
    /// The kind of the link is off.
    stopped: bool,
    saved: bool,
    kinds: Vec<KindView>,
}

async fn page(
    state: &AppState,
    ctx: &PageCtx,
    token: String,
    (address, kind): (String, EmailKind),
    saved: bool,
) -> AppResult<HttpResponse> {
    let prefs = unsubscribe::preferences(&state.db, address.clone()).await?;
    let stopped = prefs.iter().any(|(k, on)| *k == kind && !on);
    let page = PreferencesPage {
        csrf: ctx.csrf().to_string(),
        token,
        address,
        kind_label: kind.label(),
        stopped,
        saved,
        kinds: prefs.into_iter().map(|(k, on)| KindView { value: k.as_str(), label: k.label(), on }).collect(),
    };
    ctx.render(&page)
}

fn unknown(ctx: &PageCtx) -> AppResult<HttpResponse> {
    crate::web::handlers::participant::not_found_with(
        ctx,
        "This unsubscribe link does not work",
        "It may have been cut short when it was copied. Open it from the email once more.",
    )
}

#[get("/u/{token}")]
pub async fn show(token: web::Path<String>, state: web::Data<AppState>, ctx: PageCtx) -> AppResult<HttpResponse> {
    let Some(named) = unsubscribe::read(&state.keys, &token) else { return unknown(&ctx) };
    page(&state, &ctx, token.into_inner(), named, false).await
}

/// The one-click unsubscribe (RFC 8058), and the page's button.
#[post("/u/{token}")]
pub async fn one_click(token: web::Path<String>, state: web::Data<AppState>, ctx: PageCtx) -> AppResult<HttpResponse> {
    let Some((address, kind)) = unsubscribe::read(&state.keys, &token) else { return unknown(&ctx) };
    if kind.can_unsubscribe() {
        unsubscribe::turn_off(&state.db, address.clone(), kind, state.clock.now_utc()).await?;
    }
    page(&state, &ctx, token.into_inner(), (address, kind), false).await
}

#[post("/u/{token}/preferences")]
pub async fn save(
    token: web::Path<String>,
    state: web::Data<AppState>,
    ctx: PageCtx,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> AppResult<HttpResponse> {
    let Some((address, kind)) = unsubscribe::read(&state.keys, &token) else { return unknown(&ctx) };
    let on: Vec<EmailKind> =
        pairs.iter().filter(|(name, _)| name == "on").filter_map(|(_, value)| EmailKind::parse(value)).collect();
    unsubscribe::set_preferences(&state.db, address.clone(), on, state.clock.now_utc()).await?;
    page(&state, &ctx, token.into_inner(), (address, kind), true).await
}
