//! Outbound webhooks, the pure parts: the event types, an endpoint's
//! subscription, the Standard Webhooks signature, the retry schedule and
//! which target addresses are refused.

use std::net::IpAddr;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::FieldError;

/// What a webhook tells (SPEC §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    ReferralCreated,
    ReferralStageChanged,
    RewardIssued,
    RewardAvailable,
    RewardChosen,
    RewardExpired,
    RewardRevoked,
    FraudFlagged,
}

impl EventType {
    pub const ALL: [EventType; 8] = [
        EventType::ReferralCreated,
        EventType::ReferralStageChanged,
        EventType::RewardIssued,
        EventType::RewardAvailable,
        EventType::RewardChosen,
        EventType::RewardExpired,
        EventType::RewardRevoked,
        EventType::FraudFlagged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::ReferralCreated => "referral.created",
            EventType::ReferralStageChanged => "referral.stage_changed",
            EventType::RewardIssued => "reward.issued",
            EventType::RewardAvailable => "reward.available",
            EventType::RewardChosen => "reward.chosen",
            EventType::RewardExpired => "reward.expired",
            EventType::RewardRevoked => "reward.revoked",
            EventType::FraudFlagged => "fraud.flagged",
        }
    }

    /// For the admin's checkboxes.
    pub fn describe(self) -> &'static str {
        match self {
            EventType::ReferralCreated => "a referee was attributed to a participant",
            EventType::ReferralStageChanged => "a referral moved to a later stage, or was refunded",
            EventType::RewardIssued => "a reward was issued",
            EventType::RewardAvailable => "a reward can be chosen",
            EventType::RewardChosen => "a participant chose a reward",
            EventType::RewardExpired => "a reward expired",
            EventType::RewardRevoked => "a reward was revoked",
            EventType::FraudFlagged => "a fraud check fired",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// The event types an endpoint receives: every type, or a chosen few.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subscription {
    All,
    Only(Vec<EventType>),
}

impl Subscription {
    /// From the admin's checked types; none checked is refused (an
    /// endpoint that receives nothing is a mistake), all checked is `All`
    /// so that types added later reach it too.
    pub fn from_checked(names: &[String]) -> Result<Self, FieldError> {
        let mut types = Vec::new();
        for name in names {
            let Some(t) = EventType::parse(name) else {
                return Err(FieldError::new("event_types", format!("“{name}” is not an event type")));
            };
            if !types.contains(&t) {
                types.push(t);
            }
        }
        match types.len() {
            0 => Err(FieldError::new("event_types", "choose at least one event type")),
            n if n == EventType::ALL.len() => Ok(Subscription::All),
            _ => Ok(Subscription::Only(types)),
        }
    }

    /// As stored: space-separated types, empty for all.
    pub fn to_stored(&self) -> String {
        match self {
            Subscription::All => String::new(),
            Subscription::Only(types) => types.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(" "),
        }
    }

    /// From the stored form; unknown names (a type since removed) are skipped.
    pub fn from_stored(stored: &str) -> Self {
        if stored.trim().is_empty() {
            return Subscription::All;
        }
        Subscription::Only(stored.split_whitespace().filter_map(EventType::parse).collect())
    }

    pub fn includes(&self, t: EventType) -> bool {
        match self {
            Subscription::All => true,
            Subscription::Only(types) => types.contains(&t),
        }
    }
}

/// Every endpoint secret starts with this (Standard Webhooks).
pub const SECRET_PREFIX: &str = "whsec_";

/// An endpoint's signing secret: 32 bytes, shown as `whsec_{base64}`.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(Vec<u8>);

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(***)")
    }
}

impl WebhookSecret {
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// `whsec_…`, as the receiver configures it.
    pub fn reveal(&self) -> String {
        format!("{SECRET_PREFIX}{}", STANDARD.encode(&self.0))
    }

    /// The `webhook-signature` header value: `v1,` and the base64
    /// HMAC-SHA256 of `{id}.{timestamp}.{body}` keyed with the secret's bytes.
    pub fn sign(&self, message_id: &str, timestamp: i64, body: &str) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(message_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body.as_bytes());
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

/// Waits between attempts: the first attempt at once, then these; about
/// three days from the first attempt to the last (71 h 36 min before jitter).
const BACKOFF: [Duration; 10] = [
    Duration::from_secs(5),
    Duration::from_secs(60),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(14 * 3600),
    Duration::from_secs(20 * 3600),
    Duration::from_secs(20 * 3600),
];

/// Attempts before a delivery is given up.
pub const MAX_ATTEMPTS: i32 = BACKOFF.len() as i32 + 1;

/// How long to wait after the `attempts`-th failed attempt, with `jitter`
/// in `[-1, 1]` spreading retries by up to ±20 % so that a receiver that
/// comes back is not hit by every retry in the same second. `None` after
/// the schedule's last attempt.
pub fn retry_delay(attempts: i32, jitter: f64) -> Option<Duration> {
    let index = usize::try_from(attempts).ok()?.checked_sub(1)?;
    let base = *BACKOFF.get(index)?;
    Some(base.mul_f64(1.0 + 0.2 * jitter.clamp(-1.0, 1.0)))
}

/// Whether an address must not receive webhooks unless private targets are
/// allowed: loopback, private, link-local (cloud metadata lives there),
/// shared (CGNAT), unspecified, broadcast, multicast and documentation
/// ranges, and IPv4 addresses wrapped in IPv6.
pub fn is_private_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0 && c == 0)
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private_address(IpAddr::V4(v4));
            }
            let segments = v6.segments();
            // NAT64 (64:ff9b::/96) reaches IPv4 addresses through a gateway.
            if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                let [a, b] = segments[6].to_be_bytes();
                let [c, d] = segments[7].to_be_bytes();
                return is_private_address(IpAddr::V4(std::net::Ipv4Addr::new(a, b, c, d)));
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (segments[0] & 0xfe00) == 0xfc00 // unique local
                || (segments[0] & 0xffc0) == 0xfe80 // link-local
                || (segments[0] == 0x2001 && segments[1] == 0x0db8) // documentation
        }
    }
}

/// An endpoint URL as the admin typed it, checked: http(s), a host, no
/// credentials or fragment, and no private or loopback address unless
/// `allow_private`. Names are resolved when a delivery is sent and the
/// same rule applies to the addresses they resolve to.
pub fn parse_endpoint_url(raw: &str, allow_private: bool) -> Result<url::Url, FieldError> {
    let field = |message: &str| FieldError::new("url", message);
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(field("enter the URL that receives the webhooks"));
    }
    if raw.len() > 2_000 {
        return Err(field("use at most 2,000 characters"));
    }
    let url = url::Url::parse(raw).map_err(|_| field("enter a full URL such as https://crm.example/hooks/goodword"))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(field("use an https:// (or http://) URL"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(field("leave credentials out of the URL: every delivery is signed with the endpoint's secret"));
    }
    if url.fragment().is_some() {
        return Err(field("remove the #fragment: it is never sent to the server"));
    }
    let private = match url.host() {
        None => return Err(field("the URL needs a host")),
        Some(url::Host::Ipv4(ip)) => is_private_address(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => is_private_address(IpAddr::V6(ip)),
        Some(url::Host::Domain(name)) => is_local_name(name),
    };
    if private && !allow_private {
        return Err(field(
            "this is a private or loopback address; goodword refuses those unless GOODWORD_ALLOW_PRIVATE_WEBHOOKS=true",
        ));
    }
    Ok(url)
}

/// Names that always mean this machine or the local network.
fn is_local_name(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost") || name.ends_with(".local") || name.ends_with(".internal")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_the_standard_webhooks_example() {
        // The example in the Standard Webhooks specification.
        let secret = STANDARD.decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = r#"{"test": 2432232314}"#;
        let signature = WebhookSecret::from_bytes(secret).sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body);
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn secret_is_shown_with_the_whsec_prefix_and_never_in_debug_output() {
        let secret = WebhookSecret::from_bytes(vec![1; 32]);
        assert!(secret.reveal().starts_with("whsec_AQEB"));
        assert_eq!(format!("{secret:?}"), "WebhookSecret(***)");
    }

    #[test]
    fn retries_last_about_three_days_then_stop() {
        let total: Duration = (1..MAX_ATTEMPTS).map(|n| retry_delay(n, 0.0).unwrap()).sum();
        assert!(total > Duration::from_secs(70 * 3600) && total < Duration::from_secs(74 * 3600), "{total:?}");
        assert_eq!(retry_delay(MAX_ATTEMPTS, 0.0), None);
        assert_eq!(retry_delay(0, 0.0), None);
        assert_eq!(retry_delay(1, 1.0), Some(Duration::from_secs(6)));
        assert_eq!(retry_delay(1, -1.0), Some(Duration::from_secs(4)));
    }

    #[test]
    fn private_loopback_and_metadata_addresses_are_refused() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "64:ff9b::a00:1",
        ] {
            assert!(is_private_address(ip.parse().unwrap()), "{ip} should be private");
        }
        for ip in ["93.184.216.34", "1.1.1.1", "2606:4700::1111", "64:ff9b::5db8:d822"] {
            assert!(!is_private_address(ip.parse().unwrap()), "{ip} should be public");
        }
    }

    #[test]
    fn endpoint_urls_are_checked_and_private_ones_refused_unless_allowed() {
        assert!(parse_endpoint_url("https://crm.example/hooks", false).is_ok());
        for (raw, hint) in [
            ("", "enter the URL"),
            ("ftp://crm.example/x", "https://"),
            ("https://user:pw@crm.example/", "credentials"),
            ("https://crm.example/#x", "fragment"),
            ("not a url", "full URL"),
            ("http://127.0.0.1:9000/hook", "private"),
            ("http://localhost/hook", "private"),
            ("http://[::1]/hook", "private"),
            ("http://169.254.169.254/latest", "private"),
        ] {
            let e = parse_endpoint_url(raw, false).unwrap_err();
            assert_eq!(e.field, "url");
            assert!(e.message.contains(hint), "{raw}: {}", e.message);
        }
        assert!(parse_endpoint_url("http://127.0.0.1:9000/hook", true).is_ok());
    }

    #[test]
    fn subscription_round_trips_and_all_checked_means_every_type() {
        let names: Vec<String> = EventType::ALL.iter().map(|t| t.as_str().to_string()).collect();
        assert_eq!(Subscription::from_checked(&names).unwrap(), Subscription::All);
        let some = Subscription::from_checked(&["referral.created".into(), "reward.issued".into()]).unwrap();
        assert_eq!(Subscription::from_stored(&some.to_stored()), some);
        assert!(some.includes(EventType::ReferralCreated));
        assert!(!some.includes(EventType::FraudFlagged));
        assert!(Subscription::from_stored("").includes(EventType::FraudFlagged));
        assert_eq!(Subscription::from_checked(&[]).unwrap_err().field, "event_types");
        assert!(Subscription::from_checked(&["nope".into()]).is_err());
    }
}
