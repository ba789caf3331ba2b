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
}

pub fn insert(conn: &mut DbConnection, row: &ReferralRow) -> StorageResult<()> {
    diesel::insert_into(referrals::table).values(row).execute(conn)?;
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

/// (participant_id, referrals) for a program.
pub fn counts_by_participant(conn: &mut DbConnection, program_id: &str) -> StorageResult<Vec<(String, i64)>> {
    Ok(referrals::table
        .filter(referrals::program_id.eq(program_id))
        .group_by(referrals::participant_id)
        .select((referrals::participant_id, diesel::dsl::count_star()))
        .load(conn)?)
}
