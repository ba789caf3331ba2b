//! Email rows: the outbox (queued in the transaction of their cause,
//! claimed with a lease, finished by the lease holder), the addresses that
//! turned a kind of email off, and single-use sign-in links.

use diesel::prelude::*;
use time::PrimitiveDateTime;

use super::schema::{email_suppressions, emails, sign_in_links};
use super::{DbConnection, StorageResult};

pub const WAITING: &str = "waiting";
pub const SENT: &str = "sent";
pub const FAILED: &str = "failed";
/// Not sent: the address turned this kind off.
pub const SUPPRESSED: &str = "suppressed";

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = emails)]
pub struct EmailRow {
    pub id: String,
    pub kind: String,
    pub to_address: String,
    pub to_name: String,
    pub program_id: Option<String>,
    pub participant_id: Option<String>,
    pub subject_id: Option<String>,
    pub dedupe_key: Option<String>,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: PrimitiveDateTime,
    pub first_attempt_at: Option<PrimitiveDateTime>,
    pub lease_until: Option<PrimitiveDateTime>,
    pub leased_by: Option<String>,
    pub last_error: Option<String>,
    pub subject: Option<String>,
    pub sent_at: Option<PrimitiveDateTime>,
    pub created_at: PrimitiveDateTime,
}

/// Queues an email; false when its dedupe key was queued before.
pub fn insert(conn: &mut DbConnection, row: &EmailRow) -> StorageResult<bool> {
    macro_rules! insert {
        ($c:expr) => {
            diesel::insert_into(emails::table).values(row).on_conflict_do_nothing().execute($c)?
        };
    }
    let added = match conn {
        DbConnection::Sqlite(c) => insert!(c),
        DbConnection::Postgres(c) => insert!(c),
    };
    Ok(added == 1)
}

pub fn find(conn: &mut DbConnection, id: &str) -> StorageResult<Option<EmailRow>> {
    Ok(emails::table.find(id).select(EmailRow::as_select()).first(conn).optional()?)
}

/// Ids of waiting emails due by `now` and not leased, oldest first.
pub fn due(conn: &mut DbConnection, now: PrimitiveDateTime, limit: i64) -> StorageResult<Vec<String>> {
    Ok(emails::table
        .filter(emails::status.eq(WAITING))
        .filter(emails::next_attempt_at.le(now))
        .filter(emails::lease_until.is_null().or(emails::lease_until.le(now)))
        .order((emails::next_attempt_at.asc(), emails::id.asc()))
        .limit(limit)
        .select(emails::id)
        .load(conn)?)
}

/// Claims a due email for one attempt: leased to `worker` until
/// `lease_until`, the attempt counted. `None` if another worker took it.
pub fn claim(
    conn: &mut DbConnection,
    id: &str,
    worker: &str,
    now: PrimitiveDateTime,
    lease_until: PrimitiveDateTime,
) -> StorageResult<Option<EmailRow>> {
    let claimed = diesel::update(
        emails::table
            .filter(emails::id.eq(id))
            .filter(emails::status.eq(WAITING))
            .filter(emails::next_attempt_at.le(now))
            .filter(emails::lease_until.is_null().or(emails::lease_until.le(now))),
    )
    .set((emails::lease_until.eq(lease_until), emails::leased_by.eq(worker), emails::attempts.eq(emails::attempts + 1)))
    .execute(conn)?;
    if claimed == 0 {
        return Ok(None);
    }
    // The first attempt starts the day after which a failing email is
    // given up.
    diesel::update(emails::table.find(id).filter(emails::first_attempt_at.is_null()))
        .set(emails::first_attempt_at.eq(now))
        .execute(conn)?;
    find(conn, id)
}

/// How an attempt ended.
#[derive(Debug, Clone)]
pub struct Outcome<'a> {
    /// [`SENT`], [`WAITING`] (to retry) or [`FAILED`].
    pub status: &'static str,
    pub next_attempt_at: PrimitiveDateTime,
    pub error: Option<&'a str>,
    pub subject: &'a str,
    pub at: PrimitiveDateTime,
}

/// Records the attempt's end if `worker` still holds the lease of attempt
/// number `attempt`; whether it did.
pub fn finish(
    conn: &mut DbConnection,
    id: &str,
    worker: &str,
    attempt: i32,
    outcome: &Outcome<'_>,
) -> StorageResult<bool> {
    let target = emails::table
        .filter(emails::id.eq(id))
        .filter(emails::leased_by.eq(worker))
        .filter(emails::attempts.eq(attempt))
        .filter(emails::status.eq(WAITING));
    let sent_at = (outcome.status == SENT).then_some(outcome.at);
    let changed = diesel::update(target)
        .set((
            emails::status.eq(outcome.status),
            emails::next_attempt_at.eq(outcome.next_attempt_at),
            emails::lease_until.eq(None::<PrimitiveDateTime>),
            emails::last_error.eq(outcome.error),
            emails::subject.eq(outcome.subject),
            emails::sent_at.eq(sent_at),
        ))
        .execute(conn)?;
    Ok(changed == 1)
}

/// Whether a waiting email carries no note yet.
pub fn any_unnoted(conn: &mut DbConnection) -> StorageResult<bool> {
    let found: Vec<String> = emails::table
        .filter(emails::status.eq(WAITING))
        .filter(emails::last_error.is_null())
        .select(emails::id)
        .limit(1)
        .load(conn)?;
    Ok(!found.is_empty())
}

/// Marks waiting emails that carry no note with `note` (no SMTP server is
/// configured); how many.
pub fn note_unsent(conn: &mut DbConnection, note: &str) -> StorageResult<usize> {
    Ok(diesel::update(emails::table.filter(emails::status.eq(WAITING)).filter(emails::last_error.is_null()))
        .set(emails::last_error.eq(note))
        .execute(conn)?)
}

/// Puts an email back in the queue to be sent now (the admin's resend).
pub fn requeue(conn: &mut DbConnection, id: &str, now: PrimitiveDateTime) -> StorageResult<bool> {
    let changed = diesel::update(emails::table.find(id))
        .set((
            emails::status.eq(WAITING),
            emails::next_attempt_at.eq(now),
            emails::first_attempt_at.eq(None::<PrimitiveDateTime>),
            emails::attempts.eq(0),
            emails::lease_until.eq(None::<PrimitiveDateTime>),
            emails::last_error.eq(None::<String>),
        ))
        .execute(conn)?;
    Ok(changed == 1)
}

/// Which emails a list shows.
#[derive(Debug, Clone, Default)]
pub struct EmailFilter {
    pub status: Option<String>,
    pub kind: Option<String>,
    pub to: Option<String>,
}

/// A page of emails, newest first.
pub fn page(conn: &mut DbConnection, filter: &EmailFilter, limit: i64, offset: i64) -> StorageResult<Vec<EmailRow>> {
    let mut q = emails::table.into_boxed();
    if let Some(status) = &filter.status {
        q = q.filter(emails::status.eq(status.clone()));
    }
    if let Some(kind) = &filter.kind {
        q = q.filter(emails::kind.eq(kind.clone()));
    }
    if let Some(to) = &filter.to {
        q = q.filter(emails::to_address.eq(to.clone()));
    }
    Ok(q.order((emails::created_at.desc(), emails::id.desc()))
        .limit(limit)
        .offset(offset)
        .select(EmailRow::as_select())
        .load(conn)?)
}

/// (status, count) over the outbox.
pub fn status_counts(conn: &mut DbConnection) -> StorageResult<Vec<(String, i64)>> {
    Ok(emails::table.group_by(emails::status).select((emails::status, diesel::dsl::count_star())).load(conn)?)
}

/// Turns `kind` (or `all`) off for `address`.
pub fn suppress(conn: &mut DbConnection, address: &str, kind: &str, now: PrimitiveDateTime) -> StorageResult<()> {
    let row = (
        email_suppressions::address.eq(address),
        email_suppressions::kind.eq(kind),
        email_suppressions::created_at.eq(now),
    );
    macro_rules! insert {
        ($c:expr) => {
            diesel::insert_into(email_suppressions::table).values(row).on_conflict_do_nothing().execute($c)?
        };
    }
    match conn {
        DbConnection::Sqlite(c) => insert!(c),
        DbConnection::Postgres(c) => insert!(c),
    };
    Ok(())
}

/// Turns `kind` on again for `address`.
pub fn unsuppress(conn: &mut DbConnection, address: &str, kind: &str) -> StorageResult<()> {
    diesel::delete(email_suppressions::table.find((address, kind))).execute(conn)?;
    Ok(())
}

/// The kinds `address` turned off (`all` among them, if so).
pub fn suppressed_kinds(conn: &mut DbConnection, address: &str) -> StorageResult<Vec<String>> {
    Ok(email_suppressions::table
        .filter(email_suppressions::address.eq(address))
        .select(email_suppressions::kind)
        .load(conn)?)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sign_in_links)]
pub struct SignInRow {
    pub id: String,
    pub token_hash: String,
    pub purpose: String,
    pub owner_id: String,
    pub expires_at: PrimitiveDateTime,
    pub used_at: Option<PrimitiveDateTime>,
    pub created_at: PrimitiveDateTime,
}

pub fn insert_sign_in(conn: &mut DbConnection, row: &SignInRow) -> StorageResult<()> {
    diesel::insert_into(sign_in_links::table).values(row).execute(conn)?;
    Ok(())
}

pub fn find_sign_in(conn: &mut DbConnection, id: &str) -> StorageResult<Option<SignInRow>> {
    Ok(sign_in_links::table.find(id).select(SignInRow::as_select()).first(conn).optional()?)
}

/// Uses the unexpired, unused link of `token_hash` for `purpose`: the
/// link, once; `None` if it is unknown, used or expired.
pub fn use_sign_in(
    conn: &mut DbConnection,
    token_hash: &str,
    purpose: &str,
    now: PrimitiveDateTime,
) -> StorageResult<Option<SignInRow>> {
    let target = sign_in_links::table
        .filter(sign_in_links::token_hash.eq(token_hash))
        .filter(sign_in_links::purpose.eq(purpose))
        .filter(sign_in_links::used_at.is_null())
        .filter(sign_in_links::expires_at.gt(now));
    if diesel::update(target).set(sign_in_links::used_at.eq(now)).execute(conn)? == 0 {
        return Ok(None);
    }
    Ok(sign_in_links::table
        .filter(sign_in_links::token_hash.eq(token_hash))
        .select(SignInRow::as_select())
        .first(conn)
        .optional()?)
}
