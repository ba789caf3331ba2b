//! Rewards for the business's systems: `GET /api/v1/rewards` (a page at a
//! time) and `GET /api/v1/rewards/{id}`, `POST /api/v1/rewards/{id}/fulfil` (the business delivered it),
//! `POST /api/v1/rewards/{id}/choose` (a choice made in the business's own
//! pages, e.g. a referee's) and `POST /api/v1/programs/{program}/coupons`.

use std::collections::HashMap;

use actix_web::{HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::FieldError;
use crate::domain::reward::{CouponBatch, RewardStatus};
use crate::services::programs;
use crate::services::rewards::json::RewardJson;
use crate::services::rewards::lifecycle::{self, Delivery};
use crate::services::rewards::{self, ledger};
use crate::storage::rewards::RewardFilter;
use crate::web::auth::ApiAuth;
use crate::web::error::{ApiError, ApiResult};
use crate::web::state::AppState;

use super::body::typed;
use super::paging::paging;

#[derive(Serialize)]
struct Page {
    data: Vec<RewardJson>,
    next: Option<String>,
}

/// `?program=&participant=&to=&status=&cursor=&limit=`; `participant` is
/// a participant id, or (with `program`) their external id: the rewards
/// their referrals earned, theirs and their referees' (`to` tells which).
#[get("/api/v1/rewards")]
pub async fn list(
    _auth: ApiAuth,
    query: web::Query<HashMap<String, String>>,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let mut errors = Vec::new();
    let mut filter = RewardFilter::default();
    if let Some(slug) = query.get("program") {
        match programs::get(&state.db, slug).await? {
            Some(program) => filter.program_id = Some(program.id),
            None => errors.push(FieldError::new("program", "is not a program")),
        }
    }
    if let Some(who) = query.get("participant") {
        let by_external = match &filter.program_id {
            Some(program_id) => rewards::participant_by_external_id(&state.db, program_id, who).await?,
            None => None,
        };
        filter.participant_id = Some(by_external.unwrap_or_else(|| who.clone()));
    }
    if let Some(to) = query.get("to") {
        match to.as_str() {
            "referrer" | "referee" => filter.beneficiary = Some(to.clone()),
            _ => errors.push(FieldError::new("to", "must be referrer or referee")),
        }
    }
    if let Some(status) = query.get("status") {
        match RewardStatus::parse(status) {
            Some(s) => filter.status = Some(s.as_str().into()),
            None => errors.push(FieldError::new(
                "status",
                "must be capped, pending, available, chosen, fulfilled, expired or revoked",
            )),
        }
    }
    let (after, limit) = paging(&query, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    let (data, next) = rewards::page(&state.db, filter, after, limit).await?;
    let data = data.into_iter().map(|r| with_page(&state, r)).collect();
    Ok(HttpResponse::Ok().json(Page { data, next: next.map(|c| c.encode()) }))
}

/// A referee reward's JSON with the address of its private page.
fn with_page(state: &AppState, mut reward: RewardJson) -> RewardJson {
    if reward.to == "referee" {
        reward.page_url = Some(state.url(&rewards::page_path(&state.keys, &reward.id)));
    }
    reward
}

/// One reward, `404` if there is none.
#[get("/api/v1/rewards/{id}")]
pub async fn show(_auth: ApiAuth, path: web::Path<String>, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let row = rewards::find(&state.db, &path).await?.ok_or_else(|| ApiError::not_found("reward"))?;
    Ok(HttpResponse::Ok().json(with_page(&state, rewards::json_of(&state.db, row).await?)))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FulfilBody {
    /// The business's reference: an invoice, a payment, an order.
    #[serde(default)]
    reference: Option<String>,
}

/// Confirms that the business delivered a chosen reward (applied the
/// credit or discount, paid, handed over): `200` with the reward; `409`
/// when it is not chosen (fulfilled already, not chosen yet, revoked).
#[post("/api/v1/rewards/{id}/fulfil")]
pub async fn fulfil(
    _auth: ApiAuth,
    path: web::Path<String>,
    body: Option<web::Json<Value>>,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let body: FulfilBody = match body {
        Some(json) => typed(json.into_inner())?,
        None => FulfilBody::default(),
    };
    let reference = body.reference.map(|r| r.trim().to_string()).filter(|r| !r.is_empty());
    if reference.as_ref().is_some_and(|r| r.chars().count() > 200) {
        return Err(ApiError::invalid(vec![FieldError::new("reference", "must be at most 200 characters")]));
    }
    let now = state.clock.now_utc();
    let delivery = Delivery { reference, actor: ledger::API.into() };
    let row = lifecycle::fulfil(&state.db, state.webhooks.doorbell(), &path, delivery, now).await?;
    Ok(HttpResponse::Ok().json(with_page(&state, rewards::json_of(&state.db, row).await?)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChooseBody {
    /// The menu option's position, from 0.
    option: usize,
}

/// Chooses a menu option for the beneficiary (for example a referee who
/// chose in the business's own checkout): `200` with the reward, its
/// coupon code included; `409` when it cannot be chosen now.
#[post("/api/v1/rewards/{id}/choose")]
pub async fn choose(
    _auth: ApiAuth,
    path: web::Path<String>,
    body: web::Json<Value>,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let body: ChooseBody = typed(body.into_inner())?;
    let now = state.clock.now_utc();
    let row = lifecycle::choose(&state.db, state.webhooks.doorbell(), &path, body.option, ledger::API, now).await?;
    Ok(HttpResponse::Ok().json(with_page(&state, rewards::json_of(&state.db, row).await?)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CouponsBody {
    pool: String,
    codes: Vec<String>,
}

#[derive(Serialize)]
struct CouponsAnswer {
    pool: String,
    /// Codes new to the pool.
    added: usize,
    /// Codes the pool held already (skipped: each is handed out once).
    skipped: usize,
    /// Codes of the pool not handed out yet.
    free: i64,
}

/// Adds codes to a coupon pool of the program.
#[post("/api/v1/programs/{program}/coupons")]
pub async fn add_coupons(
    ApiAuth(client): ApiAuth,
    path: web::Path<String>,
    body: web::Json<Value>,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let program = programs::get(&state.db, &path).await?.ok_or_else(|| ApiError::not_found("program"))?;
    let body: CouponsBody = typed(body.into_inner())?;
    let batch = CouponBatch::parse(&body.pool, &body.codes).map_err(ApiError::invalid)?;
    let pool = batch.pool.clone();
    let actor = format!("api:{}", client.name);
    let added =
        rewards::add_coupons(&state.db, actor, &program.id, &program.slug, batch, state.clock.now_utc()).await?;
    let free = rewards::pools(&state.db, &program.id, vec![pool.clone()])
        .await?
        .into_iter()
        .find(|p| p.pool == pool)
        .map_or(0, |p| p.free);
    Ok(HttpResponse::Ok().json(CouponsAnswer { pool, added: added.added, skipped: added.sent - added.added, free }))
}
