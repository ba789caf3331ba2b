//! `POST /api/v1/events`: one conversion event, recorded once by its id.

use actix_web::{HttpResponse, post, web};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::crypto::sha256_hex;
use crate::domain::FieldError;
use crate::domain::conversion::{ConversionEvent, RawEvent};
use crate::services::links;
use crate::web::auth::ApiAuth;
use crate::web::error::{ApiError, ApiResult};
use crate::web::state::AppState;

use super::body::typed;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EventBody {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    program: String,
    #[serde(default)]
    referee: Option<RefereeBody>,
    #[serde(default)]
    click_id: Option<String>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    amount: Option<i64>,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    occurred_at: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RefereeBody {
    #[serde(default)]
    external_id: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Serialize)]
struct Answer {
    referral_id: Option<String>,
    stage: Option<String>,
    attributed: bool,
    duplicate: bool,
}

/// Records the event; `200` with the referral it moved (or `attributed:
/// false`), and `duplicate: true` for a retry of a recorded event.
#[post("/api/v1/events")]
pub async fn record(_auth: ApiAuth, json: web::Json<Value>, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let value = json.into_inner();
    let body_hash = sha256_hex(&canonical(&value));
    let body: EventBody = typed(value)?;
    let referee = body.referee.unwrap_or_default();
    let now = state.clock.now_utc();
    let raw = RawEvent {
        id: body.id,
        kind: body.kind,
        program: body.program,
        referee_external_id: referee.external_id,
        referee_email: referee.email,
        referee_name: referee.name,
        click_id: body.click_id,
        code: body.code,
        amount: body.amount,
        currency: body.currency,
        occurred_at: body.occurred_at,
    };
    let event = ConversionEvent::parse(raw, now).map_err(ApiError::invalid)?;
    let program = links::program_by_slug(&state.db, &state.links, &event.program)
        .await?
        .ok_or_else(|| ApiError::invalid(vec![FieldError::new("program", "is not a program")]))?;
    let outcome = state.events.record(&program, event, body_hash, now).await?;
    Ok(HttpResponse::Ok().json(Answer {
        referral_id: outcome.referral_id,
        stage: outcome.stage,
        attributed: outcome.attributed,
        duplicate: outcome.duplicate,
    }))
}

/// The body as JSON with every object's keys sorted: the same event sent
/// again with its keys in another order is the same event.
fn canonical(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let fields: Vec<String> =
                keys.into_iter().map(|k| format!("{}:{}", Value::String(k.clone()), canonical(&map[k]))).collect();
            format!("{{{}}}", fields.join(","))
        }
        Value::Array(items) => format!("[{}]", items.iter().map(canonical).collect::<Vec<_>>().join(",")),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::canonical;

    #[test]
    fn key_order_does_not_change_the_canonical_body() {
        let a = json!({"id": "e1", "referee": {"email": "a@b.c", "name": "A"}, "amount": 5});
        let b: serde_json::Value =
            serde_json::from_str(r#"{"amount": 5, "referee": {"name": "A", "email": "a@b.c"}, "id": "e1"}"#).unwrap();
        assert_eq!(canonical(&a), canonical(&b));
        assert_ne!(canonical(&a), canonical(&json!({"id": "e1", "amount": 6})));
    }
}
