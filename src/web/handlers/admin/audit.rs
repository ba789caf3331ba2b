//! `/admin/audit`: the audit log, newest first, filtered by who, what
//! (an action or a prefix such as `reward.`), which subject and when;
//! `/admin/audit.csv` exports every entry the filters select.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, web};
use askama::Template;
use serde::Deserialize;
use time::{Date, Duration, PrimitiveDateTime, Time};

use crate::domain::Permission;
use crate::services::audit;
use crate::services::referrals::Cursor;
use crate::storage::audit::{AuditFilter, AuditRow};
use crate::web::auth::CurrentAdmin;
use crate::web::csv::{Cell, download, write_row};
use crate::web::error::AppResult;
use crate::web::format::datetime;
use crate::web::forms::FormErrors;
use crate::web::page::{Layout, PageCtx, Section};
use crate::web::state::AppState;

/// Entries a page shows, and the export reads at a time.
const PAGE: i64 = 100;
const EXPORT_BATCH: i64 = 1_000;

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

/// The filters as typed (kept to show them again).
#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    cursor: String,
}

impl AuditQuery {
    /// The storage filter, or the errors of the fields that do not read.
    /// `from` and `to` are days (UTC), both included.
    fn filter(&self) -> (AuditFilter, FormErrors) {
        let mut errors = FormErrors::new();
        let text = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        let mut day = |field: &str, raw: &str| {
            let raw = raw.trim();
            if raw.is_empty() {
                return None;
            }
            let format = time::macros::format_description!("[year]-[month]-[day]");
            match Date::parse(raw, format) {
                Ok(d) => Some(PrimitiveDateTime::new(d, Time::MIDNIGHT)),
                Err(_) => {
                    errors.add(field, "use a date such as 2026-12-01");
                    None
                }
            }
        };
        let since = day("from", &self.from);
        let until = day("to", &self.to).map(|d| d + Duration::days(1));
        let filter = AuditFilter {
            actor: text(&self.actor),
            action_prefix: text(&self.action),
            subject: text(&self.subject),
            since,
            until,
        };
        (filter, errors)
    }

    fn is_filtered(&self) -> bool {
        [&self.actor, &self.action, &self.subject, &self.from, &self.to].iter().any(|s| !s.trim().is_empty())
    }

    /// The query string of the filters (without the cursor).
    fn query_string(&self) -> String {
        let pairs = [
            ("actor", &self.actor),
            ("action", &self.action),
            ("subject", &self.subject),
            ("from", &self.from),
            ("to", &self.to),
        ];
        let kept: Vec<(&str, &str)> =
            pairs.iter().filter(|(_, v)| !v.trim().is_empty()).map(|(k, v)| (*k, v.trim())).collect();
        serde_urlencoded::to_string(kept).unwrap_or_default()
    }
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    layout: Layout,
    entries: Vec<AuditView>,
    query: AuditQuery,
    errors: FormErrors,
    filtered: bool,
    csv_href: String,
    next_href: Option<String>,
    first_href: Option<String>,
}

fn with_query(path: &str, query: &str, extra: Option<String>) -> String {
    let mut parts: Vec<String> = Vec::new();
    if !query.is_empty() {
        parts.push(query.to_string());
    }
    parts.extend(extra);
    if parts.is_empty() { path.to_string() } else { format!("{path}?{}", parts.join("&")) }
}

#[get("/admin/audit")]
pub async fn show(
    state: web::Data<AppState>,
    ctx: PageCtx,
    admin: CurrentAdmin,
    query: web::Query<AuditQuery>,
) -> AppResult<HttpResponse> {
    admin.require(Permission::View)?;
    let query = query.into_inner();
    let (filter, errors) = query.filter();
    let qs = query.query_string();
    let (entries, next) = if errors.is_empty() {
        // A cursor that does not read starts from the newest entry.
        audit::page(&state.db, filter, Cursor::decode(&query.cursor), PAGE).await?
    } else {
        (Vec::new(), None)
    };
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = AuditPage {
        layout: ctx.layout(Some(&admin.user), Section::Audit),
        entries: entries.into_iter().map(AuditView::from).collect(),
        filtered: query.is_filtered(),
        csv_href: with_query("/admin/audit.csv", &qs, None),
        next_href: next.map(|c| with_query("/admin/audit", &qs, Some(format!("cursor={}", c.encode())))),
        first_href: (!query.cursor.is_empty()).then(|| with_query("/admin/audit", &qs, None)),
        query,
        errors,
    };
    ctx.render_status(status, &page)
}

/// Every entry the filters select, as CSV, oldest last (as the page).
#[get("/admin/audit.csv")]
pub async fn export(
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    query: web::Query<AuditQuery>,
) -> AppResult<HttpResponse> {
    admin.require(Permission::View)?;
    let (filter, errors) = query.filter();
    if !errors.is_empty() {
        return Ok(HttpResponse::UnprocessableEntity()
            .content_type("text/plain; charset=utf-8")
            .body("The dates must read like 2026-12-01.\n"));
    }
    let mut out = String::new();
    write_row(&mut out, &["at", "actor", "action", "subject", "detail"].map(Cell::Text));
    let mut before = None;
    loop {
        let (rows, next) = audit::page(&state.db, filter.clone(), before, EXPORT_BATCH).await?;
        for r in &rows {
            let at = crate::domain::rfc3339::format_utc(r.at);
            write_row(
                &mut out,
                &[Cell::from(&at), (&r.actor).into(), (&r.action).into(), (&r.subject).into(), (&r.detail).into()],
            );
        }
        match next {
            Some(cursor) => before = Some(cursor),
            None => break,
        }
    }
    let day = state.clock.now_utc().date();
    Ok(download(&format!("audit-{day}.csv"), out))
}
