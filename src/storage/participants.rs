//! Participant rows.

use diesel::prelude::*;
use time::PrimitiveDateTime;

use super::schema::participants;
use super::{DbConnection, StorageResult};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = participants)]
pub struct ParticipantRow {
    pub id: String,
    pub program_id: String,
    pub external_id: Option<String>,
    pub email: String,
    pub email_normalized: String,
    pub name: String,
    pub timezone: Option<String>,
    pub portal_nonce: String,
    pub portal_token_hash: String,
    pub created_at: PrimitiveDateTime,
    pub updated_at: PrimitiveDateTime,
}

pub fn insert(conn: &mut DbConnection, row: &ParticipantRow) -> StorageResult<()> {
    diesel::insert_into(participants::table).values(row).execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: &str) -> StorageResult<Option<ParticipantRow>> {
    Ok(participants::table.find(id).select(ParticipantRow::as_select()).first(conn).optional()?)
}

pub fn find_by_external_id(
    conn: &mut DbConnection,
    program_id: &str,
    external_id: &str,
) -> StorageResult<Option<ParticipantRow>> {
    Ok(participants::table
        .filter(participants::program_id.eq(program_id))
        .filter(participants::external_id.eq(external_id))
        .select(ParticipantRow::as_select())
        .first(conn)
        .optional()?)
}

/// The participants enrolled with `email_normalized`, in any program
/// (at most a few: one per program).
pub fn find_all_by_email(conn: &mut DbConnection, email_normalized: &str) -> StorageResult<Vec<ParticipantRow>> {
    Ok(participants::table
        .filter(participants::email_normalized.eq(email_normalized))
        .limit(20)
        .select(ParticipantRow::as_select())
        .load(conn)?)
}

pub fn find_by_email(
    conn: &mut DbConnection,
    program_id: &str,
    email_normalized: &str,
) -> StorageResult<Option<ParticipantRow>> {
    Ok(participants::table
        .filter(participants::program_id.eq(program_id))
        .filter(participants::email_normalized.eq(email_normalized))
        .select(ParticipantRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn find_by_portal_hash(conn: &mut DbConnection, token_hash: &str) -> StorageResult<Option<ParticipantRow>> {
    Ok(participants::table
        .filter(participants::portal_token_hash.eq(token_hash))
        .select(ParticipantRow::as_select())
        .first(conn)
        .optional()?)
}

/// A page of a program's participants, newest first, optionally filtered
/// by a substring of name or email.
pub fn list(
    conn: &mut DbConnection,
    program_id: &str,
    search: Option<&str>,
    limit: i64,
    offset: i64,
) -> StorageResult<Vec<ParticipantRow>> {
    let mut q = participants::table.filter(participants::program_id.eq(program_id)).into_boxed();
    if let Some(s) = search {
        let pattern = format!("%{}%", s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
        q = q.filter(
            participants::email.like(pattern.clone()).escape('\\').or(participants::name.like(pattern).escape('\\')),
        );
    }
    Ok(q.order((participants::created_at.desc(), participants::id.desc()))
        .limit(limit)
        .offset(offset)
        .select(ParticipantRow::as_select())
        .load(conn)?)
}

/// (id, external id) of the participants `ids`.
pub fn external_ids(conn: &mut DbConnection, ids: &[String]) -> StorageResult<Vec<(String, Option<String>)>> {
    Ok(participants::table
        .filter(participants::id.eq_any(ids))
        .select((participants::id, participants::external_id))
        .load(conn)?)
}

/// Who the participants `ids` are, for lists and exports that show them.
#[derive(Debug, Clone, Queryable)]
pub struct Contact {
    pub id: String,
    pub external_id: Option<String>,
    pub name: String,
    pub email: String,
}

/// The [`Contact`] of each of the participants `ids`.
pub fn contacts(conn: &mut DbConnection, ids: &[String]) -> StorageResult<Vec<Contact>> {
    Ok(participants::table
        .filter(participants::id.eq_any(ids))
        .select((participants::id, participants::external_id, participants::name, participants::email))
        .load(conn)?)
}

/// A program's participants in the order they enrolled, `limit` at a
/// time after `offset` (an export reads them all, a batch at a time).
pub fn in_enrolment_order(
    conn: &mut DbConnection,
    program_id: &str,
    limit: i64,
    offset: i64,
) -> StorageResult<Vec<ParticipantRow>> {
    Ok(participants::table
        .filter(participants::program_id.eq(program_id))
        .order((participants::created_at.asc(), participants::id.asc()))
        .limit(limit)
        .offset(offset)
        .select(ParticipantRow::as_select())
        .load(conn)?)
}

pub fn count(conn: &mut DbConnection, program_id: &str) -> StorageResult<i64> {
    Ok(participants::table.filter(participants::program_id.eq(program_id)).count().get_result(conn)?)
}

pub fn set_portal(
    conn: &mut DbConnection,
    id: &str,
    nonce: &str,
    token_hash: &str,
    now: PrimitiveDateTime,
) -> StorageResult<()> {
    diesel::update(participants::table.find(id))
        .set((
            participants::portal_nonce.eq(nonce),
            participants::portal_token_hash.eq(token_hash),
            participants::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}
