//! `/rewards/{id}.{signature}`: a referee's reward on a private page (a
//! referee has no portal). The business sends the address (it is in the
//! reward's API JSON as `page_url`); the referee sees the status and the
//! reason, chooses from the menu (a POST with CSRF) and reads the code.

use std::collections::HashMap;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;

use crate::services::programs;
use crate::services::rewards;
use crate::web::csrf::CsrfForm;
use crate::web::error::AppResult;
use crate::web::page::PageCtx;
use crate::web::state::AppState;

use super::not_found;
use super::portal_rewards::{Notice, RewardView, choose_from_form, views};

#[derive(Template)]
#[template(path = "participant/reward.html")]
struct RewardPage {
    program_name: String,
    reward: RewardView,
    csrf: String,
}

async fn render(
    state: &AppState,
    ctx: &PageCtx,
    token: &str,
    notice: Option<Notice>,
    status: StatusCode,
) -> AppResult<HttpResponse> {
    let missing = "This reward link is not valid. Ask the team that sent it for a new one.";
    let Some(id) = rewards::id_from_page_token(&state.keys, token) else { return not_found(missing) };
    let Some(row) = rewards::find(&state.db, id).await?.filter(|r| r.beneficiary == "referee") else {
        return not_found(missing);
    };
    let program_name =
        programs::get_by_id(&state.db, &row.program_id).await?.map(|p| p.config.name).unwrap_or_default();
    let Some(mut reward) =
        views(vec![row], &HashMap::new(), state.clock.now_utc(), notice.as_ref(), |_| format!("/rewards/{token}"))
            .pop()
    else {
        return not_found(missing);
    };
    reward.earned_by = "Your welcome reward".into();
    let page = RewardPage { program_name, reward, csrf: ctx.csrf().to_string() };
    let mut resp = ctx.render_status(status, &page)?;
    // The address is the key to the reward: keep it out of other sites'
    // logs and out of caches.
    resp.headers_mut().insert(header::REFERRER_POLICY, header::HeaderValue::from_static("same-origin"));
    resp.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    Ok(resp)
}

#[get("/rewards/{token}")]
pub async fn show(token: web::Path<String>, state: web::Data<AppState>, ctx: PageCtx) -> AppResult<HttpResponse> {
    render(&state, &ctx, &token, None, StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct ChooseForm {
    option: Option<String>,
}

/// The referee chooses an option: back to the page (303), or the page
/// again with the refusal beside the reward.
#[post("/rewards/{token}")]
pub async fn choose(
    token: web::Path<String>,
    state: web::Data<AppState>,
    ctx: PageCtx,
    CsrfForm(form): CsrfForm<ChooseForm>,
) -> AppResult<HttpResponse> {
    let Some(id) = rewards::id_from_page_token(&state.keys, &token).map(str::to_string) else {
        return not_found("This reward link is not valid. Ask the team that sent it for a new one.");
    };
    match choose_from_form(&state, &id, form.option.as_deref()).await? {
        None => Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, format!("/rewards/{token}"))).finish()),
        Some((status, notice)) => render(&state, &ctx, &token, Some(notice), status).await,
    }
}
