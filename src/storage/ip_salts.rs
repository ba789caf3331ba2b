//! The daily salts of the click IP hash. Old salts are deleted, which makes
//! old hashes unlinkable to any address.

use diesel::prelude::*;
use time::PrimitiveDateTime;

use super::schema::ip_salts;
use super::{DbConnection, StorageResult};

pub fn get(conn: &mut DbConnection, day: &str) -> StorageResult<Option<String>> {
    Ok(ip_salts::table.find(day).select(ip_salts::salt).first(conn).optional()?)
}

pub fn insert(conn: &mut DbConnection, day: &str, salt: &str, now: PrimitiveDateTime) -> StorageResult<()> {
    diesel::insert_into(ip_salts::table)
        .values((ip_salts::day.eq(day), ip_salts::salt.eq(salt), ip_salts::created_at.eq(now)))
        .execute(conn)?;
    Ok(())
}

/// Salts of the days from `first_day` on (ISO dates sort as text).
pub fn since(conn: &mut DbConnection, first_day: &str) -> StorageResult<Vec<(String, String)>> {
    Ok(ip_salts::table.filter(ip_salts::day.ge(first_day)).select((ip_salts::day, ip_salts::salt)).load(conn)?)
}

pub fn delete_before(conn: &mut DbConnection, day: &str) -> StorageResult<usize> {
    Ok(diesel::delete(ip_salts::table.filter(ip_salts::day.lt(day))).execute(conn)?)
}
