//! `/admin/account`: the signed-in user's own account.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;

use crate::domain::NewPassword;
use crate::services::{ServiceError, accounts};
use crate::web::auth::CurrentAdmin;
use crate::web::csrf::CsrfForm;
use crate::web::error::AppResult;
use crate::web::flash::{Flash, redirect_with};
use crate::web::forms::{FormErrors, field};
use crate::web::page::{Layout, PageCtx, Section};
use crate::web::state::AppState;

#[derive(Template)]
#[template(path = "admin/account.html")]
struct AccountPage {
    layout: Layout,
    email: String,
    role: &'static str,
    errors: FormErrors,
}

fn page(ctx: &PageCtx, admin: &CurrentAdmin, errors: FormErrors) -> AccountPage {
    AccountPage {
        layout: ctx.layout(Some(&admin.user), Section::Account),
        email: admin.user.email.clone(),
        role: admin.user.role.as_str(),
        errors,
    }
}

#[get("/admin/account")]
pub async fn show(ctx: PageCtx, admin: CurrentAdmin) -> AppResult<HttpResponse> {
    let page = page(&ctx, &admin, FormErrors::new());
    ctx.render(&page)
}

#[derive(Deserialize)]
pub struct PasswordForm {
    current_password: String,
    password: String,
    password_confirm: String,
}

#[post("/admin/account/password")]
pub async fn change_password(
    state: web::Data<AppState>,
    ctx: PageCtx,
    admin: CurrentAdmin,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> AppResult<HttpResponse> {
    let mut errors = FormErrors::new();
    let password = field(&mut errors, "password", NewPassword::parse(&form.password));
    if password.is_some() && form.password != form.password_confirm {
        errors.add("password_confirm", "the two passwords differ");
    }
    let (Some(password), true) = (password, errors.is_empty()) else {
        return ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page(&ctx, &admin, errors));
    };
    let now = state.clock.now_utc();
    let result =
        accounts::change_password(&state.db, &admin.user, form.current_password, password, admin.token.clone(), now)
            .await;
    match result {
        Ok(()) => Ok(redirect_with(
            "/admin/account",
            Flash::success("Your password is changed; your other sessions have ended."),
            &state.keys,
            state.settings.https(),
        )),
        Err(e @ ServiceError::Invalid(_)) => {
            let errors = FormErrors::from_service(e)?;
            ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page(&ctx, &admin, errors))
        }
        Err(e) => Err(e.into()),
    }
}
