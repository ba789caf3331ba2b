//! `PUT`/`GET /api/v1/programs/{program}`: a program's whole
//! configuration as code.

use actix_web::{HttpResponse, get, put, web};
use serde_json::Value;

use crate::domain::FieldError;
use crate::domain::ProgramSlug;
use crate::domain::program::parse_config;
use crate::services::programs;
use crate::web::auth::ApiAuth;
use crate::web::error::{ApiError, ApiResult};
use crate::web::state::AppState;

fn slug(raw: &str) -> ApiResult<ProgramSlug> {
    ProgramSlug::parse(raw).map_err(|e| ApiError::invalid(vec![FieldError::new("program", e)]))
}

/// Creates or replaces the program; 201 when created, 200 when replaced;
/// the body is the configuration as stored, defaults filled in.
#[put("/api/v1/programs/{program}")]
pub async fn put_program(
    ApiAuth(client): ApiAuth,
    path: web::Path<String>,
    body: web::Json<Value>,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let slug = slug(&path)?;
    let config = parse_config(&body).map_err(|e| ApiError::invalid(e.0))?;
    let now = state.clock.now_utc();
    let (program, created) = programs::put(&state.db, format!("api:{}", client.name), slug, config, now).await?;
    state.links.invalidate_program(&program.id);
    let mut resp = if created { HttpResponse::Created() } else { HttpResponse::Ok() };
    Ok(resp.json(&program.config))
}

#[get("/api/v1/programs/{program}")]
pub async fn get_program(
    _auth: ApiAuth,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let program = programs::get(&state.db, &path).await?.ok_or_else(|| ApiError::not_found("program"))?;
    Ok(HttpResponse::Ok().json(&program.config))
}
