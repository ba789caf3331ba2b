//! The audit log: who did what to which thing, and when.

use diesel::prelude::*;
use time::PrimitiveDateTime;

use super::schema::audit_log;
use super::{DbConnection, StorageResult};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_log)]
pub struct AuditRow {
    pub id: String,
    pub at: PrimitiveDateTime,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub detail: String,
}

/// One entry; written in the same transaction as the action it records.
#[derive(Debug, Clone)]
pub struct AuditEntry<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub subject: &'a str,
    pub detail: &'a str,
}

pub fn record(conn: &mut DbConnection, entry: AuditEntry<'_>, at: PrimitiveDateTime) -> StorageResult<()> {
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::id.eq(nanoid::nanoid!()),
            audit_log::at.eq(at),
            audit_log::actor.eq(entry.actor),
            audit_log::action.eq(entry.action),
            audit_log::subject.eq(entry.subject),
            audit_log::detail.eq(entry.detail),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn recent(conn: &mut DbConnection, limit: i64) -> StorageResult<Vec<AuditRow>> {
    Ok(audit_log::table.order(audit_log::at.desc()).limit(limit).select(AuditRow::as_select()).load(conn)?)
}
