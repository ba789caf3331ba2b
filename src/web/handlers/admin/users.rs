//! `/admin/users`: the owner manages admin users and their roles.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;

use crate::domain::{EmailAddress, NewPassword, Permission, Role};
use crate::services::{ServiceError, accounts};
use crate::web::auth::CurrentAdmin;
use crate::web::csrf::CsrfForm;
use crate::web::error::AppResult;
use crate::web::flash::{Flash, redirect_with};
use crate::web::format::datetime;
use crate::web::forms::{FormErrors, field};
use crate::web::page::{Layout, PageCtx, Section};
use crate::web::state::AppState;

use super::session::Empty;

struct UserView {
    id: String,
    email: String,
    role: &'static str,
    created_at: String,
    is_you: bool,
}

struct RoleOption {
    value: &'static str,
    description: &'static str,
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    layout: Layout,
    users: Vec<UserView>,
    roles: Vec<RoleOption>,
    email: String,
    selected_role: String,
    errors: FormErrors,
}

async fn page(
    state: &AppState,
    ctx: &PageCtx,
    admin: &CurrentAdmin,
    email: String,
    selected_role: String,
    errors: FormErrors,
) -> AppResult<UsersPage> {
    let users = accounts::list_users(&state.db)
        .await?
        .into_iter()
        .map(|u| UserView {
            is_you: u.id == admin.user.id,
            id: u.id,
            email: u.email,
            role: u.role.as_str(),
            created_at: datetime(&u.created_at),
        })
        .collect();
    let roles = Role::ALL.iter().map(|r| RoleOption { value: r.as_str(), description: r.describe() }).collect();
    Ok(UsersPage { layout: ctx.layout(Some(&admin.user), Section::Users), users, roles, email, selected_role, errors })
}

#[get("/admin/users")]
pub async fn list(state: web::Data<AppState>, ctx: PageCtx, admin: CurrentAdmin) -> AppResult<HttpResponse> {
    admin.require(Permission::ManageUsers)?;
    let page = page(&state, &ctx, &admin, String::new(), Role::Marketer.as_str().into(), FormErrors::new()).await?;
    ctx.render(&page)
}

#[derive(Deserialize)]
pub struct CreateForm {
    email: String,
    role: Option<String>,
    password: String,
}

#[post("/admin/users")]
pub async fn create(
    state: web::Data<AppState>,
    ctx: PageCtx,
    admin: CurrentAdmin,
    CsrfForm(form): CsrfForm<CreateForm>,
) -> AppResult<HttpResponse> {
    admin.require(Permission::ManageUsers)?;
    let mut errors = FormErrors::new();
    let email = field(&mut errors, "email", EmailAddress::parse(&form.email));
    let role = field(&mut errors, "role", form.role.as_deref().unwrap_or("").parse::<Role>());
    let password = field(&mut errors, "password", NewPassword::parse(&form.password));
    let selected_role = form.role.clone().unwrap_or_default();
    let (Some(email), Some(role), Some(password)) = (email, role, password) else {
        let page = page(&state, &ctx, &admin, form.email, selected_role, errors).await?;
        return ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    let now = state.clock.now_utc();
    match accounts::create_user(
        &state.db,
        admin.user.email.clone(),
        email.clone(),
        password,
        role,
        Some(&state.keys),
        now,
    )
    .await
    {
        Ok(user) => Ok(redirect_with(
            "/admin/users",
            Flash::success(format!("{} can now sign in as {}.", user.email, user.role)),
            &state.keys,
            state.settings.https(),
        )),
        Err(e @ ServiceError::Invalid(_)) => {
            let errors = FormErrors::from_service(e)?;
            let page = page(&state, &ctx, &admin, form.email, selected_role, errors).await?;
            ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct RoleForm {
    role: String,
}

#[post("/admin/users/{id}/role")]
pub async fn change_role(
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    path: web::Path<String>,
    CsrfForm(form): CsrfForm<RoleForm>,
) -> AppResult<HttpResponse> {
    admin.require(Permission::ManageUsers)?;
    let flash = match form.role.parse::<Role>() {
        Err(e) => Flash::error(e.to_string()),
        Ok(role) => {
            let now = state.clock.now_utc();
            match accounts::change_role(&state.db, &admin.user, path.into_inner(), role, now).await {
                Ok(user) => Flash::success(format!("{} is now {}.", user.email, user.role)),
                Err(ServiceError::Conflict(m)) => Flash::error(m),
                Err(e) => return Err(e.into()),
            }
        }
    };
    Ok(redirect_with("/admin/users", flash, &state.keys, state.settings.https()))
}

#[post("/admin/users/{id}/delete")]
pub async fn remove(
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    path: web::Path<String>,
    CsrfForm(_): CsrfForm<Empty>,
) -> AppResult<HttpResponse> {
    admin.require(Permission::ManageUsers)?;
    let now = state.clock.now_utc();
    let flash = match accounts::remove_user(&state.db, &admin.user, path.into_inner(), now).await {
        Ok(email) => Flash::success(format!("{email} was removed and signed out.")),
        Err(ServiceError::Conflict(m)) => Flash::error(m),
        Err(e) => return Err(e.into()),
    };
    Ok(redirect_with("/admin/users", flash, &state.keys, state.settings.https()))
}
