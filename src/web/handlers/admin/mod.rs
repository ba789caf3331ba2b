//! The admin pages under `/admin`, for signed-in admin users.

pub mod account;
pub mod api_keys;
pub mod audit;
pub mod dashboard;
pub mod emails;
pub mod fraud_lists;
pub mod fraud_settings;
pub mod invitation;
// -- admin modules: programs --
pub mod program_page;
pub mod program_version;
pub mod programs;
pub mod referrals;
pub mod review;
// -- admin modules: participants --
pub mod participant;
pub mod participants;
// -- admin modules: rewards --
pub mod coupons;
pub mod reward_rules;
pub mod rewards;
pub mod session;
pub mod setup;
pub mod users;
pub mod webhooks;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{Error, HttpResponse, web};

use crate::services::accounts;
use crate::web::state::AppState;

/// Until the first owner exists, every admin page leads to `/admin/setup`.
pub async fn require_setup(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let is_admin = req.path() == "/admin" || req.path().starts_with("/admin/");
    if is_admin
        && let Some(state) = req.app_data::<web::Data<AppState>>().cloned()
        && !state.setup_known_done()
    {
        let admins = accounts::admin_count(&state.db).await.map_err(crate::web::error::AppError::from)?;
        if admins > 0 {
            state.mark_setup_done();
        } else if req.path() != "/admin/setup" {
            let resp = HttpResponse::SeeOther().insert_header((header::LOCATION, "/admin/setup")).finish();
            return Ok(req.into_response(resp));
        }
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}
