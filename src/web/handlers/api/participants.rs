//! `POST /api/v1/programs/{program}/participants` (idempotent enrolment)
//! and `GET …/participants/{external_id}`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::program::{ProgramStatus, Stage};
use crate::services::participants::{self, EnrolInput, Participant};
use crate::services::rewards::json::RewardJson;
use crate::services::{programs, referrals, rewards};
use crate::storage::rewards::RewardFilter;
use crate::web::auth::ApiAuth;
use crate::web::error::{ApiError, ApiResult};
use crate::web::state::AppState;

use super::body::typed;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnrolBody {
    email: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    external_id: Option<String>,
    #[serde(default)]
    timezone: Option<String>,
}

#[derive(Serialize)]
struct ParticipantBody {
    id: String,
    code: Option<String>,
    link: Option<String>,
    portal_url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    created: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    counts: Option<Counts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// Their own rewards (as a referrer), oldest first.
    rewards: Option<Vec<RewardJson>>,
}

#[derive(Serialize)]
struct Counts {
    clicks: i64,
    lead: i64,
    qualified: i64,
    opportunity: i64,
    won: i64,
}

fn body(state: &AppState, p: &Participant, token: &str) -> ParticipantBody {
    ParticipantBody {
        id: p.row.id.clone(),
        code: p.link.as_ref().map(|l| l.code.clone()),
        link: p.link.as_ref().map(|l| state.url(&format!("/r/{}", l.code))),
        portal_url: state.url(&format!("/p/{token}")),
        created: None,
        external_id: None,
        counts: None,
        rewards: None,
    }
}

/// Enrols a participant: 201 when new, 200 when they were enrolled before
/// (matched by external id, else by normalised email).
#[post("/api/v1/programs/{program}/participants")]
pub async fn enrol(
    ApiAuth(client): ApiAuth,
    path: web::Path<String>,
    json: web::Json<Value>,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let program = programs::get(&state.db, &path).await?.ok_or_else(|| ApiError::not_found("program"))?;
    if program.status() == ProgramStatus::Archived {
        return Err(ApiError::new(StatusCode::CONFLICT, "program_archived", "the program is archived"));
    }
    let raw: EnrolBody = typed(json.into_inner())?;
    let input = EnrolInput::parse(&raw.email, raw.name.as_deref(), raw.external_id.as_deref(), raw.timezone.as_deref())
        .map_err(ApiError::invalid)?;
    let now = state.clock.now_utc();
    let enrolled =
        participants::enrol(&state.db, &state.keys, format!("api:{}", client.name), &program, input, now).await?;
    let mut out = body(&state, &enrolled.participant, &enrolled.portal_token);
    out.created = Some(enrolled.created);
    let status = if enrolled.created { StatusCode::CREATED } else { StatusCode::OK };
    Ok(HttpResponse::build(status).json(out))
}

/// A participant by the business's external id, with counts per stage
/// and their rewards.
#[get("/api/v1/programs/{program}/participants/{external_id}")]
pub async fn show(
    _auth: ApiAuth,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let (slug, external_id) = path.into_inner();
    let program = programs::get(&state.db, &slug).await?.ok_or_else(|| ApiError::not_found("program"))?;
    let (participant, token) = participants::get_by_external_id(&state.db, &state.keys, &program, &external_id)
        .await?
        .ok_or_else(|| ApiError::not_found("participant"))?;
    let stages = referrals::stage_counts_for_participant(&state.db, &participant.row.id).await?;
    let count = |stage: Stage| stages.iter().find(|(s, _)| s == stage.as_str()).map(|(_, n)| *n).unwrap_or(0);
    let clicks = referrals::clicks_for_participant(&state.db, &participant.row.id).await?;
    let mut out = body(&state, &participant, &token);
    // The enrolment's shape, as the spec asks: nothing was created here.
    out.created = Some(false);
    out.external_id = participant.row.external_id.clone();
    out.counts = Some(Counts {
        clicks,
        lead: count(Stage::Lead),
        qualified: count(Stage::Qualified),
        opportunity: count(Stage::Opportunity),
        won: count(Stage::Won),
    });
    let filter = RewardFilter {
        participant_id: Some(participant.row.id.clone()),
        beneficiary: Some("referrer".into()),
        ..Default::default()
    };
    let (earned, _) = rewards::page(&state.db, filter, None, 1_000).await?;
    out.rewards = Some(earned);
    Ok(HttpResponse::Ok().json(out))
}
