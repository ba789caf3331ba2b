//! The rewards part of the portal: each reward with its status and reason
//! in plain words, the menu to choose from (a POST with CSRF), the coupon
//! code once chosen and the dates that matter; and the choice itself.

use std::collections::HashMap;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, post, web};
use serde::Deserialize;
use time::PrimitiveDateTime;

use crate::domain::program::{MenuKind, MenuOption};
use crate::domain::reward::{RewardStatus, day, money};
use crate::services::ServiceError;
use crate::services::participants;
use crate::services::rewards::{self, ledger, lifecycle};
use crate::storage::rewards::RewardRow;
use crate::web::csrf::CsrfForm;
use crate::web::error::AppResult;
use crate::web::page::PageCtx;
use crate::web::state::AppState;

use super::not_found;
use super::portal::render_portal;

/// A reward as its participant reads it.
pub struct RewardView {
    pub id: String,
    /// What earned it: "Jo… S. became a customer", "3 friends became customers".
    pub earned_by: String,
    /// The status word (for styling) and its label.
    pub status: &'static str,
    pub status_label: &'static str,
    pub reason: String,
    /// The menu, when it can be chosen now.
    pub options: Vec<OptionView>,
    pub chosen: Option<String>,
    pub coupon_code: Option<String>,
    /// ("Choose by", "12 Dec 2026"), …
    pub dates: Vec<(&'static str, String)>,
    /// A refusal of the last choice, beside this reward.
    pub notice: Option<String>,
    /// Where its choose form posts.
    pub action: String,
}

pub struct OptionView {
    pub index: usize,
    pub label: String,
    pub detail: String,
}

/// A message about one reward, shown beside it.
pub struct Notice {
    pub reward_id: String,
    pub message: String,
}

fn status_label(status: Option<RewardStatus>) -> &'static str {
    match status {
        Some(RewardStatus::Pending) => "On hold",
        Some(RewardStatus::Available) => "Ready to choose",
        Some(RewardStatus::Chosen) => "Chosen",
        Some(RewardStatus::Fulfilled) => "Delivered",
        Some(RewardStatus::Expired) => "Expired",
        Some(RewardStatus::Revoked) => "Revoked",
        Some(RewardStatus::Capped) => "Not issued",
        None => "Unknown",
    }
}

/// What an option gives, beside its label.
fn option_detail(option: &MenuOption) -> String {
    let amount = || option.amount.map(|a| money(a, option.currency.as_deref())).unwrap_or_default();
    match option.kind {
        MenuKind::Credit => format!("{} account credit", amount()),
        MenuKind::AmountOff => format!("{} off", amount()),
        MenuKind::PercentOff => format!("{}% off", option.percent.unwrap_or(0)),
        MenuKind::Cash => format!("{} paid to you", amount()),
        MenuKind::Coupon => "a code you get at once".into(),
        MenuKind::Custom => String::new(),
    }
}

/// The views of rewards. `referee_names` maps a referral id to the
/// referee's masked name; `action_for` gives a reward's form address.
pub fn views(
    rows: Vec<RewardRow>,
    referee_names: &HashMap<String, String>,
    now: PrimitiveDateTime,
    notice: Option<&Notice>,
    action_for: impl Fn(&str) -> String,
) -> Vec<RewardView> {
    rows.into_iter()
        .map(|r| {
            let status = r.status();
            let choosable = status == Some(RewardStatus::Available) && r.choose_by > now;
            let menu: Vec<MenuOption> = serde_json::from_str(&r.menu).unwrap_or_default();
            let options = if choosable {
                menu.iter()
                    .enumerate()
                    .map(|(index, o)| OptionView { index, label: o.label.clone(), detail: option_detail(o) })
                    .collect()
            } else {
                Vec::new()
            };
            let earned_by = match r.tier {
                Some(n) => format!("{n} friends became customers"),
                None => {
                    let name = r.referral_id.as_ref().and_then(|id| referee_names.get(id));
                    format!("Your referral of {}", name.map_or("a friend", String::as_str))
                }
            };
            let mut dates = Vec::new();
            match status {
                Some(RewardStatus::Pending) => dates.push(("Available from", day(r.available_at))),
                Some(RewardStatus::Available) => dates.push(("Choose by", day(r.choose_by))),
                _ => {}
            }
            if let Some(use_by) = r.use_by.filter(|_| r.coupon_code.is_some()) {
                dates.push(("Use by", day(use_by)));
            }
            RewardView {
                notice: notice.filter(|n| n.reward_id == r.id).map(|n| n.message.clone()),
                status: status.map_or("unknown", RewardStatus::as_str),
                status_label: status_label(status),
                reason: r.reason,
                options,
                chosen: r.chosen_label,
                coupon_code: r.coupon_code,
                dates,
                earned_by,
                action: action_for(&r.id),
                id: r.id,
            }
        })
        .collect()
}

#[derive(Deserialize)]
pub struct ChooseForm {
    option: Option<String>,
}

/// The participant chooses an option of one of their rewards. Success
/// goes back to the portal (303); a refusal shows the portal again with
/// the reason beside the reward.
#[post("/p/{token}/rewards/{id}")]
pub async fn choose(
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
    ctx: PageCtx,
    CsrfForm(form): CsrfForm<ChooseForm>,
) -> AppResult<HttpResponse> {
    let (token, reward_id) = path.into_inner();
    let Some(participant) = participants::by_portal_token(&state.db, &token).await? else {
        return not_found("This portal link is not valid any more. Ask for a new one.");
    };
    let owned = rewards::find(&state.db, &reward_id)
        .await?
        .filter(|r| r.participant_id == participant.row.id && r.beneficiary == "referrer");
    if owned.is_none() {
        return not_found("This reward is not yours, or it no longer exists.");
    }
    match choose_from_form(&state, &reward_id, form.option.as_deref()).await? {
        None => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/p/{token}#reward-{reward_id}")))
            .finish()),
        Some((status, notice)) => render_portal(&state, &ctx, &token, participant, Some(notice), status).await,
    }
}

/// Chooses option `option` (as the form sent it) of reward `reward_id`
/// for its beneficiary: `None` once chosen, or the refusal to show beside
/// the reward, with its status. Other errors pass through.
pub(super) async fn choose_from_form(
    state: &AppState,
    reward_id: &str,
    option: Option<&str>,
) -> AppResult<Option<(StatusCode, Notice)>> {
    let refuse =
        |status, message: &str| Some((status, Notice { reward_id: reward_id.to_string(), message: message.into() }));
    let Some(index) = option.and_then(|o| o.parse::<usize>().ok()) else {
        return Ok(refuse(StatusCode::UNPROCESSABLE_ENTITY, "Pick one of the options first."));
    };
    let now = state.clock.now_utc();
    match lifecycle::choose(&state.db, state.webhooks.doorbell(), reward_id, index, ledger::PARTICIPANT, now).await {
        Ok(_) => Ok(None),
        Err(ServiceError::Conflict(message)) => Ok(refuse(StatusCode::CONFLICT, &capitalise(&message))),
        Err(ServiceError::Invalid(_)) => Ok(refuse(StatusCode::UNPROCESSABLE_ENTITY, "Pick one of the options shown.")),
        Err(e) => Err(e.into()),
    }
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
