//! Reward rules and caps, as configured (SPEC §4 `rewards`, `caps`).

use serde::{Deserialize, Serialize};

/// A referral's stage on the way to a won deal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Lead,
    Qualified,
    Opportunity,
    Won,
}

impl Stage {
    pub const ALL: [Stage; 4] = [Stage::Lead, Stage::Qualified, Stage::Opportunity, Stage::Won];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Lead => "lead",
            Self::Qualified => "qualified",
            Self::Opportunity => "opportunity",
            Self::Won => "won",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

/// When a reward is earned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RewardTrigger {
    /// A referral reached this stage.
    Stage { stage: Stage },
    /// The participant's Nth won referral (a tier).
    WonCount { won_count: u32 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Beneficiary {
    Referrer,
    Referee,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MenuKind {
    Coupon,
    PercentOff,
    AmountOff,
    Credit,
    Cash,
    Custom,
}

impl MenuKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Coupon => "coupon",
            Self::PercentOff => "percent_off",
            Self::AmountOff => "amount_off",
            Self::Credit => "credit",
            Self::Cash => "cash",
            Self::Custom => "custom",
        }
    }
}

/// One option of a reward menu.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MenuOption {
    pub kind: MenuKind,
    pub label: String,
    /// Minor units, for `amount_off`, `credit` and `cash`.
    #[serde(default)]
    pub amount: Option<i64>,
    /// ISO 4217, with `amount`.
    #[serde(default)]
    pub currency: Option<String>,
    /// 1–100, for `percent_off`.
    #[serde(default)]
    pub percent: Option<u32>,
    /// The coupon pool, for `coupon`.
    #[serde(default)]
    pub pool: Option<String>,
}

fn default_hold_days() -> u32 {
    30
}
fn default_choose_within_days() -> u32 {
    30
}
fn default_use_within_days() -> u32 {
    180
}

/// A reward rule: when, to whom, what (a menu), and its timing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RewardRule {
    pub id: String,
    pub when: RewardTrigger,
    pub to: Beneficiary,
    pub menu: Vec<MenuOption>,
    #[serde(default = "default_hold_days")]
    pub hold_days: u32,
    #[serde(default = "default_choose_within_days")]
    pub choose_within_days: u32,
    #[serde(default = "default_use_within_days")]
    pub use_within_days: u32,
    /// The smallest won amount (minor units) that earns this reward.
    #[serde(default)]
    pub min_amount: i64,
}

/// A count and/or amount limit.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CapLimit {
    #[serde(default)]
    pub count: Option<u32>,
    #[serde(default)]
    pub amount: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Caps {
    pub per_participant_per_year: CapLimit,
    pub program_total: Option<CapLimit>,
}

impl Default for Caps {
    fn default() -> Self {
        Self { per_participant_per_year: CapLimit { count: Some(10), amount: Some(50_000) }, program_total: None }
    }
}
