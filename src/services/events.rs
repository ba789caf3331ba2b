//! Conversion events (`POST /api/v1/events`): find the referral the event
//! belongs to, or attribute a new one, move its stage, and keep the event
//! as the idempotency record and the referral's timeline — all in one write
//! transaction, so an acknowledged event is committed with its effects.
//! Events are committed in groups by one writer ([`EventWriter`]).

use time::PrimitiveDateTime;

use crate::crypto::SigningKey;

use crate::domain::FieldError;
use crate::domain::conversion::{ConversionEvent, EventKind, ReferralState, StageChange, change_for};
use crate::domain::email_kind::EmailKind;
use crate::domain::program::Stage;
use crate::domain::webhook::EventType as WebhookType;
use crate::storage::clicks::ClickRow;
use crate::storage::conversion_events::{self, EventRow};
use crate::storage::links::ResolvedLink;
use crate::storage::referrals::{self, ReferralRow};
use crate::storage::{Db, DbConnection, StorageError, StorageResult, clicks, links, participants, write_transaction};

use super::email;
use super::fraud::{self, Seen, SeenClick};
use super::programs::{Program, SharedProgram};
use super::referral_json::{ChangeNote, queue_webhook};
use super::rewards::issue::{self as rewards, Reached};
use super::webhooks::{Doorbell, Outbox};
use super::{ServiceError, ServiceResult};

/// What the API answers for an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventOutcome {
    pub referral_id: Option<String>,
    /// The referral's stage (or `refunded`, `rejected`) after the event.
    pub stage: Option<String>,
    pub attributed: bool,
    /// The same event id and body were recorded before; nothing changed now.
    pub duplicate: bool,
}

/// How long after a click an event may still be attributed to it.
fn window(program: &Program) -> time::Duration {
    time::Duration::days(i64::from(program.config.attribution.window_days))
}

/// Events waiting for the writer at most; beyond this a request waits for
/// room (a full queue means the database is slower than the arrivals).
const QUEUE: usize = 4_096;
/// Events committed in one transaction at most.
const GROUP_MAX: usize = 512;

/// One event on its way to the writer, with where its answer goes.
struct Job {
    program: SharedProgram,
    event: ConversionEvent,
    body_hash: String,
    now: PrimitiveDateTime,
    reply: tokio::sync::oneshot::Sender<StorageResult<Result<EventOutcome, FieldError>>>,
}

/// Commits events in groups: one writer thread takes every event waiting,
/// records each in a savepoint of one transaction, commits once, then
/// answers them all. One sync per group instead of one per event; an
/// event is answered only after the commit that holds it.
pub struct EventWriter {
    jobs: tokio::sync::mpsc::Sender<Job>,
}

impl EventWriter {
    /// Starts the writer thread; it ends when the writer is dropped.
    /// `doorbell` is rung after a group that queued webhooks commits.
    /// `ip_key` hashes addresses for the fraud checks of new referrals.
    pub fn start(db: Db, doorbell: Doorbell, ip_key: SigningKey) -> std::io::Result<Self> {
        let (jobs, mut queue) = tokio::sync::mpsc::channel::<Job>(QUEUE);
        std::thread::Builder::new()
            .name("event-writer".into())
            .spawn(move || write_groups(&db, &doorbell, &ip_key, &mut queue))?;
        Ok(Self { jobs })
    }

    /// Records `event` once (by its id within the program). `body_hash`
    /// identifies the request body, so that a retry is told from a reuse
    /// of the id with other content (422).
    pub async fn record(
        &self,
        program: &SharedProgram,
        event: ConversionEvent,
        body_hash: String,
        now: PrimitiveDateTime,
    ) -> ServiceResult<EventOutcome> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job = Job { program: program.clone(), event, body_hash, now, reply };
        // A full queue makes the request wait (asynchronously) for room.
        if self.jobs.send(job).await.is_err() {
            return Err(StorageError::Canceled.into());
        }
        let outcome = answer.await.map_err(|_| StorageError::Canceled)??;
        outcome.map_err(|reused| ServiceError::Invalid(vec![reused]))
    }
}

fn write_groups(db: &Db, doorbell: &Doorbell, key: &SigningKey, queue: &mut tokio::sync::mpsc::Receiver<Job>) {
    while let Some(first) = queue.blocking_recv() {
        let mut group = vec![first];
        while group.len() < GROUP_MAX {
            match queue.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let (outcomes, queued_webhooks) = commit_group(db, key, &group);
        if queued_webhooks {
            doorbell.ring();
        }
        for (job, outcome) in group.into_iter().zip(outcomes) {
            // The request may have gone (client disconnected): the event
            // is committed all the same, and a retry will say duplicate.
            let _ = job.reply.send(outcome);
        }
    }
}

type Outcome = StorageResult<Result<EventOutcome, FieldError>>;

/// Records every job of the group in its own savepoint of one transaction.
/// The answers are final once it returns: committed, or all failed; and
/// whether webhooks were queued.
fn commit_group(db: &Db, key: &SigningKey, group: &[Job]) -> (Vec<Outcome>, bool) {
    let mut conn = match db.get() {
        Ok(conn) => conn,
        Err(e) => return (group.iter().map(|_| Err(shared_error(&e))).collect(), false),
    };
    // On PostgreSQL two servers' groups can lock the same rows (a referral,
    // a program's reward lock) in opposite orders; the database then
    // aborts one as a deadlock. Nothing of it was committed and events are
    // idempotent, so it is simply run once more. An unavailable database
    // (SQLite's lock held past `busy_timeout`, a lost connection) is not:
    // the timeout was already waited out, and the clients retry on 503.
    let mut committed = try_group(&mut conn, key, group);
    if let Err(e) = &committed
        && matches!(e, StorageError::Query(_))
        && !e.is_unavailable()
    {
        tracing::warn!(error = %e, events = group.len(), "event group failed; retrying it once");
        committed = try_group(&mut conn, key, group);
    }
    match committed {
        Ok((outcomes, wrote)) => (outcomes, wrote),
        Err(e) => (group.iter().map(|_| Err(shared_error(&e))).collect(), false),
    }
}

/// One attempt at the group's transaction: the outcomes, and whether it
/// queued webhooks.
fn try_group(conn: &mut DbConnection, key: &SigningKey, group: &[Job]) -> StorageResult<(Vec<Outcome>, bool)> {
    let mut outbox = Outbox::new();
    let outcomes = write_transaction(conn, |conn| {
        let mut outcomes = Vec::with_capacity(group.len());
        for job in group {
            let mut once = |c: &mut DbConnection| {
                record_in(c, &mut outbox, key, &job.program, &job.event, &job.body_hash, job.now)
            };
            let outcome = match write_transaction(conn, &mut once) {
                // Another server recorded the same event id (or the same
                // referee, or the same reward) first: in a fresh
                // savepoint, its row is seen.
                Err(e) if e.is_unique_violation() => write_transaction(conn, &mut once),
                other => other,
            };
            outcomes.push(outcome);
        }
        Ok::<_, StorageError>(outcomes)
    })?;
    Ok((outcomes, outbox.wrote_any()))
}

/// The group's error, for each of its requests; an unavailable database
/// stays unavailable (503, to be retried), anything else is a failure.
fn shared_error(e: &StorageError) -> StorageError {
    let message = format!("the events could not be stored: {e}");
    if e.is_unavailable() { StorageError::Unavailable(message) } else { StorageError::Data(message) }
}

fn record_in(
    conn: &mut DbConnection,
    outbox: &mut Outbox,
    key: &SigningKey,
    program: &Program,
    event: &ConversionEvent,
    body_hash: &str,
    now: PrimitiveDateTime,
) -> StorageResult<Result<EventOutcome, FieldError>> {
    if let Some(stored) = conversion_events::find(conn, &program.id, &event.id)? {
        if stored.body_hash != body_hash {
            return Ok(Err(FieldError::new("id", "was used before for an event with other content")));
        }
        return Ok(Ok(EventOutcome {
            referral_id: stored.referral_id,
            stage: stored.stage,
            attributed: stored.attributed,
            duplicate: true,
        }));
    }
    let applied = match existing_referral(conn, program, event)? {
        Some(referral) => apply_to(conn, outbox, program, referral, event, now)?,
        None => attribute(conn, outbox, key, program, event, now)?,
    };
    conversion_events::insert(
        conn,
        &EventRow {
            program_id: program.id.clone(),
            event_id: event.id.clone(),
            kind: event.kind.as_str().into(),
            body_hash: body_hash.into(),
            referral_id: applied.referral_id.clone(),
            attributed: applied.referral_id.is_some(),
            stage: applied.stage.clone(),
            outcome: applied.outcome,
            amount: event.amount,
            currency: event.currency.clone(),
            occurred_at: event.occurred_at,
            received_at: now,
        },
    )?;
    if let (Some(referral_id), Some((webhook, previous_stage))) = (&applied.referral_id, &applied.webhook) {
        let note = ChangeNote {
            event: *webhook,
            referral_id,
            program_slug: &program.slug,
            previous_stage: previous_stage.as_deref(),
            event_id: Some(&event.id),
        };
        queue_webhook(conn, outbox, note, now)?;
    }
    Ok(Ok(EventOutcome {
        attributed: applied.referral_id.is_some(),
        referral_id: applied.referral_id,
        stage: applied.stage,
        duplicate: false,
    }))
}

/// What an event did.
struct Applied {
    referral_id: Option<String>,
    stage: Option<String>,
    /// In plain words, for the timeline.
    outcome: String,
    /// The webhook the change calls for, with the stage before it.
    webhook: Option<(WebhookType, Option<String>)>,
}

impl Applied {
    fn not_attributed(reason: &str) -> Self {
        Self { referral_id: None, stage: None, outcome: format!("not attributed: {reason}"), webhook: None }
    }
}

/// The referral of the event's referee, if they have one: a referee is
/// attributed once. Looked up by external id, then normalised email, then
/// the click a landing-page claim came from.
fn existing_referral(
    conn: &mut DbConnection,
    program: &Program,
    event: &ConversionEvent,
) -> StorageResult<Option<ReferralRow>> {
    let program_id = program.id.as_str();
    if let Some(external_id) = &event.referee.external_id
        && let Some(found) = referrals::find_by_referee_external_id(conn, program_id, external_id)?
    {
        return Ok(Some(found));
    }
    if let Some(email) = &event.referee.email
        && let Some(found) = referrals::find_by_referee_email(conn, program_id, &email.normalized())?
    {
        return Ok(Some(found));
    }
    match &event.click_id {
        Some(click_id) => referrals::find_by_click_id(conn, program_id, click_id),
        None => Ok(None),
    }
}

/// Applies the event to a referral that exists.
fn apply_to(
    conn: &mut DbConnection,
    outbox: &mut Outbox,
    program: &Program,
    referral: ReferralRow,
    event: &ConversionEvent,
    now: PrimitiveDateTime,
) -> StorageResult<Applied> {
    let before = ReferralState::parse(&referral.stage).unwrap_or(ReferralState::Open(Stage::Lead));
    let (state, outcome) = match change_for(before, event.kind) {
        StageChange::Advance { to } => {
            referrals::advance(conn, &referral.id, to, event.occurred_at, now)?;
            let from = match before {
                ReferralState::Open(stage) => Some(stage),
                _ => None,
            };
            let reached = Reached { referral: &referral, from, to, amount: event.amount };
            rewards::on_reached(conn, outbox, &program.config, &reached, now)?;
            if to == Stage::Won {
                email::referral_news(conn, EmailKind::ReferralWon, &referral, None, now)?;
            }
            (ReferralState::Open(to), format!("moved to {}", to.as_str()))
        }
        StageChange::Refund => {
            referrals::set_state(conn, &referral.id, ReferralState::Refunded.as_str(), now)?;
            rewards::on_refund(conn, outbox, &referral.id, now)?;
            (ReferralState::Refunded, "refunded".to_string())
        }
        StageChange::Unchanged { reason } => (before, format!("recorded, nothing changed: {reason}")),
    };
    let webhook = (state != before).then(|| (WebhookType::ReferralStageChanged, Some(before.as_str().to_string())));
    Ok(Applied { referral_id: Some(referral.id), stage: Some(state.as_str().into()), outcome, webhook })
}

/// Attributes a referee without a referral: the click id (within the
/// window), else the code; a new referral starts at the event's stage.
fn attribute(
    conn: &mut DbConnection,
    outbox: &mut Outbox,
    key: &SigningKey,
    program: &Program,
    event: &ConversionEvent,
    now: PrimitiveDateTime,
) -> StorageResult<Applied> {
    let (link, click) = match find_link(conn, program, event)? {
        Ok(found) => found,
        Err(reason) => return Ok(Applied::not_attributed(reason)),
    };
    if link.disabled {
        return Ok(Applied::not_attributed("the link is disabled"));
    }
    let referee = &event.referee;
    if referee.email.is_none() && referee.external_id.is_none() && click.is_none() {
        return Ok(Applied::not_attributed("the event names no referee (email, external_id or click_id)"));
    }
    let EventKind::Reached(stage) = event.kind else {
        return Ok(Applied::not_attributed("a refund for a referral that does not exist"));
    };
    let at = Some(event.occurred_at);
    let id = nanoid::nanoid!();
    let mut row = ReferralRow {
        id: id.clone(),
        program_id: program.id.clone(),
        participant_id: link.participant_id.clone(),
        link_id: Some(link.link_id.clone()),
        click_id: click.as_ref().map(|c| c.id.clone()),
        code: link.code.clone(),
        referee_email: referee.email.as_ref().map(ToString::to_string),
        referee_email_normalized: referee.email.as_ref().map(|e| e.normalized()),
        referee_name: referee.name.clone().unwrap_or_default(),
        referee_external_id: referee.external_id.clone(),
        stage: stage.as_str().into(),
        lead_at: at.filter(|_| stage == Stage::Lead),
        qualified_at: at.filter(|_| stage == Stage::Qualified),
        opportunity_at: at.filter(|_| stage == Stage::Opportunity),
        won_at: at.filter(|_| stage == Stage::Won),
        created_at: now,
        updated_at: now,
        review: "clear".into(),
        review_reason: None,
        referee_ip_hash: None,
    };
    // A server-to-server event has no browser: the click it names (if
    // any) stands for the referee's address and browser.
    let seen = Seen {
        click: click.map(|c| SeenClick { at: c.at, ip_hash: c.ip_hash, user_agent: c.user_agent }),
        ..Seen::default()
    };
    let referrer = participants::find(conn, &link.participant_id)?;
    let screening = fraud::screen(conn, key, &program.config.fraud, &mut row, referrer.as_ref(), &seen, now)?;
    referrals::insert(conn, &row)?;
    fraud::keep(conn, outbox, &program.slug, &row, &screening, now)?;
    let reached = Reached { referral: &row, from: None, to: stage, amount: event.amount };
    rewards::on_reached(conn, outbox, &program.config, &reached, now)?;
    let news = if stage == Stage::Won { EmailKind::ReferralWon } else { EmailKind::ReferralJoined };
    email::referral_news(conn, news, &row, referrer.as_ref(), now)?;
    let outcome = match screening.rejected() {
        true => format!("attributed at {}, rejected by the fraud checks", stage.as_str()),
        false => format!("attributed at {}", stage.as_str()),
    };
    Ok(Applied {
        referral_id: Some(id),
        stage: Some(row.stage.clone()),
        outcome,
        webhook: Some((WebhookType::ReferralCreated, None)),
    })
}

/// The link an event points at, with the click id when a click found it;
/// or why none does.
fn find_link(
    conn: &mut DbConnection,
    program: &Program,
    event: &ConversionEvent,
) -> StorageResult<Result<(ResolvedLink, Option<ClickRow>), &'static str>> {
    if let Some(click_id) = &event.click_id
        && let Some(click) = clicks::find(conn, click_id)?
    {
        if click.program_id != program.id {
            return Ok(Err("the click belongs to another program"));
        }
        if event.occurred_at > click.at + window(program) {
            return Ok(Err("the click is older than the attribution window"));
        }
        let Some(link) = links::find(conn, &click.link_id)? else {
            return Ok(Err("the click's link no longer exists"));
        };
        return Ok(match links::resolve(conn, &link.code)? {
            Some(resolved) => Ok((resolved, Some(click))),
            None => Err("the click's link no longer exists"),
        });
    }
    let Some(code) = &event.code else {
        return Ok(Err(if event.click_id.is_some() {
            "the click id is unknown and no code was given"
        } else {
            "no click id, code or earlier referral of this referee"
        }));
    };
    Ok(match links::resolve(conn, code)? {
        Some(link) if link.program_id == program.id => Ok((link, None)),
        Some(_) => Err("the code belongs to another program"),
        None => Err("the code is unknown"),
    })
}
