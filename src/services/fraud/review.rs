//! The review queue: referrals the checks held, oldest first, with their
//! evidence beside the referrer's own history; and the reviewer's
//! decisions — approve (the rewards leave the review hold), reject (the
//! referral is `rejected`, its rewards revoked) and reinstate (a rejection
//! undone: the stage and the rewards come back). Each decision is one
//! transaction with its decision row, ledger entries, webhooks and audit
//! entry; it is conditional on the review it expects, so of two reviewers
//! deciding at once exactly one does.

use time::{Duration, PrimitiveDateTime};

use crate::domain::program::Stage;
use crate::domain::review::{Decision, ReasonCode, Review};
use crate::domain::reward::{RewardStatus, reason};
use crate::domain::webhook::EventType;
use crate::services::programs::Program;
use crate::services::referral_json::{ChangeNote, queue_webhook};
use crate::services::rewards::issue::{Reached, on_reached};
use crate::services::rewards::ledger::{self, Step};
use crate::services::webhooks::{Doorbell, Outbox};
use crate::services::{ServiceError, ServiceResult, write_or_refuse};
use crate::storage::audit::{self, AuditEntry};
use crate::storage::fraud::{self as rows, DecisionRow, FindingRow};
use crate::storage::participants::{self, ParticipantRow};
use crate::storage::referrals::{self, ReferralRow};
use crate::storage::{Db, DbConnection, StorageResult, conversion_events, programs, rewards};

/// Held referrals shown on one page of the queue.
pub const QUEUE_PAGE: i64 = 25;
/// The referrer's own referrals shown beside a held one.
const HISTORY: i64 = 10;

/// A referral in the queue, or on its own page, with what a reviewer needs.
#[derive(Debug, Clone)]
pub struct Case {
    pub referral: ReferralRow,
    pub program_slug: String,
    pub program_name: String,
    pub referrer: Option<ParticipantRow>,
    pub findings: Vec<FindingRow>,
    pub decisions: Vec<DecisionRow>,
    pub history: History,
}

/// The referrer's own record: how their referrals fared, and the latest.
#[derive(Debug, Clone, Default)]
pub struct History {
    /// (review, count) over all their referrals.
    pub by_review: Vec<(String, i64)>,
    /// (stage, count) over all their referrals.
    pub by_stage: Vec<(String, i64)>,
    /// Their latest referrals other than this one, newest first.
    pub latest: Vec<ReferralRow>,
}

/// One page of the queue (oldest first) and how many wait in all.
pub async fn queue(db: &Db, program_id: Option<String>, page: i64) -> ServiceResult<(Vec<Case>, i64)> {
    Ok(db
        .run(move |conn| {
            let program = program_id.as_deref();
            let held = referrals::held(conn, program, QUEUE_PAGE, page.max(0) * QUEUE_PAGE)?;
            let total = referrals::held_count(conn, program)?;
            Ok((cases(conn, held)?, total))
        })
        .await?)
}

/// Referral `id` as a reviewer sees it; `None` if there is no such one.
pub async fn case(db: &Db, id: &str) -> ServiceResult<Option<Case>> {
    let id = id.to_string();
    Ok(db
        .run(move |conn| {
            let Some(referral) = referrals::find(conn, &id)? else { return Ok(None) };
            Ok(cases(conn, vec![referral])?.pop())
        })
        .await?)
}

/// How many referrals wait for review, for the dashboard and the menu.
pub async fn waiting(db: &Db) -> ServiceResult<i64> {
    Ok(db.run(|conn| referrals::held_count(conn, None)).await?)
}

fn cases(conn: &mut DbConnection, referrals_: Vec<ReferralRow>) -> StorageResult<Vec<Case>> {
    let ids: Vec<String> = referrals_.iter().map(|r| r.id.clone()).collect();
    let findings = rows::findings_for(conn, &ids)?;
    let decisions = rows::decisions_for(conn, &ids)?;
    let mut out = Vec::with_capacity(referrals_.len());
    for referral in referrals_ {
        let program = programs::find(conn, &referral.program_id)?;
        let referrer = participants::find(conn, &referral.participant_id)?;
        let latest = referrals::for_participant(conn, &referral.participant_id)?
            .into_iter()
            .filter(|r| r.id != referral.id)
            .take(HISTORY as usize)
            .collect();
        let history = History {
            by_review: referrals::review_counts_for_participant(conn, &referral.participant_id)?,
            by_stage: referrals::stage_counts_for_participant(conn, &referral.participant_id)?,
            latest,
        };
        out.push(Case {
            findings: findings.iter().filter(|f| f.referral_id == referral.id).cloned().collect(),
            decisions: decisions.iter().filter(|d| d.referral_id == referral.id).cloned().collect(),
            program_slug: program.as_ref().map(|p| p.slug.clone()).unwrap_or_default(),
            program_name: program.map(|p| p.name).unwrap_or_default(),
            referrer,
            history,
            referral,
        });
    }
    Ok(out)
}

/// A reviewer's decision, checked.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub decision: Decision,
    pub reason: ReasonCode,
    pub note: String,
    /// The reviewer's email.
    pub actor: String,
}

impl Verdict {
    /// Checks the reason code against the decision and the note; the
    /// errors name the form's fields.
    pub fn parse(decision: Decision, reason: &str, note: &str, actor: String) -> ServiceResult<Self> {
        let reason = ReasonCode::parse(reason)
            .filter(|r| decision.reasons().contains(r))
            .ok_or_else(|| ServiceError::invalid("reason", "choose one of the reasons listed"))?;
        let note = note.trim().to_string();
        if note.chars().count() > 500 {
            return Err(ServiceError::invalid("note", "keep the note under 500 characters"));
        }
        if reason == ReasonCode::Other && note.is_empty() {
            return Err(ServiceError::invalid("note", "say what the other reason is"));
        }
        Ok(Self { decision, reason, note, actor })
    }
}

/// Applies `verdict` to referral `id`.
pub async fn decide(
    db: &Db,
    doorbell: &Doorbell,
    id: &str,
    verdict: Verdict,
    now: PrimitiveDateTime,
) -> ServiceResult<ReferralRow> {
    let id = id.to_string();
    let (row, wrote) = write_or_refuse(db, move |conn| {
        let mut outbox = Outbox::new();
        let row = decide_in(conn, &mut outbox, &id, &verdict, now)?;
        Ok((row, outbox.wrote_any()))
    })
    .await?;
    if wrote {
        doorbell.ring();
    }
    Ok(row)
}

/// What a bulk decision did: the referrals decided, and the ones refused
/// with why.
#[derive(Debug, Clone, Default)]
pub struct Bulk {
    pub decided: usize,
    pub refused: Vec<(String, String)>,
}

/// Applies `verdict` to each of `ids`, each in its own transaction: one
/// refusal (decided by someone else meanwhile) does not stop the others.
pub async fn decide_many(
    db: &Db,
    doorbell: &Doorbell,
    ids: &[String],
    verdict: &Verdict,
    now: PrimitiveDateTime,
) -> ServiceResult<Bulk> {
    let mut bulk = Bulk::default();
    for id in ids {
        match decide(db, doorbell, id, verdict.clone(), now).await {
            Ok(_) => bulk.decided += 1,
            Err(ServiceError::Conflict(why)) => bulk.refused.push((id.clone(), why)),
            Err(ServiceError::NotFound(_)) => bulk.refused.push((id.clone(), "no such referral".into())),
            Err(e) => return Err(e),
        }
    }
    Ok(bulk)
}

fn decide_in(
    conn: &mut DbConnection,
    outbox: &mut Outbox,
    id: &str,
    verdict: &Verdict,
    now: PrimitiveDateTime,
) -> ServiceResult<ReferralRow> {
    let referral = referrals::find(conn, id)?.ok_or(ServiceError::NotFound("referral"))?;
    let review = Review::parse(&referral.review).unwrap_or(Review::Clear);
    let refuse = |what: &str| {
        ServiceError::Conflict(format!("this referral cannot be {what}: its review is {}", review.as_str()))
    };
    let previous_stage = referral.stage.clone();
    match verdict.decision {
        Decision::Approve => {
            let from = [Review::Held.as_str(), Review::Flagged.as_str()];
            if !referrals::set_review(conn, id, &from, Review::Approved.as_str(), None, None, now)? {
                return Err(refuse("approved"));
            }
            end_holds(conn, outbox, &referral, &verdict.actor, now)?;
        }
        Decision::Reject => {
            let from: Vec<&str> = Review::ALL.iter().filter(|r| **r != Review::Rejected).map(|r| r.as_str()).collect();
            let words = verdict.reason.participant_text();
            if !referrals::set_review(conn, id, &from, Review::Rejected.as_str(), Some(words), Some("rejected"), now)? {
                return Err(refuse("rejected"));
            }
            revoke_rewards(conn, outbox, id, words, &verdict.actor, now)?;
        }
        Decision::Reinstate => {
            let stage = furthest_stage(&referral);
            let from = [Review::Rejected.as_str()];
            let approved = Review::Approved.as_str();
            if !referrals::set_review(conn, id, &from, approved, None, Some(stage.as_str()), now)? {
                return Err(refuse("reinstated"));
            }
            restore_rewards(conn, outbox, id, &verdict.actor, now)?;
            let row = referrals::find(conn, id)?.ok_or(ServiceError::NotFound("referral"))?;
            let program = programs::find(conn, &row.program_id)?.ok_or(ServiceError::NotFound("program"))?;
            let program = Program::from_row(program)?;
            // What a rejection at creation kept it from earning; rewards it
            // had are found by their keys and not issued twice.
            let amount = won_amount(conn, &row)?;
            let reached = Reached { referral: &row, from: None, to: stage, amount };
            on_reached(conn, outbox, &program.config, &reached, now)?;
            end_holds(conn, outbox, &row, &verdict.actor, now)?;
        }
    }
    rows::insert_decision(
        conn,
        &DecisionRow {
            id: crate::domain::click_id::click_id_at(now, rand::random()),
            referral_id: id.to_string(),
            decision: verdict.decision.as_str().into(),
            reason_code: verdict.reason.as_str().into(),
            note: verdict.note.clone(),
            actor: verdict.actor.clone(),
            at: now,
        },
    )?;
    let action = format!("referral.{}", verdict.decision.as_str());
    let detail = match verdict.note.as_str() {
        "" => verdict.reason.label().to_string(),
        note => format!("{}: {note}", verdict.reason.label()),
    };
    audit::record(conn, AuditEntry { actor: &verdict.actor, action: &action, subject: id, detail: &detail }, now)?;
    let row = referrals::find(conn, id)?.ok_or(ServiceError::NotFound("referral"))?;
    if row.stage != previous_stage {
        let slug = programs::find(conn, &row.program_id)?.map(|p| p.slug).unwrap_or_default();
        let note = ChangeNote {
            event: EventType::ReferralStageChanged,
            referral_id: id,
            program_slug: &slug,
            previous_stage: Some(&previous_stage),
            event_id: None,
        };
        queue_webhook(conn, outbox, note, now)?;
    }
    Ok(row)
}

/// The furthest stage a referral reached (stages skipped on the way have
/// no time); `lead` if it has none.
fn furthest_stage(referral: &ReferralRow) -> Stage {
    [
        (referral.won_at, Stage::Won),
        (referral.opportunity_at, Stage::Opportunity),
        (referral.qualified_at, Stage::Qualified),
        (referral.lead_at, Stage::Lead),
    ]
    .into_iter()
    .find_map(|(at, stage)| at.map(|_| stage))
    .unwrap_or(Stage::Lead)
}

/// The amount of the referral's won deal, if an event reported one.
fn won_amount(conn: &mut DbConnection, referral: &ReferralRow) -> StorageResult<Option<i64>> {
    Ok(conversion_events::for_referral(conn, &referral.id)?
        .into_iter()
        .filter(|e| e.kind == Stage::Won.as_str())
        .find_map(|e| e.amount))
}

/// Ends the review hold of the referral's rewards: those past their own
/// hold become available now, the others wait for their date.
fn end_holds(
    conn: &mut DbConnection,
    outbox: &mut Outbox,
    referral: &ReferralRow,
    actor: &str,
    now: PrimitiveDateTime,
) -> StorageResult<()> {
    for reward in rewards::for_referral(conn, &referral.id)? {
        if reward.status() != Some(RewardStatus::Pending) {
            continue;
        }
        if reward.review_hold && !rewards::end_review_hold(conn, &reward.id, &reason::held(reward.available_at), now)? {
            continue;
        }
        if reward.available_at <= now {
            // The review outlasted the refund window: the full time to
            // choose starts now.
            let choose_by = reward.choose_by.max(now + Duration::days(i64::from(reward.choose_within_days)));
            let why = reason::available(choose_by);
            if rewards::release(conn, &reward.id, choose_by, &why, now)? {
                let note = format!("{why} (the referral passed review)");
                ledger::record_by_id(conn, outbox, &reward.id, Step::Available, &note, actor, now)?;
            }
        }
    }
    Ok(())
}

/// A rejection: rewards not chosen yet are revoked (and marked, for a
/// reinstatement); chosen or delivered ones get a clawback entry.
fn revoke_rewards(
    conn: &mut DbConnection,
    outbox: &mut Outbox,
    referral_id: &str,
    words: &str,
    actor: &str,
    now: PrimitiveDateTime,
) -> StorageResult<()> {
    for reward in rewards::for_referral(conn, referral_id)? {
        let taken = match reward.status() {
            Some(RewardStatus::Pending | RewardStatus::Available) => {
                rewards::revoke_for_review(conn, &reward.id, words, now)?.then(|| (Step::Revoked, words.to_string()))
            }
            Some(RewardStatus::Chosen | RewardStatus::Fulfilled) => rewards::mark_clawback(conn, &reward.id, now)?
                .then(|| {
                    let note = format!(
                        "the referral was rejected in review after the reward was {}: follow up to take it back \
                         or write it off",
                        reward.status
                    );
                    (Step::Clawback, note)
                }),
            _ => None,
        };
        if let Some((step, note)) = taken {
            ledger::record_by_id(conn, outbox, &reward.id, step, &note, actor, now)?;
        }
    }
    Ok(())
}

/// A reinstatement: rewards the rejection revoked are held again until
/// their date ([`end_holds`] releases those already past it).
fn restore_rewards(
    conn: &mut DbConnection,
    outbox: &mut Outbox,
    referral_id: &str,
    actor: &str,
    now: PrimitiveDateTime,
) -> StorageResult<()> {
    for reward in rewards::for_referral(conn, referral_id)? {
        if reward.status() == Some(RewardStatus::Revoked)
            && reward.review_hold
            && rewards::restore_after_review(conn, &reward.id, &reason::held(reward.available_at), now)?
        {
            let note = "restored: the referral was reinstated";
            ledger::record_by_id(conn, outbox, &reward.id, Step::Issued, note, actor, now)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn a_verdict_needs_a_reason_of_its_decision_and_a_note_for_other() {
        let v = |d, r: &str, n: &str| Verdict::parse(d, r, n, "rev@example.com".into());
        assert!(v(Decision::Approve, "genuine", "").is_ok());
        assert!(v(Decision::Approve, "fake_account", "").is_err(), "a rejection's reason");
        assert!(v(Decision::Reject, "fake_account", "").is_ok());
        assert!(v(Decision::Reinstate, "other", "").is_err());
        assert!(v(Decision::Reinstate, "other", "the customer called us").is_ok());
        assert!(v(Decision::Reject, "terms", &"x".repeat(501)).is_err());
    }

    #[test]
    fn the_furthest_stage_is_the_latest_with_a_time() {
        let at = Some(datetime!(2026-12-01 10:00));
        let mut row = ReferralRow {
            id: "r".into(),
            program_id: "p".into(),
            participant_id: "a".into(),
            link_id: None,
            click_id: None,
            code: "c".into(),
            referee_email: None,
            referee_email_normalized: None,
            referee_name: String::new(),
            referee_external_id: None,
            stage: "rejected".into(),
            lead_at: None,
            qualified_at: None,
            opportunity_at: None,
            won_at: None,
            created_at: datetime!(2026-12-01 10:00),
            updated_at: datetime!(2026-12-01 10:00),
            review: "rejected".into(),
            review_reason: None,
            referee_ip_hash: None,
        };
        assert_eq!(furthest_stage(&row), Stage::Lead);
        row.qualified_at = at;
        assert_eq!(furthest_stage(&row), Stage::Qualified);
        row.won_at = at;
        assert_eq!(furthest_stage(&row), Stage::Won);
    }
}
