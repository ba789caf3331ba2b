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

/// Which entries an audit list shows.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Exactly this actor (an admin's email, `api:{key}`, `cli`, …).
    pub actor: Option<String>,
    /// Actions starting with this (`reward.` for every reward action).
    pub action_prefix: Option<String>,
    /// Exactly this subject (an id, a slug, an email).
    pub subject: Option<String>,
    /// At or after.
    pub since: Option<PrimitiveDateTime>,
    /// Before.
    pub until: Option<PrimitiveDateTime>,
}

/// A page of entries, newest first (time, then id), older than `before`
/// (an entry's time and id) when given.
pub fn page(
    conn: &mut DbConnection,
    filter: &AuditFilter,
    before: Option<(PrimitiveDateTime, String)>,
    limit: i64,
) -> StorageResult<Vec<AuditRow>> {
    let mut q = audit_log::table.into_boxed();
    if let Some(actor) = &filter.actor {
        q = q.filter(audit_log::actor.eq(actor.clone()));
    }
    if let Some(prefix) = &filter.action_prefix {
        // The text is a bound value; its own % and _ are escaped so they
        // match themselves, not any text.
        let escaped = prefix.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        q = q.filter(audit_log::action.like(format!("{escaped}%")).escape('\\'));
    }
    if let Some(subject) = &filter.subject {
        q = q.filter(audit_log::subject.eq(subject.clone()));
    }
    if let Some(since) = filter.since {
        q = q.filter(audit_log::at.ge(since));
    }
    if let Some(until) = filter.until {
        q = q.filter(audit_log::at.lt(until));
    }
    if let Some((at, id)) = before {
        q = q.filter(audit_log::at.lt(at).or(audit_log::at.eq(at).and(audit_log::id.lt(id))));
    }
    Ok(q.order((audit_log::at.desc(), audit_log::id.desc())).limit(limit).select(AuditRow::as_select()).load(conn)?)
}
