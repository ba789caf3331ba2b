//! `GET /api/v1/referrals?program=&stage=&review=&since=&cursor=&limit=`: referrals
//! in a stable order (creation time, then id), a page at a time.

use std::collections::HashMap;

use actix_web::{HttpResponse, get, web};
use serde::Serialize;

use crate::domain::FieldError;
use crate::domain::conversion::ReferralState;
use crate::domain::review::Review;
use crate::domain::rfc3339::parse_utc;
use crate::services::programs;
use crate::services::referral_json::ReferralJson;
use crate::services::referrals::{self, Listed};
use crate::storage::referrals::ReferralFilter;
use crate::web::auth::ApiAuth;
use crate::web::error::{ApiError, ApiResult};
use crate::web::state::AppState;

use super::paging::paging;

#[derive(Serialize)]
struct Page {
    data: Vec<ReferralJson>,
    next: Option<String>,
}

#[get("/api/v1/referrals")]
pub async fn list(
    _auth: ApiAuth,
    query: web::Query<HashMap<String, String>>,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let mut errors = Vec::new();
    let mut filter = ReferralFilter::default();
    // Programs are few: one read names them all, for the filter and the rows.
    let all = programs::list(&state.db).await?;
    let slugs: HashMap<String, String> = all.iter().map(|p| (p.id.clone(), p.slug.to_string())).collect();
    if let Some(slug) = query.get("program") {
        match all.iter().find(|p| p.slug.as_str() == slug) {
            Some(program) => filter.program_id = Some(program.id.clone()),
            None => errors.push(FieldError::new("program", "is not a program")),
        }
    }
    if let Some(stage) = query.get("stage") {
        match ReferralState::parse(stage) {
            Some(state) => filter.stage = Some(state.as_str().to_string()),
            None => {
                errors.push(FieldError::new("stage", "must be lead, qualified, opportunity, won, refunded or rejected"))
            }
        }
    }
    if let Some(review) = query.get("review") {
        match Review::parse(review) {
            Some(review) => filter.review = Some(review.as_str().to_string()),
            None => errors.push(FieldError::new("review", "must be clear, flagged, held, approved or rejected")),
        }
    }
    if let Some(since) = query.get("since") {
        match parse_utc(since) {
            Some(at) => filter.since = Some(at),
            None => errors.push(FieldError::new("since", "must be an RFC 3339 time such as 2026-12-01T00:00:00Z")),
        }
    }
    let (after, limit) = paging(&query, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    let (rows, next) = referrals::page(&state.db, filter, after, limit).await?;
    let data = rows.into_iter().map(|l| body(l, &slugs)).collect();
    Ok(HttpResponse::Ok().json(Page { data, next: next.map(|c| c.encode()) }))
}

fn body(listed: Listed, slugs: &HashMap<String, String>) -> ReferralJson {
    let program = slugs.get(&listed.referral.program_id).cloned().unwrap_or_default();
    ReferralJson::new(listed.referral, program, listed.participant_external_id)
}
