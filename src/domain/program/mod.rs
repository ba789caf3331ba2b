//! A program's whole configuration (SPEC §4): what `PUT /api/v1/programs/…`
//! takes, what `GET` returns with defaults filled in, and what the admin
//! pages edit. Parsing and validation live in [`parse`].

mod asks;
mod emails;
mod fraud;
pub mod parse;
mod rewards;

use serde::{Deserialize, Serialize};

pub use asks::{AskCondition, AskRule, AskSettings, CompareOp, MessageVariant, SignalKind};
pub use emails::EmailSettings;
pub use fraud::{FraudAction, FraudSettings, Velocity};
pub use parse::{ConfigError, parse_config};
pub use rewards::{Beneficiary, CapLimit, Caps, MenuKind, MenuOption, RewardRule, RewardTrigger, Stage};

/// Whether a program takes new referrals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProgramStatus {
    #[default]
    Active,
    /// Links still land, but no new referral is created.
    Paused,
    /// Gone from view; links answer 404.
    Archived,
}

impl ProgramStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Paused => "paused",
            Self::Archived => "archived",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "active" => Some(Self::Active),
            "paused" => Some(Self::Paused),
            "archived" => Some(Self::Archived),
            _ => None,
        }
    }
}

/// Which click wins when a referee clicked several links.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttributionModel {
    #[default]
    LastClick,
    FirstClick,
}

impl AttributionModel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LastClick => "last_click",
            Self::FirstClick => "first_click",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Attribution {
    pub window_days: u32,
    pub model: AttributionModel,
}

impl Default for Attribution {
    fn default() -> Self {
        Self { window_days: 30, model: AttributionModel::LastClick }
    }
}

/// The referee's landing page copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Landing {
    pub headline: String,
    pub body: String,
    pub referee_offer: String,
    pub image_url: Option<String>,
}

impl Default for Landing {
    fn default() -> Self {
        Self { headline: "You're invited".into(), body: String::new(), referee_offer: String::new(), image_url: None }
    }
}

/// Prefilled share texts; `{link}`, `{name}` and `{offer}` are filled in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ShareText {
    pub default: String,
    pub whatsapp: Option<String>,
    pub email_subject: Option<String>,
}

impl Default for ShareText {
    fn default() -> Self {
        Self { default: "{name} invited you. {offer} {link}".into(), whatsapp: None, email_subject: None }
    }
}

/// The whole configuration of one program.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProgramConfig {
    pub name: String,
    #[serde(default)]
    pub status: ProgramStatus,
    pub destination_url: String,
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    #[serde(default)]
    pub attribution: Attribution,
    #[serde(default)]
    pub landing: Landing,
    #[serde(default)]
    pub share_text: ShareText,
    #[serde(default)]
    pub rewards: Vec<RewardRule>,
    #[serde(default)]
    pub caps: Caps,
    #[serde(default)]
    pub fraud: FraudSettings,
    #[serde(default)]
    pub asks: AskSettings,
    #[serde(default)]
    pub emails: EmailSettings,
}

impl ProgramConfig {
    /// The share text for a channel: its own if set, else the default.
    pub fn share_template(&self, channel: &str) -> &str {
        match channel {
            "whatsapp" => self.share_text.whatsapp.as_deref().unwrap_or(&self.share_text.default),
            _ => &self.share_text.default,
        }
    }

    /// The subject of a shared email.
    pub fn email_subject(&self) -> String {
        self.share_text.email_subject.clone().unwrap_or_else(|| format!("An invitation to {}", self.name))
    }

    /// Rules whose reward goes to the referrer, for the portal's progress.
    pub fn referrer_rules(&self) -> impl Iterator<Item = &RewardRule> {
        self.rewards.iter().filter(|r| r.to == Beneficiary::Referrer)
    }
}
