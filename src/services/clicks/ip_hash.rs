//! The click IP hash: HMAC-SHA256 of the address under the instance's IP
//! key and the day's random salt, cut to 128 bits. Salts older than a month
//! are deleted, after which no hash can be tied to an address again.
//!
//! The redirect hashes before the click is journaled, so no raw address is
//! ever written anywhere. The day's keyed state is kept in memory; only the
//! first click of a day on each server reads (or creates) the salt.

use std::net::IpAddr;
use std::sync::RwLock;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use time::{Date, PrimitiveDateTime};

use crate::crypto::{SigningKey, random_token};
use crate::storage::{DbConnection, StorageResult, ip_salts};

/// Salts older than this are deleted; their hashes become anonymous.
pub const SALT_KEEP_DAYS: i64 = 31;

/// The IP key with the salts of the days in use absorbed.
pub struct IpHasher {
    key: SigningKey,
    /// The keyed state of the days asked for lately (at most two: a click
    /// just before midnight may be hashed just after it).
    days: RwLock<Vec<(Date, Hmac<Sha256>)>>,
}

impl IpHasher {
    pub fn new(key: SigningKey) -> Self {
        Self { key, days: RwLock::new(Vec::with_capacity(2)) }
    }

    /// The hash of `ip` on `date`, if that day's salt is loaded.
    pub fn hash(&self, date: Date, ip: IpAddr) -> Option<String> {
        let days = self.days.read().unwrap_or_else(|p| p.into_inner());
        let (_, mac) = days.iter().find(|(d, _)| *d == date)?;
        Some(finish(mac.clone(), ip))
    }

    /// Makes `salt` the salt of `date`.
    pub fn load(&self, date: Date, salt: &str) {
        let mut days = self.days.write().unwrap_or_else(|p| p.into_inner());
        if days.iter().any(|(d, _)| *d == date) {
            return;
        }
        let mut mac = self.key.hmac();
        mac.update(salt.as_bytes());
        mac.update(b"|");
        days.push((date, mac));
        days.sort_by_key(|(day, _)| std::cmp::Reverse(*day));
        days.truncate(2);
    }
}

/// The keyed hash of an IP address with a day's salt: 128 bits, base64url.
pub fn hash_ip(key: &SigningKey, salt: &str, ip: IpAddr) -> String {
    let mut mac = key.hmac();
    mac.update(salt.as_bytes());
    mac.update(b"|");
    finish(mac, ip)
}

fn finish(mut mac: Hmac<Sha256>, ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => mac.update(&v4.octets()),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => mac.update(&v4.octets()),
            None => mac.update(&v6.octets()),
        },
    }
    URL_SAFE_NO_PAD.encode(&mac.finalize().into_bytes()[..16])
}

/// The salt of `day` (`YYYY-MM-DD`), created by whichever server needs it
/// first; creating one deletes the salts past [`SALT_KEEP_DAYS`].
pub fn day_salt(conn: &mut DbConnection, day: &str, now: PrimitiveDateTime) -> StorageResult<String> {
    if let Some(salt) = ip_salts::get(conn, day)? {
        return Ok(salt);
    }
    let salt = random_token(32);
    match ip_salts::insert(conn, day, &salt, now) {
        Ok(()) => {
            let cutoff = (now - time::Duration::days(SALT_KEEP_DAYS)).date().to_string();
            ip_salts::delete_before(conn, &cutoff)?;
            Ok(salt)
        }
        Err(e) if e.is_unique_violation() => ip_salts::get(conn, day)?.ok_or(e),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    fn key() -> SigningKey {
        SigningKey::new(b"0123456789abcdef0123456789abcdef")
    }

    #[test]
    fn ip_hashes_depend_on_the_salt_and_hide_the_address() {
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        let a = hash_ip(&key(), "salt-1", ip);
        assert_eq!(a, hash_ip(&key(), "salt-1", ip));
        assert_ne!(a, hash_ip(&key(), "salt-2", ip));
        assert!(!a.contains("203"));
        assert_eq!(a.len(), 22);
        let mapped: IpAddr = "::ffff:203.0.113.7".parse().unwrap();
        assert_eq!(a, hash_ip(&key(), "salt-1", mapped));
    }

    #[test]
    fn the_hasher_answers_only_for_days_whose_salt_it_holds() {
        let hasher = IpHasher::new(key());
        let ip: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(hasher.hash(date!(2026 - 12 - 03), ip), None);
        hasher.load(date!(2026 - 12 - 03), "salt-1");
        assert_eq!(hasher.hash(date!(2026 - 12 - 03), ip), Some(hash_ip(&key(), "salt-1", ip)));
        hasher.load(date!(2026 - 12 - 04), "salt-2");
        hasher.load(date!(2026 - 12 - 05), "salt-3");
        assert_eq!(hasher.hash(date!(2026 - 12 - 03), ip), None, "only the two latest days are kept");
        assert_eq!(hasher.hash(date!(2026 - 12 - 05), ip), Some(hash_ip(&key(), "salt-3", ip)));
    }
}
