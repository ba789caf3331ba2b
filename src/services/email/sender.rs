//! The email worker (one on every server): claims due emails with a lease
//! (so two servers never send one row), renders each, sends it through
//! SMTP and records the result. A temporary failure (a 4xx reply, a
//! connection error) is retried with backoff; a permanent one (5xx), or a
//! day of temporary ones, fails the row with the last error kept. Without
//! an SMTP server, rows wait, marked as not sent.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncTransport, Message as MailMessage};
use time::{Duration, PrimitiveDateTime};

use crate::clock::Clock;
use crate::domain::email_kind::EmailKind;
use crate::services::ServiceResult;
use crate::storage::Db;
use crate::storage::emails::{self, EmailRow, FAILED, Outcome, SENT, SUPPRESSED, WAITING};

use super::render::{Prepared, RenderContext, prepare};
use super::smtp::{Transport, transport};

/// The note on emails kept because no SMTP server is configured.
pub const NO_SMTP: &str = "not sent: no SMTP server configured (set GOODWORD_SMTP_URL)";
/// The note on an email whose recipient turned its kind off.
pub const UNSUBSCRIBED: &str = "not sent: the recipient turned this kind of email off";
/// Emails claimed in one run at most.
const BATCH: i64 = 20;
/// How long a claimed email is this worker's.
const LEASE: Duration = Duration::minutes(2);
/// A temporary failure is retried until this long after the first attempt.
const GIVE_UP_AFTER: Duration = Duration::days(1);
/// How often the worker looks for due emails.
const POLL: StdDuration = StdDuration::from_secs(1);

/// The wait before attempt `n + 1` after `n` temporary failures.
fn backoff(attempts: i32) -> Duration {
    const STEPS: [i64; 8] = [30, 120, 600, 1_800, 3_600, 7_200, 14_400, 28_800];
    let i = usize::try_from(attempts.max(1) - 1).unwrap_or(0).min(STEPS.len() - 1);
    Duration::seconds(STEPS[i])
}

/// What one run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    pub sent: usize,
    pub retrying: usize,
    pub failed: usize,
}

pub struct EmailSender {
    db: Db,
    clock: Arc<dyn Clock>,
    render: RenderContext,
    from: Option<Mailbox>,
    transport: Option<Transport>,
    worker: String,
}

impl EmailSender {
    /// `smtp_url` unset keeps every email waiting in the outbox.
    pub fn new(
        db: Db,
        clock: Arc<dyn Clock>,
        render: RenderContext,
        smtp_url: Option<&str>,
        mail_from: &str,
    ) -> Result<Self, String> {
        let transport = smtp_url.map(transport).transpose()?;
        let from = match mail_from.parse() {
            Ok(address) => Some(Mailbox::new(None, address)),
            Err(e) => return Err(format!("GOODWORD_MAIL_FROM {mail_from:?}: {e}")),
        };
        Ok(Self { db, clock, render, from, transport, worker: format!("email-{}", nanoid::nanoid!(10)) })
    }

    pub fn configured(&self) -> bool {
        self.transport.is_some()
    }

    /// Runs the worker until the server stops.
    pub fn spawn(self: Arc<Self>) -> actix_web::rt::task::JoinHandle<()> {
        actix_web::rt::spawn(async move {
            loop {
                if let Err(e) = self.run_once().await {
                    tracing::warn!(error = %e, "the email worker failed a run");
                }
                actix_web::rt::time::sleep(POLL).await;
            }
        })
    }

    /// Sends what is due now (the tests call it after moving the clock).
    pub async fn run_once(&self) -> ServiceResult<Run> {
        let now = self.clock.now_utc();
        let Some(transport) = &self.transport else {
            // A read first: the note is written once per email, not a
            // write lock taken every second.
            if self.db.run(emails::any_unnoted).await? {
                self.db.write(|conn| emails::note_unsent(conn, NO_SMTP)).await?;
            }
            return Ok(Run::default());
        };
        let mut run = Run::default();
        let ids = self.db.run(move |conn| emails::due(conn, now, BATCH)).await?;
        for id in ids {
            let worker = self.worker.clone();
            let claimed = self.db.write(move |conn| emails::claim(conn, &id, &worker, now, now + LEASE)).await?;
            let Some(row) = claimed else { continue };
            let (status, error, subject) = self.attempt(transport, &row, now).await?;
            match status {
                SENT => run.sent += 1,
                WAITING => run.retrying += 1,
                SUPPRESSED => {}
                _ => run.failed += 1,
            }
            let worker = self.worker.clone();
            let next = now + backoff(row.attempts);
            self.db
                .write(move |conn| {
                    let outcome = Outcome {
                        status,
                        next_attempt_at: if status == WAITING { next } else { now },
                        error: error.as_deref(),
                        subject: &subject,
                        at: now,
                    };
                    emails::finish(conn, &row.id, &worker, row.attempts, &outcome)
                })
                .await?;
        }
        Ok(run)
    }

    /// One attempt at `row`: the status it ends in, the error, the subject.
    async fn attempt(
        &self,
        transport: &Transport,
        row: &EmailRow,
        now: PrimitiveDateTime,
    ) -> ServiceResult<(&'static str, Option<String>, String)> {
        let (ctx, copy) = (self.render.clone(), row.clone());
        let checked = self
            .db
            .run(move |conn| {
                // The address may have turned this kind off since it was queued.
                let off = emails::suppressed_kinds(conn, &copy.to_address.to_ascii_lowercase())?;
                let kind = EmailKind::parse(&copy.kind);
                if kind.is_some_and(|k| k.can_unsubscribe() && off.iter().any(|o| o == "all" || o == k.as_str())) {
                    return Ok(None);
                }
                prepare(conn, &ctx, &copy, now).map(Some)
            })
            .await?;
        let prepared = match checked {
            None => return Ok((SUPPRESSED, Some(UNSUBSCRIBED.into()), String::new())),
            Some(Ok(p)) => p,
            Some(Err(gone)) => return Ok((FAILED, Some(format!("not sent: {gone}")), String::new())),
        };
        let subject = prepared.message.subject.clone();
        let message = match self.build(row, &prepared) {
            Ok(m) => m,
            Err(refused) => return Ok((FAILED, Some(refused), subject)),
        };
        let first = row.first_attempt_at.unwrap_or(now);
        Ok(match transport.send(message).await {
            Ok(_) => (SENT, None, subject),
            Err(e) if e.is_permanent() => (FAILED, Some(format!("refused by the SMTP server: {e}")), subject),
            Err(e) if now + backoff(row.attempts) > first + GIVE_UP_AFTER => {
                (FAILED, Some(format!("gave up after a day of temporary failures; the last: {e}")), subject)
            }
            Err(e) => (WAITING, Some(format!("temporary failure, will retry: {e}")), subject),
        })
    }

    /// The MIME message, built with lettre's typed builders only. A line
    /// break in any header part is refused, never passed on.
    fn build(&self, row: &EmailRow, p: &Prepared) -> Result<MailMessage, String> {
        let m = &p.message;
        let parts = [
            ("the recipient's name", row.to_name.as_str()),
            ("the sender name", p.sender_name.as_deref().unwrap_or_default()),
            ("the subject", m.subject.as_str()),
        ];
        if let Some((what, _)) = parts.iter().find(|(_, v)| v.chars().any(|c| c == '\r' || c == '\n')) {
            return Err(format!("refused: a line break in {what}"));
        }
        let to = row.to_address.parse().map_err(|e| format!("refused: the address {:?}: {e}", row.to_address))?;
        let name = Some(row.to_name.clone()).filter(|n| !n.trim().is_empty());
        let from = self.from.clone().ok_or("GOODWORD_MAIL_FROM is not an address")?;
        let from = Mailbox::new(p.sender_name.clone(), from.email);
        let mut builder = MailMessage::builder().from(from).to(Mailbox::new(name, to)).subject(m.subject.clone());
        if let Some(reply_to) = p.reply_to.as_deref().and_then(|r| r.parse().ok()) {
            builder = builder.reply_to(Mailbox::new(None, reply_to));
        }
        if let Some(url) = &m.unsubscribe_url {
            builder = builder.header(ListUnsubscribe(format!("<{url}>"))).header(ListUnsubscribePost);
        }
        let (text, html) = m.render().map_err(|e| format!("the email could not be rendered: {e}"))?;
        builder
            .multipart(MultiPart::alternative_plain_html(text, html))
            .map_err(|e| format!("the email could not be built: {e}"))
    }
}

/// `List-Unsubscribe: <https://…/u/…>` (RFC 2369).
#[derive(Debug, Clone)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(s.to_string()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058).
#[derive(Debug, Clone)]
struct ListUnsubscribePost;

impl Header for ListUnsubscribePost {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_and_stay_within_a_day() {
        assert_eq!(backoff(1), Duration::seconds(30));
        assert_eq!(backoff(2), Duration::minutes(2));
        assert_eq!(backoff(50), Duration::hours(8));
        let total: i64 = (1..=8).map(|n| backoff(n).whole_seconds()).sum();
        assert!(total < GIVE_UP_AFTER.whole_seconds(), "eight tries fit in the day");
    }
}
