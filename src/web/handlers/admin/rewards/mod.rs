//! `/admin/rewards`: rewards across programs with filters (program,
//! status, kind, participant, clawbacks to follow up), a page at a time;
//! the same selection as a CSV file; and one reward's page with its ledger
//! and the admin's actions ([`detail`]).

pub mod detail;
pub mod view;

use actix_web::{HttpResponse, get, web};
use askama::Template;
use serde::Deserialize;

use crate::domain::Permission;
use crate::domain::reward::RewardStatus;
use crate::domain::rfc3339::format_utc;
use crate::services::programs::{self, Program};
use crate::services::referrals::Cursor;
use crate::services::rewards::{self, admin::Described};
use crate::storage::rewards::RewardFilter;
use crate::web::auth::CurrentAdmin;
use crate::web::error::AppResult;
use crate::web::page::{Layout, PageCtx, Section};
use crate::web::state::AppState;

use crate::web::csv::{Cell, download, write_row};
use view::RewardView;

/// Rewards per page of the list.
const PAGE: i64 = 50;
/// Rewards read per round while writing the CSV file.
const EXPORT_BATCH: i64 = 500;

/// The menu kinds a reward can be filtered by, in the order the form lists them.
pub const KINDS: [&str; 6] = ["coupon", "percent_off", "amount_off", "credit", "cash", "custom"];

/// The list's query, read leniently: a value that does not parse is
/// ignored rather than answered with an error.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    program: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    participant: String,
    #[serde(default)]
    clawback: String,
    #[serde(default)]
    cursor: String,
}

/// The filters as understood, shown again in the form.
#[derive(Debug, Default)]
struct Filters {
    program: Option<Program>,
    status: Option<RewardStatus>,
    kind: Option<&'static str>,
    participant: String,
    clawback: bool,
}

impl Filters {
    fn parse(query: &ListQuery, all: &[Program]) -> Self {
        let participant = query.participant.trim();
        // Ids are short and plain; anything else cannot name a participant.
        let participant = if participant.len() <= 64
            && participant.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            participant.to_string()
        } else {
            String::new()
        };
        Self {
            program: all.iter().find(|p| p.slug == query.program).cloned(),
            status: RewardStatus::parse(&query.status),
            kind: KINDS.into_iter().find(|k| *k == query.kind),
            participant,
            clawback: matches!(query.clawback.as_str(), "1" | "on" | "true"),
        }
    }

    fn storage(&self) -> RewardFilter {
        RewardFilter {
            program_id: self.program.as_ref().map(|p| p.id.clone()),
            participant_id: (!self.participant.is_empty()).then(|| self.participant.clone()),
            beneficiary: None,
            status: self.status.map(|s| s.as_str().to_string()),
            kind: self.kind.map(str::to_string),
            clawback: self.clawback,
        }
    }

    /// The query string that selects the same rewards.
    fn query(&self) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        if let Some(p) = &self.program {
            q.append_pair("program", &p.slug);
        }
        if let Some(s) = self.status {
            q.append_pair("status", s.as_str());
        }
        if let Some(k) = self.kind {
            q.append_pair("kind", k);
        }
        if !self.participant.is_empty() {
            q.append_pair("participant", &self.participant);
        }
        if self.clawback {
            q.append_pair("clawback", "1");
        }
        q.finish()
    }

    fn any(&self) -> bool {
        !self.query().is_empty()
    }
}

fn with_query(path: &str, query: &str) -> String {
    if query.is_empty() { path.to_string() } else { format!("{path}?{query}") }
}

struct ProgramOption {
    slug: String,
    name: String,
}

#[derive(Template)]
#[template(path = "admin/rewards.html")]
struct ListPage {
    layout: Layout,
    programs: Vec<ProgramOption>,
    statuses: Vec<&'static str>,
    kinds: [&'static str; 6],
    program: String,
    status: String,
    kind: String,
    participant: String,
    clawback: bool,
    filtered: bool,
    rows: Vec<RewardView>,
    csv_href: String,
    next_href: Option<String>,
    first_href: Option<String>,
}

#[get("/admin/rewards")]
pub async fn list(
    state: web::Data<AppState>,
    ctx: PageCtx,
    admin: CurrentAdmin,
    query: web::Query<ListQuery>,
) -> AppResult<HttpResponse> {
    admin.require(Permission::View)?;
    let all = programs::list(&state.db).await?;
    let filters = Filters::parse(&query, &all);
    // A cursor that does not read starts from the first page.
    let after = Cursor::decode(&query.cursor);
    let (rows, next) = rewards::rows(&state.db, filters.storage(), after, PAGE).await?;
    let described = rewards::admin::describe(&state.db, rows).await?;
    let q = filters.query();
    let page = ListPage {
        layout: ctx.layout(Some(&admin.user), Section::Rewards),
        programs: all.iter().map(|p| ProgramOption { slug: p.slug.clone(), name: p.config.name.clone() }).collect(),
        statuses: RewardStatus::ALL.iter().map(|s| s.as_str()).collect(),
        kinds: KINDS,
        program: filters.program.as_ref().map(|p| p.slug.clone()).unwrap_or_default(),
        status: filters.status.map(|s| s.as_str().to_string()).unwrap_or_default(),
        kind: filters.kind.unwrap_or_default().to_string(),
        participant: filters.participant.clone(),
        clawback: filters.clawback,
        filtered: filters.any(),
        rows: described.into_iter().map(RewardView::new).collect(),
        csv_href: with_query("/admin/rewards.csv", &q),
        next_href: next.map(|c| {
            let sep = if q.is_empty() { "" } else { "&" };
            format!("/admin/rewards?{q}{sep}cursor={}", c.encode())
        }),
        first_href: (!query.cursor.is_empty()).then(|| with_query("/admin/rewards", &q)),
    };
    ctx.render(&page)
}

/// The columns of the export, in order.
const CSV_HEADER: [&str; 30] = [
    "id",
    "program",
    "rule_id",
    "to",
    "participant_id",
    "participant_name",
    "participant_email",
    "referral_id",
    "referee_name",
    "referee_email",
    "tier",
    "status",
    "reason",
    "value_amount",
    "chosen_kind",
    "chosen_label",
    "amount",
    "currency",
    "percent",
    "coupon_code",
    "fulfilment_reference",
    "created_at",
    "available_at",
    "choose_by",
    "chosen_at",
    "use_by",
    "fulfilled_at",
    "clawback_at",
    "updated_at",
    "menu",
];

fn csv_line(out: &mut String, d: &Described) {
    let r = &d.row;
    let (p_name, p_email) = d.participant.as_ref().map(|p| (p.name.as_str(), p.email.as_str())).unwrap_or_default();
    let (e_name, e_email) = d.referee.as_ref().map(|p| (p.name.as_str(), p.email.as_str())).unwrap_or_default();
    let times = [
        Some(r.created_at),
        Some(r.available_at),
        Some(r.choose_by),
        r.chosen_at,
        r.use_by,
        r.fulfilled_at,
        r.clawback_at,
        Some(r.updated_at),
    ]
    .map(|t| t.map(format_utc).unwrap_or_default());
    let mut cells: Vec<Cell<'_>> = vec![
        Cell::from(&r.id),
        Cell::from(&d.program_slug),
        Cell::from(&r.rule_id),
        Cell::from(&r.beneficiary),
        Cell::from(&r.participant_id),
        Cell::from(p_name),
        Cell::from(p_email),
        Cell::from(r.referral_id.as_deref()),
        Cell::from(e_name),
        Cell::from(e_email),
        Cell::from(r.tier.map(i64::from)),
        Cell::from(&r.status),
        Cell::from(&r.reason),
        Cell::Number(r.value_amount),
        Cell::from(r.chosen_kind.as_deref()),
        Cell::from(r.chosen_label.as_deref()),
        Cell::from(r.amount),
        Cell::from(r.currency.as_deref()),
        Cell::from(r.percent.map(i64::from)),
        Cell::from(r.coupon_code.as_deref()),
        Cell::from(r.fulfilment_reference.as_deref()),
    ];
    cells.extend(times.iter().map(Cell::from));
    // The menu as offered, so that a reward not chosen yet still says what it is worth.
    let menu = view::menu(&r.menu).iter().map(|o| o.label.as_str()).collect::<Vec<_>>().join(" | ");
    cells.push(Cell::from(&menu));
    write_row(out, &cells);
}

/// Every reward the list's filters select, as CSV: read page by page, so
/// one query never loads the whole table at once.
#[get("/admin/rewards.csv")]
pub async fn export(
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    query: web::Query<ListQuery>,
) -> AppResult<HttpResponse> {
    admin.require(Permission::View)?;
    let all = programs::list(&state.db).await?;
    let filter = Filters::parse(&query, &all).storage();
    let mut out = String::new();
    write_row(&mut out, &CSV_HEADER.map(Cell::Text));
    let mut after = None;
    loop {
        let (rows, next) = rewards::rows(&state.db, filter.clone(), after, EXPORT_BATCH).await?;
        for d in rewards::admin::describe(&state.db, rows).await? {
            csv_line(&mut out, &d);
        }
        match next {
            Some(cursor) => after = Some(cursor),
            None => break,
        }
    }
    let day = state.clock.now_utc().date();
    Ok(download(&format!("rewards-{day}.csv"), out))
}
