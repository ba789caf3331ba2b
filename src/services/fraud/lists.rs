//! The admin's lists: domains that are (or are not) disposable besides the
//! bundled list, and blocked email addresses, domains and networks. Every
//! change is audited in its own transaction.

use time::PrimitiveDateTime;

use crate::domain::review::FraudList;
use crate::services::{ServiceError, ServiceResult, write_or_refuse};
use crate::storage::Db;
use crate::storage::audit::{self, AuditEntry};
use crate::storage::fraud::{self, ListRow};

/// Every entry of every list.
pub async fn entries(db: &Db) -> ServiceResult<Vec<ListRow>> {
    Ok(db.run(fraud::entries).await?)
}

/// Adds `raw` (checked and normalised for its list) to `list`. Refused
/// with the field named when the entry is malformed or already listed.
pub async fn add(
    db: &Db,
    list: FraudList,
    raw: &str,
    note: &str,
    actor: &str,
    now: PrimitiveDateTime,
) -> ServiceResult<String> {
    let value = list.parse_entry(raw).map_err(|e| ServiceError::invalid("value", e))?;
    let note = note.trim().to_string();
    if note.chars().count() > 200 || note.chars().any(char::is_control) {
        return Err(ServiceError::invalid("note", "keep the note to one line of at most 200 characters"));
    }
    let row = ListRow {
        kind: list.as_str().into(),
        value: value.clone(),
        note,
        created_by: actor.to_string(),
        created_at: now,
    };
    write_or_refuse(db, move |conn| {
        if !fraud::add_entry(conn, &row)? {
            return Err(ServiceError::invalid("value", "is on this list already"));
        }
        let action = format!("fraud_list.added.{}", row.kind);
        audit::record(
            conn,
            AuditEntry { actor: &row.created_by, action: &action, subject: &row.value, detail: &row.note },
            now,
        )?;
        Ok(row.value)
    })
    .await
}

/// Removes `value` from `list`.
pub async fn remove(db: &Db, list: FraudList, value: &str, actor: &str, now: PrimitiveDateTime) -> ServiceResult<()> {
    let (value, actor) = (value.to_string(), actor.to_string());
    write_or_refuse(db, move |conn| {
        if !fraud::remove_entry(conn, list.as_str(), &value)? {
            return Err(ServiceError::NotFound("list entry"));
        }
        let action = format!("fraud_list.removed.{}", list.as_str());
        audit::record(conn, AuditEntry { actor: &actor, action: &action, subject: &value, detail: "" }, now)?;
        Ok(())
    })
    .await
}
