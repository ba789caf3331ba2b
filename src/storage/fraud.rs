//! Fraud rows: the findings of the checks on a referral, the reviewers'
//! decisions, the admin's allow- and blocklists, and what the checks
//! compare a referee with — the referrer's own devices and visits.

use diesel::prelude::*;
use time::PrimitiveDateTime;

use super::schema::{
    fraud_decisions, fraud_findings, fraud_lists, participant_devices, participant_visits, velocity_counts,
};
use super::{DbConnection, StorageResult};

/// A check that fired on a referral, with its evidence in words.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = fraud_findings)]
pub struct FindingRow {
    pub id: String,
    pub referral_id: String,
    pub check_name: String,
    pub action: String,
    pub evidence: String,
    pub created_at: PrimitiveDateTime,
}

pub fn insert_findings(conn: &mut DbConnection, rows: &[FindingRow]) -> StorageResult<()> {
    // One statement per row: a multi-row insert is not portable through
    // the multi-backend connection, and a referral has a handful at most.
    for row in rows {
        diesel::insert_into(fraud_findings::table).values(row).execute(conn)?;
    }
    Ok(())
}

/// The findings of the referrals `ids`, in the order they were made.
pub fn findings_for(conn: &mut DbConnection, ids: &[String]) -> StorageResult<Vec<FindingRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(fraud_findings::table
        .filter(fraud_findings::referral_id.eq_any(ids))
        .order((fraud_findings::created_at.asc(), fraud_findings::id.asc()))
        .select(FindingRow::as_select())
        .load(conn)?)
}

/// A reviewer's decision on a referral.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = fraud_decisions)]
pub struct DecisionRow {
    pub id: String,
    pub referral_id: String,
    pub decision: String,
    pub reason_code: String,
    pub note: String,
    pub actor: String,
    pub at: PrimitiveDateTime,
}

pub fn insert_decision(conn: &mut DbConnection, row: &DecisionRow) -> StorageResult<()> {
    diesel::insert_into(fraud_decisions::table).values(row).execute(conn)?;
    Ok(())
}

/// The decisions on the referrals `ids`, oldest first.
pub fn decisions_for(conn: &mut DbConnection, ids: &[String]) -> StorageResult<Vec<DecisionRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(fraud_decisions::table
        .filter(fraud_decisions::referral_id.eq_any(ids))
        .order((fraud_decisions::at.asc(), fraud_decisions::id.asc()))
        .select(DecisionRow::as_select())
        .load(conn)?)
}

/// An entry of one of the admin's lists.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = fraud_lists)]
pub struct ListRow {
    pub kind: String,
    pub value: String,
    pub note: String,
    pub created_by: String,
    pub created_at: PrimitiveDateTime,
}

/// Adds an entry; false when it was listed already.
pub fn add_entry(conn: &mut DbConnection, row: &ListRow) -> StorageResult<bool> {
    macro_rules! insert {
        ($c:expr) => {
            diesel::insert_into(fraud_lists::table).values(row).on_conflict_do_nothing().execute($c)?
        };
    }
    let added = match conn {
        DbConnection::Sqlite(c) => insert!(c),
        DbConnection::Postgres(c) => insert!(c),
    };
    Ok(added == 1)
}

/// Removes an entry; false when it was not listed.
pub fn remove_entry(conn: &mut DbConnection, kind: &str, value: &str) -> StorageResult<bool> {
    let removed = diesel::delete(fraud_lists::table.find((kind, value))).execute(conn)?;
    Ok(removed == 1)
}

/// Every entry, by list and value.
pub fn entries(conn: &mut DbConnection) -> StorageResult<Vec<ListRow>> {
    Ok(fraud_lists::table
        .order((fraud_lists::kind.asc(), fraud_lists::value.asc()))
        .select(ListRow::as_select())
        .load(conn)?)
}

/// The first of `values` on list `kind`, if any is.
pub fn first_listed(conn: &mut DbConnection, kind: &str, values: &[String]) -> StorageResult<Option<String>> {
    if values.is_empty() {
        return Ok(None);
    }
    let found: Vec<String> = fraud_lists::table
        .filter(fraud_lists::kind.eq(kind))
        .filter(fraud_lists::value.eq_any(values))
        .select(fraud_lists::value)
        .load(conn)?;
    Ok(values.iter().find(|v| found.contains(v)).cloned())
}

/// The values of list `kind`.
pub fn values_of(conn: &mut DbConnection, kind: &str) -> StorageResult<Vec<String>> {
    Ok(fraud_lists::table.filter(fraud_lists::kind.eq(kind)).select(fraud_lists::value).load(conn)?)
}

/// Remembers a participant's own device (the hash of its cookie).
pub fn add_device(
    conn: &mut DbConnection,
    participant_id: &str,
    device_hash: &str,
    now: PrimitiveDateTime,
) -> StorageResult<()> {
    let row = (
        participant_devices::participant_id.eq(participant_id),
        participant_devices::device_hash.eq(device_hash),
        participant_devices::first_seen_at.eq(now),
    );
    macro_rules! insert {
        ($c:expr) => {
            diesel::insert_into(participant_devices::table).values(row).on_conflict_do_nothing().execute($c)?
        };
    }
    match conn {
        DbConnection::Sqlite(c) => insert!(c),
        DbConnection::Postgres(c) => insert!(c),
    };
    Ok(())
}

pub fn has_device(conn: &mut DbConnection, participant_id: &str, device_hash: &str) -> StorageResult<bool> {
    let found: i64 = participant_devices::table.find((participant_id, device_hash)).count().get_result(conn)?;
    Ok(found > 0)
}

/// A participant's own visit: the day's IP hash and the user agent's hash.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = participant_visits)]
pub struct VisitRow {
    pub participant_id: String,
    pub day: String,
    pub ip_hash: String,
    pub user_agent_hash: String,
    pub at: PrimitiveDateTime,
}

/// Records a visit once per day, address and browser.
pub fn add_visit(conn: &mut DbConnection, row: &VisitRow) -> StorageResult<()> {
    macro_rules! insert {
        ($c:expr) => {
            diesel::insert_into(participant_visits::table).values(row).on_conflict_do_nothing().execute($c)?
        };
    }
    match conn {
        DbConnection::Sqlite(c) => insert!(c),
        DbConnection::Postgres(c) => insert!(c),
    };
    Ok(())
}

/// A participant's visits on or after `day` (`YYYY-MM-DD`), newest first.
pub fn visits_since(conn: &mut DbConnection, participant_id: &str, day: &str) -> StorageResult<Vec<VisitRow>> {
    Ok(participant_visits::table
        .filter(participant_visits::participant_id.eq(participant_id))
        .filter(participant_visits::day.ge(day))
        .order(participant_visits::at.desc())
        .limit(500)
        .select(VisitRow::as_select())
        .load(conn)?)
}

/// Deletes visits before `day`: their salts are gone, so they can no
/// longer be compared with anything.
pub fn delete_visits_before(conn: &mut DbConnection, day: &str) -> StorageResult<usize> {
    Ok(diesel::delete(participant_visits::table.filter(participant_visits::day.lt(day))).execute(conn)?)
}

/// Adds one to the counter `key` in `bucket`.
pub fn count_one(conn: &mut DbConnection, key: &str, bucket: PrimitiveDateTime) -> StorageResult<()> {
    let row = (velocity_counts::key.eq(key), velocity_counts::bucket.eq(bucket), velocity_counts::count.eq(1));
    macro_rules! upsert {
        ($c:expr) => {
            diesel::insert_into(velocity_counts::table)
                .values(row)
                .on_conflict((velocity_counts::key, velocity_counts::bucket))
                .do_update()
                .set(velocity_counts::count.eq(velocity_counts::count + 1))
                .execute($c)?
        };
    }
    match conn {
        DbConnection::Sqlite(c) => upsert!(c),
        DbConnection::Postgres(c) => upsert!(c),
    };
    Ok(())
}

/// The sum of counter `key` over its buckets from `since` on (a window
/// reads at most a few dozen rows).
pub fn count_since(conn: &mut DbConnection, key: &str, since: PrimitiveDateTime) -> StorageResult<i64> {
    let counts: Vec<i32> = velocity_counts::table
        .filter(velocity_counts::key.eq(key))
        .filter(velocity_counts::bucket.ge(since))
        .select(velocity_counts::count)
        .load(conn)?;
    Ok(counts.into_iter().map(i64::from).sum())
}

/// Deletes counter buckets before `before` (past every window).
pub fn delete_counts_before(conn: &mut DbConnection, before: PrimitiveDateTime) -> StorageResult<usize> {
    Ok(diesel::delete(velocity_counts::table.filter(velocity_counts::bucket.lt(before))).execute(conn)?)
}
