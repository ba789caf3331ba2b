//! Link rows: a participant's codes.

use diesel::prelude::*;
use time::PrimitiveDateTime;

use super::schema::{links, participants, programs};
use super::{DbConnection, StorageError, StorageResult};
use crate::domain::ReferralCode;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = links)]
pub struct LinkRow {
    pub id: String,
    pub program_id: String,
    pub participant_id: String,
    pub code: String,
    pub is_vanity: bool,
    pub disabled_at: Option<PrimitiveDateTime>,
    pub created_at: PrimitiveDateTime,
}

/// What the redirect needs to know about a code, read in one query.
#[derive(Debug, Clone, Queryable)]
pub struct ResolvedLink {
    pub link_id: String,
    pub code: String,
    pub disabled: bool,
    pub participant_id: String,
    pub participant_name: String,
    pub program_id: String,
    pub program_slug: String,
}

pub fn insert(conn: &mut DbConnection, row: &LinkRow) -> StorageResult<()> {
    diesel::insert_into(links::table).values(row).execute(conn)?;
    Ok(())
}

/// Inserts a link with a fresh random code, drawing again on the (rare)
/// collision. Each attempt runs in a savepoint, so a collision inside the
/// caller's transaction does not abort it (PostgreSQL would).
pub fn insert_with_random_code(
    conn: &mut DbConnection,
    program_id: &str,
    participant_id: &str,
    now: PrimitiveDateTime,
) -> StorageResult<LinkRow> {
    let mut last = None;
    for _ in 0..5 {
        let row = LinkRow {
            id: nanoid::nanoid!(),
            program_id: program_id.to_string(),
            participant_id: participant_id.to_string(),
            code: ReferralCode::random().into_string(),
            is_vanity: false,
            disabled_at: None,
            created_at: now,
        };
        let attempt = conn.transaction(|c| diesel::insert_into(links::table).values(&row).execute(c));
        match attempt {
            Ok(_) => return Ok(row),
            Err(e @ diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => {
                last = Some(e)
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(last.map(Into::into).unwrap_or_else(|| StorageError::Data("no free code after five draws".into())))
}

pub fn find(conn: &mut DbConnection, id: &str) -> StorageResult<Option<LinkRow>> {
    Ok(links::table.find(id).select(LinkRow::as_select()).first(conn).optional()?)
}

pub fn resolve(conn: &mut DbConnection, code: &str) -> StorageResult<Option<ResolvedLink>> {
    let row = links::table
        .inner_join(participants::table)
        .inner_join(programs::table)
        .filter(links::code.eq(code))
        .select((
            links::id,
            links::code,
            links::disabled_at.is_not_null(),
            participants::id,
            participants::name,
            programs::id,
            programs::slug,
        ))
        .first::<ResolvedLink>(conn)
        .optional()?;
    Ok(row)
}

/// Which of `ids` are stored links.
pub fn existing_ids(conn: &mut DbConnection, ids: &[String]) -> StorageResult<Vec<String>> {
    Ok(links::table.filter(links::id.eq_any(ids)).select(links::id).load(conn)?)
}

pub fn for_participant(conn: &mut DbConnection, participant_id: &str) -> StorageResult<Vec<LinkRow>> {
    Ok(links::table
        .filter(links::participant_id.eq(participant_id))
        .order((links::created_at.asc(), links::id.asc()))
        .select(LinkRow::as_select())
        .load(conn)?)
}

/// The first link of each participant in `participant_ids` that is not disabled.
pub fn primary_for(conn: &mut DbConnection, participant_ids: &[String]) -> StorageResult<Vec<LinkRow>> {
    Ok(links::table
        .filter(links::participant_id.eq_any(participant_ids))
        .filter(links::disabled_at.is_null())
        .order((links::created_at.asc(), links::id.asc()))
        .select(LinkRow::as_select())
        .load(conn)?)
}

pub fn set_disabled(conn: &mut DbConnection, id: &str, at: Option<PrimitiveDateTime>) -> StorageResult<usize> {
    Ok(diesel::update(links::table.find(id)).set(links::disabled_at.eq(at)).execute(conn)?)
}
