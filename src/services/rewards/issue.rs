//! Issuing rewards inside the transaction of the stage change that earns
//! them, with the caps checked in that same transaction; and what a refund
//! does to the rewards a referral earned.

use time::{Date, Month, PrimitiveDateTime, Time};

use crate::domain::program::{Beneficiary, ProgramConfig, RewardRule, RewardTrigger, Stage};
use crate::domain::review::{Review, UNDER_REVIEW};
use crate::domain::reward::{
    RewardStatus, Timing, Usage, check_caps, dedupe_key, meets_min_amount, menu_value, reason, stage_rules_earned,
    tier_rules_reached,
};
use crate::services::webhooks::Outbox;
use crate::storage::referrals::{self, ReferralRow};
use crate::storage::rewards::{self, RewardRow};
use crate::storage::{DbConnection, StorageError, StorageResult};

use super::ledger::{self, SYSTEM, Step};

/// A referral's move that may earn rewards: it was at `from` (none: it is
/// new) and is now at `to`; `amount` is the won deal's amount, if reported.
pub struct Reached<'a> {
    pub referral: &'a ReferralRow,
    pub from: Option<Stage>,
    pub to: Stage,
    pub amount: Option<i64>,
}

/// Issues every reward the move earns that was not issued before. Each is
/// unique by its key (a concurrent duplicate fails on the unique index and
/// the caller's savepoint retries, then finds it). Returns the ids issued
/// (capped ones included: they are recorded, not issued).
pub fn on_reached(
    conn: &mut DbConnection,
    outbox: &mut Outbox,
    config: &ProgramConfig,
    reached: &Reached<'_>,
    now: PrimitiveDateTime,
) -> StorageResult<Vec<String>> {
    let referral = reached.referral;
    // A rejected referral earns nothing (a reinstatement issues what it
    // would have earned).
    if config.rewards.is_empty() || referral.review == Review::Rejected.as_str() {
        return Ok(Vec::new());
    }
    let mut earned: Vec<(&RewardRule, Option<i32>)> =
        stage_rules_earned(&config.rewards, reached.from, reached.to).into_iter().map(|r| (r, None)).collect();
    let newly_won = reached.to == Stage::Won && reached.from != Some(Stage::Won);
    if newly_won && config.rewards.iter().any(|r| matches!(r.when, RewardTrigger::WonCount { .. })) {
        let won = referrals::won_count(conn, &referral.participant_id)?;
        for rule in tier_rules_reached(&config.rewards, won) {
            if let RewardTrigger::WonCount { won_count } = rule.when {
                earned.push((rule, i32::try_from(won_count).ok()));
            }
        }
    }
    let mut issued = Vec::new();
    for (rule, tier) in earned {
        let earned_by_won =
            matches!(rule.when, RewardTrigger::Stage { stage: Stage::Won } | RewardTrigger::WonCount { .. });
        if earned_by_won && !meets_min_amount(rule, reached.amount) {
            continue;
        }
        let key = dedupe_key(rule, &referral.id, &referral.participant_id);
        if rewards::exists(conn, &referral.program_id, &key)? {
            continue;
        }
        issued.push(issue(conn, outbox, config, rule, tier, key, referral, now)?);
    }
    Ok(issued)
}

#[allow(clippy::too_many_arguments)]
fn issue(
    conn: &mut DbConnection,
    outbox: &mut Outbox,
    config: &ProgramConfig,
    rule: &RewardRule,
    tier: Option<i32>,
    key: String,
    referral: &ReferralRow,
    now: PrimitiveDateTime,
) -> StorageResult<String> {
    // Caps are counted after taking the program's lock, so two servers
    // issuing against the same cap count one after the other.
    rewards::lock_program(conn, &referral.program_id)?;
    let value = menu_value(&rule.menu);
    // Usage is counted only against a limit that is set: a count over a
    // participant's rewards is a scan of their rows.
    let per_participant = &config.caps.per_participant_per_year;
    let participant_usage = match rule.to {
        Beneficiary::Referrer if per_participant.count.is_some() || per_participant.amount.is_some() => {
            Some(rewards::participant_usage(conn, &referral.participant_id, year_start(now))?)
        }
        Beneficiary::Referrer => Some(Usage::default()),
        Beneficiary::Referee => None,
    };
    let program_usage = match &config.caps.program_total {
        Some(total) if total.count.is_some() || total.amount.is_some() => {
            rewards::program_usage(conn, &referral.program_id)?
        }
        _ => Usage::default(),
    };
    let timing = Timing::for_rule(rule, now);
    // A referral held for review holds its rewards until a reviewer
    // decides, whatever the rule's own hold.
    let review_hold = referral.review == Review::Held.as_str();
    let (status, why) = match check_caps(&config.caps, participant_usage, program_usage, value) {
        Err(hit) => (RewardStatus::Capped, reason::capped(&hit)),
        Ok(()) if review_hold => (RewardStatus::Pending, UNDER_REVIEW.to_string()),
        Ok(()) => match timing.initial_status(now) {
            RewardStatus::Pending => (RewardStatus::Pending, reason::held(timing.available_at)),
            status => (status, reason::available(timing.choose_by)),
        },
    };
    let menu = serde_json::to_string(&rule.menu).map_err(|e| StorageError::Data(e.to_string()))?;
    let row = RewardRow {
        // Time-ordered, in the format of click ids: new rewards (and the
        // ledger entries that name them) append to their indexes instead
        // of dirtying a random page each, which is most of a commit's
        // cost on SQLite.
        id: crate::domain::click_id::click_id_at(now, rand::random()),
        program_id: referral.program_id.clone(),
        rule_id: rule.id.clone(),
        dedupe_key: key,
        beneficiary: match rule.to {
            Beneficiary::Referrer => "referrer".into(),
            Beneficiary::Referee => "referee".into(),
        },
        participant_id: referral.participant_id.clone(),
        referral_id: Some(referral.id.clone()),
        tier,
        menu,
        value_amount: value,
        status: status.as_str().into(),
        reason: why.clone(),
        available_at: timing.available_at,
        choose_within_days: i32::try_from(rule.choose_within_days).unwrap_or(i32::MAX),
        use_within_days: i32::try_from(rule.use_within_days).unwrap_or(i32::MAX),
        choose_by: timing.choose_by,
        chosen_option: None,
        chosen_kind: None,
        chosen_label: None,
        amount: None,
        currency: None,
        percent: None,
        coupon_code: None,
        chosen_at: None,
        use_by: None,
        fulfilled_at: None,
        fulfilment_reference: None,
        clawback_at: None,
        created_at: now,
        updated_at: now,
        review_hold: review_hold && status == RewardStatus::Pending,
        reminded_at: None,
    };
    rewards::insert(conn, &row)?;
    let earned = match tier {
        Some(n) => format!("earned by reaching {n} won referrals (rule {})", rule.id),
        None => format!("earned by the referral of {} (rule {})", referee_name(referral), rule.id),
    };
    if status == RewardStatus::Capped {
        ledger::record(conn, outbox, &row, Step::Capped, &format!("{earned}; {why}"), SYSTEM, now)?;
    } else {
        ledger::record(conn, outbox, &row, Step::Issued, &format!("{earned}; {why}"), SYSTEM, now)?;
        if status == RewardStatus::Available {
            ledger::record(conn, outbox, &row, Step::Available, &why, SYSTEM, now)?;
        }
    }
    Ok(row.id)
}

fn referee_name(referral: &ReferralRow) -> String {
    if referral.referee_name.is_empty() {
        "a referee".into()
    } else {
        crate::domain::people::mask_name(&referral.referee_name)
    }
}

/// The first instant of `now`'s calendar year (UTC): per-year caps count
/// from here.
fn year_start(now: PrimitiveDateTime) -> PrimitiveDateTime {
    let first = Date::from_calendar_date(now.year(), Month::January, 1).unwrap_or(now.date());
    PrimitiveDateTime::new(first, Time::MIDNIGHT)
}

/// A refund of the referral: rewards still on hold are revoked; rewards
/// that left the hold get a clawback entry for the admin to follow up.
pub fn on_refund(
    conn: &mut DbConnection,
    outbox: &mut Outbox,
    referral_id: &str,
    now: PrimitiveDateTime,
) -> StorageResult<()> {
    for reward in rewards::for_referral(conn, referral_id)? {
        match reward.status() {
            Some(RewardStatus::Pending) => {
                let why = reason::refunded_in_hold();
                if rewards::transition(conn, &reward.id, &[RewardStatus::Pending], RewardStatus::Revoked, &why, now)? {
                    ledger::record_by_id(conn, outbox, &reward.id, Step::Revoked, &why, SYSTEM, now)?;
                }
            }
            Some(RewardStatus::Available | RewardStatus::Chosen | RewardStatus::Fulfilled) => {
                // Marked once: a second refund report adds no second entry.
                if !rewards::mark_clawback(conn, &reward.id, now)? {
                    continue;
                }
                let note = format!(
                    "the purchase was refunded after the refund window, while the reward was {}: follow up to \
                     take it back or write it off",
                    reward.status
                );
                ledger::record_by_id(conn, outbox, &reward.id, Step::Clawback, &note, SYSTEM, now)?;
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    #[test]
    fn a_year_starts_on_the_first_of_january_utc() {
        assert_eq!(super::year_start(datetime!(2026-12-03 17:00)), datetime!(2026-01-01 00:00));
    }
}
