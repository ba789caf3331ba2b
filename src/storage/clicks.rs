//! Click rows, the per-day click counts beside them, the visits the
//! duplicate check reads, and how far each server's click journal has been
//! loaded. Written in batches by the click loader.
//!
//! The click table has one index, its primary key, whose ids are ordered by
//! time: a batch appends to it. Everything asked of clicks per link,
//! participant or program reads `click_daily`, kept in the same transaction.

use std::collections::HashMap;

use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use diesel::upsert::excluded;
use time::{Date, PrimitiveDateTime};

use super::schema::{click_daily, click_journal_positions, click_visits, clicks, links};
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

impl ClickRow {
    /// Neither a bot nor a repeat: the click the reports count.
    pub fn is_counted(&self) -> bool {
        !self.is_bot && !self.is_duplicate
    }
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = click_daily)]
#[diesel(treat_none_as_default_value = false)]
struct DailyRow<'a> {
    link_id: &'a str,
    day: Date,
    channel: &'a str,
    program_id: &'a str,
    clicks: i64,
    counted: i64,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = click_visits)]
#[diesel(treat_none_as_default_value = false)]
struct VisitRow<'a> {
    visit_key: &'a str,
    last_counted_at: PrimitiveDateTime,
}

/// Rows per statement: SQLite caps the bound values of one statement.
const CHUNK: usize = 500;

/// Inserts clicks and adds them to the per-day counts. Call it inside a
/// write transaction: the counts must never disagree with the rows.
pub fn insert_batch(conn: &mut DbConnection, rows: &[ClickRow]) -> StorageResult<()> {
    for chunk in rows.chunks(CHUNK) {
        match conn {
            DbConnection::Sqlite(c) => diesel::insert_into(clicks::table).values(chunk).execute(c)?,
            DbConnection::Postgres(c) => diesel::insert_into(clicks::table).values(chunk).execute(c)?,
        };
    }
    add_to_daily(conn, rows)
}

fn add_to_daily(conn: &mut DbConnection, rows: &[ClickRow]) -> StorageResult<()> {
    let mut sums: HashMap<(&str, Date, &str), (&str, i64, i64)> = HashMap::new();
    for row in rows {
        let key = (row.link_id.as_str(), row.at.date(), row.channel.as_deref().unwrap_or(""));
        let sum = sums.entry(key).or_insert((row.program_id.as_str(), 0, 0));
        sum.1 += 1;
        sum.2 += i64::from(row.is_counted());
    }
    let mut daily: Vec<DailyRow> = sums
        .into_iter()
        .map(|((link_id, day, channel), (program_id, clicks, counted))| DailyRow {
            link_id,
            day,
            channel,
            program_id,
            clicks,
            counted,
        })
        .collect();
    // One order for every writer, so that two servers adding to the same
    // rows on PostgreSQL lock them in the same order and cannot deadlock.
    daily.sort_by(|a, b| (a.link_id, a.day, a.channel).cmp(&(b.link_id, b.day, b.channel)));
    for chunk in daily.chunks(CHUNK) {
        macro_rules! upsert {
            ($c:expr) => {
                diesel::insert_into(click_daily::table)
                    .values(chunk)
                    .on_conflict((click_daily::link_id, click_daily::day, click_daily::channel))
                    .do_update()
                    .set((
                        click_daily::clicks.eq(click_daily::clicks + excluded(click_daily::clicks)),
                        click_daily::counted.eq(click_daily::counted + excluded(click_daily::counted)),
                    ))
                    .execute($c)?
            };
        }
        match conn {
            DbConnection::Sqlite(c) => upsert!(c),
            DbConnection::Postgres(c) => upsert!(c),
        };
    }
    Ok(())
}

/// When each of the visitors behind `visit_keys` last opened the link in
/// a counted click, for those within the rows kept.
pub fn visits_last_counted(
    conn: &mut DbConnection,
    visit_keys: &[String],
) -> StorageResult<Vec<(String, PrimitiveDateTime)>> {
    Ok(click_visits::table
        .filter(click_visits::visit_key.eq_any(visit_keys))
        .select((click_visits::visit_key, click_visits::last_counted_at))
        .load(conn)?)
}

/// Records counted opens: (visit key, time), one per key.
pub fn upsert_visits(conn: &mut DbConnection, visits: &[(String, PrimitiveDateTime)]) -> StorageResult<()> {
    let mut rows: Vec<VisitRow> =
        visits.iter().map(|(key, at)| VisitRow { visit_key: key, last_counted_at: *at }).collect();
    rows.sort_by(|a, b| a.visit_key.cmp(b.visit_key));
    for chunk in rows.chunks(CHUNK) {
        macro_rules! upsert {
            ($c:expr) => {
                diesel::insert_into(click_visits::table)
                    .values(chunk)
                    .on_conflict(click_visits::visit_key)
                    .do_update()
                    .set(click_visits::last_counted_at.eq(excluded(click_visits::last_counted_at)))
                    .execute($c)?
            };
        }
        match conn {
            DbConnection::Sqlite(c) => upsert!(c),
            DbConnection::Postgres(c) => upsert!(c),
        };
    }
    Ok(())
}

/// Forgets visits whose counted open is older than `cutoff`.
pub fn delete_visits_before(conn: &mut DbConnection, cutoff: PrimitiveDateTime) -> StorageResult<usize> {
    Ok(diesel::delete(click_visits::table.filter(click_visits::last_counted_at.lt(cutoff))).execute(conn)?)
}

/// Where the journal `journal_id` has been loaded up to: (segment, offset).
pub fn journal_position(conn: &mut DbConnection, journal_id: &str) -> StorageResult<Option<(i64, i64)>> {
    Ok(click_journal_positions::table
        .find(journal_id)
        .select((click_journal_positions::segment, click_journal_positions::byte_offset))
        .first(conn)
        .optional()?)
}

/// Moves the journal's loaded position; inside the batch's transaction.
pub fn set_journal_position(
    conn: &mut DbConnection,
    journal_id: &str,
    (segment, offset): (i64, i64),
    now: PrimitiveDateTime,
) -> StorageResult<()> {
    let updated = diesel::update(click_journal_positions::table.find(journal_id))
        .set((
            click_journal_positions::segment.eq(segment),
            click_journal_positions::byte_offset.eq(offset),
            click_journal_positions::updated_at.eq(now),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(click_journal_positions::table)
            .values((
                click_journal_positions::journal_id.eq(journal_id),
                click_journal_positions::segment.eq(segment),
                click_journal_positions::byte_offset.eq(offset),
                click_journal_positions::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// One click by its id (the click id of attribution).
pub fn find(conn: &mut DbConnection, id: &str) -> StorageResult<Option<ClickRow>> {
    Ok(clicks::table.find(id).select(ClickRow::as_select()).first(conn).optional()?)
}

fn sum(column: &str) -> diesel::expression::SqlLiteral<BigInt> {
    // SUM of a BIGINT is NUMERIC on PostgreSQL; the counts fit a BIGINT.
    sql::<BigInt>(&format!("CAST(COALESCE(SUM({column}), 0) AS BIGINT)"))
}

/// Counted clicks of a program per day from `since` on: (day, clicks).
pub fn counted_per_day_for_program(
    conn: &mut DbConnection,
    program_id: &str,
    since: Date,
) -> StorageResult<Vec<(Date, i64)>> {
    Ok(click_daily::table
        .filter(click_daily::program_id.eq(program_id))
        .filter(click_daily::day.ge(since))
        .group_by(click_daily::day)
        .select((click_daily::day, sum("click_daily.counted")))
        .order(click_daily::day.asc())
        .load(conn)?)
}

/// Counted clicks of a program, all time.
pub fn counted_for_program(conn: &mut DbConnection, program_id: &str) -> StorageResult<i64> {
    Ok(click_daily::table
        .filter(click_daily::program_id.eq(program_id))
        .select(sum("click_daily.counted"))
        .first(conn)?)
}

/// Counted clicks per participant of a program: (participant_id, clicks).
pub fn counted_by_participant(conn: &mut DbConnection, program_id: &str) -> StorageResult<Vec<(String, i64)>> {
    Ok(click_daily::table
        .inner_join(links::table)
        .filter(click_daily::program_id.eq(program_id))
        .group_by(links::participant_id)
        .select((links::participant_id, sum("click_daily.counted")))
        .load(conn)?)
}

/// Counted clicks of one participant's links.
pub fn counted_for_participant(conn: &mut DbConnection, participant_id: &str) -> StorageResult<i64> {
    Ok(click_daily::table
        .inner_join(links::table)
        .filter(links::participant_id.eq(participant_id))
        .select(sum("click_daily.counted"))
        .first(conn)?)
}

/// A participant's clicks by channel (`""` for none).
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct ChannelClicks {
    pub channel: String,
    pub clicks: i64,
    pub counted: i64,
    /// The last day with a click on this channel.
    pub last_day: Date,
}

/// A participant's clicks per channel, the most used channel first.
pub fn channels_for_participant(conn: &mut DbConnection, participant_id: &str) -> StorageResult<Vec<ChannelClicks>> {
    let mut rows: Vec<ChannelClicks> = click_daily::table
        .inner_join(links::table)
        .filter(links::participant_id.eq(participant_id))
        .group_by(click_daily::channel)
        .select((
            click_daily::channel,
            sum("click_daily.clicks"),
            sum("click_daily.counted"),
            diesel::dsl::max(click_daily::day).assume_not_null(),
        ))
        .load(conn)?;
    rows.sort_by(|a, b| b.clicks.cmp(&a.clicks).then_with(|| a.channel.cmp(&b.channel)));
    Ok(rows)
}

/// Which of `ids` are stored clicks.
pub fn existing_ids(conn: &mut DbConnection, ids: &[String]) -> StorageResult<Vec<String>> {
    Ok(clicks::table.filter(clicks::id.eq_any(ids)).select(clicks::id).load(conn)?)
}

/// Click rows of a program, any flag (the demo checks for these).
pub fn count_for_program(conn: &mut DbConnection, program_id: &str) -> StorageResult<i64> {
    Ok(click_daily::table
        .filter(click_daily::program_id.eq(program_id))
        .select(sum("click_daily.clicks"))
        .first(conn)?)
}

pub fn count_all(conn: &mut DbConnection) -> StorageResult<i64> {
    Ok(clicks::table.count().get_result(conn)?)
}
