//! The JSON shape of a referral: one shape for `GET /api/v1/referrals`
//! and for the `data` of referral webhooks, so a receiver can treat both
//! alike; and the queueing of those webhooks.

use serde::Serialize;
use time::PrimitiveDateTime;

use crate::domain::rfc3339::format_utc;
use crate::domain::webhook::EventType;
use crate::storage::referrals::{self, ReferralRow};
use crate::storage::{DbConnection, StorageResult, participants};

use super::webhooks::Outbox;

#[derive(Debug, Clone, Serialize)]
pub struct ReferralJson {
    pub id: String,
    /// The program's slug.
    pub program: String,
    pub participant: ParticipantRef,
    pub stage: String,
    /// Where the fraud review stands: `clear`, `flagged`, `held`,
    /// `approved` or `rejected`.
    pub review: String,
    pub referee: RefereeJson,
    pub code: String,
    pub click_id: Option<String>,
    pub lead_at: Option<String>,
    pub qualified_at: Option<String>,
    pub opportunity_at: Option<String>,
    pub won_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ParticipantRef {
    pub id: String,
    pub external_id: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RefereeJson {
    pub email: Option<String>,
    pub external_id: Option<String>,
    pub name: String,
}

impl ReferralJson {
    /// `program` is the program's slug; `participant_external_id` the
    /// referrer's id in the business's own systems, if it has one.
    pub fn new(r: ReferralRow, program: String, participant_external_id: Option<String>) -> Self {
        let time = |t: Option<PrimitiveDateTime>| t.map(format_utc);
        Self {
            program,
            participant: ParticipantRef { id: r.participant_id, external_id: participant_external_id },
            stage: r.stage,
            review: r.review,
            referee: RefereeJson { email: r.referee_email, external_id: r.referee_external_id, name: r.referee_name },
            code: r.code,
            click_id: r.click_id,
            lead_at: time(r.lead_at),
            qualified_at: time(r.qualified_at),
            opportunity_at: time(r.opportunity_at),
            won_at: time(r.won_at),
            created_at: format_utc(r.created_at),
            updated_at: format_utc(r.updated_at),
            id: r.id,
        }
    }
}

/// The `data` of `referral.created` and `referral.stage_changed`: the
/// referral as it is after the change, what it was before, and the
/// business's event that changed it (none for a landing-page claim).
#[derive(Debug, Clone, Serialize)]
pub struct ReferralChange {
    #[serde(flatten)]
    pub referral: ReferralJson,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_stage: Option<String>,
    pub event_id: Option<String>,
}

/// What a referral webhook says about the change.
pub struct ChangeNote<'a> {
    pub event: EventType,
    pub referral_id: &'a str,
    pub program_slug: &'a str,
    pub previous_stage: Option<&'a str>,
    pub event_id: Option<&'a str>,
}

/// Queues the webhook of a referral change in the current transaction,
/// reading the referral as it now is; nothing when no endpoint wants it.
pub fn queue_webhook(
    conn: &mut DbConnection,
    outbox: &mut Outbox,
    note: ChangeNote<'_>,
    now: PrimitiveDateTime,
) -> StorageResult<()> {
    if !outbox.wants(conn, note.event)? {
        return Ok(());
    }
    let Some(row) = referrals::find(conn, note.referral_id)? else {
        return Ok(());
    };
    let external_id = participants::find(conn, &row.participant_id)?.and_then(|p| p.external_id);
    let change = ReferralChange {
        referral: ReferralJson::new(row, note.program_slug.to_string(), external_id),
        previous_stage: note.previous_stage.map(str::to_string),
        event_id: note.event_id.map(str::to_string),
    };
    outbox.add(conn, note.event, &change, now)
}
