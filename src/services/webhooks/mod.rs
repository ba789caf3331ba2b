//! Outbound webhooks: endpoints the admin manages, the outbox a change
//! writes into ([`outbox`]) and the worker that sends it ([`sender`]).
//!
//! An endpoint's secret is derived from the instance secret key and a
//! random salt kept on the endpoint; it is shown once, at creation or
//! rotation, and never stored.

pub mod outbox;
pub mod sender;

use time::PrimitiveDateTime;

use crate::crypto::{SigningKey, random_token};
use crate::domain::FieldError;
use crate::domain::webhook::{Subscription, WebhookSecret, parse_endpoint_url};
use crate::storage::audit::{self, AuditEntry};
use crate::storage::webhooks::{self, AttemptRow, DeliveryRow, EndpointRow};
use crate::storage::{Db, DbConnection, StorageResult};

pub use outbox::{Doorbell, Outbox};
pub use sender::WebhookSender;

use super::{ServiceError, ServiceResult};

/// After a rotation the previous secret keeps signing for this long.
pub const ROTATION_OVERLAP: time::Duration = time::Duration::hours(24);
/// Deliveries an endpoint page shows.
const RECENT_DELIVERIES: i64 = 100;

/// The signing secret of an endpoint: HMAC of its id and salt under the
/// webhook key.
pub fn secret_for(key: &SigningKey, endpoint_id: &str, salt: &str) -> WebhookSecret {
    WebhookSecret::from_bytes(key.mac(format!("{endpoint_id}:{salt}").as_bytes()))
}

/// An endpoint as the admin submitted it, checked.
#[derive(Debug, Clone)]
pub struct EndpointSpec {
    pub url: url::Url,
    pub description: String,
    pub subscription: Subscription,
}

/// Checks an endpoint form; every problem is named by its field.
pub fn parse_endpoint(
    url: &str,
    description: &str,
    event_types: &[String],
    allow_private: bool,
) -> ServiceResult<EndpointSpec> {
    let mut errors = Vec::new();
    let url = parse_endpoint_url(url, allow_private).map_err(|e| errors.push(e)).ok();
    let description = description.trim();
    if description.chars().count() > 200 {
        errors.push(FieldError::new("description", "use at most 200 characters"));
    } else if description.chars().any(char::is_control) {
        errors.push(FieldError::new("description", "use letters, digits and punctuation only"));
    }
    let subscription = Subscription::from_checked(event_types).map_err(|e| errors.push(e)).ok();
    match (url, subscription) {
        (Some(url), Some(subscription)) if errors.is_empty() => {
            Ok(EndpointSpec { url, description: description.to_string(), subscription })
        }
        _ => Err(ServiceError::Invalid(errors)),
    }
}

/// An endpoint with its delivery counts.
#[derive(Debug, Clone)]
pub struct EndpointSummary {
    pub endpoint: EndpointRow,
    pub subscription: Subscription,
    pub pending: i64,
    pub delivered: i64,
    pub failed: i64,
}

impl EndpointSummary {
    fn new(endpoint: EndpointRow, counts: &[(String, String, i64)]) -> Self {
        let count = |status: &str| {
            counts.iter().filter(|(e, s, _)| *e == endpoint.id && s == status).map(|(_, _, n)| *n).sum::<i64>()
        };
        Self {
            subscription: Subscription::from_stored(&endpoint.event_types),
            pending: count(webhooks::PENDING),
            delivered: count(webhooks::DELIVERED),
            failed: count(webhooks::FAILED),
            endpoint,
        }
    }
}

pub async fn list(db: &Db) -> ServiceResult<Vec<EndpointSummary>> {
    Ok(db
        .run(|conn| {
            let counts = webhooks::status_counts(conn)?;
            Ok(webhooks::list_endpoints(conn)?.into_iter().map(|e| EndpointSummary::new(e, &counts)).collect())
        })
        .await?)
}

/// Creates an endpoint; returns it with its secret, to show once.
pub async fn create(
    db: &Db,
    key: &SigningKey,
    actor: String,
    spec: EndpointSpec,
    now: PrimitiveDateTime,
) -> ServiceResult<(EndpointRow, String)> {
    let row = EndpointRow {
        id: nanoid::nanoid!(),
        url: spec.url.to_string(),
        description: spec.description,
        event_types: spec.subscription.to_stored(),
        secret_salt: random_token(16),
        previous_secret_salt: None,
        previous_secret_until: None,
        enabled: true,
        disabled_reason: None,
        created_at: now,
        updated_at: now,
    };
    let secret = secret_for(key, &row.id, &row.secret_salt).reveal();
    let stored = row.clone();
    db.write(move |conn| {
        webhooks::insert_endpoint(conn, &stored)?;
        record(conn, &actor, "webhook.created", &stored.url, "", now)
    })
    .await?;
    Ok((row, secret))
}

/// One endpoint with its recent deliveries, newest first.
pub async fn show(db: &Db, id: String) -> ServiceResult<(EndpointSummary, Vec<DeliveryRow>)> {
    db.run(move |conn| {
        let Some(endpoint) = webhooks::find_endpoint(conn, &id)? else {
            return Ok(Err(ServiceError::NotFound("webhook endpoint")));
        };
        let counts = webhooks::status_counts(conn)?;
        let deliveries = webhooks::deliveries_for_endpoint(conn, &id, RECENT_DELIVERIES)?;
        Ok(Ok((EndpointSummary::new(endpoint, &counts), deliveries)))
    })
    .await?
}

pub async fn update(
    db: &Db,
    actor: String,
    id: String,
    spec: EndpointSpec,
    now: PrimitiveDateTime,
) -> ServiceResult<()> {
    let url = spec.url.to_string();
    found(
        db.write(move |conn| {
            let found =
                webhooks::update_endpoint(conn, &id, &url, &spec.description, &spec.subscription.to_stored(), now)?;
            if found {
                record(conn, &actor, "webhook.updated", &url, "", now)?;
            }
            Ok(found)
        })
        .await?,
    )
}

/// Enables (clearing why it was disabled) or disables an endpoint. A
/// disabled endpoint gets no new deliveries; those already waiting leave
/// when it is enabled again.
pub async fn set_enabled(
    db: &Db,
    actor: String,
    id: String,
    enabled: bool,
    now: PrimitiveDateTime,
) -> ServiceResult<()> {
    found(
        db.write(move |conn| {
            let Some(endpoint) = webhooks::find_endpoint(conn, &id)? else {
                return Ok(false);
            };
            webhooks::set_enabled(conn, &id, enabled, None, now)?;
            let action = if enabled { "webhook.enabled" } else { "webhook.disabled" };
            record(conn, &actor, action, &endpoint.url, "", now)?;
            Ok(true)
        })
        .await?,
    )
}

/// Gives the endpoint a new secret, returned to show once; the previous
/// one keeps signing for [`ROTATION_OVERLAP`].
pub async fn rotate_secret(
    db: &Db,
    key: &SigningKey,
    actor: String,
    id: String,
    now: PrimitiveDateTime,
) -> ServiceResult<String> {
    let salt = random_token(16);
    let secret = secret_for(key, &id, &salt).reveal();
    found(
        db.write(move |conn| {
            let Some(endpoint) = webhooks::find_endpoint(conn, &id)? else {
                return Ok(false);
            };
            webhooks::rotate_secret_salt(conn, &id, &salt, now + ROTATION_OVERLAP, now)?;
            record(conn, &actor, "webhook.secret_rotated", &endpoint.url, "", now)?;
            Ok(true)
        })
        .await?,
    )?;
    Ok(secret)
}

/// Deletes an endpoint and its delivery history.
pub async fn delete(db: &Db, actor: String, id: String, now: PrimitiveDateTime) -> ServiceResult<String> {
    db.write(move |conn| {
        let Some(endpoint) = webhooks::find_endpoint(conn, &id)? else {
            return Ok(Err(ServiceError::NotFound("webhook endpoint")));
        };
        webhooks::delete_endpoint(conn, &id)?;
        record(conn, &actor, "webhook.deleted", &endpoint.url, "", now)?;
        Ok(Ok(endpoint.url))
    })
    .await?
}

/// One delivery of an endpoint with its attempts, oldest first.
pub async fn delivery(
    db: &Db,
    endpoint_id: String,
    delivery_id: String,
) -> ServiceResult<(EndpointRow, DeliveryRow, Vec<AttemptRow>)> {
    db.run(move |conn| {
        let endpoint = webhooks::find_endpoint(conn, &endpoint_id)?;
        let delivery = webhooks::find_delivery(conn, &delivery_id)?.filter(|d| d.endpoint_id == endpoint_id);
        let (Some(endpoint), Some(delivery)) = (endpoint, delivery) else {
            return Ok(Err(ServiceError::NotFound("webhook delivery")));
        };
        let attempts = webhooks::attempts_for(conn, &delivery_id)?;
        Ok(Ok((endpoint, delivery, attempts)))
    })
    .await?
}

/// Sends a delivery once more, now, with the same `webhook-id` and body.
pub async fn redeliver(
    db: &Db,
    actor: String,
    endpoint_id: String,
    delivery_id: String,
    now: PrimitiveDateTime,
) -> ServiceResult<()> {
    found(
        db.write(move |conn| {
            let ours = webhooks::find_delivery(conn, &delivery_id)?.is_some_and(|d| d.endpoint_id == endpoint_id);
            if !ours || !webhooks::redeliver(conn, &delivery_id, now)? {
                return Ok(false);
            }
            record(conn, &actor, "webhook.redelivered", &delivery_id, &endpoint_id, now)?;
            Ok(true)
        })
        .await?,
    )
}

fn found(found: bool) -> ServiceResult<()> {
    if found { Ok(()) } else { Err(ServiceError::NotFound("webhook endpoint")) }
}

fn record(
    conn: &mut DbConnection,
    actor: &str,
    action: &str,
    subject: &str,
    detail: &str,
    now: PrimitiveDateTime,
) -> StorageResult<()> {
    audit::record(conn, AuditEntry { actor, action, subject, detail }, now)
}
