//! The outbox as the admin sees it: a page of emails with filters, one
//! email with a safe preview of its text and HTML (secret links replaced),
//! and resending one (audited).

use time::PrimitiveDateTime;

use crate::services::{ServiceError, ServiceResult, write_or_refuse};
use crate::storage::Db;
use crate::storage::audit::{self, AuditEntry};
use crate::storage::emails::{self, EmailFilter, EmailRow};

use super::render::{RenderContext, prepare};

/// Emails shown on one page of the outbox.
pub const PAGE: i64 = 50;

/// One page of the outbox, newest first, and the counts by status.
pub async fn page(db: &Db, filter: EmailFilter, page: i64) -> ServiceResult<(Vec<EmailRow>, Vec<(String, i64)>)> {
    Ok(db
        .run(move |conn| {
            let rows = emails::page(conn, &filter, PAGE + 1, page.max(0) * PAGE)?;
            Ok((rows, emails::status_counts(conn)?))
        })
        .await?)
}

/// An email's preview: subject, text and HTML as they would be sent now,
/// with sign-in and set-password links replaced.
#[derive(Debug, Clone)]
pub struct Preview {
    /// The sender as the recipient sees it: the program's sender name
    /// and `GOODWORD_MAIL_FROM`.
    pub from: String,
    pub reply_to: Option<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Email `id` and its preview (`Err` with why it cannot be rendered).
pub async fn show(
    db: &Db,
    ctx: &RenderContext,
    mail_from: &str,
    id: &str,
    now: PrimitiveDateTime,
) -> ServiceResult<Option<(EmailRow, Result<Preview, String>)>> {
    let (id, ctx) = (id.to_string(), RenderContext { redact_secrets: true, ..ctx.clone() });
    let mail_from = mail_from.to_string();
    Ok(db
        .run(move |conn| {
            let Some(row) = emails::find(conn, &id)? else { return Ok(None) };
            let preview = prepare(conn, &ctx, &row, now)?.and_then(|p| {
                let (text, html) = p.message.render().map_err(|e| e.to_string())?;
                let from = match &p.sender_name {
                    Some(name) => format!("{name} <{mail_from}>"),
                    None => mail_from.clone(),
                };
                Ok(Preview { from, reply_to: p.reply_to, subject: p.message.subject, text, html })
            });
            Ok(Some((row, preview)))
        })
        .await?)
}

/// Queues email `id` to be sent again now (the same content, rendered
/// anew), whatever became of it.
pub async fn resend(db: &Db, id: &str, actor: &str, now: PrimitiveDateTime) -> ServiceResult<()> {
    let (id, actor) = (id.to_string(), actor.to_string());
    write_or_refuse(db, move |conn| {
        let row = emails::find(conn, &id)?.ok_or(ServiceError::NotFound("email"))?;
        emails::requeue(conn, &id, now)?;
        let entry = AuditEntry { actor: &actor, action: "email.resent", subject: &id, detail: &row.to_address };
        audit::record(conn, entry, now)?;
        Ok(())
    })
    .await
}
