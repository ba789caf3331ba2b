//! Finding out a referral's signals: what is known about the referee (the
//! address and browser of the claim, or the click an event names) set
//! beside what is known about the referrer (their own devices and visits)
//! and the program's recent referrals and the admin's lists.

use std::net::IpAddr;

use time::{Duration, PrimitiveDateTime};

use crate::crypto::{SigningKey, sha256_hex};
use crate::domain::disposable::DisposableDomains;
use crate::domain::fraud::{SameIp, Signals};
use crate::domain::review::{FraudList, domain_and_parents, parse_network};
use crate::services::clicks::ip_hash::hash_ip;
use crate::storage::fraud::{self, VisitRow};
use crate::storage::participants::ParticipantRow;
use crate::storage::referrals::ReferralRow;
use crate::storage::{DbConnection, StorageResult, ip_salts};

/// How far back the referee's address is compared with the referrer's.
pub const SAME_IP_DAYS: i64 = 30;

/// What the request or the event tells about the referee.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    /// The claim's client address (never stored; hashed with the day's
    /// salts to compare).
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
    /// The raw value of the browser's device cookie.
    pub device: Option<String>,
    /// The click the referee came through, when it is known.
    pub click: Option<SeenClick>,
    /// The request named a click that is not recorded for the link (see
    /// `referrals::claimed_click`).
    pub unrecorded_click: bool,
}

/// The referee's click as recorded.
#[derive(Debug, Clone)]
pub struct SeenClick {
    pub at: PrimitiveDateTime,
    /// The IP hash under the click day's salt (empty if unknown).
    pub ip_hash: String,
    pub user_agent: String,
}

/// The hash a device cookie is kept and compared as.
pub fn device_hash(raw: &str) -> String {
    sha256_hex(raw)
}

/// The hash a user agent is kept and compared as: its first 256 bytes,
/// as clicks keep it.
pub fn user_agent_hash(user_agent: &str) -> String {
    let mut end = user_agent.len().min(256);
    while !user_agent.is_char_boundary(end) {
        end -= 1;
    }
    sha256_hex(&user_agent[..end])[..32].to_string()
}

/// The IP hash of `ip` on `day` (`YYYY-MM-DD`), if that day's salt is
/// still kept.
fn hash_on(conn: &mut DbConnection, key: &SigningKey, day: &str, ip: IpAddr) -> StorageResult<Option<String>> {
    Ok(ip_salts::get(conn, day)?.map(|salt| hash_ip(key, &salt, ip)))
}

/// The referee's IP hash as the referral keeps it: today's hash of the
/// claim's address, else the click's.
pub fn referee_ip_hash(
    conn: &mut DbConnection,
    key: &SigningKey,
    seen: &Seen,
    now: PrimitiveDateTime,
) -> StorageResult<Option<String>> {
    if let Some(ip) = seen.ip {
        let salt = crate::services::clicks::ip_hash::day_salt(conn, &now.date().to_string(), now)?;
        return Ok(Some(hash_ip(key, &salt, ip)));
    }
    Ok(seen.click.as_ref().map(|c| c.ip_hash.clone()).filter(|h| !h.is_empty()))
}

/// Everything the checks look at for the referral `row` (not inserted
/// yet) of `referrer`.
pub fn gather(
    conn: &mut DbConnection,
    key: &SigningKey,
    row: &ReferralRow,
    referrer: Option<&ParticipantRow>,
    seen: &Seen,
    now: PrimitiveDateTime,
) -> StorageResult<Signals> {
    let mut signals = Signals { self_referral: referrer.and_then(|p| self_referral(row, p)), ..Default::default() };
    if let (Some(referrer), Some(device)) = (referrer, &seen.device) {
        signals.same_device = fraud::has_device(conn, &referrer.id, &device_hash(device))?;
    }
    if let Some(referrer) = referrer {
        signals.same_ip = same_ip(conn, key, &referrer.id, seen, now)?;
    }
    let domain = row.referee_email_normalized.as_deref().and_then(|e| e.rsplit_once('@')).map(|(_, d)| d);
    if let Some(domain) = domain {
        signals.disposable_domain = disposable(conn, domain)?.then(|| domain.to_string());
    }
    signals.recent = super::velocity::recent(conn, row, now)?;
    // The referee's first stage is their claim (an event may start later).
    let claimed_at = [row.lead_at, row.qualified_at, row.opportunity_at, row.won_at]
        .into_iter()
        .flatten()
        .next()
        .unwrap_or(row.created_at);
    signals.seconds_click_to_lead = seen.click.as_ref().map(|c| (claimed_at - c.at).whole_seconds());
    signals.unrecorded_click = seen.unrecorded_click;
    signals.blocklisted = blocklisted(conn, row, domain, seen.ip)?;
    Ok(signals)
}

/// How the referee is the referrer, if they are.
fn self_referral(row: &ReferralRow, referrer: &ParticipantRow) -> Option<String> {
    if row.referee_email_normalized.as_deref() == Some(referrer.email_normalized.as_str()) {
        return Some("the same email address as the referrer".into());
    }
    if row.referee_external_id.is_some() && row.referee_external_id == referrer.external_id {
        return Some("the same customer id as the referrer".into());
    }
    None
}

/// The referrer's own visit from the referee's address, preferring one
/// with the same browser. A claim's address is hashed with each day's
/// salt of the last [`SAME_IP_DAYS`]; an event's click compares with the
/// visits of the click's day (its hash holds only that day's salt).
fn same_ip(
    conn: &mut DbConnection,
    key: &SigningKey,
    referrer_id: &str,
    seen: &Seen,
    now: PrimitiveDateTime,
) -> StorageResult<Option<SameIp>> {
    let since = (now - Duration::days(SAME_IP_DAYS)).date().to_string();
    // Read once: a claim's address is hashed for the days of these visits.
    let mut read = None;
    let (hashes, user_agent): (Vec<(String, String)>, Option<&str>) = match (seen.ip, &seen.click) {
        (Some(ip), _) => {
            let visits = read.insert(fraud::visits_since(conn, referrer_id, &since)?);
            let mut days: Vec<String> = visits.iter().map(|v| v.day.clone()).collect();
            days.dedup();
            let mut hashes = Vec::new();
            for day in days {
                if let Some(hash) = hash_on(conn, key, &day, ip)? {
                    hashes.push((day, hash));
                }
            }
            (hashes, seen.user_agent.as_deref())
        }
        (None, Some(click)) if !click.ip_hash.is_empty() => {
            (vec![(click.at.date().to_string(), click.ip_hash.clone())], Some(click.user_agent.as_str()))
        }
        _ => return Ok(None),
    };
    if hashes.is_empty() {
        return Ok(None);
    }
    let ua = user_agent.map(user_agent_hash);
    let visits = match read {
        Some(visits) => visits,
        None => fraud::visits_since(conn, referrer_id, &since)?,
    };
    let visits: Vec<VisitRow> =
        visits.into_iter().filter(|v| hashes.iter().any(|(day, hash)| *day == v.day && *hash == v.ip_hash)).collect();
    let with_browser = visits.iter().find(|v| Some(&v.user_agent_hash) == ua.as_ref());
    Ok(with_browser
        .or(visits.first())
        .map(|v| SameIp { referrer_click_at: v.at, same_user_agent: Some(&v.user_agent_hash) == ua.as_ref() }))
}

/// Whether `domain` counts as disposable: the admin's allowlist wins,
/// then the bundled list and the admin's additions.
fn disposable(conn: &mut DbConnection, domain: &str) -> StorageResult<bool> {
    let domains = domain_and_parents(domain);
    if fraud::first_listed(conn, FraudList::DisposableAllow.as_str(), &domains)?.is_some() {
        return Ok(false);
    }
    if DisposableDomains::bundled().contains(domain) {
        return Ok(true);
    }
    Ok(fraud::first_listed(conn, FraudList::DisposableAdd.as_str(), &domains)?.is_some())
}

/// What an admin's blocklist matched, in words ("the domain spam.example").
fn blocklisted(
    conn: &mut DbConnection,
    row: &ReferralRow,
    domain: Option<&str>,
    ip: Option<IpAddr>,
) -> StorageResult<Option<String>> {
    if let Some(email) = &row.referee_email_normalized
        && fraud::first_listed(conn, FraudList::BlockEmail.as_str(), std::slice::from_ref(email))?.is_some()
    {
        return Ok(Some(format!("the email address {email}")));
    }
    if let Some(domain) = domain
        && let Some(listed) = fraud::first_listed(conn, FraudList::BlockDomain.as_str(), &domain_and_parents(domain))?
    {
        return Ok(Some(format!("the domain {listed}")));
    }
    if let Some(ip) = ip {
        for net in fraud::values_of(conn, FraudList::BlockIp.as_str())? {
            if parse_network(&net).is_ok_and(|n| n.contains(&ip)) {
                // The listed network is the admin's own entry, not the
                // referee's address, so it may be shown.
                return Ok(Some(format!("the network {net}")));
            }
        }
    }
    Ok(None)
}
