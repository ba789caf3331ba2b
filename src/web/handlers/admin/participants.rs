//! `/admin/programs/{slug}/participants`: a program's participants, paged
//! and searchable; enrolling one, and enrolling many from a CSV file.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;

use crate::domain::Permission;
use crate::domain::conversion::ReferralState;
use crate::domain::rfc3339::format_utc;
use crate::services::ServiceError;
use crate::services::import::{self, ImportError, ImportReport, RowOutcome};
use crate::services::participant_export;
use crate::services::participants::{self, EnrolInput, Participant};
use crate::services::programs::{self, Program};
use crate::web::auth::CurrentAdmin;
use crate::web::csrf::CsrfForm;
use crate::web::csv::{Cell, download, write_row};
use crate::web::error::AppResult;
use crate::web::flash::{Flash, redirect_with};
use crate::web::format::datetime;
use crate::web::forms::FormErrors;
use crate::web::multipart::CsrfMultipart;
use crate::web::page::{Layout, PageCtx, Section};
use crate::web::state::AppState;

/// Participants shown per page.
const PER_PAGE: i64 = 50;

struct ParticipantView {
    id: String,
    name: String,
    email: String,
    external_id: String,
    code: String,
    link: String,
    created_at: String,
}

impl ParticipantView {
    fn new(state: &AppState, p: Participant) -> Self {
        let (code, link) = match p.link {
            Some(l) => (l.code.clone(), state.url(&format!("/r/{}", l.code))),
            None => (String::new(), String::new()),
        };
        Self {
            id: p.row.id,
            name: p.row.name,
            email: p.row.email,
            external_id: p.row.external_id.unwrap_or_default(),
            code,
            link,
            created_at: datetime(&p.row.created_at),
        }
    }
}

/// What was typed into the enrol form, shown again beside its errors.
#[derive(Debug, Default, Deserialize)]
pub struct EnrolForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    external_id: String,
    #[serde(default)]
    timezone: String,
}

#[derive(Template)]
#[template(path = "admin/participants.html")]
struct ParticipantsPage {
    layout: Layout,
    program_slug: String,
    program_name: String,
    can_manage: bool,
    participants: Vec<ParticipantView>,
    /// Participants in the program, whatever the search.
    total: i64,
    q: String,
    page: i64,
    /// Known only without a search (the count is of the whole program).
    pages: Option<i64>,
    prev_href: Option<String>,
    next_href: Option<String>,
    form: EnrolForm,
    errors: FormErrors,
    import_errors: FormErrors,
}

/// The query of a list page; both parts optional and read leniently, so a
/// mistyped `?page=x` shows page 1 rather than an error.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    page: Option<String>,
    q: Option<String>,
}

impl ListQuery {
    fn page(&self) -> i64 {
        self.page
            .as_deref()
            .and_then(|p| p.trim().parse::<i64>().ok())
            .filter(|p| (1..=1_000_000).contains(p))
            .unwrap_or(1)
    }

    fn search(&self) -> Option<String> {
        self.q.as_deref().map(str::trim).filter(|q| !q.is_empty()).map(|q| q.chars().take(200).collect())
    }
}

fn list_href(slug: &str, page: i64, q: &str) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    if !q.is_empty() {
        query.append_pair("q", q);
    }
    if page > 1 {
        query.append_pair("page", &page.to_string());
    }
    let query = query.finish();
    if query.is_empty() {
        format!("/admin/programs/{slug}/participants")
    } else {
        format!("/admin/programs/{slug}/participants?{query}")
    }
}

struct Forms {
    form: EnrolForm,
    errors: FormErrors,
    import_errors: FormErrors,
}

impl Forms {
    fn empty() -> Self {
        Self { form: EnrolForm::default(), errors: FormErrors::new(), import_errors: FormErrors::new() }
    }
}

async fn page(
    state: &AppState,
    ctx: &PageCtx,
    admin: &CurrentAdmin,
    program: Program,
    query: &ListQuery,
    forms: Forms,
) -> AppResult<ParticipantsPage> {
    let page = query.page();
    let search = query.search();
    // One more than a page tells whether a next page exists, which the
    // program-wide count cannot tell once a search narrows the list.
    let (found, total) =
        participants::list(&state.db, &program, search.clone(), PER_PAGE + 1, (page - 1) * PER_PAGE).await?;
    let has_next = found.len() as i64 > PER_PAGE;
    let q = search.unwrap_or_default();
    let slug = program.slug.clone();
    Ok(ParticipantsPage {
        layout: ctx.layout(Some(&admin.user), Section::Programs),
        can_manage: admin.user.role.can(Permission::Manage),
        participants: found.into_iter().take(PER_PAGE as usize).map(|p| ParticipantView::new(state, p)).collect(),
        total,
        pages: q.is_empty().then(|| ((total + PER_PAGE - 1) / PER_PAGE).max(1)),
        prev_href: (page > 1).then(|| list_href(&slug, page - 1, &q)),
        next_href: has_next.then(|| list_href(&slug, page + 1, &q)),
        page,
        q,
        program_name: program.config.name,
        program_slug: program.slug,
        form: forms.form,
        errors: forms.errors,
        import_errors: forms.import_errors,
    })
}

#[get("/admin/programs/{slug}/participants")]
pub async fn list(
    state: web::Data<AppState>,
    ctx: PageCtx,
    admin: CurrentAdmin,
    path: web::Path<String>,
    query: web::Query<ListQuery>,
) -> AppResult<HttpResponse> {
    admin.require(Permission::View)?;
    let program = programs::require(&state.db, &path).await?;
    let page = page(&state, &ctx, &admin, program, &query, Forms::empty()).await?;
    ctx.render(&page)
}

/// The columns of the participants export, in order.
const CSV_HEADER: [&str; 16] = [
    "id",
    "external_id",
    "name",
    "email",
    "timezone",
    "code",
    "link",
    "clicks",
    "lead",
    "qualified",
    "opportunity",
    "won",
    "refunded",
    "rejected",
    "created_at",
    "updated_at",
];

/// Every participant of the program, with their link, counted clicks and
/// referrals by stage, as CSV.
#[get("/admin/programs/{slug}/participants.csv")]
pub async fn export(
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    admin.require(Permission::View)?;
    let program = programs::require(&state.db, &path).await?;
    let mut out = String::new();
    write_row(&mut out, &CSV_HEADER.map(Cell::Text));
    for p in participant_export::all(&state.db, &program).await? {
        let code = p.link.as_ref().map(|l| l.code.as_str());
        let link = code.map(|c| state.url(&format!("/r/{c}")));
        let mut cells = vec![
            Cell::from(&p.row.id),
            Cell::from(p.row.external_id.as_deref()),
            Cell::from(&p.row.name),
            Cell::from(&p.row.email),
            Cell::from(p.row.timezone.as_deref()),
            Cell::from(code),
            Cell::from(link.as_deref()),
            Cell::Number(p.clicks),
        ];
        cells.extend(ReferralState::NAMES.iter().map(|state| Cell::Number(p.at(state))));
        let (created, updated) = (format_utc(p.row.created_at), format_utc(p.row.updated_at));
        cells.extend([Cell::from(&created), Cell::from(&updated)]);
        write_row(&mut out, &cells);
    }
    let day = state.clock.now_utc().date();
    Ok(download(&format!("participants-{}-{day}.csv", program.slug), out))
}

#[post("/admin/programs/{slug}/participants")]
pub async fn enrol(
    state: web::Data<AppState>,
    ctx: PageCtx,
    admin: CurrentAdmin,
    path: web::Path<String>,
    CsrfForm(form): CsrfForm<EnrolForm>,
) -> AppResult<HttpResponse> {
    admin.require(Permission::Manage)?;
    let program = programs::require(&state.db, &path).await?;
    let input = match EnrolInput::parse(&form.email, Some(&form.name), Some(&form.external_id), Some(&form.timezone)) {
        Ok(input) => input,
        Err(errors) => {
            let errors = FormErrors::from_service(ServiceError::Invalid(errors))?;
            let forms = Forms { form, errors, import_errors: FormErrors::new() };
            let page = page(&state, &ctx, &admin, program, &ListQuery::default(), forms).await?;
            return ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let now = state.clock.now_utc();
    let enrolled = participants::enrol(&state.db, &state.keys, admin.user.email.clone(), &program, input, now).await?;
    let who = &enrolled.participant.row;
    let text = if enrolled.created {
        match &enrolled.participant.link {
            Some(link) => format!("{} is enrolled with the code {}.", who.email, link.code),
            None => format!("{} is enrolled.", who.email),
        }
    } else {
        format!("{} was already enrolled in {}; nothing was changed.", who.email, program.config.name)
    };
    Ok(redirect_with(
        &format!("/admin/participants/{}", who.id),
        Flash::success(text),
        &state.keys,
        state.settings.https(),
    ))
}

struct ReportRowView {
    line: usize,
    email: String,
    outcome: &'static str,
    badge: &'static str,
    reasons: Vec<String>,
    participant_id: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/import_report.html")]
struct ImportReportPage {
    layout: Layout,
    program_slug: String,
    program_name: String,
    file_name: String,
    created: usize,
    already_enrolled: usize,
    refused: usize,
    ignored_columns: Vec<String>,
    refused_rows: Vec<ReportRowView>,
    other_rows: Vec<ReportRowView>,
}

fn report_page(layout: Layout, program: Program, file_name: String, report: ImportReport) -> ImportReportPage {
    let (refused_rows, other_rows): (Vec<_>, Vec<_>) = report
        .rows
        .into_iter()
        .map(|row| {
            let (outcome, badge, reasons) = match row.outcome {
                RowOutcome::Created => ("created", "badge--ok", Vec::new()),
                RowOutcome::AlreadyEnrolled => ("already enrolled", "badge--muted", Vec::new()),
                RowOutcome::Refused(errors) => (
                    "refused",
                    "badge--danger",
                    errors.into_iter().map(|e| format!("{}: {}", e.field, e.message)).collect(),
                ),
            };
            ReportRowView {
                line: row.line,
                email: row.email,
                outcome,
                badge,
                reasons,
                participant_id: row.participant_id,
            }
        })
        .partition(|r| !r.reasons.is_empty());
    ImportReportPage {
        layout,
        program_slug: program.slug,
        program_name: program.config.name,
        file_name,
        created: report.created,
        already_enrolled: report.already_enrolled,
        refused: report.refused,
        ignored_columns: report.ignored_columns,
        refused_rows,
        other_rows,
    }
}

/// The list page again, with `message` beside the file input.
async fn refuse_file(
    state: &AppState,
    ctx: &PageCtx,
    admin: &CurrentAdmin,
    program: Program,
    message: String,
) -> AppResult<HttpResponse> {
    let mut import_errors = FormErrors::new();
    import_errors.add("file", message);
    let forms = Forms { form: EnrolForm::default(), errors: FormErrors::new(), import_errors };
    let page = page(state, ctx, admin, program, &ListQuery::default(), forms).await?;
    ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
}

#[post("/admin/programs/{slug}/participants/import")]
pub async fn import_csv(
    state: web::Data<AppState>,
    ctx: PageCtx,
    admin: CurrentAdmin,
    path: web::Path<String>,
    upload: CsrfMultipart,
) -> AppResult<HttpResponse> {
    admin.require(Permission::Manage)?;
    let program = programs::require(&state.db, &path).await?;
    let Some(file) = upload.file else {
        return refuse_file(&state, &ctx, &admin, program, "choose a CSV file to import".into()).await;
    };
    let now = state.clock.now_utc();
    let result = import::import_csv(&state.db, &state.keys, admin.user.email.clone(), &program, &file.bytes, now).await;
    match result {
        // The report is this response, not a redirect: it exists nowhere
        // else. Sending the form again is harmless, as enrolment is idempotent.
        Ok(report) => {
            let layout = ctx.layout(Some(&admin.user), Section::Programs);
            ctx.render(&report_page(layout, program, file.file_name, report))
        }
        Err(ImportError::File(e)) => {
            refuse_file(&state, &ctx, &admin, program, format!("{}: {e}", file.file_name)).await
        }
        Err(ImportError::Service(e)) => Err(e.into()),
    }
}
