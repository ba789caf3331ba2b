//! Admin session rows, keyed by the SHA-256 of the cookie token.

use diesel::prelude::*;
use time::PrimitiveDateTime;

use super::admin_users::AdminUserRow;
use super::schema::{admin_sessions, admin_users};
use super::{DbConnection, StorageResult};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = admin_sessions)]
pub struct SessionRow {
    pub token_hash: String,
    pub user_id: String,
    pub created_at: PrimitiveDateTime,
    pub last_seen_at: PrimitiveDateTime,
}

pub fn insert(conn: &mut DbConnection, token_hash: &str, user_id: &str, now: PrimitiveDateTime) -> StorageResult<()> {
    diesel::insert_into(admin_sessions::table)
        .values((
            admin_sessions::token_hash.eq(token_hash),
            admin_sessions::user_id.eq(user_id),
            admin_sessions::created_at.eq(now),
            admin_sessions::last_seen_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// The session and its user, if the session exists.
pub fn find_with_user(conn: &mut DbConnection, token_hash: &str) -> StorageResult<Option<(SessionRow, AdminUserRow)>> {
    Ok(admin_sessions::table
        .inner_join(admin_users::table)
        .filter(admin_sessions::token_hash.eq(token_hash))
        .select((SessionRow::as_select(), AdminUserRow::as_select()))
        .first(conn)
        .optional()?)
}

pub fn touch(conn: &mut DbConnection, token_hash: &str, now: PrimitiveDateTime) -> StorageResult<()> {
    diesel::update(admin_sessions::table.find(token_hash)).set(admin_sessions::last_seen_at.eq(now)).execute(conn)?;
    Ok(())
}

pub fn delete(conn: &mut DbConnection, token_hash: &str) -> StorageResult<()> {
    diesel::delete(admin_sessions::table.find(token_hash)).execute(conn)?;
    Ok(())
}

pub fn delete_for_user(conn: &mut DbConnection, user_id: &str) -> StorageResult<usize> {
    Ok(diesel::delete(admin_sessions::table.filter(admin_sessions::user_id.eq(user_id))).execute(conn)?)
}

/// Ends every session of `user_id` except the one whose hash is `keep`.
pub fn delete_others(conn: &mut DbConnection, user_id: &str, keep: &str) -> StorageResult<usize> {
    Ok(diesel::delete(
        admin_sessions::table.filter(admin_sessions::user_id.eq(user_id)).filter(admin_sessions::token_hash.ne(keep)),
    )
    .execute(conn)?)
}

/// Removes sessions idle since `idle_before` or created before `created_before`.
pub fn delete_expired(
    conn: &mut DbConnection,
    idle_before: PrimitiveDateTime,
    created_before: PrimitiveDateTime,
) -> StorageResult<usize> {
    Ok(diesel::delete(
        admin_sessions::table
            .filter(admin_sessions::last_seen_at.lt(idle_before).or(admin_sessions::created_at.lt(created_before))),
    )
    .execute(conn)?)
}
