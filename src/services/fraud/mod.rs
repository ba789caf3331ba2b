//! Fraud and gaming checks, wired in: every new referral (a landing-page
//! claim or an event that attributes one) is screened in the transaction
//! that creates it. [`screen`] finds its signals and decides before the
//! row is written; [`keep`] stores the findings beside it and queues
//! `fraud.flagged`. A held referral's rewards stay pending until a
//! reviewer decides ([`review`]); a rejected one earns none.

pub mod lists;
pub mod review;
pub mod signals;
pub mod velocity;
pub mod visits;

use serde::Serialize;
use time::PrimitiveDateTime;

use crate::crypto::SigningKey;
use crate::domain::fraud::{self, Finding, FraudAction};
use crate::domain::program::FraudSettings;
use crate::domain::review::Review;
use crate::domain::webhook::EventType;
use crate::services::webhooks::Outbox;
use crate::storage::fraud::{self as rows, FindingRow};
use crate::storage::participants::ParticipantRow;
use crate::storage::referrals::ReferralRow;
use crate::storage::{DbConnection, StorageResult};

pub use signals::{Seen, SeenClick};

/// What the checks made of a new referral.
#[derive(Debug, Clone)]
pub struct Screening {
    pub findings: Vec<Finding>,
    pub decision: FraudAction,
}

impl Screening {
    pub fn rejected(&self) -> bool {
        self.decision == FraudAction::Reject
    }
}

/// Runs the checks on `row` (not inserted yet) and sets its review, the
/// participant's words and, for a rejection, its stage; the referee's IP
/// hash is set too (the per-IP velocity counts it).
pub fn screen(
    conn: &mut DbConnection,
    key: &SigningKey,
    settings: &FraudSettings,
    row: &mut ReferralRow,
    referrer: Option<&ParticipantRow>,
    seen: &Seen,
    now: PrimitiveDateTime,
) -> StorageResult<Screening> {
    row.referee_ip_hash = signals::referee_ip_hash(conn, key, seen, now)?;
    let found = signals::gather(conn, key, row, referrer, seen, now)?;
    let findings = fraud::evaluate(settings, &found);
    let decision = fraud::decision(&findings);
    let review = match decision {
        FraudAction::Allow => Review::Clear,
        FraudAction::Flag => Review::Flagged,
        FraudAction::Hold => Review::Held,
        FraudAction::Reject => Review::Rejected,
    };
    row.review = review.as_str().into();
    row.review_reason = fraud::participant_reason(&findings).map(str::to_string);
    if review == Review::Rejected {
        row.stage = "rejected".into();
    }
    Ok(Screening { findings, decision })
}

/// The `data` of `fraud.flagged`.
#[derive(Serialize)]
struct Flagged<'a> {
    referral_id: &'a str,
    program: &'a str,
    participant_id: &'a str,
    /// The strongest action: `flag`, `hold` or `reject`.
    action: &'static str,
    checks: Vec<FlaggedCheck<'a>>,
}

#[derive(Serialize)]
struct FlaggedCheck<'a> {
    check: &'static str,
    action: &'static str,
    evidence: &'a str,
}

/// Counts the inserted referral `row` for the velocity checks, stores its
/// findings and, when a check flagged, held or rejected it, queues
/// `fraud.flagged`.
pub fn keep(
    conn: &mut DbConnection,
    outbox: &mut Outbox,
    program_slug: &str,
    row: &ReferralRow,
    screening: &Screening,
    now: PrimitiveDateTime,
) -> StorageResult<()> {
    velocity::record(conn, row)?;
    if screening.findings.is_empty() {
        return Ok(());
    }
    let stored: Vec<FindingRow> = screening
        .findings
        .iter()
        .map(|f| FindingRow {
            id: crate::domain::click_id::click_id_at(now, rand::random()),
            referral_id: row.id.clone(),
            check_name: f.check.as_str().into(),
            action: f.action.as_str().into(),
            evidence: f.evidence.clone(),
            created_at: now,
        })
        .collect();
    rows::insert_findings(conn, &stored)?;
    if screening.decision == FraudAction::Allow || !outbox.wants(conn, EventType::FraudFlagged)? {
        return Ok(());
    }
    let data = Flagged {
        referral_id: &row.id,
        program: program_slug,
        participant_id: &row.participant_id,
        action: screening.decision.as_str(),
        checks: screening
            .findings
            .iter()
            .map(|f| FlaggedCheck { check: f.check.as_str(), action: f.action.as_str(), evidence: &f.evidence })
            .collect(),
    };
    outbox.add(conn, EventType::FraudFlagged, &data, now)
}
