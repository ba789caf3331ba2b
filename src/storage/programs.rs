//! Program rows. The configuration is stored whole, as JSON text: one
//! column that both backends read alike and that `GET` returns as it was.

use diesel::prelude::*;
use time::PrimitiveDateTime;

use super::schema::programs;
use super::{DbConnection, StorageResult};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = programs)]
pub struct ProgramRow {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub status: String,
    pub config: String,
    pub created_at: PrimitiveDateTime,
    pub updated_at: PrimitiveDateTime,
}

pub fn find_by_slug(conn: &mut DbConnection, slug: &str) -> StorageResult<Option<ProgramRow>> {
    Ok(programs::table.filter(programs::slug.eq(slug)).select(ProgramRow::as_select()).first(conn).optional()?)
}

pub fn find(conn: &mut DbConnection, id: &str) -> StorageResult<Option<ProgramRow>> {
    Ok(programs::table.find(id).select(ProgramRow::as_select()).first(conn).optional()?)
}

pub fn insert(conn: &mut DbConnection, row: &ProgramRow) -> StorageResult<()> {
    diesel::insert_into(programs::table).values(row).execute(conn)?;
    Ok(())
}

pub fn update(
    conn: &mut DbConnection,
    id: &str,
    name: &str,
    status: &str,
    config: &str,
    now: PrimitiveDateTime,
) -> StorageResult<()> {
    diesel::update(programs::table.find(id))
        .set((
            programs::name.eq(name),
            programs::status.eq(status),
            programs::config.eq(config),
            programs::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn list(conn: &mut DbConnection) -> StorageResult<Vec<ProgramRow>> {
    Ok(programs::table.order(programs::created_at.asc()).select(ProgramRow::as_select()).load(conn)?)
}
