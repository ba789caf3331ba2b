//! The HTTP layer: routes, extractors, middleware, rendering. Handlers are
//! thin: they extract and parse, call one service, and render or redirect.

pub mod auth;
pub mod client_ip;
pub mod csrf;
pub mod error;
pub mod flash;
pub mod format;
pub mod forms;
pub mod handlers;
pub mod middleware;
pub mod page;
pub mod rate_limit;
pub mod state;

use actix_web::{HttpRequest, HttpResponse, web};

use error::{ApiError, AppError};
use handlers::{admin, api, health, statics};

/// Form bodies larger than this are refused with 413.
pub const FORM_LIMIT: usize = 16 * 1024;

/// Registers every route; used by the server and by the tests.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::PayloadConfig::new(FORM_LIMIT))
        .app_data(web::FormConfig::default().limit(FORM_LIMIT))
        .app_data(api::json_config())
        .service(health::healthz)
        .service(health::readyz)
        .service(health::metrics)
        .service(statics::stylesheet)
        .service(statics::favicon)
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
        .service(admin::account::show)
        .service(admin::account::change_password)
        // -- admin: programs (list, create, edit, status, program page) --
        // -- admin: participants (list, enrol, CSV import, participant page, links) --
        // -- participant pages (redirect, landing, portal) --
        // -- api: programs and participants --
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
