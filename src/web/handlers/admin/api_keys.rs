//! `/admin/api-keys`: create (shown once), list, revoke.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;

use crate::domain::Permission;
use crate::services::api_keys::{self, ApiKeySummary};
use crate::web::auth::CurrentAdmin;
use crate::web::csrf::CsrfForm;
use crate::web::error::AppResult;
use crate::web::flash::{Flash, redirect_with};
use crate::web::format::{datetime, datetime_or_dash};
use crate::web::forms::FormErrors;
use crate::web::page::{Layout, PageCtx, Section};
use crate::web::state::AppState;

use super::session::Empty;

struct KeyView {
    id: String,
    name: String,
    prefix: String,
    created_at: String,
    last_used_at: String,
    revoked: bool,
    revoked_at: String,
}

impl From<ApiKeySummary> for KeyView {
    fn from(k: ApiKeySummary) -> Self {
        Self {
            id: k.id,
            name: k.name,
            prefix: k.prefix,
            created_at: datetime(&k.created_at),
            last_used_at: datetime_or_dash(k.last_used_at.as_ref()),
            revoked: k.revoked_at.is_some(),
            revoked_at: datetime_or_dash(k.revoked_at.as_ref()),
        }
    }
}

struct CreatedKey {
    name: String,
    secret: String,
}

#[derive(Template)]
#[template(path = "admin/api_keys.html")]
struct ApiKeysPage {
    layout: Layout,
    keys: Vec<KeyView>,
    new_key: Option<CreatedKey>,
    name: String,
    errors: FormErrors,
}

async fn page(
    state: &AppState,
    ctx: &PageCtx,
    admin: &CurrentAdmin,
    new_key: Option<CreatedKey>,
    name: String,
    errors: FormErrors,
) -> AppResult<ApiKeysPage> {
    let keys = api_keys::list(&state.db).await?.into_iter().map(KeyView::from).collect();
    Ok(ApiKeysPage { layout: ctx.layout(Some(&admin.user), Section::ApiKeys), keys, new_key, name, errors })
}

#[get("/admin/api-keys")]
pub async fn list(state: web::Data<AppState>, ctx: PageCtx, admin: CurrentAdmin) -> AppResult<HttpResponse> {
    admin.require(Permission::ManageApiKeys)?;
    let page = page(&state, &ctx, &admin, None, String::new(), FormErrors::new()).await?;
    ctx.render(&page)
}

#[derive(Deserialize)]
pub struct CreateForm {
    name: String,
}

#[post("/admin/api-keys")]
pub async fn create(
    state: web::Data<AppState>,
    ctx: PageCtx,
    admin: CurrentAdmin,
    CsrfForm(form): CsrfForm<CreateForm>,
) -> AppResult<HttpResponse> {
    admin.require(Permission::ManageApiKeys)?;
    let name = match api_keys::parse_name(&form.name) {
        Ok(name) => name,
        Err(e) => {
            let errors = FormErrors::from_service(e)?;
            let page = page(&state, &ctx, &admin, None, form.name, errors).await?;
            return ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let now = state.clock.now_utc();
    let (secret, summary) =
        api_keys::create(&state.db, admin.user.email.clone(), Some(admin.user.id.clone()), name, now).await?;
    // The secret is rendered into this one response and kept nowhere else,
    // so this answer is a page, not a redirect.
    let created = CreatedKey { name: summary.name, secret };
    let page = page(&state, &ctx, &admin, Some(created), String::new(), FormErrors::new()).await?;
    ctx.render_status(StatusCode::CREATED, &page).map(|mut r| {
        r.headers_mut().insert(
            actix_web::http::header::CACHE_CONTROL,
            actix_web::http::header::HeaderValue::from_static("no-store"),
        );
        r
    })
}

#[post("/admin/api-keys/{id}/revoke")]
pub async fn revoke(
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    path: web::Path<String>,
    CsrfForm(_): CsrfForm<Empty>,
) -> AppResult<HttpResponse> {
    admin.require(Permission::ManageApiKeys)?;
    let now = state.clock.now_utc();
    let name = api_keys::revoke(&state.db, admin.user.email.clone(), path.into_inner(), now).await?;
    Ok(redirect_with(
        "/admin/api-keys",
        Flash::success(format!("API key “{name}” is revoked.")),
        &state.keys,
        state.settings.https(),
    ))
}
