//! Values that belong to this installation, such as the generated secret
//! key and the "owner was created" marker.

use diesel::prelude::*;
use time::PrimitiveDateTime;

use super::schema::instance_values;
use super::{DbConnection, StorageResult};

pub const SECRET_KEY: &str = "secret_key";
/// Inserted in the same transaction as the first owner: its primary key
/// makes a second concurrent setup fail instead of creating two owners.
pub const SETUP_DONE: &str = "setup_done";

pub fn get(conn: &mut DbConnection, name: &str) -> StorageResult<Option<String>> {
    Ok(instance_values::table
        .select(instance_values::value)
        .filter(instance_values::name.eq(name))
        .first::<String>(conn)
        .optional()?)
}

/// Inserts `name`; fails with a unique violation when it already exists.
pub fn insert(conn: &mut DbConnection, name: &str, value: &str, now: PrimitiveDateTime) -> StorageResult<()> {
    diesel::insert_into(instance_values::table)
        .values((instance_values::name.eq(name), instance_values::value.eq(value), instance_values::created_at.eq(now)))
        .execute(conn)?;
    Ok(())
}
