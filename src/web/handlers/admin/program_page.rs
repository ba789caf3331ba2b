//! `/admin/programs/{slug}`: one program at a glance — its status and
//! links, counts, counted clicks per day as an SVG bar chart, the top
//! participants and the latest referrals, and its rewards by status with
//! the way to the rewards list, the coupon pools and the reward rules.

use actix_web::{HttpResponse, get, web};
use askama::Template;
use time::macros::format_description;

use crate::domain::Permission;
use crate::domain::program::{AttributionModel, MenuKind, ProgramStatus};
use crate::domain::reward::RewardStatus;
use crate::services::{programs, rewards, stats};
use crate::web::auth::CurrentAdmin;
use crate::web::chart::BarChart;
use crate::web::error::AppResult;
use crate::web::format::datetime;
use crate::web::page::{Layout, PageCtx, Section};
use crate::web::state::AppState;

use super::programs::status_badge;

struct StageView {
    label: &'static str,
    count: i64,
}

struct TopView {
    id: String,
    name: String,
    email: String,
    /// The participant's short link, or empty when every link is disabled.
    link: String,
    clicks: i64,
    referrals: i64,
}

struct ReferralView {
    name: String,
    email: String,
    stage: String,
    referrer_id: String,
    referrer: String,
    at: String,
}

/// How many of the program's rewards are in one status, and the list of them.
struct RewardCount {
    status: &'static str,
    count: i64,
    href: String,
}

/// A status the program can move to, as a button.
struct StatusAction {
    value: &'static str,
    label: &'static str,
    danger: bool,
}

/// One step of the funnel: click → lead → qualified → opportunity → won.
struct FunnelStep {
    label: &'static str,
    count: i64,
    /// Of the step before, in percent; empty for the first step.
    share: String,
}

#[derive(Template)]
#[template(path = "admin/program.html")]
struct ProgramPage {
    layout: Layout,
    can_manage: bool,
    name: String,
    slug: String,
    status: &'static str,
    badge: &'static str,
    archived: bool,
    destination: String,
    allowed_hosts: String,
    landing_url: String,
    window_days: u32,
    model: &'static str,
    created_at: String,
    updated_at: String,
    participants: i64,
    clicks_30d: i64,
    referrals_total: i64,
    stages: Vec<StageView>,
    funnel: Vec<FunnelStep>,
    chart: BarChart,
    /// The chart's first and last day, for its caption.
    chart_from: String,
    chart_to: String,
    top: Vec<TopView>,
    recent: Vec<ReferralView>,
    actions: Vec<StatusAction>,
    reward_counts: Vec<RewardCount>,
    rewards_total: i64,
    /// Whether a rule offers a coupon, so the pools matter.
    offers_coupons: bool,
}

fn actions_for(status: ProgramStatus) -> Vec<StatusAction> {
    let pause = StatusAction { value: "paused", label: "Pause", danger: false };
    let resume = StatusAction { value: "active", label: "Resume", danger: false };
    let archive = StatusAction { value: "archived", label: "Archive", danger: true };
    match status {
        ProgramStatus::Active => vec![pause, archive],
        ProgramStatus::Paused => vec![resume, archive],
        ProgramStatus::Archived => vec![StatusAction { label: "Restore", ..resume }],
    }
}

#[get("/admin/programs/{slug}")]
pub async fn show(
    state: web::Data<AppState>,
    ctx: PageCtx,
    admin: CurrentAdmin,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    admin.require(Permission::View)?;
    let program = programs::require(&state.db, &path).await?;
    let now = state.clock.now_utc();
    let numbers = stats::for_program(&state.db, &program, now).await?;
    let by_status = rewards::status_counts(&state.db, &program.id).await?;
    // Every status, in the order of a reward's life, with zero where none is.
    let reward_counts: Vec<RewardCount> = RewardStatus::ALL
        .into_iter()
        .map(|status| RewardCount {
            status: status.as_str(),
            count: by_status.iter().find(|(s, _)| s == status.as_str()).map(|(_, n)| *n).unwrap_or(0),
            href: format!("/admin/rewards?program={}&status={}", program.slug, status.as_str()),
        })
        .collect();

    let short = format_description!("[month repr:short] [day padding:none]");
    let long = format_description!("[year]-[month]-[day]");
    let day = |d: &time::Date, f| d.format(f).unwrap_or_else(|_| d.to_string());
    let chart = BarChart::new(
        "Counted clicks per day",
        numbers.clicks_per_day.iter().map(|(d, n)| (day(d, short), *n)).collect(),
    );
    let (chart_from, chart_to) = match (numbers.clicks_per_day.first(), numbers.clicks_per_day.last()) {
        (Some((first, _)), Some((last, _))) => (day(first, long), day(last, long)),
        _ => Default::default(),
    };
    let s = &numbers.stages;
    let mut stages = vec![
        StageView { label: "lead", count: s.lead },
        StageView { label: "qualified", count: s.qualified },
        StageView { label: "opportunity", count: s.opportunity },
        StageView { label: "won", count: s.won },
    ];
    if s.ended > 0 {
        stages.push(StageView { label: "rejected or refunded", count: s.ended });
    }
    let c = &program.config;
    let page = ProgramPage {
        layout: ctx.layout(Some(&admin.user), Section::Programs),
        can_manage: admin.user.role.can(Permission::Manage),
        clicks_30d: numbers.clicks_in_chart(),
        referrals_total: s.total(),
        stages,
        funnel: numbers
            .funnel
            .steps()
            .into_iter()
            .map(|(label, count, share)| FunnelStep {
                label,
                count,
                share: share.map(|p| format!("{p}%")).unwrap_or_default(),
            })
            .collect(),
        chart,
        chart_from,
        chart_to,
        top: numbers
            .top
            .into_iter()
            .map(|t| TopView {
                link: t.link.map(|l| state.url(&format!("/r/{}", l.code))).unwrap_or_default(),
                id: t.participant.id,
                name: t.participant.name,
                email: t.participant.email,
                clicks: t.clicks,
                referrals: t.referrals,
            })
            .collect(),
        recent: numbers
            .recent
            .into_iter()
            .map(|r| ReferralView {
                name: r.referral.referee_name,
                email: r.referral.referee_email.unwrap_or_default(),
                stage: r.referral.stage,
                referrer_id: r.referral.participant_id,
                referrer: if r.referrer_name.is_empty() { r.referrer_email } else { r.referrer_name },
                at: datetime(&r.referral.created_at),
            })
            .collect(),
        participants: numbers.participants,
        name: c.name.clone(),
        status: program.status().as_str(),
        badge: status_badge(program.status()),
        archived: program.status() == ProgramStatus::Archived,
        destination: c.destination_url.clone(),
        allowed_hosts: c.allowed_hosts.join(", "),
        landing_url: state.url(&format!("/join/{}", program.slug)),
        window_days: c.attribution.window_days,
        model: match c.attribution.model {
            AttributionModel::FirstClick => "first click",
            AttributionModel::LastClick => "last click",
        },
        created_at: datetime(&program.created_at),
        updated_at: datetime(&program.updated_at),
        actions: actions_for(program.status()),
        rewards_total: reward_counts.iter().map(|r| r.count).sum(),
        reward_counts,
        offers_coupons: c.rewards.iter().any(|r| r.menu.iter().any(|o| o.kind == MenuKind::Coupon)),
        slug: program.slug,
    };
    ctx.render(&page)
}
