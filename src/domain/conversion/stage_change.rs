//! How an event changes a referral: stages only move forward
//! (`lead → qualified → opportunity → won`), a refund ends a won referral,
//! and anything else is recorded and changes nothing.

use super::EventKind;
use crate::domain::program::Stage;

/// Where a referral stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferralState {
    Open(Stage),
    Refunded,
    Rejected,
}

impl ReferralState {
    /// Every state's name, in the order a referral can go: the four
    /// stages, then the two end states.
    pub const NAMES: [&'static str; 6] = ["lead", "qualified", "opportunity", "won", "refunded", "rejected"];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open(stage) => stage.as_str(),
            Self::Refunded => "refunded",
            Self::Rejected => "rejected",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "refunded" => Some(Self::Refunded),
            "rejected" => Some(Self::Rejected),
            other => Stage::parse(other).map(Self::Open),
        }
    }
}

/// What an event does to a referral.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StageChange {
    /// The referral reaches `to` (stages skipped on the way stay empty).
    Advance { to: Stage },
    /// A won referral is refunded.
    Refund,
    /// Recorded on the timeline, nothing changes; the reason says why.
    Unchanged { reason: &'static str },
}

/// The change `kind` makes to a referral in `state`.
pub fn change_for(state: ReferralState, kind: EventKind) -> StageChange {
    let stage = match kind {
        EventKind::Reached(stage) => stage,
        EventKind::Refund => {
            return match state {
                ReferralState::Open(Stage::Won) => StageChange::Refund,
                ReferralState::Refunded => StageChange::Unchanged { reason: "already refunded" },
                ReferralState::Rejected => StageChange::Unchanged { reason: "the referral was rejected" },
                ReferralState::Open(_) => StageChange::Unchanged { reason: "only a won referral can be refunded" },
            };
        }
    };
    match state {
        ReferralState::Open(current) if stage > current => StageChange::Advance { to: stage },
        ReferralState::Open(current) if stage == current => StageChange::Unchanged { reason: "already at this stage" },
        ReferralState::Open(_) => StageChange::Unchanged { reason: "an earlier stage than the referral's" },
        ReferralState::Refunded => StageChange::Unchanged { reason: "the referral was refunded" },
        ReferralState::Rejected => StageChange::Unchanged { reason: "the referral was rejected" },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_name_reads_back_as_itself() {
        for name in ReferralState::NAMES {
            assert_eq!(ReferralState::parse(name).map(ReferralState::as_str), Some(name));
        }
    }

    #[test]
    fn stages_only_move_forward_and_may_skip() {
        let open = ReferralState::Open;
        assert_eq!(
            change_for(open(Stage::Lead), EventKind::Reached(Stage::Won)),
            StageChange::Advance { to: Stage::Won }
        );
        assert_eq!(
            change_for(open(Stage::Lead), EventKind::Reached(Stage::Qualified)),
            StageChange::Advance { to: Stage::Qualified }
        );
        assert!(matches!(
            change_for(open(Stage::Opportunity), EventKind::Reached(Stage::Qualified)),
            StageChange::Unchanged { .. }
        ));
        assert!(matches!(change_for(open(Stage::Won), EventKind::Reached(Stage::Won)), StageChange::Unchanged { .. }));
    }

    #[test]
    fn only_a_won_referral_is_refunded_and_an_ended_one_stays_ended() {
        assert_eq!(change_for(ReferralState::Open(Stage::Won), EventKind::Refund), StageChange::Refund);
        assert!(matches!(
            change_for(ReferralState::Open(Stage::Opportunity), EventKind::Refund),
            StageChange::Unchanged { .. }
        ));
        for ended in [ReferralState::Refunded, ReferralState::Rejected] {
            for kind in EventKind::ALL {
                assert!(matches!(change_for(ended, kind), StageChange::Unchanged { .. }), "{ended:?} {kind:?}");
            }
        }
    }

    #[test]
    fn states_read_back_what_they_write() {
        for state in [ReferralState::Open(Stage::Qualified), ReferralState::Refunded, ReferralState::Rejected] {
            assert_eq!(ReferralState::parse(state.as_str()), Some(state));
        }
        assert_eq!(ReferralState::parse("paid"), None);
    }
}
