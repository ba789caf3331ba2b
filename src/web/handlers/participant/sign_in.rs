//! `/p`: a participant who lost their portal link asks for a sign-in link
//! by email. The answer is the same whether or not the address is known;
//! requests are limited per IP (429) and per address (silently: the same
//! answer, no email). `/p/sign-in/{token}` shows a button that uses the
//! single-use link (a POST, so a mail scanner's GET does not spend it) and
//! then opens the portal.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;

use crate::crypto::is_token;
use crate::domain::EmailAddress;
use crate::services::email::sign_in;
use crate::web::client_ip::client_ip;
use crate::web::csrf::CsrfForm;
use crate::web::error::{AppError, AppResult};
use crate::web::forms::FormErrors;
use crate::web::page::PageCtx;
use crate::web::state::AppState;

#[derive(Template)]
#[template(path = "participant/sign_in.html")]
struct AskPage {
    csrf: String,
    email: String,
    errors: FormErrors,
    sent: bool,
}

#[derive(Template)]
#[template(path = "participant/sign_in_link.html")]
struct LinkPage {
    csrf: String,
    token: String,
    valid: bool,
}

fn no_store(mut resp: HttpResponse) -> HttpResponse {
    resp.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    resp
}

#[get("/p")]
pub async fn ask(ctx: PageCtx) -> AppResult<HttpResponse> {
    let page = AskPage { csrf: ctx.csrf().to_string(), email: String::new(), errors: FormErrors::new(), sent: false };
    ctx.render(&page)
}

#[derive(Deserialize)]
pub struct AskForm {
    #[serde(default)]
    email: String,
}

#[post("/p")]
pub async fn send(
    req: HttpRequest,
    state: web::Data<AppState>,
    ctx: PageCtx,
    CsrfForm(form): CsrfForm<AskForm>,
) -> AppResult<HttpResponse> {
    if let Some(ip) = client_ip(&req, &state.settings.trusted_proxies)
        && let Err(wait) = state.limits.check_sign_in_ip(ip)
    {
        return Err(AppError::TooManyRequests { retry_after_secs: wait.as_secs().max(1) });
    }
    let email = match EmailAddress::parse(&form.email) {
        Ok(email) => email,
        Err(e) => {
            let mut errors = FormErrors::new();
            errors.add("email", e);
            let page = AskPage { csrf: ctx.csrf().to_string(), email: form.email, errors, sent: false };
            return ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    // Over the per-address limit nothing is sent, and nothing says so:
    // the answer must not tell whether the address is known.
    if state.limits.allow_sign_in_email(&email.normalized()) {
        let sent = sign_in::request_portal_links(&state.db, &state.keys, &email, state.clock.now_utc()).await?;
        tracing::info!(links = sent, "portal sign-in links asked for");
    }
    let page =
        AskPage { csrf: ctx.csrf().to_string(), email: email.to_string(), errors: FormErrors::new(), sent: true };
    ctx.render(&page)
}

#[get("/p/sign-in/{token}")]
pub async fn show_link(token: web::Path<String>, ctx: PageCtx) -> AppResult<HttpResponse> {
    let page = LinkPage { csrf: ctx.csrf().to_string(), valid: is_token(&token), token: token.into_inner() };
    let resp = ctx.render(&page)?;
    Ok(no_store(resp))
}

#[post("/p/sign-in/{token}")]
pub async fn use_link(
    token: web::Path<String>,
    state: web::Data<AppState>,
    ctx: PageCtx,
    CsrfForm(_): CsrfForm<std::collections::HashMap<String, String>>,
) -> AppResult<HttpResponse> {
    let portal = match is_token(&token) {
        true => sign_in::use_portal_link(&state.db, &state.keys, &token, state.clock.now_utc()).await?,
        false => None,
    };
    match portal {
        Some(portal) => Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, format!("/p/{portal}"))).finish()),
        None => {
            let page = LinkPage { csrf: ctx.csrf().to_string(), valid: false, token: token.into_inner() };
            Ok(no_store(ctx.render_status(StatusCode::GONE, &page)?))
        }
    }
}
