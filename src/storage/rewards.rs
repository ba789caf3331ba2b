//! Reward rows and the reward ledger. Every status change is a conditional
//! UPDATE (`WHERE status = <expected>`): of two servers (or two clicks)
//! racing to move one reward, exactly one sees a row change, and only that
//! one writes the ledger entry and the webhook.

use diesel::prelude::*;
use time::PrimitiveDateTime;

use super::schema::{reward_entries, rewards};
use super::{DbConnection, StorageResult};
use crate::domain::reward::{RewardStatus, Usage};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = rewards)]
pub struct RewardRow {
    pub id: String,
    pub program_id: String,
    pub rule_id: String,
    pub dedupe_key: String,
    pub beneficiary: String,
    pub participant_id: String,
    pub referral_id: Option<String>,
    pub tier: Option<i32>,
    pub menu: String,
    pub value_amount: i64,
    pub status: String,
    pub reason: String,
    pub available_at: PrimitiveDateTime,
    pub choose_within_days: i32,
    pub use_within_days: i32,
    pub choose_by: PrimitiveDateTime,
    pub chosen_option: Option<i32>,
    pub chosen_kind: Option<String>,
    pub chosen_label: Option<String>,
    pub amount: Option<i64>,
    pub currency: Option<String>,
    pub percent: Option<i32>,
    pub coupon_code: Option<String>,
    pub chosen_at: Option<PrimitiveDateTime>,
    pub use_by: Option<PrimitiveDateTime>,
    pub fulfilled_at: Option<PrimitiveDateTime>,
    pub fulfilment_reference: Option<String>,
    pub clawback_at: Option<PrimitiveDateTime>,
    pub created_at: PrimitiveDateTime,
    pub updated_at: PrimitiveDateTime,
    /// Held for a review (pending until decided), or revoked by a
    /// rejection (restored if the referral is reinstated).
    pub review_hold: bool,
    /// When the "expires in 7 days" reminder was queued.
    pub reminded_at: Option<PrimitiveDateTime>,
}

impl RewardRow {
    pub fn status(&self) -> Option<RewardStatus> {
        RewardStatus::parse(&self.status)
    }
}

/// One line of the ledger.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = reward_entries)]
pub struct EntryRow {
    pub id: String,
    pub reward_id: String,
    pub participant_id: String,
    pub kind: String,
    pub note: String,
    pub actor: String,
    pub at: PrimitiveDateTime,
}

pub fn insert(conn: &mut DbConnection, row: &RewardRow) -> StorageResult<()> {
    diesel::insert_into(rewards::table).values(row).execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: &str) -> StorageResult<Option<RewardRow>> {
    Ok(rewards::table.find(id).select(RewardRow::as_select()).first(conn).optional()?)
}

/// Whether the program already holds a reward with this exactly-once key.
pub fn exists(conn: &mut DbConnection, program_id: &str, dedupe_key: &str) -> StorageResult<bool> {
    let found: Option<String> = rewards::table
        .filter(rewards::program_id.eq(program_id))
        .filter(rewards::dedupe_key.eq(dedupe_key))
        .select(rewards::id)
        .first(conn)
        .optional()?;
    Ok(found.is_some())
}

/// A participant's rewards (theirs and their referees'), newest first.
pub fn for_participant(conn: &mut DbConnection, participant_id: &str) -> StorageResult<Vec<RewardRow>> {
    Ok(rewards::table
        .filter(rewards::participant_id.eq(participant_id))
        .order((rewards::created_at.desc(), rewards::id.desc()))
        .select(RewardRow::as_select())
        .load(conn)?)
}

pub fn for_referral(conn: &mut DbConnection, referral_id: &str) -> StorageResult<Vec<RewardRow>> {
    Ok(rewards::table
        .filter(rewards::referral_id.eq(referral_id))
        .order((rewards::created_at.asc(), rewards::id.asc()))
        .select(RewardRow::as_select())
        .load(conn)?)
}

/// Statuses that do not count against a cap: never issued, or taken back.
const NOT_COUNTED: [&str; 2] = ["capped", "revoked"];

/// The referrer rewards of a participant created at or after `since`
/// that count against caps: how many, and their value.
pub fn participant_usage(
    conn: &mut DbConnection,
    participant_id: &str,
    since: PrimitiveDateTime,
) -> StorageResult<Usage> {
    let (count, amount) = rewards::table
        .filter(rewards::participant_id.eq(participant_id))
        .filter(rewards::beneficiary.eq("referrer"))
        .filter(rewards::created_at.ge(since))
        .filter(rewards::status.ne_all(NOT_COUNTED))
        .select(usage_columns())
        .first(conn)?;
    Ok(Usage { count, amount })
}

/// A program's rewards that count against its total cap.
pub fn program_usage(conn: &mut DbConnection, program_id: &str) -> StorageResult<Usage> {
    let (count, amount) = rewards::table
        .filter(rewards::program_id.eq(program_id))
        .filter(rewards::status.ne_all(NOT_COUNTED))
        .select(usage_columns())
        .first(conn)?;
    Ok(Usage { count, amount })
}

/// COUNT and SUM of value in the database, not row by row here. SUM of a
/// BIGINT is NUMERIC on PostgreSQL: cast back so both backends answer a
/// BIGINT.
fn usage_columns() -> (
    diesel::expression::SqlLiteral<diesel::sql_types::BigInt>,
    diesel::expression::SqlLiteral<diesel::sql_types::BigInt>,
) {
    use diesel::dsl::sql;
    use diesel::sql_types::BigInt;
    (sql::<BigInt>("COUNT(*)"), sql::<BigInt>("CAST(COALESCE(SUM(rewards.value_amount), 0) AS BIGINT)"))
}

/// Moves reward `id` from one of `from` to `to` with `reason`; whether it
/// moved (false: someone else moved it first, or it was elsewhere).
pub fn transition(
    conn: &mut DbConnection,
    id: &str,
    from: &[RewardStatus],
    to: RewardStatus,
    reason: &str,
    now: PrimitiveDateTime,
) -> StorageResult<bool> {
    let from: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
    let changed = diesel::update(rewards::table.find(id).filter(rewards::status.eq_any(from)))
        .set((rewards::status.eq(to.as_str()), rewards::reason.eq(reason), rewards::updated_at.eq(now)))
        .execute(conn)?;
    Ok(changed == 1)
}

/// Makes a held reward available now (released early or at its date),
/// with a new choose-by date.
pub fn release(
    conn: &mut DbConnection,
    id: &str,
    choose_by: PrimitiveDateTime,
    reason: &str,
    now: PrimitiveDateTime,
) -> StorageResult<bool> {
    let held = rewards::table.find(id).filter(rewards::status.eq(RewardStatus::Pending.as_str()));
    let changed = diesel::update(held.filter(rewards::review_hold.eq(false)))
        .set((
            rewards::status.eq(RewardStatus::Available.as_str()),
            rewards::reason.eq(reason),
            rewards::available_at.eq(now.min(choose_by)),
            rewards::choose_by.eq(choose_by),
            rewards::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(changed == 1)
}

/// What a participant chose.
#[derive(Debug, Clone)]
pub struct Choice {
    pub option: i32,
    pub kind: String,
    pub label: String,
    pub amount: Option<i64>,
    pub currency: Option<String>,
    pub percent: Option<i32>,
    pub coupon_code: Option<String>,
    pub use_by: PrimitiveDateTime,
    /// `chosen`, or `fulfilled` when choosing delivers it (a coupon).
    pub status: RewardStatus,
    pub reason: String,
}

/// Records the choice on an available reward whose choose-by date has not
/// passed; whether it was recorded (false: chosen already, or too late).
pub fn choose(conn: &mut DbConnection, id: &str, choice: &Choice, now: PrimitiveDateTime) -> StorageResult<bool> {
    let target = rewards::table
        .find(id)
        .filter(rewards::status.eq(RewardStatus::Available.as_str()))
        .filter(rewards::choose_by.gt(now));
    let fulfilled_at = (choice.status == RewardStatus::Fulfilled).then_some(now);
    let changed = diesel::update(target)
        .set((
            rewards::status.eq(choice.status.as_str()),
            rewards::reason.eq(&choice.reason),
            rewards::chosen_option.eq(choice.option),
            rewards::chosen_kind.eq(&choice.kind),
            rewards::chosen_label.eq(&choice.label),
            rewards::amount.eq(choice.amount),
            rewards::currency.eq(&choice.currency),
            rewards::percent.eq(choice.percent),
            rewards::coupon_code.eq(&choice.coupon_code),
            rewards::chosen_at.eq(now),
            rewards::use_by.eq(choice.use_by),
            rewards::fulfilled_at.eq(fulfilled_at),
            rewards::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(changed == 1)
}

/// Completes a choice that delivers at once (a coupon): the code, the
/// status and the reason.
pub fn set_coupon(conn: &mut DbConnection, id: &str, choice: &Choice, now: PrimitiveDateTime) -> StorageResult<()> {
    diesel::update(rewards::table.find(id))
        .set((
            rewards::coupon_code.eq(&choice.coupon_code),
            rewards::status.eq(choice.status.as_str()),
            rewards::reason.eq(&choice.reason),
            rewards::fulfilled_at.eq(now),
            rewards::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Marks a chosen reward delivered, with the business's reference
/// (a payment id, a note); whether it moved.
pub fn fulfil(
    conn: &mut DbConnection,
    id: &str,
    reference: Option<&str>,
    reason: &str,
    now: PrimitiveDateTime,
) -> StorageResult<bool> {
    let target = rewards::table.find(id).filter(rewards::status.eq(RewardStatus::Chosen.as_str()));
    let changed = diesel::update(target)
        .set((
            rewards::status.eq(RewardStatus::Fulfilled.as_str()),
            rewards::reason.eq(reason),
            rewards::fulfilment_reference.eq(reference),
            rewards::fulfilled_at.eq(now),
            rewards::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(changed == 1)
}

/// Marks a reward that left its hold as owing a clawback (once).
pub fn mark_clawback(conn: &mut DbConnection, id: &str, now: PrimitiveDateTime) -> StorageResult<bool> {
    let changed = diesel::update(rewards::table.find(id).filter(rewards::clawback_at.is_null()))
        .set((rewards::clawback_at.eq(now), rewards::updated_at.eq(now)))
        .execute(conn)?;
    Ok(changed == 1)
}

/// Rewards in `status` whose date in `column` has come, oldest first.
pub fn due(
    conn: &mut DbConnection,
    status: RewardStatus,
    now: PrimitiveDateTime,
    limit: i64,
) -> StorageResult<Vec<RewardRow>> {
    let q = rewards::table.filter(rewards::status.eq(status.as_str())).into_boxed();
    let q = match status {
        // A reward held for review waits for the reviewer, not the date.
        RewardStatus::Pending => q
            .filter(rewards::review_hold.eq(false))
            .filter(rewards::available_at.le(now))
            .order(rewards::available_at.asc()),
        _ => q.filter(rewards::choose_by.le(now)).order(rewards::choose_by.asc()),
    };
    Ok(q.limit(limit).select(RewardRow::as_select()).load(conn)?)
}

/// Which rewards a list shows.
#[derive(Debug, Clone, Default)]
pub struct RewardFilter {
    pub program_id: Option<String>,
    pub participant_id: Option<String>,
    /// `referrer` or `referee`.
    pub beneficiary: Option<String>,
    pub status: Option<String>,
    /// The chosen option's kind, or (not chosen yet) any option's kind.
    pub kind: Option<String>,
    /// Only rewards with a clawback to follow up.
    pub clawback: bool,
}

/// A page of rewards in a stable order (creation time, then id), after
/// `after` (a reward's creation time and id) when given.
pub fn page(
    conn: &mut DbConnection,
    filter: &RewardFilter,
    after: Option<(PrimitiveDateTime, String)>,
    limit: i64,
) -> StorageResult<Vec<RewardRow>> {
    let mut q = rewards::table.into_boxed();
    if let Some(program_id) = &filter.program_id {
        q = q.filter(rewards::program_id.eq(program_id.clone()));
    }
    if let Some(participant_id) = &filter.participant_id {
        q = q.filter(rewards::participant_id.eq(participant_id.clone()));
    }
    if let Some(beneficiary) = &filter.beneficiary {
        q = q.filter(rewards::beneficiary.eq(beneficiary.clone()));
    }
    if let Some(status) = &filter.status {
        q = q.filter(rewards::status.eq(status.clone()));
    }
    if let Some(kind) = &filter.kind {
        // The menu is JSON: `"kind":"cash"` appears in it for each option
        // of that kind (serde writes it without spaces).
        let pattern = format!("%\"kind\":\"{kind}\"%");
        q = q.filter(
            rewards::chosen_kind.eq(kind.clone()).or(rewards::chosen_kind.is_null().and(rewards::menu.like(pattern))),
        );
    }
    if filter.clawback {
        q = q.filter(rewards::clawback_at.is_not_null());
    }
    if let Some((at, id)) = after {
        q = q.filter(rewards::created_at.gt(at).or(rewards::created_at.eq(at).and(rewards::id.gt(id))));
    }
    Ok(q.order((rewards::created_at.asc(), rewards::id.asc()))
        .limit(limit)
        .select(RewardRow::as_select())
        .load(conn)?)
}

/// (status, count) of a program's rewards.
pub fn status_counts(conn: &mut DbConnection, program_id: &str) -> StorageResult<Vec<(String, i64)>> {
    Ok(rewards::table
        .filter(rewards::program_id.eq(program_id))
        .group_by(rewards::status)
        .select((rewards::status, diesel::dsl::count_star()))
        .load(conn)?)
}

pub fn insert_entry(conn: &mut DbConnection, entry: &EntryRow) -> StorageResult<()> {
    diesel::insert_into(reward_entries::table).values(entry).execute(conn)?;
    Ok(())
}

/// A participant's ledger, newest first.
pub fn entries_for_participant(conn: &mut DbConnection, participant_id: &str) -> StorageResult<Vec<EntryRow>> {
    Ok(reward_entries::table
        .filter(reward_entries::participant_id.eq(participant_id))
        .order((reward_entries::at.desc(), reward_entries::id.desc()))
        .select(EntryRow::as_select())
        .load(conn)?)
}

pub fn entries_for_reward(conn: &mut DbConnection, reward_id: &str) -> StorageResult<Vec<EntryRow>> {
    Ok(reward_entries::table
        .filter(reward_entries::reward_id.eq(reward_id))
        .order((reward_entries::at.asc(), reward_entries::id.asc()))
        .select(EntryRow::as_select())
        .load(conn)?)
}

/// Serialises reward issuing in a program until the transaction ends: a
/// no-op UPDATE takes the program row's lock on PostgreSQL, so two servers
/// checking the same caps count one after the other. One lock per program
/// (not per participant) keeps the order of locks trivial: a transaction
/// holding several participants' rewards cannot deadlock with another on
/// them. SQLite has one writer at a time anyway.
pub fn lock_program(conn: &mut DbConnection, program_id: &str) -> StorageResult<()> {
    use super::schema::programs;
    if conn.is_sqlite() {
        return Ok(());
    }
    diesel::update(programs::table.find(program_id))
        .set(programs::updated_at.eq(programs::updated_at))
        .execute(conn)?;
    Ok(())
}

/// Ends the review hold of a pending reward; false if it had none.
pub fn end_review_hold(conn: &mut DbConnection, id: &str, reason: &str, now: PrimitiveDateTime) -> StorageResult<bool> {
    let target = rewards::table
        .find(id)
        .filter(rewards::status.eq(RewardStatus::Pending.as_str()))
        .filter(rewards::review_hold.eq(true));
    let changed = diesel::update(target)
        .set((rewards::review_hold.eq(false), rewards::reason.eq(reason), rewards::updated_at.eq(now)))
        .execute(conn)?;
    Ok(changed == 1)
}

/// Revokes a reward not yet chosen because its referral was rejected,
/// marked so that a reinstatement restores it.
pub fn revoke_for_review(
    conn: &mut DbConnection,
    id: &str,
    reason: &str,
    now: PrimitiveDateTime,
) -> StorageResult<bool> {
    let from = [RewardStatus::Pending.as_str(), RewardStatus::Available.as_str()];
    let changed = diesel::update(rewards::table.find(id).filter(rewards::status.eq_any(from)))
        .set((
            rewards::status.eq(RewardStatus::Revoked.as_str()),
            rewards::review_hold.eq(true),
            rewards::reason.eq(reason),
            rewards::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(changed == 1)
}

/// Puts a reward revoked by a rejection back on hold (pending until its
/// date) once the referral is reinstated; false if it was not one.
pub fn restore_after_review(
    conn: &mut DbConnection,
    id: &str,
    reason: &str,
    now: PrimitiveDateTime,
) -> StorageResult<bool> {
    let target = rewards::table
        .find(id)
        .filter(rewards::status.eq(RewardStatus::Revoked.as_str()))
        .filter(rewards::review_hold.eq(true));
    let changed = diesel::update(target)
        .set((
            rewards::status.eq(RewardStatus::Pending.as_str()),
            rewards::review_hold.eq(false),
            rewards::reason.eq(reason),
            rewards::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(changed == 1)
}

/// Available rewards whose choose-by date is before `by` and which got no
/// reminder yet, soonest first.
pub fn to_remind(conn: &mut DbConnection, by: PrimitiveDateTime, limit: i64) -> StorageResult<Vec<RewardRow>> {
    Ok(rewards::table
        .filter(rewards::status.eq(RewardStatus::Available.as_str()))
        .filter(rewards::choose_by.le(by))
        .filter(rewards::reminded_at.is_null())
        .order(rewards::choose_by.asc())
        .limit(limit)
        .select(RewardRow::as_select())
        .load(conn)?)
}

/// Marks a reward reminded; false if another server did first.
pub fn mark_reminded(conn: &mut DbConnection, id: &str, now: PrimitiveDateTime) -> StorageResult<bool> {
    let changed = diesel::update(rewards::table.find(id).filter(rewards::reminded_at.is_null()))
        .set(rewards::reminded_at.eq(now))
        .execute(conn)?;
    Ok(changed == 1)
}
