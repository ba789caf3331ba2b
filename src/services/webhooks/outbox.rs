//! Writing webhooks: a change that other systems hear about adds one
//! delivery row per subscribed endpoint inside its own transaction, so the
//! change and its webhooks commit (or roll back) together. The worker in
//! [`super::sender`] sends them afterwards.

use std::sync::Arc;

use serde::Serialize;
use time::PrimitiveDateTime;

use crate::domain::rfc3339::format_utc;
use crate::domain::webhook::{EventType, MAX_ATTEMPTS, Subscription};
use crate::storage::webhooks::{self, DeliveryRow, PENDING};
use crate::storage::{DbConnection, StorageResult};

/// The webhooks of one write transaction. The endpoints are read once, on
/// first use, inside the transaction; a group of events shares one read.
#[derive(Default)]
pub struct Outbox {
    endpoints: Option<Vec<(String, Subscription)>>,
    /// Rows written; the caller rings the [`Doorbell`] after the commit.
    written: usize,
}

/// The body every endpoint receives: `{"type", "timestamp", "data"}`.
#[derive(Serialize)]
struct Envelope<'a, T: Serialize> {
    r#type: &'static str,
    timestamp: String,
    data: &'a T,
}

impl Outbox {
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether any enabled endpoint receives `event`; lets a caller skip
    /// building a payload nobody reads.
    pub fn wants(&mut self, conn: &mut DbConnection, event: EventType) -> StorageResult<bool> {
        Ok(self.subscribers(conn, event)?.next().is_some())
    }

    /// Adds a delivery of `data` as `event` for every endpoint that wants
    /// it. One message id for all of them (the `webhook-id` header).
    pub fn add<T: Serialize>(
        &mut self,
        conn: &mut DbConnection,
        event: EventType,
        data: &T,
        now: PrimitiveDateTime,
    ) -> StorageResult<()> {
        let endpoints: Vec<String> = self.subscribers(conn, event)?.collect();
        if endpoints.is_empty() {
            return Ok(());
        }
        let envelope = Envelope { r#type: event.as_str(), timestamp: format_utc(now), data };
        let payload =
            serde_json::to_string(&envelope).map_err(|e| crate::storage::StorageError::Data(e.to_string()))?;
        let message_id = format!("msg_{}", nanoid::nanoid!(24));
        let rows: Vec<DeliveryRow> = endpoints
            .into_iter()
            .map(|endpoint_id| DeliveryRow {
                id: nanoid::nanoid!(),
                endpoint_id,
                message_id: message_id.clone(),
                event_type: event.as_str().into(),
                payload: payload.clone(),
                status: PENDING.into(),
                attempts: 0,
                max_attempts: MAX_ATTEMPTS,
                next_attempt_at: now,
                lease_until: None,
                leased_by: None,
                last_attempt_at: None,
                last_status_code: None,
                last_error: None,
                delivered_at: None,
                created_at: now,
            })
            .collect();
        webhooks::insert_deliveries(conn, &rows)?;
        self.written += rows.len();
        Ok(())
    }

    /// Whether this transaction queued any delivery.
    pub fn wrote_any(&self) -> bool {
        self.written > 0
    }

    fn subscribers(
        &mut self,
        conn: &mut DbConnection,
        event: EventType,
    ) -> StorageResult<impl Iterator<Item = String> + '_> {
        if self.endpoints.is_none() {
            let rows = webhooks::enabled_endpoints(conn)?;
            self.endpoints =
                Some(rows.into_iter().map(|e| (e.id, Subscription::from_stored(&e.event_types))).collect());
        }
        let endpoints = self.endpoints.as_deref().unwrap_or_default();
        Ok(endpoints.iter().filter(move |(_, s)| s.includes(event)).map(|(id, _)| id.clone()))
    }
}

/// Tells this server's webhook worker that deliveries are waiting, so they
/// leave at once instead of at the next poll. Cheap to clone.
#[derive(Clone, Default)]
pub struct Doorbell(Arc<tokio::sync::Notify>);

impl Doorbell {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn ring(&self) {
        self.0.notify_one();
    }

    pub async fn wait(&self) {
        self.0.notified().await;
    }
}
