//! `/admin/rewards/{id}`: one reward, its menu and its ledger, and the
//! admin's actions on it: release a held reward early, revoke one not yet
//! delivered (with a reason the participant reads), and mark a chosen one
//! paid, delivered or fulfilled. A refusal (someone else moved it first,
//! a missing reason) comes back on this page beside what caused it.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;

use crate::domain::Permission;
use crate::domain::reward::RewardStatus;
use crate::services::ServiceError;
use crate::services::rewards::admin;
use crate::services::rewards::lifecycle::{self, Delivery};
use crate::web::auth::CurrentAdmin;
use crate::web::csrf::CsrfForm;
use crate::web::error::{AppError, AppResult};
use crate::web::flash::{Flash, redirect_with};
use crate::web::forms::FormErrors;
use crate::web::page::{Layout, PageCtx, Section};
use crate::web::state::AppState;

use super::view::{self, EntryView, OptionView, RewardView};
use crate::web::handlers::admin::session::Empty;

/// The longest fulfilment reference kept (a payment id, a note).
const MAX_REFERENCE: usize = 200;

/// How a chosen reward is marked done, by the kind chosen.
struct FulfilAction {
    /// "Mark paid", "Mark delivered", "Mark fulfilled".
    button: &'static str,
    label: &'static str,
    hint: &'static str,
    required: bool,
}

fn fulfil_action(status: Option<RewardStatus>, chosen_kind: &str) -> Option<FulfilAction> {
    if status != Some(RewardStatus::Chosen) {
        return None;
    }
    Some(match chosen_kind {
        "cash" => FulfilAction {
            button: "Mark paid",
            label: "Payment reference",
            hint: "The transfer or payout id, so that the payment can be found again.",
            required: true,
        },
        "custom" => FulfilAction {
            button: "Mark delivered",
            label: "Note",
            hint: "What was handed over, or where; kept in the ledger.",
            required: false,
        },
        "credit" | "percent_off" | "amount_off" => FulfilAction {
            button: "Mark fulfilled",
            label: "Reference",
            hint: "Where it was applied (an invoice, an account), if you want it on record. Your backend can also confirm it through the API.",
            required: false,
        },
        // A coupon is fulfilled when it is chosen; nothing is left to mark.
        _ => return None,
    })
}

#[derive(Template)]
#[template(path = "admin/reward.html")]
struct RewardPage {
    layout: Layout,
    can_manage: bool,
    reward: RewardView,
    options: Vec<OptionView>,
    entries: Vec<EntryView>,
    can_approve: bool,
    can_revoke: bool,
    fulfil: Option<FulfilAction>,
    /// What was typed, shown again beside its error.
    reason: String,
    reference: String,
    errors: FormErrors,
}

/// What a refused action typed, to show it again.
#[derive(Default)]
struct Typed {
    reason: String,
    reference: String,
}

async fn page(
    state: &AppState,
    ctx: &PageCtx,
    who: &CurrentAdmin,
    id: &str,
    typed: Typed,
    errors: FormErrors,
) -> AppResult<RewardPage> {
    let (described, entries) = admin::detail(&state.db, id).await?.ok_or(AppError::NotFound)?;
    let status = described.row.status();
    let options = view::menu(&described.row.menu).iter().map(OptionView::new).collect();
    let action = fulfil_action(status, described.row.chosen_kind.as_deref().unwrap_or_default());
    Ok(RewardPage {
        layout: ctx.layout(Some(&who.user), Section::Rewards),
        can_manage: who.user.role.can(Permission::Manage),
        can_approve: status == Some(RewardStatus::Pending),
        can_revoke: status.is_some_and(RewardStatus::revocable),
        fulfil: action,
        reward: RewardView::new(described),
        options,
        entries: entries.into_iter().map(EntryView::from).collect(),
        reason: typed.reason,
        reference: typed.reference,
        errors,
    })
}

fn reward_path(id: &str) -> String {
    format!("/admin/rewards/{id}")
}

#[get("/admin/rewards/{id}")]
pub async fn show(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: CurrentAdmin,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    who.require(Permission::View)?;
    let page = page(&state, &ctx, &who, &path, Typed::default(), FormErrors::new()).await?;
    ctx.render(&page)
}

/// The page again with a refusal: a missing or bad field beside its input
/// (422), a move someone else made first or a wrong status at the top (409).
async fn refused(
    state: &AppState,
    ctx: &PageCtx,
    who: &CurrentAdmin,
    id: &str,
    typed: Typed,
    e: ServiceError,
) -> AppResult<HttpResponse> {
    let status = match &e {
        ServiceError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
        ServiceError::Conflict(_) => StatusCode::CONFLICT,
        _ => StatusCode::FORBIDDEN,
    };
    let errors = FormErrors::from_service(e)?;
    let page = page(state, ctx, who, id, typed, errors).await?;
    ctx.render_status(status, &page)
}

fn done(state: &AppState, id: &str, message: String) -> HttpResponse {
    redirect_with(&reward_path(id), Flash::success(message), &state.keys, state.settings.https())
}

#[post("/admin/rewards/{id}/approve")]
pub async fn approve(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: CurrentAdmin,
    path: web::Path<String>,
    CsrfForm(_): CsrfForm<Empty>,
) -> AppResult<HttpResponse> {
    who.require(Permission::Manage)?;
    let id = path.into_inner();
    let now = state.clock.now_utc();
    match lifecycle::approve_early(&state.db, state.webhooks.doorbell(), &id, who.user.email.clone(), now).await {
        Ok(row) => Ok(done(&state, &id, format!("Released early. The participant now reads: {}.", row.reason))),
        Err(e) => refused(&state, &ctx, &who, &id, Typed::default(), e).await,
    }
}

#[derive(Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    reason: String,
}

#[post("/admin/rewards/{id}/revoke")]
pub async fn revoke(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: CurrentAdmin,
    path: web::Path<String>,
    CsrfForm(form): CsrfForm<RevokeForm>,
) -> AppResult<HttpResponse> {
    who.require(Permission::Manage)?;
    let id = path.into_inner();
    let now = state.clock.now_utc();
    let doorbell = state.webhooks.doorbell();
    match lifecycle::revoke(&state.db, doorbell, &id, form.reason.clone(), who.user.email.clone(), now).await {
        Ok(row) => Ok(done(&state, &id, format!("Revoked. The participant now reads: {}.", row.reason))),
        Err(e) => refused(&state, &ctx, &who, &id, Typed { reason: form.reason, ..Typed::default() }, e).await,
    }
}

#[derive(Deserialize)]
pub struct FulfilForm {
    #[serde(default)]
    reference: String,
}

/// The reference as kept: trimmed, one line, bounded; required for cash.
fn parse_reference(raw: &str, required: bool) -> Result<Option<String>, ServiceError> {
    let reference = raw.trim();
    if reference.is_empty() {
        return if required {
            Err(ServiceError::invalid("reference", "give the payment reference, so that the payment can be traced"))
        } else {
            Ok(None)
        };
    }
    if reference.chars().count() > MAX_REFERENCE || reference.contains(['\r', '\n']) {
        return Err(ServiceError::invalid("reference", format!("use one line of at most {MAX_REFERENCE} characters")));
    }
    Ok(Some(reference.to_string()))
}

#[post("/admin/rewards/{id}/fulfil")]
pub async fn fulfil(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: CurrentAdmin,
    path: web::Path<String>,
    CsrfForm(form): CsrfForm<FulfilForm>,
) -> AppResult<HttpResponse> {
    who.require(Permission::Manage)?;
    let id = path.into_inner();
    let typed = || Typed { reference: form.reference.clone(), ..Typed::default() };
    let (described, _) = admin::detail(&state.db, &id).await?.ok_or(AppError::NotFound)?;
    let kind = described.row.chosen_kind.clone().unwrap_or_default();
    // Whether a reference is required depends on what was chosen; a reward
    // not (or no longer) chosen is refused by the service in plain words.
    let required = fulfil_action(described.row.status(), &kind).is_some_and(|a| a.required);
    let reference = match parse_reference(&form.reference, required) {
        Ok(reference) => reference,
        Err(e) => return refused(&state, &ctx, &who, &id, typed(), e).await,
    };
    let now = state.clock.now_utc();
    let doorbell = state.webhooks.doorbell();
    match lifecycle::fulfil(&state.db, doorbell, &id, Delivery { reference, actor: who.user.email.clone() }, now).await
    {
        Ok(_) => {
            let what = match kind.as_str() {
                "cash" => "Marked paid",
                "custom" => "Marked delivered",
                _ => "Marked fulfilled",
            };
            Ok(done(&state, &id, format!("{what}; the ledger records it under your name.")))
        }
        Err(e) => refused(&state, &ctx, &who, &id, typed(), e).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cash_needs_a_reference_and_others_take_one_if_given() {
        assert!(parse_reference("  ", true).is_err());
        assert_eq!(parse_reference("  ", false).unwrap(), None);
        assert_eq!(parse_reference(" tx-42 ", true).unwrap().as_deref(), Some("tx-42"));
        assert!(parse_reference("a\nb", false).is_err());
        assert!(parse_reference(&"x".repeat(MAX_REFERENCE + 1), false).is_err());
    }

    #[test]
    fn what_a_chosen_reward_is_marked_depends_on_its_kind() {
        let chosen = Some(RewardStatus::Chosen);
        assert_eq!(fulfil_action(chosen, "cash").map(|a| (a.button, a.required)), Some(("Mark paid", true)));
        assert_eq!(fulfil_action(chosen, "custom").map(|a| a.button), Some("Mark delivered"));
        assert_eq!(fulfil_action(chosen, "percent_off").map(|a| a.button), Some("Mark fulfilled"));
        assert!(fulfil_action(chosen, "coupon").is_none());
        assert!(fulfil_action(Some(RewardStatus::Available), "cash").is_none());
    }
}
