//! Review of referrals the fraud checks stopped: where a referral's review
//! stands, the reviewer's decisions and their reason codes (with what the
//! participant reads for each), and the admin's allow- and blocklists.

use std::net::IpAddr;

use ipnet::IpNet;

use super::EmailAddress;

/// Where a referral's review stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Review {
    /// No check stopped it.
    Clear,
    /// A check marked it; it goes ahead.
    Flagged,
    /// Waiting for a reviewer; its rewards stay pending.
    Held,
    /// A reviewer let it go ahead (or reinstated it).
    Approved,
    /// A check or a reviewer rejected it; its rewards are revoked.
    Rejected,
}

impl Review {
    pub const ALL: [Review; 5] = [Review::Clear, Review::Flagged, Review::Held, Review::Approved, Review::Rejected];

    pub fn as_str(self) -> &'static str {
        match self {
            Review::Clear => "clear",
            Review::Flagged => "flagged",
            Review::Held => "held",
            Review::Approved => "approved",
            Review::Rejected => "rejected",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == raw)
    }
}

/// What a reviewer did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Reject,
    /// Undo a rejection (by a check or a reviewer).
    Reinstate,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Approve => "approved",
            Decision::Reject => "rejected",
            Decision::Reinstate => "reinstated",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "approve" | "approved" => Some(Decision::Approve),
            "reject" | "rejected" => Some(Decision::Reject),
            "reinstate" | "reinstated" => Some(Decision::Reinstate),
            _ => None,
        }
    }

    /// The reason codes a reviewer picks from for this decision.
    pub fn reasons(self) -> &'static [ReasonCode] {
        match self {
            Decision::Approve | Decision::Reinstate => {
                &[ReasonCode::Genuine, ReasonCode::SharedNetwork, ReasonCode::CheckTooStrict, ReasonCode::Other]
            }
            Decision::Reject => &[
                ReasonCode::ExistingCustomer,
                ReasonCode::SelfReferral,
                ReasonCode::FakeAccount,
                ReasonCode::ScriptedSignups,
                ReasonCode::Terms,
            ],
        }
    }
}

/// Why a reviewer decided as they did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReasonCode {
    Genuine,
    SharedNetwork,
    CheckTooStrict,
    Other,
    ExistingCustomer,
    SelfReferral,
    FakeAccount,
    ScriptedSignups,
    Terms,
}

impl ReasonCode {
    const ALL: [ReasonCode; 9] = [
        ReasonCode::Genuine,
        ReasonCode::SharedNetwork,
        ReasonCode::CheckTooStrict,
        ReasonCode::Other,
        ReasonCode::ExistingCustomer,
        ReasonCode::SelfReferral,
        ReasonCode::FakeAccount,
        ReasonCode::ScriptedSignups,
        ReasonCode::Terms,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReasonCode::Genuine => "genuine",
            ReasonCode::SharedNetwork => "shared_network",
            ReasonCode::CheckTooStrict => "check_too_strict",
            ReasonCode::Other => "other",
            ReasonCode::ExistingCustomer => "existing_customer",
            ReasonCode::SelfReferral => "self_referral",
            ReasonCode::FakeAccount => "fake_account",
            ReasonCode::ScriptedSignups => "scripted_signups",
            ReasonCode::Terms => "terms",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == raw)
    }

    /// For the reviewer's form and the audit log.
    pub fn label(self) -> &'static str {
        match self {
            ReasonCode::Genuine => "checked: a genuine new customer",
            ReasonCode::SharedNetwork => "a shared network or household, different people",
            ReasonCode::CheckTooStrict => "the check was too strict for this case",
            ReasonCode::Other => "other (see the note)",
            ReasonCode::ExistingCustomer => "the referee already had an account",
            ReasonCode::SelfReferral => "the referrer referred themselves",
            ReasonCode::FakeAccount => "a fake or throwaway account",
            ReasonCode::ScriptedSignups => "scripted or bulk signups",
            ReasonCode::Terms => "against the program's terms",
        }
    }

    /// What the participant reads about a referral rejected for this
    /// reason: plain words that name no signal.
    pub fn participant_text(self) -> &'static str {
        match self {
            ReasonCode::ExistingCustomer | ReasonCode::SelfReferral => ALREADY_HAD_ACCOUNT,
            _ => NOT_IN_TERMS,
        }
    }
}

/// The participant's words for a referral waiting for review.
pub const UNDER_REVIEW: &str = "under review — usually decided within 3 days";
/// The participant's words for a referral of someone who was a customer.
pub const ALREADY_HAD_ACCOUNT: &str = "not eligible: the person you referred already had an account";
/// The participant's words for any other rejection.
pub const NOT_IN_TERMS: &str = "not eligible: this referral does not meet the program's terms";

/// One of the admin's lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FraudList {
    /// Domains never treated as disposable (the bundled list is wrong for them).
    DisposableAllow,
    /// Domains treated as disposable besides the bundled list.
    DisposableAdd,
    /// Referee email addresses rejected outright (normalised).
    BlockEmail,
    /// Referee email domains rejected outright (subdomains too).
    BlockDomain,
    /// Referee addresses or networks rejected outright (claims only).
    BlockIp,
}

impl FraudList {
    pub const ALL: [FraudList; 5] = [
        FraudList::BlockEmail,
        FraudList::BlockDomain,
        FraudList::BlockIp,
        FraudList::DisposableAdd,
        FraudList::DisposableAllow,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FraudList::DisposableAllow => "disposable_allow",
            FraudList::DisposableAdd => "disposable_add",
            FraudList::BlockEmail => "block_email",
            FraudList::BlockDomain => "block_domain",
            FraudList::BlockIp => "block_ip",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.as_str() == raw)
    }

    pub fn label(self) -> &'static str {
        match self {
            FraudList::DisposableAllow => "Not disposable (allowlist)",
            FraudList::DisposableAdd => "Also disposable",
            FraudList::BlockEmail => "Blocked email addresses",
            FraudList::BlockDomain => "Blocked email domains",
            FraudList::BlockIp => "Blocked IP addresses and networks",
        }
    }

    /// The entry as stored, or what is wrong with it.
    pub fn parse_entry(self, raw: &str) -> Result<String, &'static str> {
        let raw = raw.trim();
        match self {
            FraudList::BlockEmail => {
                EmailAddress::parse(raw).map(|e| e.normalized()).map_err(|_| "enter an email address")
            }
            FraudList::BlockDomain | FraudList::DisposableAdd | FraudList::DisposableAllow => parse_domain(raw),
            FraudList::BlockIp => parse_network(raw).map(|n| n.to_string()),
        }
    }
}

/// A domain name as lists keep it: lowercase, no trailing dot, no `@`.
fn parse_domain(raw: &str) -> Result<String, &'static str> {
    let domain = raw.trim_start_matches('@').trim_end_matches('.').to_ascii_lowercase();
    let valid_label =
        |l: &str| !l.is_empty() && l.len() <= 63 && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if domain.len() > 253 || !domain.contains('.') || !domain.split('.').all(valid_label) {
        return Err("enter a domain name such as spam.example");
    }
    Ok(domain)
}

/// An address (as a one-address network) or a CIDR network.
pub fn parse_network(raw: &str) -> Result<IpNet, &'static str> {
    if let Ok(net) = raw.parse::<IpNet>() {
        return Ok(net.trunc());
    }
    raw.parse::<IpAddr>().map(IpNet::from).map_err(|_| "enter an IP address or a network such as 203.0.113.0/24")
}

/// `domain` and each parent domain that still has a dot
/// (`a.b.example` → `a.b.example`, `b.example`).
pub fn domain_and_parents(domain: &str) -> Vec<String> {
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    let mut out = vec![domain.clone()];
    let mut rest = domain.as_str();
    while let Some((_, parent)) = rest.split_once('.') {
        if !parent.contains('.') {
            break;
        }
        out.push(parent.to_string());
        rest = parent;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_entries_are_normalised_or_refused() {
        assert_eq!(FraudList::BlockEmail.parse_entry(" A.B+x@GoogleMail.com "), Ok("ab@gmail.com".into()));
        assert_eq!(FraudList::BlockDomain.parse_entry("@Spam.Example."), Ok("spam.example".into()));
        assert!(FraudList::BlockDomain.parse_entry("localhost").is_err());
        assert!(FraudList::BlockDomain.parse_entry("bad domain.example").is_err());
        assert_eq!(FraudList::BlockIp.parse_entry("203.0.113.7"), Ok("203.0.113.7/32".into()));
        assert_eq!(FraudList::BlockIp.parse_entry("203.0.113.77/24"), Ok("203.0.113.0/24".into()));
        assert!(FraudList::BlockIp.parse_entry("203.0.113.300").is_err());
    }

    #[test]
    fn parent_domains_stop_before_the_top_level() {
        assert_eq!(domain_and_parents("A.b.example"), ["a.b.example", "b.example"]);
        assert_eq!(domain_and_parents("example.com"), ["example.com"]);
    }

    #[test]
    fn participants_read_one_of_two_rejection_texts_and_no_signal() {
        for code in Decision::Reject.reasons() {
            let text = code.participant_text();
            assert!(text == ALREADY_HAD_ACCOUNT || text == NOT_IN_TERMS);
        }
        for code in ReasonCode::ALL {
            assert_eq!(ReasonCode::parse(code.as_str()), Some(code));
        }
    }
}
