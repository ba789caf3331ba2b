//! Every step of a reward leaves two traces in its transaction: a ledger
//! entry (the participant's history in the admin) and, when an endpoint
//! wants it, a webhook.

use std::sync::atomic::{AtomicU32, Ordering};

use time::PrimitiveDateTime;

use crate::domain::email_kind::EmailKind;
use crate::domain::webhook::EventType;
use crate::services::email;
use crate::services::referral_json::ParticipantRef;
use crate::services::webhooks::Outbox;
use crate::storage::rewards::{self, EntryRow, RewardRow};
use crate::storage::{DbConnection, StorageResult, participants, programs, referrals};

use super::json::{RefereeRef, RewardJson};

/// What a ledger entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Issued,
    Capped,
    Available,
    Approved,
    Chosen,
    Fulfilled,
    Expired,
    Revoked,
    Clawback,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Issued => "issued",
            Step::Capped => "capped",
            Step::Available => "available",
            Step::Approved => "approved",
            Step::Chosen => "chosen",
            Step::Fulfilled => "fulfilled",
            Step::Expired => "expired",
            Step::Revoked => "revoked",
            Step::Clawback => "clawback",
        }
    }

    /// The webhook a step sends, if any.
    fn webhook(self) -> Option<EventType> {
        match self {
            Step::Issued => Some(EventType::RewardIssued),
            Step::Available | Step::Approved => Some(EventType::RewardAvailable),
            Step::Chosen => Some(EventType::RewardChosen),
            Step::Expired => Some(EventType::RewardExpired),
            Step::Revoked => Some(EventType::RewardRevoked),
            Step::Capped | Step::Fulfilled | Step::Clawback => None,
        }
    }
}

/// Who took a step: the system (a rule, the clock), the API, a participant
/// in the portal, or an admin (by email).
pub const SYSTEM: &str = "system";
pub const API: &str = "api";
pub const PARTICIPANT: &str = "participant";

/// Entry ids sort in the order they were written, also within one
/// transaction (several steps share one `now`).
fn entry_id(now: PrimitiveDateTime) -> String {
    static SEQUENCE: AtomicU32 = AtomicU32::new(0);
    let nanos = now.assume_utc().unix_timestamp_nanos();
    let seq = SEQUENCE.fetch_add(1, Ordering::Relaxed) % 1_000_000;
    format!("{nanos:020}{seq:06}{}", nanoid::nanoid!(6))
}

/// Writes the ledger entry of `step` for `reward` (as it is now, after the
/// step) and queues its webhook.
pub fn record(
    conn: &mut DbConnection,
    outbox: &mut Outbox,
    reward: &RewardRow,
    step: Step,
    note: &str,
    actor: &str,
    now: PrimitiveDateTime,
) -> StorageResult<()> {
    rewards::insert_entry(
        conn,
        &EntryRow {
            id: entry_id(now),
            reward_id: reward.id.clone(),
            participant_id: reward.participant_id.clone(),
            kind: step.as_str().into(),
            note: note.into(),
            actor: actor.into(),
            at: now,
        },
    )?;
    if let Some(event) = step.webhook()
        && outbox.wants(conn, event)?
    {
        let data = to_json(conn, reward.clone())?;
        outbox.add(conn, event, &data, now)?;
    }
    // The beneficiary hears of it by email, in the same transaction.
    match step {
        Step::Available | Step::Approved => email::reward_news(conn, EmailKind::RewardAvailable, reward, now)?,
        Step::Fulfilled if reward.coupon_code.is_some() => {
            email::reward_news(conn, EmailKind::CouponCode, reward, now)?
        }
        _ => {}
    }
    Ok(())
}

/// Reads `id` back after a change and records the step.
pub fn record_by_id(
    conn: &mut DbConnection,
    outbox: &mut Outbox,
    id: &str,
    step: Step,
    note: &str,
    actor: &str,
    now: PrimitiveDateTime,
) -> StorageResult<Option<RewardRow>> {
    let Some(row) = rewards::find(conn, id)? else { return Ok(None) };
    record(conn, outbox, &row, step, note, actor, now)?;
    Ok(Some(row))
}

/// A reward row as the API and webhooks show it.
pub fn to_json(conn: &mut DbConnection, row: RewardRow) -> StorageResult<RewardJson> {
    let program = programs::find(conn, &row.program_id)?.map(|p| p.slug).unwrap_or_default();
    let external_id = participants::find(conn, &row.participant_id)?.and_then(|p| p.external_id);
    let referee = referee_of(conn, &row)?;
    let participant = ParticipantRef { id: row.participant_id.clone(), external_id };
    Ok(RewardJson::new(row, program, participant, referee))
}

/// The referee of a referee reward (none for a referrer reward).
pub(super) fn referee_of(conn: &mut DbConnection, row: &RewardRow) -> StorageResult<Option<RefereeRef>> {
    if row.beneficiary != "referee" {
        return Ok(None);
    }
    let Some(referral_id) = &row.referral_id else { return Ok(None) };
    Ok(referrals::find(conn, referral_id)?
        .map(|r| RefereeRef { email: r.referee_email, external_id: r.referee_external_id }))
}
