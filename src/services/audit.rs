//! Reading the audit log for the admin.

use crate::storage::Db;
use crate::storage::audit::{self, AuditFilter, AuditRow};

use super::referrals::Cursor;

use super::ServiceResult;

pub async fn recent(db: &Db, limit: i64) -> ServiceResult<Vec<AuditRow>> {
    Ok(db.run(move |conn| audit::recent(conn, limit)).await?)
}

/// A page of entries, newest first, and the cursor of the next (older)
/// page, if there is one.
pub async fn page(
    db: &Db,
    filter: AuditFilter,
    before: Option<Cursor>,
    limit: i64,
) -> ServiceResult<(Vec<AuditRow>, Option<Cursor>)> {
    Ok(db
        .run(move |conn| {
            let rows = audit::page(conn, &filter, before.map(|c| (c.created_at, c.id)), limit + 1)?;
            Ok(Cursor::split(rows, limit, |r| Cursor { created_at: r.at, id: r.id.clone() }))
        })
        .await?)
}
