//! `/admin/programs`: the list, the create and edit form, and pausing,
//! resuming and archiving. The form edits the same configuration as
//! `PUT /api/v1/programs/…` and is validated by the same `parse_config`.

mod form;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;
use serde_json::json;

use crate::domain::Permission;
use crate::domain::ProgramSlug;
use crate::domain::program::ProgramStatus;
use crate::services::programs::{self, Program};
use crate::services::stats;
use crate::web::auth::CurrentAdmin;
use crate::web::csrf::CsrfForm;
use crate::web::error::{AppError, AppResult};
use crate::web::flash::{Flash, redirect_with};
use crate::web::format::datetime;
use crate::web::forms::FormErrors;
use crate::web::page::{Layout, PageCtx, Section};
use crate::web::state::AppState;

pub use form::ProgramForm;

/// The badge class that marks a status.
pub fn status_badge(status: ProgramStatus) -> &'static str {
    match status {
        ProgramStatus::Active => "badge--ok",
        ProgramStatus::Paused => "badge--warn",
        ProgramStatus::Archived => "badge--muted",
    }
}

struct ProgramRowView {
    name: String,
    slug: String,
    status: &'static str,
    badge: &'static str,
    archived: bool,
    participants: i64,
    created_at: String,
}

#[derive(Template)]
#[template(path = "admin/programs.html")]
struct ProgramsPage {
    layout: Layout,
    programs: Vec<ProgramRowView>,
    can_manage: bool,
}

#[get("/admin/programs")]
pub async fn list(state: web::Data<AppState>, ctx: PageCtx, admin: CurrentAdmin) -> AppResult<HttpResponse> {
    admin.require(Permission::View)?;
    let mut all = programs::list(&state.db).await?;
    let counts = stats::participant_counts(&state.db, &all).await?;
    // Newest first; archived ones after every other, as they are done with.
    all.sort_by(|a, b| {
        let archived = |p: &Program| p.status() == ProgramStatus::Archived;
        archived(a).cmp(&archived(b)).then(b.created_at.cmp(&a.created_at))
    });
    let programs = all
        .into_iter()
        .map(|p| ProgramRowView {
            participants: counts.get(&p.id).copied().unwrap_or(0),
            status: p.status().as_str(),
            badge: status_badge(p.status()),
            archived: p.status() == ProgramStatus::Archived,
            created_at: datetime(&p.created_at),
            name: p.config.name,
            slug: p.slug,
        })
        .collect();
    let page = ProgramsPage {
        layout: ctx.layout(Some(&admin.user), Section::Programs),
        programs,
        can_manage: admin.user.role.can(Permission::Manage),
    };
    ctx.render(&page)
}

/// The program an edit form is for, as stored (the form may hold a name
/// that was just refused).
struct Editing {
    slug: String,
    name: String,
}

impl Editing {
    fn of(program: &Program) -> Self {
        Self { slug: program.slug.clone(), name: program.config.name.clone() }
    }
}

#[derive(Template)]
#[template(path = "admin/program_form.html")]
struct ProgramFormPage {
    layout: Layout,
    /// `None` on the create form.
    editing: Option<Editing>,
    form: ProgramForm,
    errors: FormErrors,
}

impl ProgramFormPage {
    fn action(&self) -> String {
        match &self.editing {
            Some(e) => format!("/admin/programs/{}", e.slug),
            None => "/admin/programs".into(),
        }
    }
}

fn form_page(
    ctx: &PageCtx,
    admin: &CurrentAdmin,
    editing: Option<Editing>,
    form: ProgramForm,
    errors: FormErrors,
) -> ProgramFormPage {
    ProgramFormPage { layout: ctx.layout(Some(&admin.user), Section::Programs), editing, form, errors }
}

#[get("/admin/programs/new")]
pub async fn new_form(ctx: PageCtx, admin: CurrentAdmin) -> AppResult<HttpResponse> {
    admin.require(Permission::Manage)?;
    ctx.render(&form_page(&ctx, &admin, None, ProgramForm::blank(), FormErrors::new()))
}

#[post("/admin/programs")]
pub async fn create(
    state: web::Data<AppState>,
    ctx: PageCtx,
    admin: CurrentAdmin,
    CsrfForm(form): CsrfForm<ProgramForm>,
) -> AppResult<HttpResponse> {
    admin.require(Permission::Manage)?;
    let mut errors = FormErrors::new();
    let slug = form.new_slug(&mut errors);
    if let Some(s) = &slug
        && programs::get(&state.db, s.as_str()).await?.is_some()
    {
        errors.add("slug", format!("“{s}” is taken by another program; choose another"));
    }
    let config = form.to_config(json!({}), &mut errors);
    let (Some(slug), Some(config)) = (slug, config) else {
        return ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &form_page(&ctx, &admin, None, form, errors));
    };
    let now = state.clock.now_utc();
    let (program, _) = programs::put(&state.db, admin.user.email.clone(), slug, config, now).await?;
    state.links.invalidate_program(&program.id);
    Ok(redirect_with(
        &format!("/admin/programs/{}", program.slug),
        Flash::success(format!("“{}” is created. Enrol participants to give them their links.", program.config.name)),
        &state.keys,
        state.settings.https(),
    ))
}

#[get("/admin/programs/{slug}/edit")]
pub async fn edit_form(
    state: web::Data<AppState>,
    ctx: PageCtx,
    admin: CurrentAdmin,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    admin.require(Permission::Manage)?;
    let program = programs::require(&state.db, &path).await?;
    let form = ProgramForm::from_config(&program.slug, &program.config);
    ctx.render(&form_page(&ctx, &admin, Some(Editing::of(&program)), form, FormErrors::new()))
}

#[post("/admin/programs/{slug}")]
pub async fn update(
    state: web::Data<AppState>,
    ctx: PageCtx,
    admin: CurrentAdmin,
    path: web::Path<String>,
    CsrfForm(form): CsrfForm<ProgramForm>,
) -> AppResult<HttpResponse> {
    admin.require(Permission::Manage)?;
    let program = programs::require(&state.db, &path).await?;
    // The stored configuration is the base, so that rewards, caps, fraud,
    // asks and status (which this form does not show) stay as they are.
    let base = serde_json::to_value(&program.config).map_err(|e| AppError::Internal(e.to_string()))?;
    let mut errors = FormErrors::new();
    let Some(config) = form.to_config(base, &mut errors) else {
        return ctx.render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &form_page(&ctx, &admin, Some(Editing::of(&program)), form, errors),
        );
    };
    let slug = ProgramSlug::parse(&program.slug)
        .map_err(|_| AppError::Internal(format!("stored program slug {:?} is malformed", program.slug)))?;
    let now = state.clock.now_utc();
    let (saved, _) = programs::put(&state.db, admin.user.email.clone(), slug, config, now).await?;
    state.links.invalidate_program(&saved.id);
    Ok(redirect_with(
        &format!("/admin/programs/{}", saved.slug),
        Flash::success(format!("Changes to “{}” are saved.", saved.config.name)),
        &state.keys,
        state.settings.https(),
    ))
}

#[derive(Deserialize)]
pub struct StatusForm {
    status: String,
}

#[post("/admin/programs/{slug}/status")]
pub async fn set_status(
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    path: web::Path<String>,
    CsrfForm(form): CsrfForm<StatusForm>,
) -> AppResult<HttpResponse> {
    admin.require(Permission::Manage)?;
    let slug = path.into_inner();
    let to = format!("/admin/programs/{slug}");
    let Some(status) = ProgramStatus::parse(&form.status) else {
        let flash = Flash::error("Choose active, paused or archived.");
        return Ok(redirect_with(&to, flash, &state.keys, state.settings.https()));
    };
    let now = state.clock.now_utc();
    let program = programs::set_status(&state.db, admin.user.email.clone(), &slug, status, now).await?;
    state.links.invalidate_program(&program.id);
    let name = &program.config.name;
    let message = match status {
        ProgramStatus::Active => format!("“{name}” is active: it takes new referrals."),
        ProgramStatus::Paused => format!("“{name}” is paused: its links still land, but no new referral is created."),
        ProgramStatus::Archived => format!("“{name}” is archived: its links answer “not found”."),
    };
    Ok(redirect_with(&to, Flash::success(message), &state.keys, state.settings.https()))
}
