//! `/join/{program}`: the referee's landing page. Shows who invited them
//! and the offer; the claim creates the referral at stage `lead` and sends
//! the referee on to the program's destination with `gw_ref` and
//! `gw_click` appended — only ever to a host the program allows.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, ContentType};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;

use crate::domain::EmailAddress;
use crate::domain::destination::{parse_destination, with_attribution};
use crate::domain::people::first_name;
use crate::domain::program::ProgramStatus;
use crate::services::fraud::Seen;
use crate::services::link_cache::CachedLink;
use crate::services::links;
use crate::services::programs::{self, Program};
use crate::services::referrals::{self, Claim, ClaimOutcome};
use crate::web::client_ip::client_ip;
use crate::web::csrf::CsrfForm;
use crate::web::error::{AppError, AppResult};
use crate::web::forms::FormErrors;
use crate::web::middleware::CSP;
use crate::web::page::PageCtx;
use crate::web::state::AppState;

use super::redirect::{REF_COOKIE, parse_ref_cookie};
use super::{device, not_found};

#[derive(Template)]
#[template(path = "participant/landing.html")]
struct LandingPage {
    csrf: String,
    slug: String,
    program_name: String,
    headline: String,
    body: String,
    offer: String,
    image_url: Option<String>,
    inviter: Option<String>,
    accepting: bool,
    destination: String,
    email: String,
    name: String,
    errors: FormErrors,
}

#[derive(Template)]
#[template(path = "participant/notice.html")]
struct NoticePage<'a> {
    title: &'a str,
    message: &'a str,
    continue_url: Option<&'a str>,
}

/// The link that brought this browser here, if it belongs to `program`.
async fn attributed_link(
    req: &HttpRequest,
    state: &AppState,
    program: &Program,
) -> AppResult<Option<(Arc<CachedLink>, String)>> {
    let Some(cookie) = req.cookie(REF_COOKIE) else { return Ok(None) };
    let Some((code, click_id)) = parse_ref_cookie(cookie.value()) else { return Ok(None) };
    let Some(link) = links::resolve(&state.db, &state.links, code).await? else { return Ok(None) };
    if link.link.program_id != program.id || link.link.disabled {
        return Ok(None);
    }
    Ok(Some((link, click_id.to_string())))
}

/// The page's own CSP: the claim form's redirect goes to the destination's
/// origin, and the landing image may live on another host.
fn page_csp(program: &Program) -> String {
    let origin = |raw: &str| url::Url::parse(raw).ok().map(|u| u.origin().ascii_serialization());
    let mut csp = CSP.replace(
        "form-action 'self'",
        &format!("form-action 'self' {}", origin(&program.config.destination_url).unwrap_or_default()),
    );
    if let Some(image) = program.config.landing.image_url.as_deref().and_then(origin) {
        csp.push_str(&format!("; img-src 'self' {image}"));
    }
    csp
}

async fn load(state: &AppState, slug: &str) -> AppResult<Option<Program>> {
    Ok(programs::get(&state.db, slug).await?.filter(|p| p.status() != ProgramStatus::Archived))
}

fn render(ctx: &PageCtx, status: StatusCode, program: &Program, page: &LandingPage) -> AppResult<HttpResponse> {
    let mut resp = ctx.render_status(status, page)?;
    if let Ok(v) = header::HeaderValue::from_str(&page_csp(program)) {
        resp.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    Ok(resp)
}

fn page(
    ctx: &PageCtx,
    program: &Program,
    inviter: Option<String>,
    email: String,
    name: String,
    errors: FormErrors,
) -> LandingPage {
    let landing = &program.config.landing;
    LandingPage {
        csrf: ctx.csrf().to_string(),
        slug: program.slug.clone(),
        program_name: program.config.name.clone(),
        headline: landing.headline.clone(),
        body: landing.body.clone(),
        offer: landing.referee_offer.clone(),
        image_url: landing.image_url.clone(),
        accepting: inviter.is_some() && program.status() == ProgramStatus::Active,
        inviter,
        destination: program.config.destination_url.clone(),
        email,
        name,
        errors,
    }
}

fn inviter_name(link: &CachedLink) -> String {
    first_name(&link.link.participant_name).unwrap_or("A friend").to_string()
}

#[get("/join/{program}")]
pub async fn show(
    req: HttpRequest,
    slug: web::Path<String>,
    state: web::Data<AppState>,
    ctx: PageCtx,
) -> AppResult<HttpResponse> {
    let Some(program) = load(&state, &slug).await? else {
        return not_found("This program has ended or the address is mistyped.");
    };
    let inviter = attributed_link(&req, &state, &program).await?.map(|(link, _)| inviter_name(&link));
    let errors = if program.status() == ProgramStatus::Paused {
        FormErrors::general("This program is not taking new referrals right now.")
    } else {
        FormErrors::new()
    };
    let page = page(&ctx, &program, inviter, String::new(), String::new(), errors);
    render(&ctx, StatusCode::OK, &program, &page)
}

#[derive(Deserialize)]
pub struct ClaimForm {
    email: String,
    #[serde(default)]
    name: String,
}

#[post("/join/{program}")]
pub async fn claim(
    req: HttpRequest,
    slug: web::Path<String>,
    state: web::Data<AppState>,
    ctx: PageCtx,
    CsrfForm(form): CsrfForm<ClaimForm>,
) -> AppResult<HttpResponse> {
    let Some(program) = load(&state, &slug).await? else {
        return not_found("This program has ended or the address is mistyped.");
    };
    let Some((link, click_id)) = attributed_link(&req, &state, &program).await? else {
        let page = page(
            &ctx,
            &program,
            None,
            form.email,
            form.name,
            FormErrors::general(
                "We could not tell who invited you. Open the link your friend sent once more, then claim the offer.",
            ),
        );
        return render(&ctx, StatusCode::UNPROCESSABLE_ENTITY, &program, &page);
    };
    let mut errors = FormErrors::new();
    let email = EmailAddress::parse(&form.email).map_err(|e| errors.add("email", e)).ok();
    let name = form.name.trim().to_string();
    if name.chars().count() > 120 || name.chars().any(char::is_control) {
        errors.add("name", "use at most 120 letters and spaces");
    }
    let (Some(email), true) = (email, errors.is_empty()) else {
        let page = page(&ctx, &program, Some(inviter_name(&link)), form.email, form.name, errors);
        return render(&ctx, StatusCode::UNPROCESSABLE_ENTITY, &program, &page);
    };
    // Checked again here, not only when the program was saved: the
    // redirect below must never leave the allowed hosts.
    let destination = parse_destination(&program.config.destination_url, &program.config.allowed_hosts)
        .map_err(|e| AppError::Internal(format!("program {} destination: {e}", program.slug)))?;
    let now = state.clock.now_utc();
    let min_seconds = program.config.fraud.min_seconds_click_to_lead;
    let (click, unrecorded_click) =
        referrals::claimed_click(&state.db, &state.clicks, &link.link.link_id, &click_id, min_seconds, now).await?;
    let seen = Seen {
        ip: client_ip(&req, &state.settings.trusted_proxies),
        user_agent: req.headers().get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_string),
        device: device::from_request(&req),
        click,
        unrecorded_click,
    };
    let outcome = referrals::claim(
        &state.db,
        state.webhooks.doorbell(),
        &state.keys.ip,
        &link,
        Claim { email, name, click_id: Some(click_id.clone()) },
        seen,
        now,
    )
    .await?;
    match outcome {
        ClaimOutcome::Created { .. } | ClaimOutcome::AlreadyReferred => {
            let to = with_attribution(&destination, &link.link.code, Some(&click_id));
            Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, to.as_str())).finish())
        }
        ClaimOutcome::SelfReferral => notice(
            "This is your own invitation",
            "Invitations are for friends: share your link with someone who would enjoy it. Their reward and yours follow when they join.",
            None,
        ),
        ClaimOutcome::NotAccepting => notice(
            "Not taking new referrals right now",
            "This program is paused. You can still visit the site.",
            Some(destination.as_str()),
        ),
    }
}

fn notice(title: &str, message: &str, continue_url: Option<&str>) -> AppResult<HttpResponse> {
    let body = NoticePage { title, message, continue_url }.render()?;
    Ok(HttpResponse::Ok().content_type(ContentType::html()).body(body))
}
