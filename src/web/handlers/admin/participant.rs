//! `/admin/participants/{id}`: one participant — details, portal link,
//! links (add, disable, enable), clicks by channel, referrals by stage,
//! and the rewards their referrals earned with the ledger of every step.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;

use crate::domain::Permission;
use crate::services::links;
use crate::services::participant_overview::{self, Overview};
use crate::services::participants;
use crate::services::programs;
use crate::services::rewards;
use crate::web::auth::CurrentAdmin;
use crate::web::csrf::CsrfForm;
use crate::web::error::{AppError, AppResult};
use crate::web::flash::{Flash, redirect_with};
use crate::web::format::{datetime, datetime_or_dash};
use crate::web::forms::FormErrors;
use crate::web::page::{Layout, PageCtx, Section};
use crate::web::state::AppState;

use super::rewards::view::{EntryView, RewardView};
use super::session::Empty;

/// Stages in the order a referral moves through them, then the two ends
/// off the path; each is shown, with zero when it has no referrals.
const STAGES: [&str; 6] = ["lead", "qualified", "opportunity", "won", "rejected", "refunded"];

struct LinkView {
    id: String,
    code: String,
    url: String,
    vanity: bool,
    disabled: bool,
    disabled_at: String,
    created_at: String,
}

/// Clicks through one channel (`?c=…`), counted from the per-day totals.
struct ChannelView {
    channel: String,
    clicks: i64,
    counted: i64,
    last_day: String,
}

struct ReferralView {
    name: String,
    email: String,
    stage: String,
    created_at: String,
}

struct StageCount {
    stage: &'static str,
    count: i64,
}

#[derive(Template)]
#[template(path = "admin/participant.html")]
struct ParticipantPage {
    layout: Layout,
    can_manage: bool,
    id: String,
    name: String,
    email: String,
    external_id: String,
    timezone: String,
    created_at: String,
    program_slug: String,
    program_name: String,
    portal_url: String,
    links: Vec<LinkView>,
    channels: Vec<ChannelView>,
    counted_clicks: i64,
    referrals: Vec<ReferralView>,
    stages: Vec<StageCount>,
    /// Rewards their referrals earned (theirs and their referees'), newest first.
    rewards: Vec<RewardView>,
    /// Every step of those rewards, newest first.
    ledger: Vec<EntryView>,
    /// Rewards with a refund after the hold, to follow up.
    clawbacks: usize,
    /// The vanity code typed into "Add a link", shown again beside its error.
    code: String,
    errors: FormErrors,
}

async fn page(
    state: &AppState,
    ctx: &PageCtx,
    admin: &CurrentAdmin,
    id: &str,
    code: String,
    errors: FormErrors,
) -> AppResult<ParticipantPage> {
    let Overview { participant: p, program, portal_token, links, channels, counted_clicks, referrals, stage_counts } =
        participant_overview::overview(&state.db, &state.keys, id).await?.ok_or(AppError::NotFound)?;
    let (reward_rows, entries) = rewards::ledger_for_participant(&state.db, id).await?;
    let earned: Vec<RewardView> =
        rewards::admin::describe(&state.db, reward_rows).await?.into_iter().map(RewardView::new).collect();
    Ok(ParticipantPage {
        layout: ctx.layout(Some(&admin.user), Section::Programs),
        can_manage: admin.user.role.can(Permission::Manage),
        portal_url: state.url(&format!("/p/{portal_token}")),
        links: links
            .into_iter()
            .map(|l| LinkView {
                url: state.url(&format!("/r/{}", l.code)),
                id: l.id,
                code: l.code,
                vanity: l.is_vanity,
                disabled: l.disabled_at.is_some(),
                disabled_at: datetime_or_dash(l.disabled_at.as_ref()),
                created_at: datetime(&l.created_at),
            })
            .collect(),
        // Totals only: no click's IP hash or user agent reaches the page;
        // the admin needs how many and where from, not who.
        channels: channels
            .into_iter()
            .map(|c| ChannelView {
                channel: c.channel,
                clicks: c.clicks,
                counted: c.counted,
                last_day: c.last_day.to_string(),
            })
            .collect(),
        counted_clicks,
        referrals: referrals
            .into_iter()
            .map(|r| ReferralView {
                name: r.referee_name,
                email: r.referee_email.unwrap_or_default(),
                stage: r.stage,
                created_at: datetime(&r.created_at),
            })
            .collect(),
        stages: STAGES
            .iter()
            .map(|s| StageCount {
                stage: s,
                count: stage_counts.iter().find(|(stage, _)| stage == s).map(|(_, n)| *n).unwrap_or(0),
            })
            .collect(),
        clawbacks: earned.iter().filter(|r| r.clawback_at.is_some()).count(),
        rewards: earned,
        ledger: entries.into_iter().map(EntryView::from).collect(),
        id: p.id,
        name: p.name,
        email: p.email,
        external_id: p.external_id.unwrap_or_default(),
        timezone: p.timezone.unwrap_or_default(),
        created_at: datetime(&p.created_at),
        program_slug: program.slug,
        program_name: program.config.name,
        code,
        errors,
    })
}

fn participant_path(id: &str) -> String {
    format!("/admin/participants/{id}")
}

#[get("/admin/participants/{id}")]
pub async fn show(
    state: web::Data<AppState>,
    ctx: PageCtx,
    admin: CurrentAdmin,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    admin.require(Permission::View)?;
    let page = page(&state, &ctx, &admin, &path, String::new(), FormErrors::new()).await?;
    // The page carries the portal link, a bearer credential: keep it out of caches.
    ctx.render(&page).map(|mut r| {
        r.headers_mut().insert(
            actix_web::http::header::CACHE_CONTROL,
            actix_web::http::header::HeaderValue::from_static("no-store"),
        );
        r
    })
}

#[post("/admin/participants/{id}/portal/reset")]
pub async fn reset_portal(
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    path: web::Path<String>,
    CsrfForm(_): CsrfForm<Empty>,
) -> AppResult<HttpResponse> {
    admin.require(Permission::Manage)?;
    let now = state.clock.now_utc();
    participants::reset_portal(&state.db, &state.keys, admin.user.email.clone(), &path, now).await?;
    Ok(redirect_with(
        &participant_path(&path),
        Flash::success("The portal has a new link; the old one no longer opens it."),
        &state.keys,
        state.settings.https(),
    ))
}

#[derive(Deserialize)]
pub struct AddLinkForm {
    #[serde(default)]
    code: String,
}

#[post("/admin/participants/{id}/links")]
pub async fn add_link(
    state: web::Data<AppState>,
    ctx: PageCtx,
    admin: CurrentAdmin,
    path: web::Path<String>,
    CsrfForm(form): CsrfForm<AddLinkForm>,
) -> AppResult<HttpResponse> {
    admin.require(Permission::Manage)?;
    let id = path.into_inner();
    let (participant, _) = participants::get(&state.db, &state.keys, &id).await?.ok_or(AppError::NotFound)?;
    let vanity = match links::parse_vanity(Some(&form.code)) {
        Ok(vanity) => vanity,
        Err(e) => {
            let mut errors = FormErrors::new();
            errors.add("code", e);
            let page = page(&state, &ctx, &admin, &id, form.code, errors).await?;
            return ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let program = programs::get_by_id(&state.db, &participant.row.program_id).await?.ok_or(AppError::NotFound)?;
    let now = state.clock.now_utc();
    match links::add(&state.db, &state.links, admin.user.email.clone(), &program, id.clone(), vanity, now).await {
        Ok(link) => Ok(redirect_with(
            &participant_path(&id),
            Flash::success(format!("The link {} is live.", state.url(&format!("/r/{}", link.code)))),
            &state.keys,
            state.settings.https(),
        )),
        Err(e) => {
            // A taken code comes back as an error on the `code` field.
            let errors = FormErrors::from_service(e)?;
            let page = page(&state, &ctx, &admin, &id, form.code, errors).await?;
            ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
    }
}

async fn set_disabled(
    state: &AppState,
    admin: &CurrentAdmin,
    link_id: String,
    disabled: bool,
) -> AppResult<HttpResponse> {
    let now = state.clock.now_utc();
    let link = links::set_disabled(&state.db, &state.links, admin.user.email.clone(), link_id, disabled, now).await?;
    let text = if disabled {
        format!("The link {} is disabled: it now answers “not found”.", link.code)
    } else {
        format!("The link {} works again.", link.code)
    };
    Ok(redirect_with(
        &participant_path(&link.participant_id),
        Flash::success(text),
        &state.keys,
        state.settings.https(),
    ))
}

#[post("/admin/links/{id}/disable")]
pub async fn disable_link(
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    path: web::Path<String>,
    CsrfForm(_): CsrfForm<Empty>,
) -> AppResult<HttpResponse> {
    admin.require(Permission::Manage)?;
    set_disabled(&state, &admin, path.into_inner(), true).await
}

#[post("/admin/links/{id}/enable")]
pub async fn enable_link(
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    path: web::Path<String>,
    CsrfForm(_): CsrfForm<Empty>,
) -> AppResult<HttpResponse> {
    admin.require(Permission::Manage)?;
    set_disabled(&state, &admin, path.into_inner(), false).await
}
