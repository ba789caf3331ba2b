//! `/admin/webhooks`: endpoints (create with the secret shown once, edit,
//! enable/disable, rotate the secret, delete), their deliveries, and one
//! delivery's attempts with a redeliver button.

use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, HeaderValue};
use actix_web::{HttpResponse, get, post, web};
use askama::Template;

use crate::domain::Permission;
use crate::domain::webhook::{EventType, Subscription};
use crate::services::webhooks::{self as service, EndpointSummary};
use crate::storage::webhooks::{AttemptRow, DeliveryRow, EndpointRow};
use crate::web::auth::CurrentAdmin;
use crate::web::csrf::CsrfForm;
use crate::web::error::AppResult;
use crate::web::flash::{Flash, redirect_with};
use crate::web::format::{datetime, datetime_or_dash};
use crate::web::forms::FormErrors;
use crate::web::page::{Layout, PageCtx, Section};
use crate::web::state::AppState;

use super::session::Empty;

// -- views --

struct EndpointView {
    id: String,
    url: String,
    description: String,
    /// "every event" or the types, comma-separated.
    receives: String,
    enabled: bool,
    disabled_reason: String,
    pending: i64,
    delivered: i64,
    failed: i64,
    created_at: String,
}

impl From<&EndpointSummary> for EndpointView {
    fn from(s: &EndpointSummary) -> Self {
        let e = &s.endpoint;
        Self {
            id: e.id.clone(),
            url: e.url.clone(),
            description: e.description.clone(),
            receives: receives(&s.subscription),
            enabled: e.enabled,
            disabled_reason: e.disabled_reason.clone().unwrap_or_default(),
            pending: s.pending,
            delivered: s.delivered,
            failed: s.failed,
            created_at: datetime(&e.created_at),
        }
    }
}

fn receives(subscription: &Subscription) -> String {
    match subscription {
        Subscription::All => "every event".into(),
        Subscription::Only(types) => types.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", "),
    }
}

struct DeliveryView {
    id: String,
    message_id: String,
    event_type: String,
    status: String,
    attempts: i32,
    last_code: String,
    last_error: String,
    last_attempt_at: String,
    /// When the next attempt is due, for a pending delivery.
    next_attempt_at: String,
    created_at: String,
}

impl From<&DeliveryRow> for DeliveryView {
    fn from(d: &DeliveryRow) -> Self {
        Self {
            id: d.id.clone(),
            message_id: d.message_id.clone(),
            event_type: d.event_type.clone(),
            status: d.status.clone(),
            attempts: d.attempts,
            last_code: d.last_status_code.map(|c| c.to_string()).unwrap_or_default(),
            last_error: d.last_error.clone().unwrap_or_default(),
            last_attempt_at: datetime_or_dash(d.last_attempt_at.as_ref()),
            next_attempt_at: if d.status == "pending" { datetime(&d.next_attempt_at) } else { String::new() },
            created_at: datetime(&d.created_at),
        }
    }
}

struct AttemptView {
    number: i32,
    at: String,
    code: String,
    error: String,
    excerpt: String,
    duration_ms: i32,
}

impl From<AttemptRow> for AttemptView {
    fn from(a: AttemptRow) -> Self {
        Self {
            number: a.attempt,
            at: datetime(&a.at),
            code: a.status_code.map(|c| c.to_string()).unwrap_or_default(),
            error: a.error.unwrap_or_default(),
            excerpt: a.response_excerpt,
            duration_ms: a.duration_ms,
        }
    }
}

struct TypeChoice {
    value: &'static str,
    description: &'static str,
    checked: bool,
}

/// The endpoint form as shown: blank, an endpoint's values, or what was sent.
struct EndpointForm {
    url: String,
    description: String,
    types: Vec<TypeChoice>,
}

impl EndpointForm {
    fn new(url: String, description: String, subscription: &Subscription) -> Self {
        let types = EventType::ALL
            .into_iter()
            .map(|t| TypeChoice { value: t.as_str(), description: t.describe(), checked: subscription.includes(t) })
            .collect();
        Self { url, description, types }
    }

    fn blank() -> Self {
        Self::new(String::new(), String::new(), &Subscription::All)
    }

    fn of(endpoint: &EndpointRow) -> Self {
        Self::new(endpoint.url.clone(), endpoint.description.clone(), &Subscription::from_stored(&endpoint.event_types))
    }
}

/// A submitted endpoint form: checkboxes repeat their name, so the body
/// is read as pairs.
struct Submitted {
    url: String,
    description: String,
    event_types: Vec<String>,
}

impl Submitted {
    fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut s = Submitted { url: String::new(), description: String::new(), event_types: Vec::new() };
        for (name, value) in pairs {
            match name.as_str() {
                "url" => s.url = value,
                "description" => s.description = value,
                "event_types" => s.event_types.push(value),
                _ => {}
            }
        }
        s
    }

    /// The form re-shown with what was sent.
    fn form(&self) -> EndpointForm {
        let checked: Vec<EventType> = self.event_types.iter().filter_map(|t| EventType::parse(t)).collect();
        EndpointForm::new(self.url.clone(), self.description.clone(), &Subscription::Only(checked))
    }

    fn parse(&self, state: &AppState) -> crate::services::ServiceResult<service::EndpointSpec> {
        service::parse_endpoint(&self.url, &self.description, &self.event_types, state.settings.allow_private_webhooks)
    }
}

// -- the list --

struct NewSecret {
    url: String,
    secret: String,
}

#[derive(Template)]
#[template(path = "admin/webhooks.html")]
struct WebhooksPage {
    layout: Layout,
    endpoints: Vec<EndpointView>,
    form: EndpointForm,
    errors: FormErrors,
    new_secret: Option<NewSecret>,
    can_manage: bool,
    allow_private: bool,
}

async fn list_page(
    state: &AppState,
    ctx: &PageCtx,
    admin: &CurrentAdmin,
    form: EndpointForm,
    errors: FormErrors,
    new_secret: Option<NewSecret>,
) -> AppResult<WebhooksPage> {
    let endpoints = service::list(&state.db).await?;
    Ok(WebhooksPage {
        layout: ctx.layout(Some(&admin.user), Section::Webhooks),
        endpoints: endpoints.iter().map(EndpointView::from).collect(),
        form,
        errors,
        new_secret,
        can_manage: admin.user.role.can(Permission::Manage),
        allow_private: state.settings.allow_private_webhooks,
    })
}

#[get("/admin/webhooks")]
pub async fn list(state: web::Data<AppState>, ctx: PageCtx, admin: CurrentAdmin) -> AppResult<HttpResponse> {
    admin.require(Permission::View)?;
    let page = list_page(&state, &ctx, &admin, EndpointForm::blank(), FormErrors::new(), None).await?;
    ctx.render(&page)
}

#[post("/admin/webhooks")]
pub async fn create(
    state: web::Data<AppState>,
    ctx: PageCtx,
    admin: CurrentAdmin,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> AppResult<HttpResponse> {
    admin.require(Permission::Manage)?;
    let submitted = Submitted::from_pairs(pairs);
    let spec = match submitted.parse(&state) {
        Ok(spec) => spec,
        Err(e) => {
            let errors = FormErrors::from_service(e)?;
            let page = list_page(&state, &ctx, &admin, submitted.form(), errors, None).await?;
            return ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let now = state.clock.now_utc();
    let (endpoint, secret) =
        service::create(&state.db, &state.keys.webhook, admin.user.email.clone(), spec, now).await?;
    // The secret is rendered into this one response and kept nowhere.
    let shown = NewSecret { url: endpoint.url, secret };
    let page = list_page(&state, &ctx, &admin, EndpointForm::blank(), FormErrors::new(), Some(shown)).await?;
    ctx.render_status(StatusCode::CREATED, &page).map(no_store)
}

// -- one endpoint --

#[derive(Template)]
#[template(path = "admin/webhook.html")]
struct WebhookPage {
    layout: Layout,
    endpoint: EndpointView,
    form: EndpointForm,
    errors: FormErrors,
    deliveries: Vec<DeliveryView>,
    new_secret: Option<String>,
    can_manage: bool,
}

async fn endpoint_page(
    state: &AppState,
    ctx: &PageCtx,
    admin: &CurrentAdmin,
    id: String,
    form: Option<(EndpointForm, FormErrors)>,
    new_secret: Option<String>,
) -> AppResult<WebhookPage> {
    let (summary, deliveries) = service::show(&state.db, id).await?;
    let (form, errors) = form.unwrap_or_else(|| (EndpointForm::of(&summary.endpoint), FormErrors::new()));
    Ok(WebhookPage {
        layout: ctx.layout(Some(&admin.user), Section::Webhooks),
        endpoint: EndpointView::from(&summary),
        form,
        errors,
        deliveries: deliveries.iter().map(DeliveryView::from).collect(),
        new_secret,
        can_manage: admin.user.role.can(Permission::Manage),
    })
}

#[get("/admin/webhooks/{id}")]
pub async fn show(
    state: web::Data<AppState>,
    ctx: PageCtx,
    admin: CurrentAdmin,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    admin.require(Permission::View)?;
    let page = endpoint_page(&state, &ctx, &admin, path.into_inner(), None, None).await?;
    ctx.render(&page)
}

#[post("/admin/webhooks/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    ctx: PageCtx,
    admin: CurrentAdmin,
    path: web::Path<String>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> AppResult<HttpResponse> {
    admin.require(Permission::Manage)?;
    let id = path.into_inner();
    let submitted = Submitted::from_pairs(pairs);
    let spec = match submitted.parse(&state) {
        Ok(spec) => spec,
        Err(e) => {
            let errors = FormErrors::from_service(e)?;
            let page = endpoint_page(&state, &ctx, &admin, id, Some((submitted.form(), errors)), None).await?;
            return ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let now = state.clock.now_utc();
    service::update(&state.db, admin.user.email.clone(), id.clone(), spec, now).await?;
    Ok(back_to(&state, &id, Flash::success("The endpoint is saved.")))
}

/// `enable` or `disable`. A disabled endpoint is sent nothing new; what
/// was already waiting leaves when it is enabled again.
#[post("/admin/webhooks/{id}/{switch:(enable|disable)}")]
pub async fn switch(
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    path: web::Path<(String, String)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> AppResult<HttpResponse> {
    admin.require(Permission::Manage)?;
    let (id, switch) = path.into_inner();
    let enable = switch == "enable";
    service::set_enabled(&state.db, admin.user.email.clone(), id.clone(), enable, state.clock.now_utc()).await?;
    let flash = if enable {
        state.webhooks.doorbell().ring();
        "The endpoint is enabled; waiting deliveries leave now."
    } else {
        "The endpoint is disabled: nothing new is sent to it; deliveries already waiting leave when it is enabled again."
    };
    Ok(back_to(&state, &id, Flash::success(flash)))
}

#[post("/admin/webhooks/{id}/rotate-secret")]
pub async fn rotate_secret(
    state: web::Data<AppState>,
    ctx: PageCtx,
    admin: CurrentAdmin,
    path: web::Path<String>,
    CsrfForm(_): CsrfForm<Empty>,
) -> AppResult<HttpResponse> {
    admin.require(Permission::Manage)?;
    let id = path.into_inner();
    let now = state.clock.now_utc();
    let secret =
        service::rotate_secret(&state.db, &state.keys.webhook, admin.user.email.clone(), id.clone(), now).await?;
    let page = endpoint_page(&state, &ctx, &admin, id, None, Some(secret)).await?;
    ctx.render(&page).map(no_store)
}

#[post("/admin/webhooks/{id}/delete")]
pub async fn delete(
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    path: web::Path<String>,
    CsrfForm(_): CsrfForm<Empty>,
) -> AppResult<HttpResponse> {
    admin.require(Permission::Manage)?;
    let url = service::delete(&state.db, admin.user.email.clone(), path.into_inner(), state.clock.now_utc()).await?;
    Ok(redirect_with(
        "/admin/webhooks",
        Flash::success(format!("The endpoint {url} and its deliveries are deleted.")),
        &state.keys,
        state.settings.https(),
    ))
}

// -- one delivery --

#[derive(Template)]
#[template(path = "admin/webhook_delivery.html")]
struct DeliveryPage {
    layout: Layout,
    endpoint_id: String,
    endpoint_url: String,
    delivery: DeliveryView,
    /// The body as sent, indented for reading.
    payload: String,
    attempts: Vec<AttemptView>,
    can_manage: bool,
}

#[get("/admin/webhooks/{id}/deliveries/{delivery}")]
pub async fn delivery(
    state: web::Data<AppState>,
    ctx: PageCtx,
    admin: CurrentAdmin,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    admin.require(Permission::View)?;
    let (endpoint_id, delivery_id) = path.into_inner();
    let (endpoint, delivery, attempts) = service::delivery(&state.db, endpoint_id, delivery_id).await?;
    let payload = serde_json::from_str::<serde_json::Value>(&delivery.payload)
        .and_then(|v| serde_json::to_string_pretty(&v))
        .unwrap_or_else(|_| delivery.payload.clone());
    let page = DeliveryPage {
        layout: ctx.layout(Some(&admin.user), Section::Webhooks),
        endpoint_id: endpoint.id,
        endpoint_url: endpoint.url,
        delivery: DeliveryView::from(&delivery),
        payload,
        attempts: attempts.into_iter().map(AttemptView::from).collect(),
        can_manage: admin.user.role.can(Permission::Manage),
    };
    ctx.render(&page)
}

#[post("/admin/webhooks/{id}/deliveries/{delivery}/redeliver")]
pub async fn redeliver(
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    path: web::Path<(String, String)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> AppResult<HttpResponse> {
    admin.require(Permission::Manage)?;
    let (endpoint_id, delivery_id) = path.into_inner();
    let now = state.clock.now_utc();
    service::redeliver(&state.db, admin.user.email.clone(), endpoint_id.clone(), delivery_id.clone(), now).await?;
    state.webhooks.doorbell().ring();
    Ok(redirect_with(
        &format!("/admin/webhooks/{endpoint_id}/deliveries/{delivery_id}"),
        Flash::success("Queued for delivery now, with the same webhook-id."),
        &state.keys,
        state.settings.https(),
    ))
}

fn back_to(state: &AppState, id: &str, flash: Flash) -> HttpResponse {
    redirect_with(&format!("/admin/webhooks/{id}"), flash, &state.keys, state.settings.https())
}

/// A page that shows a secret must not be kept by caches or the history.
fn no_store(mut response: HttpResponse) -> HttpResponse {
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
