//! Admin user rows.

use diesel::prelude::*;
use time::PrimitiveDateTime;

use super::schema::admin_users;
use super::{DbConnection, StorageResult};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = admin_users)]
pub struct AdminUserRow {
    pub id: String,
    pub email: String,
    pub password_hash: String,
    pub role: String,
    pub created_at: PrimitiveDateTime,
    pub updated_at: PrimitiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = admin_users)]
pub struct NewAdminUser<'a> {
    pub id: &'a str,
    pub email: &'a str,
    pub password_hash: &'a str,
    pub role: &'a str,
    pub created_at: PrimitiveDateTime,
    pub updated_at: PrimitiveDateTime,
}

pub fn count(conn: &mut DbConnection) -> StorageResult<i64> {
    Ok(admin_users::table.count().get_result(conn)?)
}

pub fn insert(conn: &mut DbConnection, user: &NewAdminUser<'_>) -> StorageResult<()> {
    diesel::insert_into(admin_users::table).values(user).execute(conn)?;
    Ok(())
}

pub fn find_by_email(conn: &mut DbConnection, email: &str) -> StorageResult<Option<AdminUserRow>> {
    Ok(admin_users::table
        .filter(admin_users::email.eq(email))
        .select(AdminUserRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn find(conn: &mut DbConnection, id: &str) -> StorageResult<Option<AdminUserRow>> {
    Ok(admin_users::table.find(id).select(AdminUserRow::as_select()).first(conn).optional()?)
}

pub fn list(conn: &mut DbConnection) -> StorageResult<Vec<AdminUserRow>> {
    Ok(admin_users::table.order(admin_users::created_at.asc()).select(AdminUserRow::as_select()).load(conn)?)
}

pub fn count_with_role(conn: &mut DbConnection, role: &str) -> StorageResult<i64> {
    Ok(admin_users::table.filter(admin_users::role.eq(role)).count().get_result(conn)?)
}

pub fn set_role(conn: &mut DbConnection, id: &str, role: &str, now: PrimitiveDateTime) -> StorageResult<usize> {
    Ok(diesel::update(admin_users::table.find(id))
        .set((admin_users::role.eq(role), admin_users::updated_at.eq(now)))
        .execute(conn)?)
}

pub fn set_password_hash(
    conn: &mut DbConnection,
    id: &str,
    password_hash: &str,
    now: PrimitiveDateTime,
) -> StorageResult<usize> {
    Ok(diesel::update(admin_users::table.find(id))
        .set((admin_users::password_hash.eq(password_hash), admin_users::updated_at.eq(now)))
        .execute(conn)?)
}

pub fn delete(conn: &mut DbConnection, id: &str) -> StorageResult<usize> {
    Ok(diesel::delete(admin_users::table.find(id)).execute(conn)?)
}
