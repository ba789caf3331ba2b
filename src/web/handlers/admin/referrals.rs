//! `/admin/referrals`: referrals across programs with filters, a page at a
//! time, and one referral's timeline (click, lead, each event and what it
//! did, refunds, events that changed nothing and why) with its review: the
//! checks' findings, the decisions made, and for reviewers the decisions
//! its review allows (sent to [`super::review::decide`]).

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, web};
use askama::Template;
use serde::Deserialize;

use crate::domain::Permission;
use crate::domain::conversion::ReferralState;
use crate::domain::rfc3339::format_utc;
use crate::services::fraud::review;
use crate::services::programs;
use crate::services::referrals::{self, Cursor, Listed};
use crate::storage::referrals::{ReferralFilter, ReferralRow};
use crate::web::auth::CurrentAdmin;
use crate::web::csv::{Cell, download, write_row};
use crate::web::error::{AppError, AppResult};
use crate::web::format::{datetime, datetime_or_dash};
use crate::web::page::{Layout, PageCtx, Section};
use crate::web::state::AppState;

use super::review::{DecisionForm, DecisionView, FindingView, Refused, forms_for};

const PAGE: i64 = 50;

#[derive(Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    program: String,
    #[serde(default)]
    stage: String,
    #[serde(default)]
    cursor: String,
}

struct ProgramOption {
    slug: String,
    name: String,
}

struct Row {
    id: String,
    referee: String,
    program: String,
    stage: String,
    created_at: String,
}

#[derive(Template)]
#[template(path = "admin/referrals.html")]
struct ListPage {
    layout: Layout,
    programs: Vec<ProgramOption>,
    stages: [&'static str; 6],
    program: String,
    stage: String,
    rows: Vec<Row>,
    next_href: Option<String>,
    first_href: Option<String>,
    /// The export of every referral these filters select.
    csv_href: String,
}

#[get("/admin/referrals")]
pub async fn list(
    state: web::Data<AppState>,
    ctx: PageCtx,
    admin: CurrentAdmin,
    query: web::Query<ListQuery>,
) -> AppResult<HttpResponse> {
    admin.require(Permission::View)?;
    let all = programs::list(&state.db).await?;
    let names: HashMap<String, String> = all.iter().map(|p| (p.id.clone(), p.config.name.clone())).collect();
    let program = all.iter().find(|p| p.slug.as_str() == query.program);
    let filter = filter_of(&query, &all);
    let stage = filter.stage.clone();
    // A cursor that does not read starts from the first page.
    let after = Cursor::decode(&query.cursor);
    let (listed, next) = referrals::page(&state.db, filter, after, PAGE).await?;
    let filters = format!(
        "program={}&stage={}",
        url::form_urlencoded::byte_serialize(query.program.as_bytes()).collect::<String>(),
        stage.as_deref().unwrap_or("")
    );
    let rows = listed
        .into_iter()
        .map(|l| {
            let r = l.referral;
            Row {
                referee: referee_label(&r),
                program: names.get(&r.program_id).cloned().unwrap_or_default(),
                stage: r.stage,
                created_at: datetime(&r.created_at),
                id: r.id,
            }
        })
        .collect();
    let page = ListPage {
        layout: ctx.layout(Some(&admin.user), Section::Referrals),
        programs: all.iter().map(|p| ProgramOption { slug: p.slug.to_string(), name: p.config.name.clone() }).collect(),
        stages: ReferralState::NAMES,
        program: program.map(|p| p.slug.to_string()).unwrap_or_default(),
        stage: stage.unwrap_or_default(),
        rows,
        next_href: next.map(|c| format!("/admin/referrals?{filters}&cursor={}", c.encode())),
        csv_href: format!("/admin/referrals.csv?{filters}"),
        first_href: (!query.cursor.is_empty()).then(|| format!("/admin/referrals?{filters}")),
    };
    ctx.render(&page)
}

/// Referrals read per query by the export.
const EXPORT_BATCH: i64 = 500;

/// The columns of the referrals export, in order.
const CSV_HEADER: [&str; 19] = [
    "id",
    "program",
    "participant_id",
    "participant_external_id",
    "participant_name",
    "participant_email",
    "code",
    "click_id",
    "referee_name",
    "referee_email",
    "referee_external_id",
    "stage",
    "review",
    "lead_at",
    "qualified_at",
    "opportunity_at",
    "won_at",
    "created_at",
    "updated_at",
];

fn csv_line(out: &mut String, listed: &Listed, program: &str) {
    let r = &listed.referral;
    let times = [r.lead_at, r.qualified_at, r.opportunity_at, r.won_at, Some(r.created_at), Some(r.updated_at)]
        .map(|t| t.map(format_utc).unwrap_or_default());
    let mut cells = vec![
        Cell::from(&r.id),
        Cell::from(program),
        Cell::from(&r.participant_id),
        Cell::from(listed.participant_external_id.as_deref()),
        Cell::from(&listed.participant_name),
        Cell::from(&listed.participant_email),
        Cell::from(&r.code),
        Cell::from(r.click_id.as_deref()),
        Cell::from(&r.referee_name),
        Cell::from(r.referee_email.as_deref()),
        Cell::from(r.referee_external_id.as_deref()),
        Cell::from(&r.stage),
        Cell::from(&r.review),
    ];
    cells.extend(times.iter().map(Cell::from));
    write_row(out, &cells);
}

/// Every referral the list's filters select, as CSV, read a batch at a
/// time.
#[get("/admin/referrals.csv")]
pub async fn export(
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    query: web::Query<ListQuery>,
) -> AppResult<HttpResponse> {
    admin.require(Permission::View)?;
    let all = programs::list(&state.db).await?;
    let slugs: HashMap<String, String> = all.iter().map(|p| (p.id.clone(), p.slug.to_string())).collect();
    let filter = filter_of(&query, &all);
    let mut out = String::new();
    write_row(&mut out, &CSV_HEADER.map(Cell::Text));
    let mut after = None;
    loop {
        let (listed, next) = referrals::page(&state.db, filter.clone(), after, EXPORT_BATCH).await?;
        for l in &listed {
            csv_line(&mut out, l, slugs.get(&l.referral.program_id).map_or("", String::as_str));
        }
        match next {
            Some(cursor) => after = Some(cursor),
            None => break,
        }
    }
    Ok(download(&format!("referrals-{}.csv", state.clock.now_utc().date()), out))
}

/// What the list's query selects; an unknown program or stage filters
/// nothing, as the list page does.
fn filter_of(query: &ListQuery, all: &[programs::Program]) -> ReferralFilter {
    let program = all.iter().find(|p| p.slug.as_str() == query.program);
    let stage = ReferralState::parse(&query.stage).map(|s| s.as_str().to_string());
    ReferralFilter { program_id: program.map(|p| p.id.clone()), stage, ..Default::default() }
}

/// One step of a referral's story.
struct Step {
    at: String,
    what: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "admin/referral.html")]
struct TimelinePage {
    layout: Layout,
    id: String,
    referee: String,
    email: String,
    external_id: String,
    stage: String,
    program_slug: String,
    program_name: String,
    participant_id: String,
    participant_name: String,
    code: String,
    steps: Vec<Step>,
    review: ReviewSection,
}

/// Where the referral's review stands and what can be decided.
struct ReviewSection {
    status: String,
    /// What the participant reads about it, if anything.
    participant_reads: Option<String>,
    findings: Vec<FindingView>,
    decisions: Vec<DecisionView>,
    /// Empty for those who cannot review.
    forms: Vec<DecisionForm>,
    /// A refusal that belongs to no field.
    general: Option<String>,
}

#[get("/admin/referrals/{id}")]
pub async fn show(
    state: web::Data<AppState>,
    ctx: PageCtx,
    admin: CurrentAdmin,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    admin.require(Permission::View)?;
    render(&state, &ctx, &admin, &id, StatusCode::OK, None).await
}

/// The referral's page with `status`; a decision refused for a field
/// (`refused`) is shown again beside it.
pub(super) async fn render(
    state: &AppState,
    ctx: &PageCtx,
    admin: &CurrentAdmin,
    id: &str,
    status: StatusCode,
    refused: Option<&Refused>,
) -> AppResult<HttpResponse> {
    let t = referrals::timeline(&state.db, id).await?.ok_or(AppError::NotFound)?;
    let case = review::case(&state.db, id).await?.ok_or(AppError::NotFound)?;
    let r = &t.referral;
    let mut steps = Vec::new();
    match (&t.click, &r.click_id) {
        (Some(click), _) => steps.push(Step {
            at: datetime(&click.at),
            what: "Opened the link".into(),
            detail: match &click.channel {
                Some(channel) => format!("through {channel}"),
                None => "no channel given".into(),
            },
        }),
        (None, Some(_)) => steps.push(Step {
            at: "—".into(),
            what: "Opened the link".into(),
            detail: "the click is not loaded yet".into(),
        }),
        (None, None) => {}
    }
    if let Some(lead_at) = r.lead_at
        && !t.events.iter().any(|e| e.kind == "lead" && e.outcome.starts_with("attributed"))
    {
        steps.push(Step {
            at: datetime(&lead_at),
            what: "Became a lead".into(),
            detail: "claimed on the landing page".into(),
        });
    }
    for e in &t.events {
        let amount = match (e.amount, &e.currency) {
            (Some(amount), Some(currency)) => format!(" · {} {currency}", amount_text(amount)),
            _ => String::new(),
        };
        steps.push(Step {
            at: datetime(&e.occurred_at),
            what: format!("Event “{}” ({})", e.kind, e.event_id),
            detail: format!("{}{amount} · received {}", e.outcome, datetime_or_dash(Some(&e.received_at))),
        });
    }
    let can_review = admin.user.role.can(Permission::Review);
    let review = ReviewSection {
        status: case.referral.review.clone(),
        participant_reads: case.referral.review_reason.clone(),
        findings: case.findings.iter().map(FindingView::from).collect(),
        decisions: case.decisions.iter().map(DecisionView::from).collect(),
        forms: if can_review { forms_for(&case.referral.review, &case.referral.id, refused) } else { Vec::new() },
        general: refused.and_then(|r| r.errors.general.clone()),
    };
    let page = TimelinePage {
        layout: ctx.layout(Some(&admin.user), Section::Referrals),
        review,
        id: r.id.clone(),
        referee: referee_label(r),
        email: r.referee_email.clone().unwrap_or_default(),
        external_id: r.referee_external_id.clone().unwrap_or_default(),
        stage: r.stage.clone(),
        program_slug: t.program_slug.clone(),
        program_name: t.program_name.clone(),
        participant_id: r.participant_id.clone(),
        participant_name: t.participant_name.clone(),
        code: r.code.clone(),
        steps,
    };
    ctx.render_status(status, &page)
}

/// How the admin names a referee: their name, else email, else external id.
pub(super) fn referee_label(r: &ReferralRow) -> String {
    [Some(&r.referee_name), r.referee_email.as_ref(), r.referee_external_id.as_ref()]
        .into_iter()
        .flatten()
        .find(|s| !s.is_empty())
        .cloned()
        .unwrap_or_else(|| "(no name)".into())
}

/// Minor units as major ones with two decimals (most currencies).
fn amount_text(minor: i64) -> String {
    format!("{}.{:02}", minor / 100, minor % 100)
}
