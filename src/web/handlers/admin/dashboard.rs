//! `/admin`: the dashboard.

use actix_web::{HttpResponse, get, web};
use askama::Template;

use crate::domain::Permission;
use crate::services::fraud::review;
use crate::services::{accounts, api_keys, audit, programs, stats};
use crate::web::auth::CurrentAdmin;
use crate::web::error::AppResult;
use crate::web::page::{Layout, PageCtx, Section};
use crate::web::state::AppState;

use super::audit::AuditView;

#[derive(Template)]
#[template(path = "admin/dashboard.html")]
struct DashboardPage {
    layout: Layout,
    admin_users: usize,
    active_api_keys: usize,
    backend: &'static str,
    base_url: String,
    version: &'static str,
    email: String,
    role: &'static str,
    can_manage_users: bool,
    can_manage_keys: bool,
    recent: Vec<AuditView>,
    programs: Vec<ProgramRow>,
    can_manage: bool,
    /// Referrals waiting in the review queue.
    waiting_review: i64,
    can_review: bool,
    /// Emails are kept, not sent: no SMTP server is configured.
    emails_unsent: bool,
}

struct ProgramRow {
    slug: String,
    name: String,
    status: &'static str,
    participants: i64,
}

#[get("/admin")]
pub async fn show(state: web::Data<AppState>, ctx: PageCtx, admin: CurrentAdmin) -> AppResult<HttpResponse> {
    admin.require(Permission::View)?;
    let users = accounts::list_users(&state.db).await?;
    let keys = api_keys::list(&state.db).await?;
    let recent = audit::recent(&state.db, 8).await?;
    let all = programs::list(&state.db).await?;
    let counts = stats::participant_counts(&state.db, &all).await?;
    let programs = all
        .iter()
        .filter(|p| p.status() != crate::domain::program::ProgramStatus::Archived)
        .map(|p| ProgramRow {
            slug: p.slug.clone(),
            name: p.config.name.clone(),
            status: p.status().as_str(),
            participants: counts.get(&p.id).copied().unwrap_or(0),
        })
        .collect();
    let page = DashboardPage {
        layout: ctx.layout(Some(&admin.user), Section::Dashboard),
        admin_users: users.len(),
        active_api_keys: keys.iter().filter(|k| k.revoked_at.is_none()).count(),
        backend: match state.db.backend() {
            "postgres" => "PostgreSQL",
            _ => "SQLite",
        },
        base_url: state.settings.base_url.clone(),
        version: env!("CARGO_PKG_VERSION"),
        email: admin.user.email.clone(),
        role: admin.user.role.as_str(),
        can_manage_users: admin.user.role.can(Permission::ManageUsers),
        can_manage_keys: admin.user.role.can(Permission::ManageApiKeys),
        can_manage: admin.user.role.can(Permission::Manage),
        waiting_review: review::waiting(&state.db).await?,
        can_review: admin.user.role.can(Permission::Review),
        emails_unsent: !state.emails.configured(),
        programs,
        recent: recent.into_iter().map(AuditView::from).collect(),
    };
    ctx.render(&page)
}
