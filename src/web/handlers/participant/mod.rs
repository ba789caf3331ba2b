//! The public pages participants and referees see: the short link, the
//! landing page and the participant portal.

pub mod device;
pub mod landing;
pub mod portal;
pub mod portal_rewards;
pub mod redirect;
pub mod reward_page;
pub mod sign_in;
pub mod unsubscribe;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::ContentType;
use askama::Template;

use crate::web::error::AppError;

#[derive(Template)]
#[template(path = "participant/not_found.html")]
struct NotFoundPage<'a> {
    title: &'a str,
    message: &'a str,
}

/// The friendly 404 for an unknown or disabled link, or a closed program.
pub fn not_found(message: &str) -> Result<HttpResponse, AppError> {
    let body = NotFoundPage { title: "This invitation link does not work", message }.render()?;
    Ok(HttpResponse::build(StatusCode::NOT_FOUND).content_type(ContentType::html()).body(body))
}

/// A friendly 404 with its own title, rendered in the page frame.
pub fn not_found_with(_ctx: &crate::web::page::PageCtx, title: &str, message: &str) -> Result<HttpResponse, AppError> {
    let body = NotFoundPage { title, message }.render()?;
    Ok(HttpResponse::build(StatusCode::NOT_FOUND).content_type(ContentType::html()).body(body))
}
