//! Rewards as rules see them: which rules a stage change or a won count
//! earns, the exactly-once key of each, caps, timing, the lifecycle of a
//! reward and its status in plain words. Pure: storage and services decide
//! when; this module decides what.

use time::{Duration, PrimitiveDateTime};

use super::program::{Beneficiary, CapLimit, Caps, MenuOption, RewardRule, RewardTrigger, Stage};

/// Where a reward is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RewardStatus {
    /// Over a cap: recorded and visible, never issued.
    Capped,
    /// Held until the refund window ends.
    Pending,
    /// The beneficiary may choose an option until the choose-by date.
    Available,
    /// An option was chosen; the business still has to deliver it.
    Chosen,
    /// Delivered (a coupon code handed out, credit applied, cash paid).
    Fulfilled,
    /// Not chosen in time.
    Expired,
    /// Taken back: a refund inside the hold, a fraud decision, an admin.
    Revoked,
}

impl RewardStatus {
    pub const ALL: [RewardStatus; 7] =
        [Self::Capped, Self::Pending, Self::Available, Self::Chosen, Self::Fulfilled, Self::Expired, Self::Revoked];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Capped => "capped",
            Self::Pending => "pending",
            Self::Available => "available",
            Self::Chosen => "chosen",
            Self::Fulfilled => "fulfilled",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// Whether an admin may still revoke it: nothing delivered yet.
    pub fn revocable(self) -> bool {
        matches!(self, Self::Pending | Self::Available | Self::Chosen)
    }
}

/// The exactly-once key of a reward within its program.
pub fn dedupe_key(rule: &RewardRule, referral_id: &str, participant_id: &str) -> String {
    match rule.when {
        RewardTrigger::Stage { .. } => {
            let side = match rule.to {
                Beneficiary::Referrer => "referrer",
                Beneficiary::Referee => "referee",
            };
            format!("stage:{}:{referral_id}:{side}", rule.id)
        }
        RewardTrigger::WonCount { won_count } => format!("tier:{}:{participant_id}:{won_count}", rule.id),
    }
}

/// The stage rules a referral earns when it moves from `from` (none: it is
/// new) to `to`. Reaching a stage earns the rules of every stage passed on
/// the way, so a deal reported straight as won still earns the `qualified`
/// reward.
pub fn stage_rules_earned(rules: &[RewardRule], from: Option<Stage>, to: Stage) -> Vec<&RewardRule> {
    rules
        .iter()
        .filter(|rule| match rule.when {
            RewardTrigger::Stage { stage } => stage <= to && from.is_none_or(|from| stage > from),
            RewardTrigger::WonCount { .. } => false,
        })
        .collect()
}

/// The tier rules a participant with `won` won referrals has reached.
/// Every reached tier is returned; the exactly-once key keeps the ones
/// already issued from being issued again.
pub fn tier_rules_reached(rules: &[RewardRule], won: i64) -> Vec<&RewardRule> {
    rules
        .iter()
        .filter(|rule| match rule.when {
            RewardTrigger::WonCount { won_count } => i64::from(won_count) <= won,
            RewardTrigger::Stage { .. } => false,
        })
        .collect()
}

/// Whether a won deal of `amount` is large enough for `rule`; a deal
/// reported without an amount passes only a rule without a minimum.
pub fn meets_min_amount(rule: &RewardRule, amount: Option<i64>) -> bool {
    rule.min_amount <= 0 || amount.is_some_and(|a| a >= rule.min_amount)
}

/// The most a menu can cost, counted against amount caps: its largest
/// option amount (coupons, percentages and custom perks count 0).
pub fn menu_value(menu: &[MenuOption]) -> i64 {
    menu.iter().filter_map(|o| o.amount).max().unwrap_or(0)
}

/// Rewards already issued within a cap's scope.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub count: i64,
    pub amount: i64,
}

/// Which cap a reward would cross.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapHit(pub String);

/// Checks a reward of `value` against the caps. `participant` is the
/// beneficiary's usage this calendar year (none for a referee reward),
/// `program` the program's usage in total.
pub fn check_caps(caps: &Caps, participant: Option<Usage>, program: Usage, value: i64) -> Result<(), CapHit> {
    if let Some(used) = participant {
        check_limit(&caps.per_participant_per_year, used, value, "this year's limit of rewards per participant")?;
    }
    if let Some(total) = &caps.program_total {
        check_limit(total, program, value, "the program's total limit of rewards")?;
    }
    Ok(())
}

fn check_limit(limit: &CapLimit, used: Usage, value: i64, what: &str) -> Result<(), CapHit> {
    if let Some(count) = limit.count
        && used.count >= i64::from(count)
    {
        return Err(CapHit(format!("{what} ({count} rewards) is reached")));
    }
    if let Some(amount) = limit.amount
        && used.amount + value > amount
    {
        return Err(CapHit(format!("{what} ({}) would be exceeded", money(amount, None))));
    }
    Ok(())
}

/// When a new reward becomes available and until when it may be chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub available_at: PrimitiveDateTime,
    pub choose_by: PrimitiveDateTime,
}

impl Timing {
    pub fn for_rule(rule: &RewardRule, now: PrimitiveDateTime) -> Self {
        let available_at = now + Duration::days(i64::from(rule.hold_days));
        Self { available_at, choose_by: available_at + Duration::days(i64::from(rule.choose_within_days)) }
    }

    /// The status a reward starts in: held, or available at once.
    pub fn initial_status(&self, now: PrimitiveDateTime) -> RewardStatus {
        if self.available_at > now { RewardStatus::Pending } else { RewardStatus::Available }
    }
}

/// "12 Dec 2026": the dates participants read.
pub fn day(at: PrimitiveDateTime) -> String {
    let format = time::macros::format_description!("[day padding:none] [month repr:short] [year]");
    at.format(format).unwrap_or_else(|_| at.date().to_string())
}

/// Minor units as a plain amount: "20.00 USD", or "20.00" without currency.
pub fn money(minor: i64, currency: Option<&str>) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    let plain = format!("{sign}{}.{:02}", abs / 100, abs % 100);
    match currency {
        Some(c) => format!("{plain} {c}"),
        None => plain,
    }
}

/// The status in plain words, as the participant and the admin read it.
pub mod reason {
    use super::*;

    pub fn held(until: PrimitiveDateTime) -> String {
        format!("on hold until {} — the refund window", day(until))
    }

    pub fn available(choose_by: PrimitiveDateTime) -> String {
        format!("ready: choose one option before {}", day(choose_by))
    }

    pub fn approved_early(choose_by: PrimitiveDateTime) -> String {
        format!("released early by the team: choose one option before {}", day(choose_by))
    }

    pub fn chosen(label: &str) -> String {
        format!("you chose “{label}”; it is on its way")
    }

    pub fn chosen_coupon(label: &str, use_by: PrimitiveDateTime) -> String {
        format!("you chose “{label}”: your code is below, use it before {}", day(use_by))
    }

    pub fn fulfilled(label: &str) -> String {
        format!("“{label}” was delivered")
    }

    pub fn expired(choose_by: PrimitiveDateTime) -> String {
        format!("expired: no option was chosen by {}", day(choose_by))
    }

    pub fn refunded_in_hold() -> String {
        "revoked: the purchase was refunded within the refund window".into()
    }

    pub fn revoked_by_admin(why: &str) -> String {
        format!("revoked by the team: {why}")
    }

    pub fn capped(hit: &super::CapHit) -> String {
        format!("not issued: {}", hit.0)
    }
}

/// Codes on their way into a coupon pool, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CouponBatch {
    pub pool: String,
    /// Distinct, in the order given.
    pub codes: Vec<String>,
}

/// Codes accepted in one upload at most.
pub const MAX_COUPONS_PER_BATCH: usize = 10_000;

impl CouponBatch {
    /// A pool name is 1–64 of `A-Z a-z 0-9 _ -`; a code 1–64 visible ASCII
    /// characters without spaces. Blank codes are skipped; repeated ones
    /// kept once. Every problem is named by its field (`codes[3]`).
    pub fn parse(pool: &str, codes: &[String]) -> Result<Self, Vec<super::FieldError>> {
        use super::FieldError;
        let mut errors = Vec::new();
        let pool = pool.trim();
        let pool_ok = !pool.is_empty()
            && pool.len() <= 64
            && pool.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !pool_ok {
            errors.push(FieldError::new("pool", "must be 1 to 64 letters, digits, _ or -"));
        }
        if codes.len() > MAX_COUPONS_PER_BATCH {
            errors.push(FieldError::new("codes", format!("send at most {MAX_COUPONS_PER_BATCH} codes at a time")));
            return Err(errors);
        }
        let mut seen = std::collections::HashSet::new();
        let mut kept = Vec::new();
        for (i, code) in codes.iter().enumerate() {
            let code = code.trim();
            if code.is_empty() {
                continue;
            }
            if code.len() > 64 || !code.chars().all(|c| c.is_ascii_graphic()) {
                errors.push(FieldError::new(
                    format!("codes[{i}]"),
                    "must be at most 64 visible characters without spaces",
                ));
                continue;
            }
            if seen.insert(code.to_string()) {
                kept.push(code.to_string());
            }
        }
        if kept.is_empty() && errors.is_empty() {
            errors.push(FieldError::new("codes", "give at least one code"));
        }
        if errors.is_empty() { Ok(Self { pool: pool.to_string(), codes: kept }) } else { Err(errors) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::program::MenuKind;
    use time::macros::datetime;

    fn rule(id: &str, when: RewardTrigger, to: Beneficiary) -> RewardRule {
        RewardRule {
            id: id.into(),
            when,
            to,
            menu: vec![MenuOption {
                kind: MenuKind::Credit,
                label: "$20".into(),
                amount: Some(2000),
                currency: Some("USD".into()),
                percent: None,
                pool: None,
            }],
            hold_days: 30,
            choose_within_days: 30,
            use_within_days: 180,
            min_amount: 0,
        }
    }

    fn stage(s: Stage) -> RewardTrigger {
        RewardTrigger::Stage { stage: s }
    }

    #[test]
    fn reaching_won_directly_earns_the_rules_of_the_stages_passed() {
        let rules = [
            rule("lead", stage(Stage::Lead), Beneficiary::Referee),
            rule("qualified", stage(Stage::Qualified), Beneficiary::Referrer),
            rule("won", stage(Stage::Won), Beneficiary::Referrer),
            rule("tier", RewardTrigger::WonCount { won_count: 3 }, Beneficiary::Referrer),
        ];
        let ids = |v: Vec<&RewardRule>| v.into_iter().map(|r| r.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(stage_rules_earned(&rules, Some(Stage::Lead), Stage::Won)), ["qualified", "won"]);
        assert_eq!(ids(stage_rules_earned(&rules, None, Stage::Lead)), ["lead"]);
        assert_eq!(ids(stage_rules_earned(&rules, Some(Stage::Won), Stage::Won)), Vec::<String>::new());
        assert_eq!(ids(tier_rules_reached(&rules, 2)), Vec::<String>::new());
        assert_eq!(ids(tier_rules_reached(&rules, 3)), ["tier"]);
    }

    #[test]
    fn dedupe_keys_separate_sides_and_tiers() {
        let referrer = rule("r", stage(Stage::Won), Beneficiary::Referrer);
        let referee = rule("r", stage(Stage::Won), Beneficiary::Referee);
        assert_ne!(dedupe_key(&referrer, "ref1", "p1"), dedupe_key(&referee, "ref1", "p1"));
        let tier = rule("t", RewardTrigger::WonCount { won_count: 3 }, Beneficiary::Referrer);
        // A tier is per participant, whichever referral reached it.
        assert_eq!(dedupe_key(&tier, "ref1", "p1"), dedupe_key(&tier, "ref2", "p1"));
    }

    #[test]
    fn caps_count_and_amount_per_participant_and_in_total() {
        let caps = Caps {
            per_participant_per_year: CapLimit { count: Some(2), amount: Some(5000) },
            program_total: Some(CapLimit { count: Some(10), amount: None }),
        };
        let free = Usage::default();
        assert!(check_caps(&caps, Some(free), free, 2000).is_ok());
        assert!(check_caps(&caps, Some(Usage { count: 2, amount: 0 }), free, 0).is_err());
        assert!(check_caps(&caps, Some(Usage { count: 1, amount: 4000 }), free, 2000).is_err());
        assert!(check_caps(&caps, Some(Usage { count: 1, amount: 3000 }), free, 2000).is_ok());
        assert!(check_caps(&caps, None, Usage { count: 10, amount: 0 }, 0).is_err());
        // A referee reward counts against the program's total only.
        assert!(check_caps(&caps, None, Usage { count: 9, amount: 0 }, 99_999).is_ok());
    }

    #[test]
    fn min_amount_needs_a_large_enough_reported_amount() {
        let mut r = rule("w", stage(Stage::Won), Beneficiary::Referrer);
        assert!(meets_min_amount(&r, None));
        r.min_amount = 5000;
        assert!(!meets_min_amount(&r, None));
        assert!(!meets_min_amount(&r, Some(4999)));
        assert!(meets_min_amount(&r, Some(5000)));
    }

    #[test]
    fn a_held_reward_says_until_when_in_plain_words() {
        let now = datetime!(2026-11-12 10:00);
        let r = rule("w", stage(Stage::Won), Beneficiary::Referrer);
        let timing = Timing::for_rule(&r, now);
        assert_eq!(timing.initial_status(now), RewardStatus::Pending);
        assert_eq!(reason::held(timing.available_at), "on hold until 12 Dec 2026 — the refund window");
        let instant = RewardRule { hold_days: 0, ..r };
        assert_eq!(Timing::for_rule(&instant, now).initial_status(now), RewardStatus::Available);
    }

    #[test]
    fn coupon_batches_keep_each_code_once_and_name_bad_ones() {
        let codes = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let batch = CouponBatch::parse("spring", &codes(&["A1", " A1 ", "", "B2"])).unwrap();
        assert_eq!(batch.codes, ["A1", "B2"]);
        let errors = CouponBatch::parse("spring sale", &codes(&["ok", "has space"])).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["pool", "codes[1]"]);
        assert!(CouponBatch::parse("spring", &codes(&["", " "])).is_err());
    }

    #[test]
    fn days_read_without_a_leading_zero() {
        assert_eq!(day(datetime!(2027-01-03 23:59)), "3 Jan 2027");
    }

    #[test]
    fn money_reads_in_major_units() {
        assert_eq!(money(2000, Some("USD")), "20.00 USD");
        assert_eq!(money(5, None), "0.05");
    }
}
