//! Conversion events: one row per client event id and program, kept as the
//! idempotency record and as the referral's timeline.

use diesel::prelude::*;
use time::PrimitiveDateTime;

use super::schema::conversion_events;
use super::{DbConnection, StorageResult};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = conversion_events)]
pub struct EventRow {
    pub program_id: String,
    pub event_id: String,
    pub kind: String,
    /// SHA-256 of the request body with its keys sorted.
    pub body_hash: String,
    pub referral_id: Option<String>,
    pub attributed: bool,
    /// The referral's stage after the event, as answered.
    pub stage: Option<String>,
    /// What the event did, in plain words (for the timeline).
    pub outcome: String,
    pub amount: Option<i64>,
    pub currency: Option<String>,
    pub occurred_at: PrimitiveDateTime,
    pub received_at: PrimitiveDateTime,
}

pub fn find(conn: &mut DbConnection, program_id: &str, event_id: &str) -> StorageResult<Option<EventRow>> {
    Ok(conversion_events::table.find((program_id, event_id)).select(EventRow::as_select()).first(conn).optional()?)
}

pub fn insert(conn: &mut DbConnection, row: &EventRow) -> StorageResult<()> {
    diesel::insert_into(conversion_events::table).values(row).execute(conn)?;
    Ok(())
}

/// A referral's events in the order they arrived.
pub fn for_referral(conn: &mut DbConnection, referral_id: &str) -> StorageResult<Vec<EventRow>> {
    Ok(conversion_events::table
        .filter(conversion_events::referral_id.eq(referral_id))
        .order((conversion_events::received_at.asc(), conversion_events::event_id.asc()))
        .select(EventRow::as_select())
        .load(conn)?)
}
