//! `/admin/emails`: the email outbox — every email with its status,
//! attempts and last error, filtered by status, kind and recipient; one
//! email with a safe preview of its text and HTML (the HTML in a sandboxed
//! frame, secret links replaced); and resending one.

use actix_web::http::header;
use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;

use crate::domain::Permission;
use crate::domain::email_kind::EmailKind;
use crate::services::email::admin::{self, PAGE, Preview};
use crate::services::email::render::RenderContext;
use crate::storage::emails::{EmailFilter, EmailRow};
use crate::web::auth::CurrentAdmin;
use crate::web::csrf::CsrfForm;
use crate::web::error::{AppError, AppResult};
use crate::web::flash::{Flash, redirect_with};
use crate::web::format::{datetime, datetime_or_dash};
use crate::web::page::{Layout, PageCtx, Section};
use crate::web::state::AppState;

const STATUSES: [&str; 4] = ["waiting", "sent", "failed", "suppressed"];

#[derive(Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    page: i64,
}

struct Row {
    id: String,
    kind: &'static str,
    to: String,
    subject: String,
    status: String,
    attempts: i32,
    last_error: String,
    created_at: String,
}

impl From<EmailRow> for Row {
    fn from(e: EmailRow) -> Self {
        Self {
            kind: EmailKind::parse(&e.kind).map(EmailKind::label).unwrap_or("unknown"),
            to: e.to_address,
            subject: e.subject.unwrap_or_default(),
            status: e.status,
            attempts: e.attempts,
            last_error: e.last_error.unwrap_or_default(),
            created_at: datetime(&e.created_at),
            id: e.id,
        }
    }
}

#[derive(Template)]
#[template(path = "admin/emails.html")]
struct ListPage {
    layout: Layout,
    smtp_configured: bool,
    counts: Vec<(String, i64)>,
    statuses: [&'static str; 4],
    kinds: Vec<(&'static str, &'static str)>,
    status: String,
    kind: String,
    to: String,
    rows: Vec<Row>,
    prev_href: Option<String>,
    next_href: Option<String>,
}

#[get("/admin/emails")]
pub async fn list(
    state: web::Data<AppState>,
    ctx: PageCtx,
    admin: CurrentAdmin,
    query: web::Query<ListQuery>,
) -> AppResult<HttpResponse> {
    admin.require(Permission::View)?;
    let status = STATUSES.iter().find(|s| **s == query.status).map(|s| s.to_string());
    let kind = EmailKind::parse(&query.kind).map(|k| k.as_str().to_string());
    let to = Some(query.to.trim().to_string()).filter(|t| !t.is_empty());
    let filter = EmailFilter { status: status.clone(), kind: kind.clone(), to: to.clone() };
    let page_no = query.page.max(0);
    let (mut rows, counts) = admin::page(&state.db, filter, page_no).await?;
    let more = rows.len() as i64 > PAGE;
    rows.truncate(PAGE as usize);
    let filters = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("status", status.as_deref().unwrap_or(""))
        .append_pair("kind", kind.as_deref().unwrap_or(""))
        .append_pair("to", to.as_deref().unwrap_or(""))
        .finish();
    let page = ListPage {
        layout: ctx.layout(Some(&admin.user), Section::Emails),
        smtp_configured: state.emails.configured(),
        counts,
        statuses: STATUSES,
        kinds: EmailKind::ALL.iter().map(|k| (k.as_str(), k.label())).collect(),
        status: status.unwrap_or_default(),
        kind: kind.unwrap_or_default(),
        to: to.unwrap_or_default(),
        rows: rows.into_iter().map(Row::from).collect(),
        prev_href: (page_no > 0).then(|| format!("/admin/emails?{filters}&page={}", page_no - 1)),
        next_href: more.then(|| format!("/admin/emails?{filters}&page={}", page_no + 1)),
    };
    ctx.render(&page)
}

#[derive(Template)]
#[template(path = "admin/email.html")]
struct DetailPage {
    layout: Layout,
    id: String,
    row: Row,
    to_name: String,
    next_attempt_at: String,
    sent_at: String,
    preview: Result<Preview, String>,
    can_resend: bool,
}

fn render_context(state: &AppState) -> RenderContext {
    RenderContext { base_url: state.settings.base_url.clone(), keys: state.keys.clone(), redact_secrets: true }
}

#[get("/admin/emails/{id}")]
pub async fn show(
    state: web::Data<AppState>,
    ctx: PageCtx,
    admin: CurrentAdmin,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    admin.require(Permission::View)?;
    let now = state.clock.now_utc();
    let (row, preview) = admin::show(&state.db, &render_context(&state), &state.settings.mail_from, &id, now)
        .await?
        .ok_or(AppError::NotFound)?;
    let page = DetailPage {
        layout: ctx.layout(Some(&admin.user), Section::Emails),
        id: row.id.clone(),
        to_name: row.to_name.clone(),
        next_attempt_at: if row.status == "waiting" { datetime(&row.next_attempt_at) } else { "—".into() },
        sent_at: datetime_or_dash(row.sent_at.as_ref()),
        row: Row::from(row),
        preview,
        can_resend: admin.user.role.can(Permission::Manage),
    };
    ctx.render(&page)
}

/// The HTML part alone, for the preview frame: no script, no request
/// anywhere, framed only by this site.
#[get("/admin/emails/{id}/preview.html")]
pub async fn preview_html(
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    admin.require(Permission::View)?;
    let now = state.clock.now_utc();
    let (_, preview) = admin::show(&state.db, &render_context(&state), &state.settings.mail_from, &id, now)
        .await?
        .ok_or(AppError::NotFound)?;
    let html = preview.map(|p| p.html).unwrap_or_else(|why| format!("<p>This email cannot be shown: {why}</p>"));
    let mut resp = HttpResponse::Ok().content_type("text/html; charset=utf-8").body(html);
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static(
            "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, header::HeaderValue::from_static("SAMEORIGIN"));
    Ok(resp)
}

#[post("/admin/emails/{id}/resend")]
pub async fn resend(
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    id: web::Path<String>,
    CsrfForm(_): CsrfForm<std::collections::HashMap<String, String>>,
) -> AppResult<HttpResponse> {
    admin.require(Permission::Manage)?;
    admin::resend(&state.db, &id, &admin.user.email, state.clock.now_utc()).await?;
    let message = if state.emails.configured() {
        "The email is queued again and leaves within seconds."
    } else {
        "The email is queued again; it leaves once an SMTP server is configured."
    };
    Ok(redirect_with(&format!("/admin/emails/{id}"), Flash::success(message), &state.keys, state.settings.https()))
}
