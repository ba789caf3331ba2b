//! Sign-in and sign-out.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;

use crate::services::accounts::{self, LoginError};
use crate::web::auth::safe_next;
use crate::web::client_ip::client_ip;
use crate::web::csrf::{CsrfForm, SESSION_COOKIE};
use crate::web::error::{AppError, AppResult};
use crate::web::flash::{Flash, redirect_with};
use crate::web::forms::FormErrors;
use crate::web::page::{Layout, PageCtx, Section};
use crate::web::rate_limit::retry_after_secs;
use crate::web::state::AppState;

/// The session cookie: HttpOnly, SameSite=Lax, Secure on https; no
/// Max-Age, so it ends with the browser, and the server ends it sooner.
pub fn session_cookie(token: &str, secure: bool) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE, token.to_string())
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .finish()
}

fn session_removal(secure: bool) -> Cookie<'static> {
    let mut c = session_cookie("", secure);
    c.make_removal();
    c
}

#[derive(Template)]
#[template(path = "admin/login.html")]
struct LoginPage {
    layout: Layout,
    email: String,
    next: String,
    errors: FormErrors,
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

#[get("/admin/login")]
pub async fn show(ctx: PageCtx, query: web::Query<NextQuery>) -> AppResult<HttpResponse> {
    let page = LoginPage {
        layout: ctx.layout(None, Section::None),
        email: String::new(),
        next: safe_next(query.next.as_deref()),
        errors: FormErrors::new(),
    };
    ctx.render(&page)
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    next: Option<String>,
}

#[post("/admin/login")]
pub async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    ctx: PageCtx,
    CsrfForm(form): CsrfForm<LoginForm>,
) -> AppResult<HttpResponse> {
    let next = safe_next(form.next.as_deref());
    let account = form.email.trim().to_lowercase();
    let ip = client_ip(&req, &state.settings.trusted_proxies).unwrap_or([0, 0, 0, 0].into());
    let too_many = |ctx: &PageCtx, wait| {
        let secs = retry_after_secs(wait);
        let page = LoginPage {
            layout: ctx.layout(None, Section::None),
            email: form.email.clone(),
            next: next.clone(),
            errors: FormErrors::general(format!("Too many sign-in attempts. Try again in {secs} seconds.")),
        };
        ctx.render_status(StatusCode::TOO_MANY_REQUESTS, &page).map(|mut resp| {
            if let Ok(v) = header::HeaderValue::from_str(&secs.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
            resp
        })
    };
    if let Err(wait) = state.limits.login.check_attempt(ip, &account) {
        return too_many(&ctx, wait);
    }
    let now = state.clock.now_utc();
    match accounts::login(&state.db, form.email.clone(), form.password.clone(), now).await {
        Ok(session) => {
            // Rotation: a session token the browser had before is ended.
            if let Some(old) = req.cookie(SESSION_COOKIE) {
                accounts::logout(&state.db, old.value().to_string()).await?;
            }
            Ok(HttpResponse::SeeOther()
                .insert_header((header::LOCATION, next))
                .cookie(session_cookie(&session.token, state.settings.https()))
                .finish())
        }
        Err(LoginError::BadCredentials) => {
            if let Err(wait) = state.limits.login.record_failure(&account) {
                return too_many(&ctx, wait);
            }
            let page = LoginPage {
                layout: ctx.layout(None, Section::None),
                email: form.email.clone(),
                next: next.clone(),
                errors: FormErrors::general("That email and password do not match an account."),
            };
            ctx.render_status(StatusCode::UNAUTHORIZED, &page)
        }
        Err(LoginError::Service(e)) => Err(AppError::from(e)),
    }
}

#[derive(Deserialize)]
pub struct Empty {}

#[post("/admin/logout")]
pub async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
    CsrfForm(_): CsrfForm<Empty>,
) -> AppResult<HttpResponse> {
    if let Some(token) = req.cookie(SESSION_COOKIE) {
        accounts::logout(&state.db, token.value().to_string()).await?;
    }
    let secure = state.settings.https();
    let mut resp = redirect_with("/admin/login", Flash::success("You are signed out."), &state.keys, secure);
    resp.add_cookie(&session_removal(secure)).map_err(|e| AppError::Internal(format!("cookie: {e}")))?;
    Ok(resp)
}
