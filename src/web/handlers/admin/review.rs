//! `/admin/review`: the review queue — held referrals oldest first, each
//! with the checks' evidence beside the referrer's own history — and the
//! reviewer's decisions, one referral at a time (from the queue or from a
//! referral's page) or several at once. A decision refused for a field
//! comes back beside that field (422); one that someone else made first is
//! told in a flash.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;

use crate::domain::Permission;
use crate::domain::fraud::Check;
use crate::domain::review::{Decision, ReasonCode, Review};
use crate::services::ServiceError;
use crate::services::fraud::review::{self, Case, QUEUE_PAGE, Verdict};
use crate::services::programs;
use crate::storage::fraud::{DecisionRow, FindingRow};
use crate::storage::referrals::ReferralRow;
use crate::web::auth::CurrentAdmin;
use crate::web::csrf::CsrfForm;
use crate::web::error::{AppError, AppResult};
use crate::web::flash::{Flash, redirect_with};
use crate::web::format::datetime;
use crate::web::forms::FormErrors;
use crate::web::page::{Layout, PageCtx, Section};
use crate::web::state::AppState;

use super::referrals::{self as referral_page, referee_label};

/// Where in the queue the reviewer is: a program's slug (or every
/// program) and a page counted from 1.
#[derive(Debug, Clone, Default)]
struct QueueAt {
    program: String,
    page: i64,
}

impl QueueAt {
    fn parse(program: &str, page: &str) -> Self {
        let page = page.trim().parse::<i64>().ok().filter(|p| *p >= 1).unwrap_or(1).min(1_000_000);
        Self { program: program.trim().to_string(), page }
    }

    /// The queue at this place: always a path of this site.
    fn href(&self) -> String {
        let program: String = url::form_urlencoded::byte_serialize(self.program.as_bytes()).collect();
        format!("/admin/review?program={program}&page={}", self.page)
    }
}

/// The value a form sends for `decision`.
fn verb(decision: Decision) -> &'static str {
    match decision {
        Decision::Approve => "approve",
        Decision::Reject => "reject",
        Decision::Reinstate => "reinstate",
    }
}

/// A check as the reviewer reads it.
fn check_label(name: &str) -> &str {
    match Check::parse(name) {
        Some(check) => check.label(),
        None => name,
    }
}

/// What a check found, for the queue and the referral page.
pub(super) struct FindingView {
    pub check: String,
    pub action: String,
    pub evidence: String,
}

impl From<&FindingRow> for FindingView {
    fn from(f: &FindingRow) -> Self {
        Self { check: check_label(&f.check_name).to_string(), action: f.action.clone(), evidence: f.evidence.clone() }
    }
}

/// A decision already made, for the referral page.
pub(super) struct DecisionView {
    pub at: String,
    pub actor: String,
    pub decision: String,
    pub reason: String,
    pub note: String,
}

impl From<&DecisionRow> for DecisionView {
    fn from(d: &DecisionRow) -> Self {
        Self {
            at: datetime(&d.at),
            actor: d.actor.clone(),
            decision: d.decision.clone(),
            reason: ReasonCode::parse(&d.reason_code).map_or_else(|| d.reason_code.clone(), |r| r.label().to_string()),
            note: d.note.clone(),
        }
    }
}

/// A decision the service refused for a field, typed as it was sent.
pub(super) struct Refused {
    pub id: String,
    pub decision: Decision,
    pub reason: String,
    pub note: String,
    pub errors: FormErrors,
}

pub(super) struct ReasonOption {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

fn reason_options(decision: Decision, typed: &str) -> Vec<ReasonOption> {
    decision
        .reasons()
        .iter()
        .map(|r| ReasonOption { value: r.as_str(), label: r.label(), selected: r.as_str() == typed })
        .collect()
}

/// One decision's form (approve, reject or reinstate) for one referral.
pub(super) struct DecisionForm {
    /// Prefix of the controls' ids, unique on the page.
    pub dom: String,
    pub decision: &'static str,
    pub title: &'static str,
    pub hint: &'static str,
    pub danger: bool,
    pub reasons: Vec<ReasonOption>,
    pub note: String,
    pub reason_error: Option<String>,
    pub note_error: Option<String>,
}

impl DecisionForm {
    fn new(decision: Decision, dom: &str, id: &str, refused: Option<&Refused>) -> Self {
        let typed = refused.filter(|r| r.id == id && r.decision == decision);
        let (title, hint) = match decision {
            Decision::Approve => ("Approve", "It goes ahead; its rewards leave the review hold."),
            Decision::Reject => (
                "Reject",
                "It becomes rejected and rewards not chosen yet are revoked; the participant reads “not eligible”.",
            ),
            Decision::Reinstate => (
                "Reinstate",
                "It returns to the furthest stage it reached; revoked rewards are held again until their date.",
            ),
        };
        Self {
            dom: format!("{dom}-{}", verb(decision)),
            decision: verb(decision),
            title,
            hint,
            danger: decision == Decision::Reject,
            reasons: reason_options(decision, typed.map_or("", |t| t.reason.as_str())),
            note: typed.map(|t| t.note.clone()).unwrap_or_default(),
            reason_error: typed.and_then(|t| t.errors.get("reason")).map(str::to_string),
            note_error: typed.and_then(|t| t.errors.get("note")).map(str::to_string),
        }
    }
}

/// The decisions open to a referral in `review`, for its page.
pub(super) fn forms_for(review: &str, id: &str, refused: Option<&Refused>) -> Vec<DecisionForm> {
    let decisions: &[Decision] = match Review::parse(review) {
        Some(Review::Held | Review::Flagged) => &[Decision::Approve, Decision::Reject],
        Some(Review::Rejected) => &[Decision::Reinstate],
        Some(Review::Clear | Review::Approved) | None => &[Decision::Reject],
    };
    decisions.iter().map(|d| DecisionForm::new(*d, "review", id, refused)).collect()
}

struct ProgramOption {
    slug: String,
    name: String,
}

struct ReferrerView {
    id: String,
    name: String,
    email: String,
    since: String,
}

struct LatestView {
    id: String,
    at: String,
    referee: String,
    stage: String,
    review: String,
}

struct CaseView {
    id: String,
    dom: String,
    referee_name: String,
    referee_email: String,
    program_name: String,
    created_at: String,
    stage: String,
    referrer: Option<ReferrerView>,
    findings: Vec<FindingView>,
    by_review: Vec<(String, i64)>,
    by_stage: Vec<(String, i64)>,
    latest: Vec<LatestView>,
    forms: Vec<DecisionForm>,
    /// Ticked for the bulk decision (kept when that form comes back).
    selected: bool,
}

impl CaseView {
    fn new(case: Case, refused: Option<&Refused>, selected: &[String]) -> Self {
        let r = &case.referral;
        let dom = format!("c-{}", r.id);
        let forms = [Decision::Approve, Decision::Reject]
            .into_iter()
            .map(|d| DecisionForm::new(d, &dom, &r.id, refused))
            .collect();
        let latest = |l: &ReferralRow| LatestView {
            id: l.id.clone(),
            at: datetime(&l.created_at),
            referee: referee_label(l),
            stage: l.stage.clone(),
            review: l.review.clone(),
        };
        Self {
            selected: selected.contains(&r.id),
            referee_name: if r.referee_name.is_empty() { referee_label(r) } else { r.referee_name.clone() },
            referee_email: r.referee_email.clone().unwrap_or_default(),
            program_name: case.program_name.clone(),
            created_at: datetime(&r.created_at),
            stage: r.stage.clone(),
            referrer: case.referrer.as_ref().map(|p| ReferrerView {
                id: p.id.clone(),
                name: p.name.clone(),
                email: p.email.clone(),
                since: datetime(&p.created_at),
            }),
            findings: case.findings.iter().map(FindingView::from).collect(),
            by_review: case.history.by_review.clone(),
            by_stage: case.history.by_stage.clone(),
            latest: case.history.latest.iter().map(latest).collect(),
            forms,
            id: r.id.clone(),
            dom,
        }
    }
}

/// The bulk form as it was sent, to show it again with its errors.
#[derive(Default)]
struct BulkForm {
    ids: Vec<String>,
    decision: String,
    reason: String,
    note: String,
    program: String,
    page: String,
}

impl BulkForm {
    /// Read from the body's pairs: `ids` comes once per ticked referral.
    fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut form = Self::default();
        for (name, value) in pairs {
            match name.as_str() {
                "ids" if !value.is_empty() && !form.ids.contains(&value) => form.ids.push(value),
                "decision" => form.decision = value,
                "reason" => form.reason = value,
                "note" => form.note = value,
                "program" => form.program = value,
                "page" => form.page = value,
                _ => {}
            }
        }
        form
    }
}

struct BulkView {
    decision: String,
    approve_reasons: Vec<ReasonOption>,
    reject_reasons: Vec<ReasonOption>,
    note: String,
    errors: FormErrors,
}

#[derive(Template)]
#[template(path = "admin/review.html")]
struct QueuePage {
    layout: Layout,
    programs: Vec<ProgramOption>,
    program: String,
    page: i64,
    pages: i64,
    total: i64,
    cases: Vec<CaseView>,
    /// A refused decision on a referral that is not on this page.
    general: Option<String>,
    bulk: BulkView,
    prev_href: Option<String>,
    next_href: Option<String>,
}

async fn queue_page(
    state: &AppState,
    ctx: &PageCtx,
    who: &CurrentAdmin,
    mut at: QueueAt,
    refused: Option<&Refused>,
    bulk: Option<(BulkForm, FormErrors)>,
) -> AppResult<QueuePage> {
    let all = programs::list(&state.db).await?;
    let program = all.iter().find(|p| p.slug == at.program);
    at.program = program.map(|p| p.slug.clone()).unwrap_or_default();
    let program_id = program.map(|p| p.id.clone());
    let (mut cases, total) = review::queue(&state.db, program_id.clone(), at.page - 1).await?;
    let pages = ((total + QUEUE_PAGE - 1) / QUEUE_PAGE).max(1);
    // Past the end (the last page was just decided): show the last one.
    if cases.is_empty() && at.page > pages {
        at.page = pages;
        cases = review::queue(&state.db, program_id, at.page - 1).await?.0;
    }
    let general = refused.filter(|r| !cases.iter().any(|c| c.referral.id == r.id)).map(|r| {
        let why = ["reason", "note"].iter().find_map(|f| r.errors.get(f)).unwrap_or("it could not be saved");
        format!("The decision on referral {} was not saved: {why}.", r.id)
    });
    let (typed, errors) = bulk.unwrap_or_default();
    let cases = cases.into_iter().map(|c| CaseView::new(c, refused, &typed.ids)).collect();
    let page_href = |page: i64| QueueAt { program: at.program.clone(), page }.href();
    Ok(QueuePage {
        layout: ctx.layout(Some(&who.user), Section::Review),
        programs: all.iter().map(|p| ProgramOption { slug: p.slug.clone(), name: p.config.name.clone() }).collect(),
        prev_href: (at.page > 1).then(|| page_href(at.page - 1)),
        next_href: (at.page < pages).then(|| page_href(at.page + 1)),
        program: at.program,
        page: at.page,
        pages,
        total,
        cases,
        general,
        bulk: BulkView {
            approve_reasons: reason_options(Decision::Approve, &typed.reason),
            reject_reasons: reason_options(Decision::Reject, &typed.reason),
            decision: typed.decision,
            note: typed.note,
            errors,
        },
    })
}

#[derive(Deserialize)]
pub struct QueueQuery {
    #[serde(default)]
    program: String,
    #[serde(default)]
    page: String,
}

#[get("/admin/review")]
pub async fn queue(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: CurrentAdmin,
    query: web::Query<QueueQuery>,
) -> AppResult<HttpResponse> {
    who.require(Permission::Review)?;
    let at = QueueAt::parse(&query.program, &query.page);
    let page = queue_page(&state, &ctx, &who, at, None, None).await?;
    ctx.render(&page)
}

#[derive(Deserialize)]
pub struct DecideForm {
    #[serde(default)]
    decision: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    note: String,
    /// `referral` when sent from the referral's page; else the queue.
    #[serde(default)]
    from: String,
    #[serde(default)]
    program: String,
    #[serde(default)]
    page: String,
}

/// What the flash says after a decision.
fn decided(decision: Decision, row: &ReferralRow) -> String {
    let who = referee_label(row);
    match decision {
        Decision::Approve => format!("Approved the referral of {who}; its rewards leave the review hold."),
        Decision::Reject => format!(
            "Rejected the referral of {who}. The participant reads: {}.",
            row.review_reason.as_deref().unwrap_or("not eligible")
        ),
        Decision::Reinstate => format!("Reinstated the referral of {who}; it is back at the stage {}.", row.stage),
    }
}

#[post("/admin/review/{id}")]
pub async fn decide(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: CurrentAdmin,
    path: web::Path<String>,
    CsrfForm(form): CsrfForm<DecideForm>,
) -> AppResult<HttpResponse> {
    who.require(Permission::Review)?;
    let id = path.into_inner();
    let decision = Decision::parse(&form.decision)
        .ok_or_else(|| AppError::BadRequest("Choose approve, reject or reinstate.".into()))?;
    let from_referral = form.from == "referral";
    let at = QueueAt::parse(&form.program, &form.page);
    let back = if from_referral {
        let id: String = url::form_urlencoded::byte_serialize(id.as_bytes()).collect();
        format!("/admin/referrals/{id}")
    } else {
        at.href()
    };
    let result = match Verdict::parse(decision, &form.reason, &form.note, who.user.email.clone()) {
        Ok(verdict) => review::decide(&state.db, state.webhooks.doorbell(), &id, verdict, state.clock.now_utc()).await,
        Err(e) => Err(e),
    };
    let secure = state.settings.https();
    match result {
        Ok(row) => Ok(redirect_with(&back, Flash::success(decided(decision, &row)), &state.keys, secure)),
        Err(ServiceError::Conflict(why)) => {
            let text = format!("Nothing was changed: {why}. Someone may have decided it meanwhile.");
            Ok(redirect_with(&back, Flash::error(text), &state.keys, secure))
        }
        Err(e @ ServiceError::Invalid(_)) => {
            let errors = FormErrors::from_service(e)?;
            let refused = Refused { id, decision, reason: form.reason, note: form.note, errors };
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            if from_referral {
                referral_page::render(&state, &ctx, &who, &refused.id, status, Some(&refused)).await
            } else {
                let page = queue_page(&state, &ctx, &who, at, Some(&refused), None).await?;
                ctx.render_status(status, &page)
            }
        }
        Err(e) => Err(e.into()),
    }
}

#[post("/admin/review")]
pub async fn decide_many(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: CurrentAdmin,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> AppResult<HttpResponse> {
    who.require(Permission::Review)?;
    let form = BulkForm::from_pairs(pairs);
    let at = QueueAt::parse(&form.program, &form.page);
    let mut errors = FormErrors::new();
    if form.ids.is_empty() {
        errors.add("ids", "tick at least one referral in the list");
    } else if form.ids.len() as i64 > QUEUE_PAGE {
        errors.add("ids", format!("decide at most {QUEUE_PAGE} at once"));
    }
    let verdict = match Decision::parse(&form.decision) {
        Some(decision @ (Decision::Approve | Decision::Reject)) => {
            match Verdict::parse(decision, &form.reason, &form.note, who.user.email.clone()) {
                Ok(verdict) => Some(verdict),
                Err(ServiceError::Invalid(found)) => {
                    found.into_iter().for_each(|f| errors.add(&f.field, f.message));
                    None
                }
                Err(e) => return Err(e.into()),
            }
        }
        _ => {
            errors.add("decision", "choose approve or reject");
            None
        }
    };
    let Some(verdict) = verdict.filter(|_| errors.is_empty()) else {
        let page = queue_page(&state, &ctx, &who, at, None, Some((form, errors))).await?;
        return ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    let done =
        review::decide_many(&state.db, state.webhooks.doorbell(), &form.ids, &verdict, state.clock.now_utc()).await?;
    let flash = if done.refused.is_empty() {
        Flash::success(format!("{} decided.", done.decided))
    } else {
        let refused: Vec<String> = done.refused.iter().map(|(id, why)| format!("{why} (referral {id})")).collect();
        let text = format!("{} decided, {} refused: {}.", done.decided, done.refused.len(), refused.join("; "));
        if done.decided == 0 { Flash::error(text) } else { Flash::success(text) }
    };
    Ok(redirect_with(&at.href(), flash, &state.keys, state.settings.https()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_queue_place_is_read_leniently_and_always_leads_back_into_the_queue() {
        let at = QueueAt::parse(" acme ", "3");
        assert_eq!(at.href(), "/admin/review?program=acme&page=3");
        assert_eq!(QueueAt::parse("", "0").page, 1);
        assert_eq!(QueueAt::parse("", "x").page, 1);
        let odd = QueueAt::parse("//evil.example/&x=1", "2");
        assert!(odd.href().starts_with("/admin/review?program=%2F%2Fevil.example%2F%26x%3D1&"), "{}", odd.href());
    }

    #[test]
    fn the_bulk_form_keeps_every_ticked_referral_once() {
        let pairs = [("ids", "a"), ("ids", "b"), ("ids", "a"), ("ids", ""), ("decision", "reject"), ("note", "n")];
        let form = BulkForm::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect());
        assert_eq!(form.ids, ["a", "b"]);
        assert_eq!((form.decision.as_str(), form.note.as_str()), ("reject", "n"));
    }

    #[test]
    fn a_referral_page_offers_the_decisions_its_review_allows() {
        let offered = |review| forms_for(review, "r", None).iter().map(|f| f.decision).collect::<Vec<_>>();
        assert_eq!(offered("held"), ["approve", "reject"]);
        assert_eq!(offered("flagged"), ["approve", "reject"]);
        assert_eq!(offered("rejected"), ["reinstate"]);
        assert_eq!(offered("clear"), ["reject"]);
        assert_eq!(offered("approved"), ["reject"]);
    }
}
