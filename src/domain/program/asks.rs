//! Ask settings (SPEC §4 `asks`): the trust peaks that trigger an ask, and
//! the caps that keep asks from nagging.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalKind {
    Nps,
    Csat,
    Milestone,
    Renewal,
    Upgrade,
    TicketOpened,
    TicketClosed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CompareOp {
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = "=")]
    Eq,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = "<")]
    Lt,
}

/// One condition of an ask rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AskCondition {
    /// No signal of this kind within the last `within_days` (e.g. no ticket).
    NoSignal { no_signal: SignalKind, within_days: u32 },
    /// A signal of this kind, compared with `value` when given.
    Signal {
        signal: SignalKind,
        #[serde(default)]
        op: Option<CompareOp>,
        #[serde(default)]
        value: Option<f64>,
        #[serde(default)]
        within_days: Option<u32>,
    },
}

/// All conditions must hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AskRule {
    pub all: Vec<AskCondition>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageVariant {
    pub id: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AskSettings {
    pub rules: Vec<AskRule>,
    pub frequency_cap_days: u32,
    pub snooze_days: u32,
    /// Local times `HH:MM` between which asks are sent.
    pub send_window: [String; 2],
    pub email_after_hours: u32,
    pub holdout_percent: u32,
    pub variants: Vec<MessageVariant>,
}

impl Default for AskSettings {
    fn default() -> Self {
        Self {
            rules: Vec::new(),
            frequency_cap_days: 90,
            snooze_days: 90,
            send_window: ["09:00".into(), "18:00".into()],
            email_after_hours: 24,
            holdout_percent: 10,
            variants: Vec::new(),
        }
    }
}
