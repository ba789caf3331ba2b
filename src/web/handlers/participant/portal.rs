//! `/p/{token}`: the participant portal — their link, a QR code, one-tap
//! share buttons with the program's text, clicks, referrals by stage with
//! referee names masked, progress towards the next reward, and the rewards
//! earned with their menus ([`super::portal_rewards`]).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, web};
use askama::Template;

use crate::domain::people::{first_name, mask_name};
use crate::domain::program::{Beneficiary, MenuOption, ProgramConfig, RewardTrigger, Stage};
use crate::domain::share::{self, ShareTarget, ShareValues};
use std::collections::HashMap;

use actix_web::http::StatusCode;

use crate::services::fraud::visits::{self, OwnVisit};
use crate::services::participants::Participant;
use crate::services::{participants, programs, referrals, rewards};
use crate::web::client_ip::client_ip;
use crate::web::error::AppResult;
use crate::web::format::datetime;
use crate::web::page::PageCtx;
use crate::web::qr::QrSvg;
use crate::web::state::AppState;

use super::portal_rewards::{Notice, RewardView, views};
use super::{device, not_found};

struct StageCount {
    label: &'static str,
    count: i64,
}

struct ReferralView {
    name: String,
    stage: String,
    since: String,
    /// Why it is held or was not accepted, in plain words.
    note: Option<String>,
    /// The four stages in order, each reached or not; empty when the
    /// referral ended (refunded or not accepted).
    steps: Vec<StepView>,
}

/// One stage of a referral's step indicator.
struct StepView {
    label: &'static str,
    reached: bool,
    current: bool,
}

/// The step indicator of a referral at `stage` (a stage name; ended
/// referrals get none).
fn steps(stage: &str) -> Vec<StepView> {
    let Some(current) = Stage::parse(stage) else { return Vec::new() };
    Stage::ALL
        .iter()
        .map(|s| StepView { label: stage_label(*s), reached: *s <= current, current: *s == current })
        .collect()
}

/// A reward rule in words, with progress where it is a tier.
struct RewardLine {
    text: String,
    progress: Option<(u32, u32)>,
}

#[derive(Template)]
#[template(path = "participant/portal.html")]
struct PortalPage {
    program_name: String,
    greeting: String,
    link: String,
    share_text: String,
    targets: Vec<ShareTarget>,
    qr: Option<QrSvg>,
    clicks: i64,
    stages: Vec<StageCount>,
    referrals: Vec<ReferralView>,
    rewards: Vec<RewardLine>,
    next_tier: Option<(u32, u32)>,
    /// The rewards earned so far, with their menus.
    earned: Vec<RewardView>,
    csrf: String,
}

fn stage_label(stage: Stage) -> &'static str {
    match stage {
        Stage::Lead => "Signed up",
        Stage::Qualified => "Qualified",
        Stage::Opportunity => "In talks",
        Stage::Won => "Became a customer",
    }
}

fn menu_words(menu: &[MenuOption]) -> String {
    let labels: Vec<&str> = menu.iter().map(|o| o.label.as_str()).collect();
    match labels.len() {
        0 => String::new(),
        1 => labels[0].to_string(),
        n => format!("{} or {}", labels[..n - 1].join(", "), labels[n - 1]),
    }
}

/// How the referrer's rewards read, and the tier progress given `won`.
fn reward_lines(config: &ProgramConfig, won: u32) -> Vec<RewardLine> {
    config
        .rewards
        .iter()
        .filter(|r| r.to == Beneficiary::Referrer)
        .map(|rule| match rule.when {
            RewardTrigger::Stage { stage } => RewardLine {
                text: format!(
                    "{} for each friend who reaches “{}”.",
                    menu_words(&rule.menu),
                    stage_label(stage).to_lowercase()
                ),
                progress: None,
            },
            RewardTrigger::WonCount { won_count } => RewardLine {
                text: format!("{} when {won_count} friends have become customers.", menu_words(&rule.menu)),
                progress: Some((won.min(won_count), won_count)),
            },
        })
        .collect()
}

#[get("/p/{token}")]
pub async fn show(
    req: HttpRequest,
    token: web::Path<String>,
    state: web::Data<AppState>,
    ctx: PageCtx,
) -> AppResult<HttpResponse> {
    let Some(participant) = participants::by_portal_token(&state.db, &token).await? else {
        return not_found("This portal link is not valid any more. Ask for a new one.");
    };
    // The participant's own browser: what the fraud checks compare a
    // referee's device, address and browser with.
    let (device_id, new_cookie) = device::ensure(&req, state.settings.https());
    let visit = OwnVisit {
        participant_id: participant.row.id.clone(),
        device: device_id,
        ip: client_ip(&req, &state.settings.trusted_proxies),
        user_agent: req.headers().get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("").to_string(),
    };
    if let Err(e) = visits::record(&state.db, &state.keys.ip, visit, state.clock.now_utc()).await {
        // The portal still shows; only a later check lacks this visit.
        tracing::warn!(error = %e, "a participant's visit could not be recorded");
    }
    let mut resp = render_portal(&state, &ctx, &token, participant, None, StatusCode::OK).await?;
    if let Some(cookie) = new_cookie {
        resp.add_cookie(&cookie).map_err(|e| crate::web::error::AppError::Internal(e.to_string()))?;
    }
    Ok(resp)
}

/// The portal of `participant`, with `notice` beside one of its rewards.
pub(super) async fn render_portal(
    state: &AppState,
    ctx: &PageCtx,
    token: &str,
    participant: Participant,
    notice: Option<Notice>,
    status: StatusCode,
) -> AppResult<HttpResponse> {
    let Some(program) = programs::get_by_id(&state.db, &participant.row.program_id).await? else {
        return not_found("This program has ended.");
    };
    let config = &program.config;
    let name = first_name(&participant.row.name).unwrap_or("there").to_string();
    let link = participant.link.as_ref().map(|l| state.url(&format!("/r/{}", l.code)));
    let counts = referrals::stage_counts_for_participant(&state.db, &participant.row.id).await?;
    let count_of = |stage: Stage| counts.iter().find(|(s, _)| s == stage.as_str()).map(|(_, n)| *n).unwrap_or(0);
    let won = u32::try_from(count_of(Stage::Won)).unwrap_or(u32::MAX);
    let rows = referrals::for_participant(&state.db, &participant.row.id).await?;
    let clicks = referrals::clicks_for_participant(&state.db, &participant.row.id).await?;

    let values_name = first_name(&participant.row.name).unwrap_or("").to_string();
    let offer = config.landing.referee_offer.clone();
    let (targets, share_text, qr) = match &link {
        Some(link) => {
            let text_for = |channel: &'static str, l: &str| {
                share::render(
                    config.share_template(channel),
                    &ShareValues { link: l, name: &values_name, offer: &offer },
                )
            };
            let link_for = |channel: &'static str| format!("{link}?c={channel}");
            let targets = share::targets(text_for, link_for, &config.email_subject());
            let text = text_for("copy", link);
            (targets, text, QrSvg::encode(&format!("{link}?c=qr")))
        }
        None => (Vec::new(), String::new(), None),
    };
    let referee_names: HashMap<String, String> =
        rows.iter().map(|r| (r.id.clone(), mask_name(&r.referee_name))).collect();
    let earned = rewards::for_participant(&state.db, &participant.row.id).await?;
    let earned =
        views(earned, &referee_names, state.clock.now_utc(), notice.as_ref(), |id| format!("/p/{token}/rewards/{id}"));
    let rewards = reward_lines(config, won);
    let next_tier = rewards.iter().filter_map(|r| r.progress).filter(|(done, of)| done < of).min_by_key(|(_, of)| *of);
    let page = PortalPage {
        program_name: config.name.clone(),
        greeting: name,
        link: link.unwrap_or_default(),
        share_text,
        targets,
        qr,
        clicks,
        stages: Stage::ALL.iter().map(|s| StageCount { label: stage_label(*s), count: count_of(*s) }).collect(),
        referrals: rows
            .into_iter()
            .map(|r| ReferralView {
                name: mask_name(&r.referee_name),
                stage: match r.stage.as_str() {
                    "rejected" => "Not eligible",
                    other => Stage::parse(other).map(stage_label).unwrap_or("Closed"),
                }
                .to_string(),
                since: datetime(&r.created_at),
                note: r.review_reason.clone(),
                steps: steps(&r.stage),
            })
            .collect(),
        rewards,
        next_tier,
        earned,
        csrf: ctx.csrf().to_string(),
    };
    let mut resp = ctx.render_status(status, &page)?;
    // The token in the address must not travel to the share sites; the
    // portal's own forms still need their origin sent (a POST under
    // `no-referrer` carries `Origin: null`, which the CSRF check refuses).
    resp.headers_mut().insert(header::REFERRER_POLICY, header::HeaderValue::from_static("same-origin"));
    resp.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::program::parse_config;

    #[test]
    fn reward_rules_read_as_sentences_with_tier_progress() {
        let config = parse_config(&json!({
            "name": "A", "destination_url": "https://a.example/",
            "rewards": [
                {"id": "won", "when": {"stage": "won"}, "to": "referrer",
                 "menu": [{"kind": "credit", "amount": 2000, "currency": "USD", "label": "$20 credit"},
                          {"kind": "custom", "label": "a T-shirt"}]},
                {"id": "tier3", "when": {"won_count": 3}, "to": "referrer",
                 "menu": [{"kind": "custom", "label": "A year free"}]},
                {"id": "friend", "when": {"stage": "lead"}, "to": "referee",
                 "menu": [{"kind": "custom", "label": "Welcome gift"}]}]
        }))
        .unwrap();
        let lines = reward_lines(&config, 1);
        assert_eq!(lines.len(), 2, "the referee's reward is not the participant's");
        assert_eq!(lines[0].text, "$20 credit or a T-shirt for each friend who reaches “became a customer”.");
        assert_eq!(lines[1].progress, Some((1, 3)));
    }
}
