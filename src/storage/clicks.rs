//! Click rows, written in batches by the click writer.

use diesel::prelude::*;
use time::PrimitiveDateTime;

use super::schema::{clicks, links};
use super::{DbConnection, StorageResult};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = clicks)]
// NULL for `None`, not DEFAULT: SQLite has no DEFAULT in multi-row VALUES,
// so with the default diesel would insert a batch one row at a time.
#[diesel(treat_none_as_default_value = false)]
pub struct ClickRow {
    pub id: String,
    pub link_id: String,
    pub program_id: String,
    pub at: PrimitiveDateTime,
    pub channel: Option<String>,
    pub user_agent: String,
    pub referrer_host: Option<String>,
    pub ip_hash: String,
    pub is_bot: bool,
    pub is_duplicate: bool,
}

/// Inserts a batch in one statement per chunk (SQLite caps the number of
/// bound values per statement; 500 rows × 10 columns stays well under).
pub fn insert_batch(conn: &mut DbConnection, rows: &[ClickRow]) -> StorageResult<()> {
    for chunk in rows.chunks(500) {
        match conn {
            DbConnection::Sqlite(c) => diesel::insert_into(clicks::table).values(chunk).execute(c)?,
            DbConnection::Postgres(c) => diesel::insert_into(clicks::table).values(chunk).execute(c)?,
        };
    }
    Ok(())
}

/// Whether the same visitor opened the same link since `since`.
pub fn seen_since(
    conn: &mut DbConnection,
    link_id: &str,
    ip_hash: &str,
    user_agent: &str,
    since: PrimitiveDateTime,
) -> StorageResult<bool> {
    Ok(diesel::select(diesel::dsl::exists(
        clicks::table
            .filter(clicks::link_id.eq(link_id))
            .filter(clicks::at.ge(since))
            .filter(clicks::ip_hash.eq(ip_hash))
            .filter(clicks::user_agent.eq(user_agent)),
    ))
    .get_result(conn)?)
}

/// Counted clicks (not bots, not duplicates) of a program since `since`,
/// as their times; the caller buckets them by day.
pub fn counted_times_for_program(
    conn: &mut DbConnection,
    program_id: &str,
    since: PrimitiveDateTime,
) -> StorageResult<Vec<PrimitiveDateTime>> {
    Ok(clicks::table
        .filter(clicks::program_id.eq(program_id))
        .filter(clicks::at.ge(since))
        .filter(clicks::is_bot.eq(false))
        .filter(clicks::is_duplicate.eq(false))
        .select(clicks::at)
        .load(conn)?)
}

/// Counted clicks per participant of a program: (participant_id, clicks).
pub fn counted_by_participant(conn: &mut DbConnection, program_id: &str) -> StorageResult<Vec<(String, i64)>> {
    Ok(clicks::table
        .inner_join(links::table)
        .filter(clicks::program_id.eq(program_id))
        .filter(clicks::is_bot.eq(false))
        .filter(clicks::is_duplicate.eq(false))
        .group_by(links::participant_id)
        .select((links::participant_id, diesel::dsl::count_star()))
        .load(conn)?)
}

/// Counted clicks of one participant's links.
pub fn counted_for_participant(conn: &mut DbConnection, participant_id: &str) -> StorageResult<i64> {
    Ok(clicks::table
        .inner_join(links::table)
        .filter(links::participant_id.eq(participant_id))
        .filter(clicks::is_bot.eq(false))
        .filter(clicks::is_duplicate.eq(false))
        .count()
        .get_result(conn)?)
}

/// The latest clicks of one participant's links, newest first.
pub fn recent_for_participant(
    conn: &mut DbConnection,
    participant_id: &str,
    limit: i64,
) -> StorageResult<Vec<ClickRow>> {
    Ok(clicks::table
        .inner_join(links::table)
        .filter(links::participant_id.eq(participant_id))
        .order(clicks::at.desc())
        .limit(limit)
        .select(ClickRow::as_select())
        .load(conn)?)
}

/// All click rows of a program, any flag (for totals and tests).
pub fn count_for_program(conn: &mut DbConnection, program_id: &str) -> StorageResult<i64> {
    Ok(clicks::table.filter(clicks::program_id.eq(program_id)).count().get_result(conn)?)
}

pub fn count_all(conn: &mut DbConnection) -> StorageResult<i64> {
    Ok(clicks::table.count().get_result(conn)?)
}
