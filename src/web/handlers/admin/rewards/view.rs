//! A reward as the admin pages show it (the list, its own page, the
//! participant page): who, what earned it, its status in plain words, what
//! was chosen and the dates that matter.

use crate::domain::program::MenuOption;
use crate::domain::reward::{RewardStatus, money};
use crate::services::rewards::admin::Described;
use crate::storage::rewards::EntryRow;
use crate::web::format::datetime;

/// One reward, ready for a template.
pub struct RewardView {
    pub id: String,
    pub program_slug: String,
    pub program_name: String,
    pub participant_id: String,
    /// The referrer whose referral earned it.
    pub participant: String,
    /// `referrer` or `referee`.
    pub to: String,
    /// Who receives it: the referrer, or the referee by name or email.
    pub beneficiary: String,
    /// "rule won · the referral of Bob Lee", "rule tier-3 · 3 won referrals".
    pub earned_by: String,
    pub referral_id: Option<String>,
    pub status: String,
    pub reason: String,
    /// The chosen option's label and kind, empty before a choice.
    pub chosen: String,
    pub chosen_kind: String,
    pub coupon_code: String,
    pub reference: String,
    /// The most the menu is worth (its largest amount), if it has amounts.
    pub worth: String,
    /// ("Issued", "2026-12-03 10:00 UTC"), …: only the dates that apply.
    pub dates: Vec<(&'static str, String)>,
    /// When a refund after the hold left a clawback to follow up.
    pub clawback_at: Option<String>,
}

impl RewardView {
    pub fn new(d: Described) -> Self {
        let r = d.row;
        let participant = d.participant.map(|p| p.label()).unwrap_or_else(|| "(participant removed)".into());
        let referee = d.referee.map(|p| p.label());
        let beneficiary = match r.beneficiary.as_str() {
            "referee" => referee.clone().unwrap_or_else(|| "the referee".into()),
            _ => participant.clone(),
        };
        let earned_by = match (r.tier, &referee) {
            (Some(n), _) => format!("rule {} · {n} won referrals", r.rule_id),
            (None, Some(referee)) => format!("rule {} · the referral of {referee}", r.rule_id),
            (None, None) => format!("rule {}", r.rule_id),
        };
        let status = r.status();
        let mut dates = vec![("Issued", datetime(&r.created_at))];
        match status {
            Some(RewardStatus::Pending) => dates.push(("Available from", datetime(&r.available_at))),
            Some(RewardStatus::Available | RewardStatus::Expired) => dates.push(("Choose by", datetime(&r.choose_by))),
            _ => {}
        }
        if let Some(at) = &r.chosen_at {
            dates.push(("Chosen", datetime(at)));
        }
        if let Some(at) = &r.use_by {
            dates.push(("Use by", datetime(at)));
        }
        if let Some(at) = &r.fulfilled_at {
            dates.push(("Fulfilled", datetime(at)));
        }
        let currency = menu(&r.menu).iter().find_map(|o| o.currency.clone());
        Self {
            id: r.id,
            program_slug: d.program_slug,
            program_name: d.program_name,
            participant_id: r.participant_id,
            participant,
            to: r.beneficiary,
            beneficiary,
            earned_by,
            referral_id: r.referral_id,
            status: r.status,
            reason: r.reason,
            chosen: r.chosen_label.unwrap_or_default(),
            chosen_kind: r.chosen_kind.unwrap_or_default(),
            coupon_code: r.coupon_code.unwrap_or_default(),
            reference: r.fulfilment_reference.unwrap_or_default(),
            worth: if r.value_amount > 0 { money(r.value_amount, currency.as_deref()) } else { String::new() },
            dates,
            clawback_at: r.clawback_at.as_ref().map(datetime),
        }
    }
}

/// A stored menu; an unreadable one shows as empty rather than failing the page.
pub fn menu(raw: &str) -> Vec<MenuOption> {
    serde_json::from_str(raw).unwrap_or_default()
}

/// One option of a menu in words: "$20 credit — credit, 20.00 USD".
pub struct OptionView {
    pub label: String,
    pub kind: &'static str,
    pub detail: String,
}

impl OptionView {
    pub fn new(o: &MenuOption) -> Self {
        let detail = match (o.amount, o.percent, &o.pool) {
            (Some(amount), _, _) => money(amount, o.currency.as_deref()),
            (_, Some(p), _) => format!("{p}% off"),
            (_, _, Some(pool)) => format!("a code from the pool “{pool}”"),
            _ => String::new(),
        };
        Self { label: o.label.clone(), kind: o.kind.as_str(), detail }
    }
}

/// One line of a ledger.
pub struct EntryView {
    pub reward_id: String,
    pub kind: String,
    pub note: String,
    pub actor: String,
    pub at: String,
    /// A refund after the hold: shown apart, for follow-up.
    pub clawback: bool,
}

impl From<EntryRow> for EntryView {
    fn from(e: EntryRow) -> Self {
        Self {
            clawback: e.kind == "clawback",
            reward_id: e.reward_id,
            kind: e.kind,
            note: e.note,
            actor: e.actor,
            at: datetime(&e.at),
        }
    }
}
