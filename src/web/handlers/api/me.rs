//! `GET /api/v1/me`: which key is calling; lets a deployment check its key.

use actix_web::{HttpResponse, get};
use serde::Serialize;

use crate::web::auth::ApiAuth;

#[derive(Serialize)]
struct MeBody<'a> {
    key: KeyBody<'a>,
}

#[derive(Serialize)]
struct KeyBody<'a> {
    id: &'a str,
    name: &'a str,
}

#[get("/api/v1/me")]
pub async fn me(ApiAuth(client): ApiAuth) -> HttpResponse {
    HttpResponse::Ok().json(MeBody { key: KeyBody { id: &client.key_id, name: &client.name } })
}
