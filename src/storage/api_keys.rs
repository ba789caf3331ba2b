//! API key rows; the key itself is never stored, only its SHA-256.

use diesel::prelude::*;
use time::PrimitiveDateTime;

use super::schema::api_keys;
use super::{DbConnection, StorageResult};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_keys)]
pub struct ApiKeyRow {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub key_hash: String,
    pub created_by: Option<String>,
    pub created_at: PrimitiveDateTime,
    pub last_used_at: Option<PrimitiveDateTime>,
    pub revoked_at: Option<PrimitiveDateTime>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = api_keys)]
pub struct NewApiKey<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub prefix: &'a str,
    pub key_hash: &'a str,
    pub created_by: Option<&'a str>,
    pub created_at: PrimitiveDateTime,
}

pub fn insert(conn: &mut DbConnection, key: &NewApiKey<'_>) -> StorageResult<()> {
    diesel::insert_into(api_keys::table).values(key).execute(conn)?;
    Ok(())
}

pub fn find_by_hash(conn: &mut DbConnection, key_hash: &str) -> StorageResult<Option<ApiKeyRow>> {
    Ok(api_keys::table.filter(api_keys::key_hash.eq(key_hash)).select(ApiKeyRow::as_select()).first(conn).optional()?)
}

pub fn list(conn: &mut DbConnection) -> StorageResult<Vec<ApiKeyRow>> {
    Ok(api_keys::table
        .order((api_keys::revoked_at.is_not_null(), api_keys::created_at.desc()))
        .select(ApiKeyRow::as_select())
        .load(conn)?)
}

pub fn mark_used(conn: &mut DbConnection, id: &str, now: PrimitiveDateTime) -> StorageResult<()> {
    diesel::update(api_keys::table.find(id)).set(api_keys::last_used_at.eq(now)).execute(conn)?;
    Ok(())
}

/// Revokes an active key; returns its name when one was revoked.
pub fn revoke(conn: &mut DbConnection, id: &str, now: PrimitiveDateTime) -> StorageResult<Option<String>> {
    let revoked = diesel::update(api_keys::table.find(id).filter(api_keys::revoked_at.is_null()))
        .set(api_keys::revoked_at.eq(now))
        .execute(conn)?;
    if revoked == 0 {
        return Ok(None);
    }
    Ok(Some(api_keys::table.find(id).select(api_keys::name).first(conn)?))
}
