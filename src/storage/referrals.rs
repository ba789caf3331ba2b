//! Referral rows: a referee attributed to a participant, and its stage.

use diesel::prelude::*;
use time::PrimitiveDateTime;

use super::schema::referrals;
use super::{DbConnection, StorageResult};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = referrals)]
pub struct ReferralRow {
    pub id: String,
    pub program_id: String,
    pub participant_id: String,
    pub link_id: Option<String>,
    pub click_id: Option<String>,
    pub code: String,
    pub referee_email: Option<String>,
    pub referee_email_normalized: Option<String>,
    pub referee_name: String,
    pub referee_external_id: Option<String>,
    pub stage: String,
    pub lead_at: Option<PrimitiveDateTime>,
    pub qualified_at: Option<PrimitiveDateTime>,
    pub opportunity_at: Option<PrimitiveDateTime>,
    pub won_at: Option<PrimitiveDateTime>,
    pub created_at: PrimitiveDateTime,
    pub updated_at: PrimitiveDateTime,
    /// `clear`, `flagged`, `held`, `approved` or `rejected`.
    pub review: String,
    /// What the participant reads about a held or rejected referral.
    pub review_reason: Option<String>,
    /// The referee's IP hash of the day they claimed or clicked.
    pub referee_ip_hash: Option<String>,
}

pub fn insert(conn: &mut DbConnection, row: &ReferralRow) -> StorageResult<()> {
    diesel::insert_into(referrals::table).values(row).execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: &str) -> StorageResult<Option<ReferralRow>> {
    Ok(referrals::table.find(id).select(ReferralRow::as_select()).first(conn).optional()?)
}

pub fn find_by_referee_external_id(
    conn: &mut DbConnection,
    program_id: &str,
    external_id: &str,
) -> StorageResult<Option<ReferralRow>> {
    Ok(referrals::table
        .filter(referrals::program_id.eq(program_id))
        .filter(referrals::referee_external_id.eq(external_id))
        .select(ReferralRow::as_select())
        .first(conn)
        .optional()?)
}

/// The referral a landing-page claim made from this click, if any.
pub fn find_by_click_id(
    conn: &mut DbConnection,
    program_id: &str,
    click_id: &str,
) -> StorageResult<Option<ReferralRow>> {
    Ok(referrals::table
        .filter(referrals::program_id.eq(program_id))
        .filter(referrals::click_id.eq(click_id))
        .select(ReferralRow::as_select())
        .first(conn)
        .optional()?)
}

/// Moves a referral to `stage` and fills that stage's time (only that one:
/// stages skipped on the way stay empty).
pub fn advance(
    conn: &mut DbConnection,
    id: &str,
    stage: crate::domain::program::Stage,
    at: PrimitiveDateTime,
    now: PrimitiveDateTime,
) -> StorageResult<()> {
    use crate::domain::program::Stage;
    let target = referrals::table.find(id);
    let set_stage = (referrals::stage.eq(stage.as_str()), referrals::updated_at.eq(now));
    match stage {
        Stage::Lead => diesel::update(target).set((set_stage, referrals::lead_at.eq(at))).execute(conn)?,
        Stage::Qualified => diesel::update(target).set((set_stage, referrals::qualified_at.eq(at))).execute(conn)?,
        Stage::Opportunity => {
            diesel::update(target).set((set_stage, referrals::opportunity_at.eq(at))).execute(conn)?
        }
        Stage::Won => diesel::update(target).set((set_stage, referrals::won_at.eq(at))).execute(conn)?,
    };
    Ok(())
}

/// Sets a referral's state word (`refunded`, `rejected`).
pub fn set_state(conn: &mut DbConnection, id: &str, state: &str, now: PrimitiveDateTime) -> StorageResult<()> {
    diesel::update(referrals::table.find(id))
        .set((referrals::stage.eq(state), referrals::updated_at.eq(now)))
        .execute(conn)?;
    Ok(())
}

pub fn find_by_referee_email(
    conn: &mut DbConnection,
    program_id: &str,
    email_normalized: &str,
) -> StorageResult<Option<ReferralRow>> {
    Ok(referrals::table
        .filter(referrals::program_id.eq(program_id))
        .filter(referrals::referee_email_normalized.eq(email_normalized))
        .select(ReferralRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn for_participant(conn: &mut DbConnection, participant_id: &str) -> StorageResult<Vec<ReferralRow>> {
    Ok(referrals::table
        .filter(referrals::participant_id.eq(participant_id))
        .order(referrals::created_at.desc())
        .select(ReferralRow::as_select())
        .load(conn)?)
}

pub fn recent_for_program(conn: &mut DbConnection, program_id: &str, limit: i64) -> StorageResult<Vec<ReferralRow>> {
    Ok(referrals::table
        .filter(referrals::program_id.eq(program_id))
        .order(referrals::created_at.desc())
        .limit(limit)
        .select(ReferralRow::as_select())
        .load(conn)?)
}

/// (stage, count) for one participant.
pub fn stage_counts_for_participant(
    conn: &mut DbConnection,
    participant_id: &str,
) -> StorageResult<Vec<(String, i64)>> {
    Ok(referrals::table
        .filter(referrals::participant_id.eq(participant_id))
        .group_by(referrals::stage)
        .select((referrals::stage, diesel::dsl::count_star()))
        .load(conn)?)
}

/// (stage, count) for one program.
pub fn stage_counts_for_program(conn: &mut DbConnection, program_id: &str) -> StorageResult<Vec<(String, i64)>> {
    Ok(referrals::table
        .filter(referrals::program_id.eq(program_id))
        .group_by(referrals::stage)
        .select((referrals::stage, diesel::dsl::count_star()))
        .load(conn)?)
}

/// (participant_id, stage, count) for a program: every participant's
/// referrals by stage (or end state), in one query.
pub fn stage_counts_by_participant(
    conn: &mut DbConnection,
    program_id: &str,
) -> StorageResult<Vec<(String, String, i64)>> {
    Ok(referrals::table
        .filter(referrals::program_id.eq(program_id))
        .group_by((referrals::participant_id, referrals::stage))
        .select((referrals::participant_id, referrals::stage, diesel::dsl::count_star()))
        .load(conn)?)
}

/// (participant_id, referrals) for a program.
pub fn counts_by_participant(conn: &mut DbConnection, program_id: &str) -> StorageResult<Vec<(String, i64)>> {
    Ok(referrals::table
        .filter(referrals::program_id.eq(program_id))
        .group_by(referrals::participant_id)
        .select((referrals::participant_id, diesel::dsl::count_star()))
        .load(conn)?)
}

/// Which referrals a list shows.
#[derive(Debug, Clone, Default)]
pub struct ReferralFilter {
    pub program_id: Option<String>,
    /// A stage or end state (`refunded`, `rejected`).
    pub stage: Option<String>,
    /// Created at or after.
    pub since: Option<PrimitiveDateTime>,
    /// Where the fraud review stands (`held`, `rejected`, …).
    pub review: Option<String>,
}

/// A page of referrals in a stable order (creation time, then id), after
/// the referral `after` (its creation time and id) when given.
pub fn page(
    conn: &mut DbConnection,
    filter: &ReferralFilter,
    after: Option<(PrimitiveDateTime, String)>,
    limit: i64,
) -> StorageResult<Vec<ReferralRow>> {
    let mut q = referrals::table.into_boxed();
    if let Some(program_id) = &filter.program_id {
        q = q.filter(referrals::program_id.eq(program_id.clone()));
    }
    if let Some(stage) = &filter.stage {
        q = q.filter(referrals::stage.eq(stage.clone()));
    }
    if let Some(since) = filter.since {
        q = q.filter(referrals::created_at.ge(since));
    }
    if let Some(review) = &filter.review {
        q = q.filter(referrals::review.eq(review.clone()));
    }
    if let Some((at, id)) = after {
        q = q.filter(referrals::created_at.gt(at).or(referrals::created_at.eq(at).and(referrals::id.gt(id))));
    }
    Ok(q.order((referrals::created_at.asc(), referrals::id.asc()))
        .limit(limit)
        .select(ReferralRow::as_select())
        .load(conn)?)
}

/// How many of a program's referrals reached each stage, whatever came
/// after (a refunded referral reached won): (lead, qualified, opportunity,
/// won). Every referral counts as a lead; a stage counts when its time or
/// a later stage's time is set (stages can be skipped).
pub fn funnel_for_program(conn: &mut DbConnection, program_id: &str) -> StorageResult<(i64, i64, i64, i64)> {
    use diesel::dsl::sql;
    use diesel::sql_types::BigInt;
    Ok(referrals::table
        .filter(referrals::program_id.eq(program_id))
        .select((
            sql::<BigInt>("COUNT(*)"),
            sql::<BigInt>(
                "COUNT(CASE WHEN referrals.qualified_at IS NOT NULL OR referrals.opportunity_at IS NOT NULL \
                 OR referrals.won_at IS NOT NULL THEN 1 END)",
            ),
            sql::<BigInt>(
                "COUNT(CASE WHEN referrals.opportunity_at IS NOT NULL OR referrals.won_at IS NOT NULL THEN 1 END)",
            ),
            sql::<BigInt>("COUNT(referrals.won_at)"),
        ))
        .first(conn)?)
}

/// How many of a participant's referrals are won and stay won (a refunded
/// or rejected deal does not count towards a tier).
pub fn won_count(conn: &mut DbConnection, participant_id: &str) -> StorageResult<i64> {
    Ok(referrals::table
        .filter(referrals::participant_id.eq(participant_id))
        .filter(referrals::stage.eq(crate::domain::program::Stage::Won.as_str()))
        .count()
        .get_result(conn)?)
}

/// Sets a referral's review (and its stage, when given) if the review is
/// one of `from`; false when another decision came first.
pub fn set_review(
    conn: &mut DbConnection,
    id: &str,
    from: &[&str],
    review: &str,
    reason: Option<&str>,
    stage: Option<&str>,
    now: PrimitiveDateTime,
) -> StorageResult<bool> {
    let target = referrals::table.find(id).filter(referrals::review.eq_any(from));
    let set = (referrals::review.eq(review), referrals::review_reason.eq(reason), referrals::updated_at.eq(now));
    let changed = match stage {
        Some(stage) => diesel::update(target).set((set, referrals::stage.eq(stage))).execute(conn)?,
        None => diesel::update(target).set(set).execute(conn)?,
    };
    Ok(changed == 1)
}

/// Referrals waiting for review, oldest first; of one program if given.
pub fn held(
    conn: &mut DbConnection,
    program_id: Option<&str>,
    limit: i64,
    offset: i64,
) -> StorageResult<Vec<ReferralRow>> {
    let mut q = referrals::table.filter(referrals::review.eq("held")).into_boxed();
    if let Some(program_id) = program_id {
        q = q.filter(referrals::program_id.eq(program_id.to_string()));
    }
    Ok(q.order((referrals::created_at.asc(), referrals::id.asc()))
        .limit(limit)
        .offset(offset)
        .select(ReferralRow::as_select())
        .load(conn)?)
}

/// How many referrals wait for review; of one program if given.
pub fn held_count(conn: &mut DbConnection, program_id: Option<&str>) -> StorageResult<i64> {
    let mut q = referrals::table.filter(referrals::review.eq("held")).into_boxed();
    if let Some(program_id) = program_id {
        q = q.filter(referrals::program_id.eq(program_id.to_string()));
    }
    Ok(q.count().get_result(conn)?)
}

/// (review, count) of a participant's referrals: their history for a
/// reviewer.
pub fn review_counts_for_participant(
    conn: &mut DbConnection,
    participant_id: &str,
) -> StorageResult<Vec<(String, i64)>> {
    Ok(referrals::table
        .filter(referrals::participant_id.eq(participant_id))
        .group_by(referrals::review)
        .select((referrals::review, diesel::dsl::count_star()))
        .load(conn)?)
}
