//! A reward's life after it is issued: released when the hold ends (or
//! early by an admin), chosen by its beneficiary, fulfilled, expired when
//! not chosen in time, revoked. Each step is a conditional UPDATE, so of
//! two racing requests (or two servers' jobs) exactly one takes it, and
//! only that one writes the ledger entry and the webhook.

use time::{Duration, PrimitiveDateTime};

use crate::domain::email_kind::EmailKind;
use crate::domain::program::{MenuKind, MenuOption};
use crate::domain::reward::{RewardStatus, reason};
use crate::services::email;
use crate::services::webhooks::{Doorbell, Outbox};
use crate::services::{ServiceError, ServiceResult, write_or_refuse};
use crate::storage::audit::{self, AuditEntry};
use crate::storage::rewards::{self, Choice, RewardRow};
use crate::storage::{Db, DbConnection, StorageError, StorageResult, coupons};

use super::ledger::{self, SYSTEM, Step};

/// Rewards moved by one run of the clock job at most, per kind of move.
const DUE_BATCH: i64 = 500;

/// What one run of [`run_due`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DueRun {
    pub released: usize,
    pub expired: usize,
    pub reminded: usize,
}

/// How long before its choose-by date an unchosen reward is reminded of.
const REMIND_DAYS: i64 = 7;

/// Releases held rewards whose hold has ended and expires available ones
/// not chosen by their date. Safe on several servers at once: each move is
/// conditional on the status it expects, and only the server whose UPDATE
/// changed the row records it.
pub async fn run_due(db: &Db, doorbell: &Doorbell, now: PrimitiveDateTime) -> ServiceResult<DueRun> {
    let mut total = DueRun::default();
    loop {
        let (run, wrote) = db
            .write(move |conn| {
                let mut outbox = Outbox::new();
                let mut run = DueRun::default();
                for reward in rewards::due(conn, RewardStatus::Pending, now, DUE_BATCH)? {
                    let why = reason::available(reward.choose_by);
                    if rewards::transition(
                        conn,
                        &reward.id,
                        &[RewardStatus::Pending],
                        RewardStatus::Available,
                        &why,
                        now,
                    )? {
                        ledger::record_by_id(conn, &mut outbox, &reward.id, Step::Available, &why, SYSTEM, now)?;
                        run.released += 1;
                    }
                }
                // Seven days before its choose-by date, a reminder (once).
                for reward in rewards::to_remind(conn, now + Duration::days(REMIND_DAYS), DUE_BATCH)? {
                    if reward.choose_by > now && rewards::mark_reminded(conn, &reward.id, now)? {
                        email::reward_news(conn, EmailKind::RewardExpiring, &reward, now)?;
                        run.reminded += 1;
                    }
                }
                for reward in rewards::due(conn, RewardStatus::Available, now, DUE_BATCH)? {
                    let why = reason::expired(reward.choose_by);
                    if rewards::transition(
                        conn,
                        &reward.id,
                        &[RewardStatus::Available],
                        RewardStatus::Expired,
                        &why,
                        now,
                    )? {
                        ledger::record_by_id(conn, &mut outbox, &reward.id, Step::Expired, &why, SYSTEM, now)?;
                        run.expired += 1;
                    }
                }
                Ok((run, outbox.wrote_any()))
            })
            .await?;
        if wrote {
            doorbell.ring();
        }
        total.released += run.released;
        total.expired += run.expired;
        total.reminded += run.reminded;
        if run.released < DUE_BATCH as usize && run.expired < DUE_BATCH as usize && run.reminded < DUE_BATCH as usize {
            return Ok(total);
        }
    }
}

/// Runs `step` in a write transaction with an outbox, then rings the
/// doorbell if it queued webhooks. A refusal rolls the whole step back.
async fn write_step<T, F>(db: &Db, doorbell: &Doorbell, step: F) -> ServiceResult<T>
where
    F: FnOnce(&mut DbConnection, &mut Outbox) -> ServiceResult<T> + Send + 'static,
    T: Send + 'static,
{
    let (result, wrote) = write_or_refuse(db, move |conn| {
        let mut outbox = Outbox::new();
        let result = step(conn, &mut outbox)?;
        Ok((result, outbox.wrote_any()))
    })
    .await?;
    if wrote {
        doorbell.ring();
    }
    Ok(result)
}

/// Chooses option `index` (0-based) of reward `id`'s menu for its
/// beneficiary. A coupon is assigned from its pool at once (never the same
/// code twice, even with two servers) and the reward is fulfilled; any
/// other option waits for the business to deliver it. Refused when the
/// reward is not available (chosen already, held, expired, revoked), and
/// when the coupon pool is empty (then nothing of the choice stays).
pub async fn choose(
    db: &Db,
    doorbell: &Doorbell,
    id: &str,
    index: usize,
    actor: &'static str,
    now: PrimitiveDateTime,
) -> ServiceResult<RewardRow> {
    let id = id.to_string();
    write_step(db, doorbell, move |conn, outbox| {
        let reward = rewards::find(conn, &id)?.ok_or(ServiceError::NotFound("reward"))?;
        if let Some(refusal) = refuse_choice(&reward, now) {
            return Err(ServiceError::Conflict(refusal));
        }
        let menu: Vec<MenuOption> =
            serde_json::from_str(&reward.menu).map_err(|e| StorageError::Data(e.to_string()))?;
        let option =
            menu.get(index).ok_or_else(|| ServiceError::invalid("option", "is not one of the reward's options"))?;
        let use_by = now + Duration::days(i64::from(reward.use_within_days));
        let mut choice = Choice {
            option: i32::try_from(index).unwrap_or(0),
            kind: option.kind.as_str().into(),
            label: option.label.clone(),
            amount: option.amount,
            currency: option.currency.clone(),
            percent: option.percent.map(|p| i32::try_from(p).unwrap_or(100)),
            coupon_code: None,
            use_by,
            status: RewardStatus::Chosen,
            reason: reason::chosen(&option.label),
        };
        // The reward row first: its conditional UPDATE settles a race
        // between two choices before a coupon is taken.
        if !rewards::choose(conn, &reward.id, &choice, now)? {
            return Err(ServiceError::Conflict("this reward was chosen already or can no longer be chosen".into()));
        }
        if option.kind == MenuKind::Coupon {
            let pool = option.pool.as_deref().unwrap_or_default();
            let code = take_coupon(conn, &reward.program_id, pool, &reward.id, now)?.ok_or_else(|| {
                ServiceError::Conflict(
                    "no coupon code is left for this option right now; choose another option or try again later".into(),
                )
            })?;
            choice.coupon_code = Some(code);
            choice.status = RewardStatus::Fulfilled;
            choice.reason = reason::chosen_coupon(&option.label, use_by);
            rewards::set_coupon(conn, &reward.id, &choice, now)?;
        }
        let chosen = ledger::record_by_id(conn, outbox, &reward.id, Step::Chosen, &choice.reason, actor, now)?;
        if choice.status == RewardStatus::Fulfilled {
            let note = format!("coupon code handed out from the pool “{}”", option.pool.as_deref().unwrap_or(""));
            ledger::record_by_id(conn, outbox, &reward.id, Step::Fulfilled, &note, SYSTEM, now)?;
        }
        chosen.ok_or(ServiceError::NotFound("reward"))
    })
    .await
}

/// Why the reward cannot be chosen now, in plain words; none if it can.
fn refuse_choice(reward: &RewardRow, now: PrimitiveDateTime) -> Option<String> {
    match reward.status() {
        Some(RewardStatus::Available) if reward.choose_by > now => None,
        Some(RewardStatus::Available | RewardStatus::Expired) => Some(format!(
            "this reward expired: it had to be chosen by {}",
            crate::domain::reward::day(reward.choose_by)
        )),
        Some(RewardStatus::Pending) => Some(reason::held(reward.available_at)),
        Some(RewardStatus::Chosen | RewardStatus::Fulfilled) => Some("this reward was chosen already".into()),
        Some(RewardStatus::Revoked | RewardStatus::Capped) | None => Some(format!("this reward {}", reward.reason)),
    }
}

/// Takes a free code of `pool` for `reward_id`: picks candidates and
/// takes the first one no one else took in between.
fn take_coupon(
    conn: &mut DbConnection,
    program_id: &str,
    pool: &str,
    reward_id: &str,
    now: PrimitiveDateTime,
) -> StorageResult<Option<String>> {
    loop {
        let candidates = coupons::free_candidates(conn, program_id, pool, 8)?;
        if candidates.is_empty() {
            return Ok(None);
        }
        for code in candidates {
            if coupons::take(conn, program_id, pool, &code, reward_id, now)? {
                return Ok(Some(code));
            }
        }
    }
}

/// Who confirms a delivery, and with what.
pub struct Delivery {
    /// A payment id, an order number, a note.
    pub reference: Option<String>,
    /// The admin's email, or [`super::ledger::API`].
    pub actor: String,
}

/// Marks a chosen reward delivered (the business applied the credit or
/// discount, paid the cash, handed over the perk).
pub async fn fulfil(
    db: &Db,
    doorbell: &Doorbell,
    id: &str,
    delivery: Delivery,
    now: PrimitiveDateTime,
) -> ServiceResult<RewardRow> {
    let id = id.to_string();
    write_step(db, doorbell, move |conn, outbox| {
        let reward = rewards::find(conn, &id)?.ok_or(ServiceError::NotFound("reward"))?;
        let label = reward.chosen_label.clone().unwrap_or_default();
        let why = reason::fulfilled(&label);
        if !rewards::fulfil(conn, &id, delivery.reference.as_deref(), &why, now)? {
            let refusal = match reward.status() {
                Some(RewardStatus::Fulfilled) => "this reward was fulfilled already".to_string(),
                _ => format!("only a chosen reward can be fulfilled; this one is {}", reward.status),
            };
            return Err(ServiceError::Conflict(refusal));
        }
        let note = match &delivery.reference {
            Some(r) => format!("{why} (reference {r})"),
            None => why,
        };
        let row = ledger::record_by_id(conn, outbox, &id, Step::Fulfilled, &note, &delivery.actor, now)?;
        let reference = delivery.reference.as_deref().unwrap_or_default();
        audit_in(conn, &delivery.actor, "reward.fulfilled", &id, reference, now)?;
        row.ok_or(ServiceError::NotFound("reward"))
    })
    .await
}

/// An admin releases a held reward before its hold ends.
pub async fn approve_early(
    db: &Db,
    doorbell: &Doorbell,
    id: &str,
    actor: String,
    now: PrimitiveDateTime,
) -> ServiceResult<RewardRow> {
    let id = id.to_string();
    write_step(db, doorbell, move |conn, outbox| {
        let reward = rewards::find(conn, &id)?.ok_or(ServiceError::NotFound("reward"))?;
        if reward.review_hold && reward.status() == Some(RewardStatus::Pending) {
            return Err(ServiceError::Conflict(
                "this reward waits for the review of its referral: approve the referral in the review queue".into(),
            ));
        }
        let choose_by = now + Duration::days(i64::from(reward.choose_within_days));
        let why = reason::approved_early(choose_by);
        if !rewards::release(conn, &id, choose_by, &why, now)? {
            return Err(ServiceError::Conflict(format!(
                "only a held reward can be released early; this one is {}",
                reward.status
            )));
        }
        let row = ledger::record_by_id(conn, outbox, &id, Step::Approved, &why, &actor, now)?;
        audit_in(conn, &actor, "reward.approved_early", &id, "", now)?;
        row.ok_or(ServiceError::NotFound("reward"))
    })
    .await
}

/// An admin revokes a reward that was not delivered yet, saying why.
pub async fn revoke(
    db: &Db,
    doorbell: &Doorbell,
    id: &str,
    why: String,
    actor: String,
    now: PrimitiveDateTime,
) -> ServiceResult<RewardRow> {
    let id = id.to_string();
    let why = why.trim().to_string();
    if why.is_empty() {
        return Err(ServiceError::invalid("reason", "say why the reward is revoked; the participant reads it"));
    }
    if why.chars().count() > 300 {
        return Err(ServiceError::invalid("reason", "keep it under 300 characters"));
    }
    write_step(db, doorbell, move |conn, outbox| {
        let reward = rewards::find(conn, &id)?.ok_or(ServiceError::NotFound("reward"))?;
        let text = reason::revoked_by_admin(&why);
        let revocable: Vec<RewardStatus> = RewardStatus::ALL.into_iter().filter(|s| s.revocable()).collect();
        if !rewards::transition(conn, &id, &revocable, RewardStatus::Revoked, &text, now)? {
            return Err(ServiceError::Conflict(format!(
                "only a reward not yet delivered can be revoked; this one is {}",
                reward.status
            )));
        }
        let row = ledger::record_by_id(conn, outbox, &id, Step::Revoked, &text, &actor, now)?;
        audit_in(conn, &actor, "reward.revoked", &id, &why, now)?;
        row.ok_or(ServiceError::NotFound("reward"))
    })
    .await
}

/// The audit entry of a step taken by a person or a system outside
/// goodword (an admin, an API key), in the step's own transaction.
fn audit_in(
    conn: &mut DbConnection,
    actor: &str,
    action: &str,
    reward_id: &str,
    detail: &str,
    now: PrimitiveDateTime,
) -> StorageResult<()> {
    let entry = AuditEntry { actor, action, subject: reward_id, detail };
    audit::record(conn, entry, now)
}
