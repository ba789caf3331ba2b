//! `/admin/invitation/{token}`: an invited admin chooses their password
//! with the single-use link of their invitation email (7 days). The link
//! is spent only by the form's POST, so a mail scanner opening it spends
//! nothing.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;

use crate::crypto::is_token;
use crate::domain::NewPassword;
use crate::services::accounts;
use crate::web::csrf::CsrfForm;
use crate::web::error::AppResult;
use crate::web::flash::{Flash, redirect_with};
use crate::web::forms::FormErrors;
use crate::web::page::{Layout, PageCtx, Section};
use crate::web::state::AppState;

#[derive(Template)]
#[template(path = "admin/invitation.html")]
struct InvitationPage {
    layout: Layout,
    token: String,
    valid: bool,
    errors: FormErrors,
}

#[get("/admin/invitation/{token}")]
pub async fn show(ctx: PageCtx, token: web::Path<String>) -> AppResult<HttpResponse> {
    let page = InvitationPage {
        layout: ctx.layout(None, Section::None),
        valid: is_token(&token),
        token: token.into_inner(),
        errors: FormErrors::new(),
    };
    ctx.render(&page)
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

#[post("/admin/invitation/{token}")]
pub async fn accept(
    state: web::Data<AppState>,
    ctx: PageCtx,
    token: web::Path<String>,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> AppResult<HttpResponse> {
    let token = token.into_inner();
    let mut errors = FormErrors::new();
    let password = NewPassword::parse(&form.password).map_err(|e| errors.add("password", e)).ok();
    if form.password != form.confirm {
        errors.add("confirm", "the two passwords differ");
    }
    let (Some(password), true) = (password, errors.is_empty()) else {
        let page = InvitationPage { layout: ctx.layout(None, Section::None), valid: true, token, errors };
        return ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    match accounts::accept_invitation(&state.db, &token, password, state.clock.now_utc()).await? {
        Some(email) => Ok(redirect_with(
            "/admin/login",
            Flash::success(format!("Your password is set. Sign in as {email}.")),
            &state.keys,
            state.settings.https(),
        )),
        None => {
            let page = InvitationPage {
                layout: ctx.layout(None, Section::None),
                valid: false,
                token,
                errors: FormErrors::new(),
            };
            ctx.render_status(StatusCode::GONE, &page)
        }
    }
}
