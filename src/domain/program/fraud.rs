//! Fraud and gaming settings (SPEC §4 `fraud`).

use serde::{Deserialize, Serialize};

/// What a check that fires does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FraudAction {
    Allow,
    Flag,
    Hold,
    Reject,
}

impl FraudAction {
    pub fn as_str(self) -> &'static str {
        match self {
            FraudAction::Allow => "allow",
            FraudAction::Flag => "flag",
            FraudAction::Hold => "hold",
            FraudAction::Reject => "reject",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Velocity {
    pub per_participant_per_hour: u32,
    pub per_participant_per_day: u32,
    pub per_ip_per_day: u32,
    pub action: FraudAction,
}

impl Default for Velocity {
    fn default() -> Self {
        Self { per_participant_per_hour: 5, per_participant_per_day: 20, per_ip_per_day: 3, action: FraudAction::Hold }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FraudSettings {
    pub self_referral: FraudAction,
    pub same_device: FraudAction,
    pub same_ip: FraudAction,
    pub disposable_email: FraudAction,
    pub velocity: Velocity,
    pub min_seconds_click_to_lead: u32,
}

impl Default for FraudSettings {
    fn default() -> Self {
        Self {
            self_referral: FraudAction::Reject,
            same_device: FraudAction::Reject,
            same_ip: FraudAction::Hold,
            disposable_email: FraudAction::Hold,
            velocity: Velocity::default(),
            min_seconds_click_to_lead: 3,
        }
    }
}
