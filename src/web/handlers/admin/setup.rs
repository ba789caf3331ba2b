//! `/admin/setup`: creates the owner account once, then is gone.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;

use crate::domain::{EmailAddress, NewPassword};
use crate::services::{ServiceError, accounts};
use crate::web::csrf::CsrfForm;
use crate::web::error::{AppError, AppResult};
use crate::web::forms::{FormErrors, field};
use crate::web::page::{Layout, PageCtx, Section};
use crate::web::state::AppState;

use super::session::session_cookie;

#[derive(Template)]
#[template(path = "admin/setup.html")]
struct SetupPage {
    layout: Layout,
    email: String,
    errors: FormErrors,
}

#[derive(Deserialize)]
pub struct SetupForm {
    email: String,
    password: String,
    password_confirm: String,
}

#[get("/admin/setup")]
pub async fn show(state: web::Data<AppState>, ctx: PageCtx) -> AppResult<HttpResponse> {
    if state.setup_known_done() {
        return Err(AppError::NotFound);
    }
    let page = SetupPage { layout: ctx.layout(None, Section::None), email: String::new(), errors: FormErrors::new() };
    ctx.render(&page)
}

#[post("/admin/setup")]
pub async fn submit(
    state: web::Data<AppState>,
    ctx: PageCtx,
    CsrfForm(form): CsrfForm<SetupForm>,
) -> AppResult<HttpResponse> {
    if state.setup_known_done() {
        return Err(AppError::NotFound);
    }
    let mut errors = FormErrors::new();
    let email = field(&mut errors, "email", EmailAddress::parse(&form.email));
    let password = field(&mut errors, "password", NewPassword::parse(&form.password));
    if password.is_some() && form.password != form.password_confirm {
        errors.add("password_confirm", "the two passwords differ");
    }
    let (Some(email), Some(password), true) = (email, password, errors.is_empty()) else {
        let page = SetupPage { layout: ctx.layout(None, Section::None), email: form.email, errors };
        return ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    let now = state.clock.now_utc();
    match accounts::create_first_owner(&state.db, email.clone(), password, now).await {
        Ok(_) => {}
        // Someone finished setup a moment ago: this page no longer exists.
        Err(ServiceError::Conflict(_)) => {
            state.mark_setup_done();
            return Err(AppError::NotFound);
        }
        Err(e) => return Err(e.into()),
    }
    state.mark_setup_done();
    let session = accounts::login(&state.db, email.to_string(), form.password, now)
        .await
        .map_err(|e| AppError::Internal(format!("sign-in after setup: {e}")))?;
    Ok(HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, "/admin"))
        .cookie(session_cookie(&session.token, state.settings.https()))
        .cookie(
            crate::web::flash::Flash::success("Your owner account is ready.")
                .cookie(&state.keys, state.settings.https()),
        )
        .finish())
}
