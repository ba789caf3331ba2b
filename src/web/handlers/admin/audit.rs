//! `/admin/audit`: the audit log.

use actix_web::{HttpResponse, get, web};
use askama::Template;

use crate::domain::Permission;
use crate::services::audit;
use crate::storage::audit::AuditRow;
use crate::web::auth::CurrentAdmin;
use crate::web::error::AppResult;
use crate::web::format::datetime;
use crate::web::page::{Layout, PageCtx, Section};
use crate::web::state::AppState;

/// One audit entry as pages show it.
pub struct AuditView {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub detail: String,
}

impl From<AuditRow> for AuditView {
    fn from(r: AuditRow) -> Self {
        Self { at: datetime(&r.at), actor: r.actor, action: r.action, subject: r.subject, detail: r.detail }
    }
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    layout: Layout,
    entries: Vec<AuditView>,
}

#[get("/admin/audit")]
pub async fn show(state: web::Data<AppState>, ctx: PageCtx, admin: CurrentAdmin) -> AppResult<HttpResponse> {
    admin.require(Permission::View)?;
    let entries = audit::recent(&state.db, 500).await?.into_iter().map(AuditView::from).collect();
    let page = AuditPage { layout: ctx.layout(Some(&admin.user), Section::Audit), entries };
    ctx.render(&page)
}
