//! Webhook endpoints, the delivery outbox and its attempts. A delivery is
//! claimed with a conditional UPDATE (status pending, due, lease free or
//! over), which is race-free on both backends: of two servers, one UPDATE
//! matches the row and the other finds it leased.

use diesel::prelude::*;
use time::PrimitiveDateTime;

use super::schema::{webhook_attempts, webhook_deliveries, webhook_endpoints};
use super::{DbConnection, StorageResult};

pub const PENDING: &str = "pending";
pub const DELIVERED: &str = "delivered";
pub const FAILED: &str = "failed";

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_endpoints)]
pub struct EndpointRow {
    pub id: String,
    pub url: String,
    pub description: String,
    pub event_types: String,
    pub secret_salt: String,
    pub previous_secret_salt: Option<String>,
    pub previous_secret_until: Option<PrimitiveDateTime>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub created_at: PrimitiveDateTime,
    pub updated_at: PrimitiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_deliveries)]
pub struct DeliveryRow {
    pub id: String,
    pub endpoint_id: String,
    pub message_id: String,
    pub event_type: String,
    pub payload: String,
    pub status: String,
    pub attempts: i32,
    pub max_attempts: i32,
    pub next_attempt_at: PrimitiveDateTime,
    pub lease_until: Option<PrimitiveDateTime>,
    pub leased_by: Option<String>,
    pub last_attempt_at: Option<PrimitiveDateTime>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub delivered_at: Option<PrimitiveDateTime>,
    pub created_at: PrimitiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_attempts)]
pub struct AttemptRow {
    pub delivery_id: String,
    pub attempt: i32,
    pub at: PrimitiveDateTime,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub response_excerpt: String,
    pub duration_ms: i32,
}

// -- endpoints --

pub fn insert_endpoint(conn: &mut DbConnection, row: &EndpointRow) -> StorageResult<()> {
    diesel::insert_into(webhook_endpoints::table).values(row).execute(conn)?;
    Ok(())
}

pub fn find_endpoint(conn: &mut DbConnection, id: &str) -> StorageResult<Option<EndpointRow>> {
    Ok(webhook_endpoints::table.find(id).select(EndpointRow::as_select()).first(conn).optional()?)
}

pub fn list_endpoints(conn: &mut DbConnection) -> StorageResult<Vec<EndpointRow>> {
    Ok(webhook_endpoints::table
        .order((webhook_endpoints::created_at.asc(), webhook_endpoints::id.asc()))
        .select(EndpointRow::as_select())
        .load(conn)?)
}

pub fn enabled_endpoints(conn: &mut DbConnection) -> StorageResult<Vec<EndpointRow>> {
    Ok(webhook_endpoints::table
        .filter(webhook_endpoints::enabled.eq(true))
        .order(webhook_endpoints::id.asc())
        .select(EndpointRow::as_select())
        .load(conn)?)
}

/// Changes the URL, description and types; whether it was found.
pub fn update_endpoint(
    conn: &mut DbConnection,
    id: &str,
    url: &str,
    description: &str,
    event_types: &str,
    now: PrimitiveDateTime,
) -> StorageResult<bool> {
    let n = diesel::update(webhook_endpoints::table.find(id))
        .set((
            webhook_endpoints::url.eq(url),
            webhook_endpoints::description.eq(description),
            webhook_endpoints::event_types.eq(event_types),
            webhook_endpoints::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

/// Enables or disables; `reason` says why goodword disabled it.
pub fn set_enabled(
    conn: &mut DbConnection,
    id: &str,
    enabled: bool,
    reason: Option<&str>,
    now: PrimitiveDateTime,
) -> StorageResult<bool> {
    let n = diesel::update(webhook_endpoints::table.find(id))
        .set((
            webhook_endpoints::enabled.eq(enabled),
            webhook_endpoints::disabled_reason.eq(reason),
            webhook_endpoints::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

/// Replaces the secret's salt; the previous one stays valid until
/// `previous_until`. Whether it was found.
pub fn rotate_secret_salt(
    conn: &mut DbConnection,
    id: &str,
    salt: &str,
    previous_until: PrimitiveDateTime,
    now: PrimitiveDateTime,
) -> StorageResult<bool> {
    let Some(endpoint) = find_endpoint(conn, id)? else {
        return Ok(false);
    };
    let n = diesel::update(webhook_endpoints::table.find(id))
        .set((
            webhook_endpoints::secret_salt.eq(salt),
            webhook_endpoints::previous_secret_salt.eq(Some(endpoint.secret_salt)),
            webhook_endpoints::previous_secret_until.eq(Some(previous_until)),
            webhook_endpoints::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

/// Deletes an endpoint with its deliveries and attempts.
pub fn delete_endpoint(conn: &mut DbConnection, id: &str) -> StorageResult<bool> {
    let deliveries =
        webhook_deliveries::table.filter(webhook_deliveries::endpoint_id.eq(id)).select(webhook_deliveries::id);
    diesel::delete(webhook_attempts::table.filter(webhook_attempts::delivery_id.eq_any(deliveries))).execute(conn)?;
    diesel::delete(webhook_deliveries::table.filter(webhook_deliveries::endpoint_id.eq(id))).execute(conn)?;
    Ok(diesel::delete(webhook_endpoints::table.find(id)).execute(conn)? == 1)
}

// -- deliveries --

pub fn insert_deliveries(conn: &mut DbConnection, rows: &[DeliveryRow]) -> StorageResult<()> {
    // One statement per row: MultiConnection has no batch insert for SQLite.
    for row in rows {
        diesel::insert_into(webhook_deliveries::table).values(row).execute(conn)?;
    }
    Ok(())
}

pub fn find_delivery(conn: &mut DbConnection, id: &str) -> StorageResult<Option<DeliveryRow>> {
    Ok(webhook_deliveries::table.find(id).select(DeliveryRow::as_select()).first(conn).optional()?)
}

/// An endpoint's deliveries, newest first.
pub fn deliveries_for_endpoint(
    conn: &mut DbConnection,
    endpoint_id: &str,
    limit: i64,
) -> StorageResult<Vec<DeliveryRow>> {
    Ok(webhook_deliveries::table
        .filter(webhook_deliveries::endpoint_id.eq(endpoint_id))
        .order((webhook_deliveries::created_at.desc(), webhook_deliveries::id.desc()))
        .limit(limit)
        .select(DeliveryRow::as_select())
        .load(conn)?)
}

/// Delivery counts by status for each endpoint: (endpoint, status, count).
pub fn status_counts(conn: &mut DbConnection) -> StorageResult<Vec<(String, String, i64)>> {
    Ok(webhook_deliveries::table
        .group_by((webhook_deliveries::endpoint_id, webhook_deliveries::status))
        .select((webhook_deliveries::endpoint_id, webhook_deliveries::status, diesel::dsl::count_star()))
        .load(conn)?)
}

/// Pending deliveries of enabled endpoints that are due and not leased,
/// oldest due first: candidates to claim.
pub fn due(conn: &mut DbConnection, now: PrimitiveDateTime, limit: i64) -> StorageResult<Vec<String>> {
    let enabled = webhook_endpoints::table.filter(webhook_endpoints::enabled.eq(true)).select(webhook_endpoints::id);
    Ok(webhook_deliveries::table
        .filter(webhook_deliveries::status.eq(PENDING))
        .filter(webhook_deliveries::next_attempt_at.le(now))
        .filter(webhook_deliveries::lease_until.is_null().or(webhook_deliveries::lease_until.le(now)))
        .filter(webhook_deliveries::endpoint_id.eq_any(enabled))
        .order((webhook_deliveries::next_attempt_at.asc(), webhook_deliveries::id.asc()))
        .limit(limit)
        .select(webhook_deliveries::id)
        .load(conn)?)
}

/// Claims a due delivery for one attempt: leases it to `worker` until
/// `lease_until` and counts the attempt. `None` if another worker got it
/// first or it is no longer due.
pub fn claim(
    conn: &mut DbConnection,
    id: &str,
    worker: &str,
    now: PrimitiveDateTime,
    lease_until: PrimitiveDateTime,
) -> StorageResult<Option<DeliveryRow>> {
    let claimed = diesel::update(
        webhook_deliveries::table
            .filter(webhook_deliveries::id.eq(id))
            .filter(webhook_deliveries::status.eq(PENDING))
            .filter(webhook_deliveries::next_attempt_at.le(now))
            .filter(webhook_deliveries::lease_until.is_null().or(webhook_deliveries::lease_until.le(now))),
    )
    .set((
        webhook_deliveries::lease_until.eq(lease_until),
        webhook_deliveries::leased_by.eq(worker),
        webhook_deliveries::attempts.eq(webhook_deliveries::attempts + 1),
    ))
    .execute(conn)?;
    if claimed == 0 {
        return Ok(None);
    }
    find_delivery(conn, id)
}

/// How an attempt ended, for [`finish_attempt`].
#[derive(Debug, Clone)]
pub struct AttemptResult {
    pub status: &'static str,
    pub next_attempt_at: PrimitiveDateTime,
    pub at: PrimitiveDateTime,
    pub status_code: Option<i32>,
    pub error: Option<String>,
}

/// Records the end of the attempt numbered `attempt`, if `worker` still
/// holds the lease for it (a worker whose lease ran out while it waited
/// does not overwrite the newer attempt's result). The attempt row is kept
/// either way. Whether the lease was still held.
pub fn finish_attempt(
    conn: &mut DbConnection,
    attempt: &AttemptRow,
    worker: &str,
    result: &AttemptResult,
) -> StorageResult<bool> {
    diesel::insert_into(webhook_attempts::table).values(attempt).execute(conn)?;
    let delivered_at = (result.status == DELIVERED).then_some(result.at);
    let n = diesel::update(
        webhook_deliveries::table
            .filter(webhook_deliveries::id.eq(&attempt.delivery_id))
            .filter(webhook_deliveries::leased_by.eq(worker))
            .filter(webhook_deliveries::attempts.eq(attempt.attempt)),
    )
    .set((
        webhook_deliveries::status.eq(result.status),
        webhook_deliveries::next_attempt_at.eq(result.next_attempt_at),
        webhook_deliveries::lease_until.eq(None::<PrimitiveDateTime>),
        webhook_deliveries::leased_by.eq(None::<String>),
        webhook_deliveries::last_attempt_at.eq(result.at),
        webhook_deliveries::last_status_code.eq(result.status_code),
        webhook_deliveries::last_error.eq(&result.error),
        webhook_deliveries::delivered_at.eq(delivered_at),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Queues a delivery for one more attempt now (same message id and body):
/// a delivered or failed one gets one attempt more; a pending one is moved
/// forward. Whether it was found.
pub fn redeliver(conn: &mut DbConnection, id: &str, now: PrimitiveDateTime) -> StorageResult<bool> {
    let Some(row) = find_delivery(conn, id)? else {
        return Ok(false);
    };
    let max_attempts = if row.status == PENDING { row.max_attempts } else { row.attempts + 1 };
    diesel::update(webhook_deliveries::table.find(id))
        .set((
            webhook_deliveries::status.eq(PENDING),
            webhook_deliveries::max_attempts.eq(max_attempts),
            webhook_deliveries::next_attempt_at.eq(now),
        ))
        .execute(conn)?;
    Ok(true)
}

pub fn attempts_for(conn: &mut DbConnection, delivery_id: &str) -> StorageResult<Vec<AttemptRow>> {
    Ok(webhook_attempts::table
        .filter(webhook_attempts::delivery_id.eq(delivery_id))
        .order(webhook_attempts::attempt.asc())
        .select(AttemptRow::as_select())
        .load(conn)?)
}

/// Deletes finished deliveries (and their attempts) created before `before`.
pub fn delete_finished_before(conn: &mut DbConnection, before: PrimitiveDateTime) -> StorageResult<usize> {
    let old = webhook_deliveries::table
        .filter(webhook_deliveries::status.ne(PENDING))
        .filter(webhook_deliveries::created_at.lt(before))
        .select(webhook_deliveries::id);
    diesel::delete(webhook_attempts::table.filter(webhook_attempts::delivery_id.eq_any(old))).execute(conn)?;
    Ok(diesel::delete(
        webhook_deliveries::table
            .filter(webhook_deliveries::status.ne(PENDING))
            .filter(webhook_deliveries::created_at.lt(before)),
    )
    .execute(conn)?)
}
