//! The stylesheet and icons, compiled into the binary: one file to deploy.

use actix_web::http::header;
use actix_web::{HttpResponse, get};

const STYLESHEET: &str = include_str!("../../../static/css/goodword.css");
const FAVICON: &str = include_str!("../../../static/img/favicon.svg");
const COPY_JS: &str = include_str!("../../../static/js/copy.js");

#[get("/static/css/goodword.css")]
pub async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(STYLESHEET)
}

#[get("/favicon.svg")]
pub async fn favicon() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("image/svg+xml")
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(FAVICON)
}

#[get("/static/js/copy.js")]
pub async fn copy_script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(COPY_JS)
}
