//! The JSON shape of a reward: one shape for `GET /api/v1/rewards` and for
//! the `data` of reward webhooks.

use serde::Serialize;

use crate::domain::program::MenuOption;
use crate::domain::rfc3339::format_utc;
use crate::storage::rewards::RewardRow;

use crate::services::referral_json::ParticipantRef;

#[derive(Debug, Clone, Serialize)]
pub struct RewardJson {
    pub id: String,
    /// The program's slug.
    pub program: String,
    pub rule_id: String,
    /// `referrer` or `referee`.
    pub to: String,
    /// The referrer: the beneficiary of a referrer reward, the participant
    /// whose referral earned a referee reward.
    pub participant: ParticipantRef,
    pub referral_id: Option<String>,
    /// The referee, for a referee reward.
    pub referee: Option<RefereeRef>,
    pub tier: Option<i32>,
    pub status: String,
    /// The status in plain words.
    pub reason: String,
    pub menu: Vec<MenuOption>,
    pub chosen: Option<ChosenJson>,
    pub available_at: String,
    pub choose_by: String,
    pub use_by: Option<String>,
    pub fulfilled_at: Option<String>,
    pub fulfilment_reference: Option<String>,
    /// Set when a refund came after the hold: the admin follows up.
    pub clawback_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// For a referee reward: the private page where the referee sees it
    /// and chooses (the business sends it to them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_url: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RefereeRef {
    pub email: Option<String>,
    pub external_id: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChosenJson {
    pub option: i32,
    pub kind: String,
    pub label: String,
    pub amount: Option<i64>,
    pub currency: Option<String>,
    pub percent: Option<i32>,
    pub coupon_code: Option<String>,
    pub chosen_at: Option<String>,
}

impl RewardJson {
    pub fn new(r: RewardRow, program: String, participant: ParticipantRef, referee: Option<RefereeRef>) -> Self {
        let menu: Vec<MenuOption> = serde_json::from_str(&r.menu).unwrap_or_default();
        let chosen = match (r.chosen_option, r.chosen_kind, r.chosen_label) {
            (Some(option), Some(kind), Some(label)) => Some(ChosenJson {
                option,
                kind,
                label,
                amount: r.amount,
                currency: r.currency,
                percent: r.percent,
                coupon_code: r.coupon_code,
                chosen_at: r.chosen_at.map(format_utc),
            }),
            _ => None,
        };
        Self {
            program,
            rule_id: r.rule_id,
            to: r.beneficiary,
            participant,
            referral_id: r.referral_id,
            referee,
            tier: r.tier,
            status: r.status,
            reason: r.reason,
            menu,
            chosen,
            available_at: format_utc(r.available_at),
            choose_by: format_utc(r.choose_by),
            use_by: r.use_by.map(format_utc),
            fulfilled_at: r.fulfilled_at.map(format_utc),
            fulfilment_reference: r.fulfilment_reference,
            clawback_at: r.clawback_at.map(format_utc),
            created_at: format_utc(r.created_at),
            updated_at: format_utc(r.updated_at),
            page_url: None,
            id: r.id,
        }
    }
}
