//! The JSON API under `/api/v1`, for the business's own systems.

mod body;
pub mod events;
pub mod me;
mod paging;
pub mod participants;
pub mod programs;
pub mod referrals;
pub mod rewards;

use actix_web::error::JsonPayloadError;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};

use crate::web::error::ApiError;

/// JSON bodies: 64 KiB at most; malformed, oversized or mistyped bodies
/// answer the JSON error shape with 400, 413, 415 or 422.
pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default().limit(64 * 1024).error_handler(json_error)
}

fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let api = match &err {
        JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => {
            ApiError::for_status(StatusCode::PAYLOAD_TOO_LARGE)
        }
        JsonPayloadError::ContentType => ApiError::for_status(StatusCode::UNSUPPORTED_MEDIA_TYPE),
        JsonPayloadError::Deserialize(e) if e.is_data() => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", e.to_string())
        }
        other => ApiError::new(StatusCode::BAD_REQUEST, "bad_request", format!("the body is not valid JSON: {other}")),
    };
    api.into()
}
