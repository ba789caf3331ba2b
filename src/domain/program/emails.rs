//! The `emails` part of a program's configuration (an extension to the
//! spec): whether a new participant gets a welcome email, and the sender
//! name and reply-to address its emails carry.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EmailSettings {
    /// Send the welcome email (link and portal) on enrolment.
    pub welcome: bool,
    /// The name emails come from ("Acme friends"); the program's name if unset.
    pub sender_name: Option<String>,
    /// Where replies go, if not to the sender address.
    pub reply_to: Option<String>,
}
