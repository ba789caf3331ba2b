//! Fraud and gaming checks, the pure part: given what the services found
//! out about a referral (its signals), which checks fire, with what
//! action and what evidence in words; the decision they add up to; and
//! what the participant is told — in plain words that name no signal an
//! abuser could tune against.

use time::PrimitiveDateTime;

pub use super::program::FraudAction;
use super::program::FraudSettings;
use super::review::{ALREADY_HAD_ACCOUNT, NOT_IN_TERMS, UNDER_REVIEW};

/// A check that can fire on a referral.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Check {
    SelfReferral,
    SameDevice,
    SameIp,
    DisposableEmail,
    Velocity,
    TooFast,
    Blocklist,
}

impl Check {
    pub const ALL: [Check; 7] = [
        Check::SelfReferral,
        Check::SameDevice,
        Check::SameIp,
        Check::DisposableEmail,
        Check::Velocity,
        Check::TooFast,
        Check::Blocklist,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Check::SelfReferral => "self_referral",
            Check::SameDevice => "same_device",
            Check::SameIp => "same_ip",
            Check::DisposableEmail => "disposable_email",
            Check::Velocity => "velocity",
            Check::TooFast => "too_fast",
            Check::Blocklist => "blocklist",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == raw)
    }

    /// The check in the admin's words.
    pub fn label(self) -> &'static str {
        match self {
            Check::SelfReferral => "Self-referral",
            Check::SameDevice => "Same device",
            Check::SameIp => "Same address",
            Check::DisposableEmail => "Disposable email",
            Check::Velocity => "Too many referrals",
            Check::TooFast => "Too fast",
            Check::Blocklist => "Blocklist",
        }
    }
}

/// The referrer's own visit that the referee's matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SameIp {
    /// The referrer's click from the same IP hash.
    pub referrer_click_at: PrimitiveDateTime,
    /// Whether the user agent matched too (the IP alone is only evidence).
    pub same_user_agent: bool,
}

/// Earlier referrals in the velocity windows (this one not counted),
/// counted up to each window's limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recent {
    pub participant_last_hour: u32,
    pub participant_last_day: u32,
    pub ip_last_day: u32,
}

/// What the services found out about one referral.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Signals {
    /// How the referee is the referrer ("the same email address as the
    /// referrer"), if they are.
    pub self_referral: Option<String>,
    /// The referee's browser carries the referrer's own device cookie.
    pub same_device: bool,
    pub same_ip: Option<SameIp>,
    /// The referee's email domain, when it is on the disposable list
    /// (after the admin's allowlist and blocklist).
    pub disposable_domain: Option<String>,
    pub recent: Recent,
    /// Seconds from the click to the claim, when both are known.
    pub seconds_click_to_lead: Option<i64>,
    /// The claim named a click that was not recorded for its link (a
    /// forged or foreign click id): its time is not believed.
    pub unrecorded_click: bool,
    /// What an admin's blocklist matched ("the domain spam.example").
    pub blocklisted: Option<String>,
}

/// A check that fired: what it does and why, for the reviewer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub check: Check,
    pub action: FraudAction,
    pub evidence: String,
}

/// Runs every check against `signals` with the program's `settings`.
/// A check set to `allow` that matched is still returned (its evidence is
/// kept for the reviewer) but does not count towards the decision.
pub fn evaluate(settings: &FraudSettings, signals: &Signals) -> Vec<Finding> {
    let mut found = Vec::new();
    let mut add = |check, action, evidence: String| found.push(Finding { check, action, evidence });
    if let Some(how) = &signals.self_referral {
        add(Check::SelfReferral, settings.self_referral, format!("the referee is the referrer: {how}"));
    }
    if signals.same_device {
        add(
            Check::SameDevice,
            settings.same_device,
            "the referee's browser carries the referrer's own device cookie".into(),
        );
    }
    if let Some(ip) = signals.same_ip {
        let day = crate::domain::reward::day(ip.referrer_click_at);
        if ip.same_user_agent {
            add(Check::SameIp, settings.same_ip, format!("same IP hash and browser as the referrer's visit of {day}"));
        } else {
            // The IP alone (a shared office or mobile network) is evidence
            // for the reviewer, never a decision.
            add(
                Check::SameIp,
                FraudAction::Allow,
                format!("same IP hash as the referrer's visit of {day}, another browser"),
            );
        }
    }
    if let Some(domain) = &signals.disposable_domain {
        add(Check::DisposableEmail, settings.disposable_email, format!("{domain} is a disposable email domain"));
    }
    let v = &settings.velocity;
    let r = signals.recent;
    let over = [
        (r.participant_last_hour, v.per_participant_per_hour, "referrals by this participant in the last hour"),
        (r.participant_last_day, v.per_participant_per_day, "referrals by this participant in the last day"),
        (r.ip_last_day, v.per_ip_per_day, "referrals from this IP hash in the last day"),
    ];
    for (earlier, limit, what) in over {
        if limit > 0 && earlier >= limit {
            add(Check::Velocity, v.action, format!("over the limit of {limit} {what}"));
        }
    }
    if signals.unrecorded_click && settings.min_seconds_click_to_lead > 0 {
        add(
            Check::TooFast,
            FraudAction::Hold,
            "the claim names a click that was not recorded for this link, so its time cannot be trusted".into(),
        );
    } else if let Some(seconds) = signals.seconds_click_to_lead
        && seconds >= 0
        && seconds < i64::from(settings.min_seconds_click_to_lead)
    {
        add(
            Check::TooFast,
            FraudAction::Hold,
            format!("claimed {seconds} s after the click, faster than {} s", settings.min_seconds_click_to_lead),
        );
    }
    if let Some(what) = &signals.blocklisted {
        add(Check::Blocklist, FraudAction::Reject, format!("on the blocklist: {what}"));
    }
    found
}

fn severity(action: FraudAction) -> u8 {
    match action {
        FraudAction::Allow => 0,
        FraudAction::Flag => 1,
        FraudAction::Hold => 2,
        FraudAction::Reject => 3,
    }
}

/// The strongest action of the findings (`allow` when none fired).
pub fn decision(findings: &[Finding]) -> FraudAction {
    findings.iter().map(|f| f.action).max_by_key(|a| severity(*a)).unwrap_or(FraudAction::Allow)
}

/// What the participant reads about a held or rejected referral; none for
/// one that goes ahead. Never names the check or the evidence.
pub fn participant_reason(findings: &[Finding]) -> Option<&'static str> {
    match decision(findings) {
        FraudAction::Allow | FraudAction::Flag => None,
        FraudAction::Hold => Some(UNDER_REVIEW),
        FraudAction::Reject => {
            let rejected = |c| findings.iter().any(|f| f.check == c && f.action == FraudAction::Reject);
            if rejected(Check::SelfReferral) || rejected(Check::SameDevice) || rejected(Check::SameIp) {
                Some(ALREADY_HAD_ACCOUNT)
            } else {
                Some(NOT_IN_TERMS)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn checks(findings: &[Finding]) -> Vec<(Check, FraudAction)> {
        findings.iter().map(|f| (f.check, f.action)).collect()
    }

    #[test]
    fn defaults_reject_self_referral_and_hold_disposable_and_fast_claims() {
        let settings = FraudSettings::default();
        let signals = Signals {
            self_referral: Some("the same email address".into()),
            disposable_domain: Some("mailinator.com".into()),
            seconds_click_to_lead: Some(1),
            ..Default::default()
        };
        let found = evaluate(&settings, &signals);
        assert_eq!(
            checks(&found),
            [
                (Check::SelfReferral, FraudAction::Reject),
                (Check::DisposableEmail, FraudAction::Hold),
                (Check::TooFast, FraudAction::Hold)
            ]
        );
        assert_eq!(decision(&found), FraudAction::Reject);
        assert!(evaluate(&settings, &Signals::default()).is_empty());
    }

    #[test]
    fn an_unrecorded_click_is_held_as_too_fast_unless_the_check_is_off() {
        let signals = Signals { unrecorded_click: true, ..Default::default() };
        let found = evaluate(&FraudSettings::default(), &signals);
        assert_eq!(checks(&found), [(Check::TooFast, FraudAction::Hold)]);
        assert!(found[0].evidence.contains("not recorded"), "{}", found[0].evidence);
        let off = FraudSettings { min_seconds_click_to_lead: 0, ..Default::default() };
        assert!(evaluate(&off, &signals).is_empty());
    }

    #[test]
    fn velocity_passes_at_the_limit_and_fires_one_over() {
        let settings = FraudSettings::default(); // 5 an hour
        let at =
            |n| Signals { recent: Recent { participant_last_hour: n, ..Default::default() }, ..Default::default() };
        assert!(evaluate(&settings, &at(4)).is_empty(), "the 5th referral of the hour is fine");
        let found = evaluate(&settings, &at(5));
        assert_eq!(checks(&found), [(Check::Velocity, FraudAction::Hold)]);
        assert_eq!(found[0].evidence, "over the limit of 5 referrals by this participant in the last hour");
    }

    #[test]
    fn the_ip_alone_is_evidence_and_with_the_browser_a_hold() {
        let settings = FraudSettings::default();
        let ip = |same_user_agent| Signals {
            same_ip: Some(SameIp { referrer_click_at: datetime!(2026-11-03 10:00), same_user_agent }),
            ..Default::default()
        };
        let alone = evaluate(&settings, &ip(false));
        assert_eq!((decision(&alone), alone[0].evidence.contains("3 Nov 2026")), (FraudAction::Allow, true));
        assert_eq!(decision(&evaluate(&settings, &ip(true))), FraudAction::Hold);
    }

    #[test]
    fn every_action_is_honoured_and_participants_read_no_signal() {
        for action in [FraudAction::Allow, FraudAction::Flag, FraudAction::Hold, FraudAction::Reject] {
            let settings = FraudSettings { disposable_email: action, ..Default::default() };
            let found =
                evaluate(&settings, &Signals { disposable_domain: Some("x.example".into()), ..Default::default() });
            assert_eq!(decision(&found), action);
            if let Some(reason) = participant_reason(&found) {
                assert!(!reason.contains("disposable") && !reason.contains("x.example"), "{reason}");
            }
        }
        let held = [Finding { check: Check::Velocity, action: FraudAction::Hold, evidence: String::new() }];
        assert_eq!(participant_reason(&held), Some("under review — usually decided within 3 days"));
    }

    #[test]
    fn each_tunable_check_takes_every_action_the_program_sets() {
        use crate::domain::program::Velocity;
        let actions = [FraudAction::Allow, FraudAction::Flag, FraudAction::Hold, FraudAction::Reject];
        let at = datetime!(2026-11-03 10:00);
        for action in actions {
            let settings = FraudSettings {
                self_referral: action,
                same_device: action,
                same_ip: action,
                disposable_email: action,
                velocity: Velocity { action, ..Velocity::default() },
                ..FraudSettings::default()
            };
            let cases = [
                (Check::SelfReferral, Signals { self_referral: Some("the same email".into()), ..Default::default() }),
                (Check::SameDevice, Signals { same_device: true, ..Default::default() }),
                (
                    Check::SameIp,
                    Signals {
                        same_ip: Some(SameIp { referrer_click_at: at, same_user_agent: true }),
                        ..Default::default()
                    },
                ),
                (Check::DisposableEmail, Signals { disposable_domain: Some("x.example".into()), ..Default::default() }),
                (
                    Check::Velocity,
                    Signals { recent: Recent { ip_last_day: 3, ..Default::default() }, ..Default::default() },
                ),
            ];
            for (check, signals) in cases {
                assert_eq!(checks(&evaluate(&settings, &signals)), [(check, action)], "{check:?} set to {action:?}");
            }
        }
    }
}
