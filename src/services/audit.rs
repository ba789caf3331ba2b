//! Reading the audit log for the admin.

use crate::storage::Db;
use crate::storage::audit::{self, AuditRow};

use super::ServiceResult;

pub async fn recent(db: &Db, limit: i64) -> ServiceResult<Vec<AuditRow>> {
    Ok(db.run(move |conn| audit::recent(conn, limit)).await?)
}
