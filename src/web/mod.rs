//! The HTTP layer: routes, extractors, middleware, rendering. Handlers are
//! thin: they extract and parse, call one service, and render or redirect.

pub mod auth;
pub mod chart;
pub mod client_ip;
pub mod csrf;
pub mod csv;
pub mod error;
pub mod flash;
pub mod format;
pub mod forms;
pub mod handlers;
pub mod hot_path;
pub mod middleware;
pub mod multipart;
pub mod page;
pub mod qr;
pub mod rate_limit;
pub mod state;

use actix_web::{HttpRequest, HttpResponse, web};

use error::{ApiError, AppError};
use handlers::{admin, api, health, participant, statics};

/// Form bodies larger than this are refused with 413.
pub const FORM_LIMIT: usize = 16 * 1024;

/// Registers every route; used by the server and by the tests.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::PayloadConfig::new(FORM_LIMIT))
        .app_data(web::FormConfig::default().limit(FORM_LIMIT))
        .app_data(api::json_config())
        // The hot path first: routes are tried in order, and every dynamic
        // route ahead of it would cost a pattern match per redirect.
        .service(participant::redirect::scope())
        .service(health::healthz)
        .service(health::readyz)
        .service(health::metrics)
        .service(statics::stylesheet)
        .service(statics::favicon)
        .service(statics::copy_script)
        .service(web::resource("/").route(web::get().to(start_page)))
        .service(api::me::me)
        .service(admin::setup::show)
        .service(admin::setup::submit)
        .service(admin::session::show)
        .service(admin::session::submit)
        .service(admin::session::logout)
        .service(admin::dashboard::show)
        .service(admin::users::list)
        .service(admin::users::create)
        .service(admin::users::change_role)
        .service(admin::users::remove)
        .service(admin::api_keys::list)
        .service(admin::api_keys::create)
        .service(admin::api_keys::revoke)
        .service(admin::audit::show)
        .service(admin::audit::export)
        .service(admin::referrals::list)
        .service(admin::referrals::export)
        .service(admin::referrals::show)
        // -- admin: webhooks (endpoints, deliveries, redeliver) --
        .service(admin::webhooks::list)
        .service(admin::webhooks::create)
        .service(admin::webhooks::show)
        .service(admin::webhooks::update)
        .service(admin::webhooks::switch)
        .service(admin::webhooks::rotate_secret)
        .service(admin::webhooks::delete)
        .service(admin::webhooks::delivery)
        .service(admin::webhooks::redeliver)
        .service(admin::account::show)
        .service(admin::account::change_password)
        // -- admin: programs (list, create, edit, status, program page) --
        .service(admin::programs::list)
        .service(admin::programs::new_form)
        .service(admin::programs::create)
        .service(admin::programs::edit_form)
        .service(admin::programs::update)
        .service(admin::programs::set_status)
        .service(admin::program_page::show)
        // -- admin: participants (list, enrol, CSV import, participant page, links) --
        .service(admin::participants::list)
        .service(admin::participants::export)
        .service(admin::participants::enrol)
        .service(admin::participants::import_csv)
        .service(admin::participant::show)
        .service(admin::participant::reset_portal)
        .service(admin::participant::add_link)
        .service(admin::participant::disable_link)
        .service(admin::participant::enable_link)
        // -- admin: rewards --
        .service(admin::rewards::list)
        .service(admin::rewards::export)
        .service(admin::rewards::detail::show)
        .service(admin::rewards::detail::approve)
        .service(admin::rewards::detail::revoke)
        .service(admin::rewards::detail::fulfil)
        .service(admin::coupons::show)
        .service(admin::coupons::upload)
        .service(admin::reward_rules::resource())
        .service(admin::fraud_settings::show)
        .service(admin::fraud_settings::save)
        .service(admin::review::queue)
        .service(admin::review::decide_many)
        .service(admin::review::decide)
        .service(admin::fraud_lists::show)
        .service(admin::fraud_lists::add)
        .service(admin::fraud_lists::remove)
        .service(admin::emails::list)
        .service(admin::emails::show)
        .service(admin::emails::preview_html)
        .service(admin::emails::resend)
        .service(admin::invitation::show)
        .service(admin::invitation::accept)
        // -- participant pages (redirect, landing, portal) --
        .service(participant::landing::show)
        .service(participant::landing::claim)
        .service(participant::sign_in::ask)
        .service(participant::sign_in::send)
        .service(participant::sign_in::show_link)
        .service(participant::sign_in::use_link)
        .service(participant::unsubscribe::show)
        .service(participant::unsubscribe::one_click)
        .service(participant::unsubscribe::save)
        .service(participant::portal::show)
        .service(participant::portal_rewards::choose)
        .service(participant::reward_page::show)
        .service(participant::reward_page::choose)
        // -- api: programs and participants --
        .service(api::programs::put_program)
        .service(api::programs::get_program)
        .service(api::participants::enrol)
        .service(api::participants::show)
        // -- api: conversion events --
        .service(api::events::record)
        .service(api::referrals::list)
        // -- api: rewards and coupon pools --
        .service(api::rewards::list)
        .service(api::rewards::show)
        .service(api::rewards::fulfil)
        .service(api::rewards::choose)
        .service(api::rewards::add_coupons)
        .default_service(web::to(not_found));
}

/// `/` leads to the admin; participants arrive on their own links.
async fn start_page() -> HttpResponse {
    HttpResponse::SeeOther().insert_header(("Location", "/admin")).finish()
}

async fn not_found(req: HttpRequest) -> Result<HttpResponse, actix_web::Error> {
    if req.path().starts_with("/api/") {
        Err(ApiError::for_status(actix_web::http::StatusCode::NOT_FOUND).into())
    } else {
        Err(AppError::NotFound.into())
    }
}
