//! Rate limits, with governor's keyed GCRA limiters.
//!
//! Limits are per server process: behind a load balancer with N servers an
//! attacker gets at most N times the budget, which still makes guessing
//! passwords impractical.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Failed sign-ins allowed per account in [`FAILURE_WINDOW`].
pub const FAILURES_PER_ACCOUNT: u32 = 10;
pub const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Sign-in attempts allowed per client IP per minute.
pub const ATTEMPTS_PER_IP_PER_MINUTE: u32 = 30;

/// Every limiter of the process.
pub struct RateLimits {
    pub login: LoginThrottle,
    /// Opens of short links per client IP; `None` when switched off.
    redirect: Option<DefaultKeyedRateLimiter<IpAddr>>,
    /// Portal sign-in links asked for per client IP.
    sign_in_per_ip: DefaultKeyedRateLimiter<IpAddr>,
    /// Portal sign-in links sent per email address.
    sign_in_per_email: DefaultKeyedRateLimiter<String>,
}

/// Sign-in links asked for per client IP per hour.
pub const SIGN_IN_LINKS_PER_IP_PER_HOUR: u32 = 20;
/// Sign-in links sent to one address per hour (a burst of 3).
pub const SIGN_IN_LINKS_PER_EMAIL_PER_HOUR: u32 = 5;

impl RateLimits {
    /// `redirects_per_minute` is the per-IP budget of `/r/{code}` (the
    /// burst is the same number); 0 switches the limit off.
    pub fn new(redirects_per_minute: u32) -> Self {
        let redirect = NonZeroU32::new(redirects_per_minute).map(|n| RateLimiter::keyed(Quota::per_minute(n)));
        Self {
            login: LoginThrottle::new(),
            redirect,
            sign_in_per_ip: RateLimiter::keyed(Quota::per_hour(nz(SIGN_IN_LINKS_PER_IP_PER_HOUR))),
            sign_in_per_email: RateLimiter::keyed(
                Quota::per_hour(nz(SIGN_IN_LINKS_PER_EMAIL_PER_HOUR)).allow_burst(nz(3)),
            ),
        }
    }

    /// Counts a request for a sign-in link from `ip`; `Err(wait)` when the
    /// IP must wait.
    pub fn check_sign_in_ip(&self, ip: IpAddr) -> Result<(), Duration> {
        self.sign_in_per_ip.check_key(&ip).map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    /// Whether another sign-in link may go to `email` (normalised) now.
    pub fn allow_sign_in_email(&self, email: &str) -> bool {
        self.sign_in_per_email.check_key(&email.to_string()).is_ok()
    }

    /// Counts an open of a short link; `Err(wait)` when the IP must wait.
    pub fn check_redirect(&self, ip: IpAddr) -> Result<(), Duration> {
        let Some(limiter) = &self.redirect else { return Ok(()) };
        limiter.check_key(&ip).map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    /// Drops state for keys that are back at full budget.
    pub fn prune(&self) {
        self.login.prune();
        self.sign_in_per_ip.retain_recent();
        self.sign_in_per_email.retain_recent();
        if let Some(limiter) = &self.redirect {
            limiter.retain_recent();
        }
    }
}

fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
}

/// Sign-in throttling: attempts per IP, and failures per account.
///
/// An account that used up its failures stays locked, for right and wrong
/// passwords alike, until the limiter would let one more failure through;
/// otherwise a guesser would learn the password from the one answer that is
/// not a 429.
pub struct LoginThrottle {
    per_ip: DefaultKeyedRateLimiter<IpAddr>,
    failures: DefaultKeyedRateLimiter<String>,
    locked_until: Mutex<HashMap<String, Instant>>,
}

impl LoginThrottle {
    fn new() -> Self {
        let per_ip = Quota::per_minute(nz(ATTEMPTS_PER_IP_PER_MINUTE));
        let failure_period = FAILURE_WINDOW / FAILURES_PER_ACCOUNT;
        let failures = Quota::with_period(failure_period)
            .unwrap_or_else(|| Quota::per_minute(nz(1)))
            .allow_burst(nz(FAILURES_PER_ACCOUNT));
        Self {
            per_ip: RateLimiter::keyed(per_ip),
            failures: RateLimiter::keyed(failures),
            locked_until: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an attempt; `Err(wait)` when the IP or the account must wait.
    pub fn check_attempt(&self, ip: IpAddr, account: &str) -> Result<(), Duration> {
        let now = Instant::now();
        {
            let mut locked = self.locked_until.lock().unwrap_or_else(|p| p.into_inner());
            match locked.get(account) {
                Some(until) if *until > now => return Err(*until - now),
                Some(_) => {
                    locked.remove(account);
                }
                None => {}
            }
        }
        let clock = DefaultClock::default();
        self.per_ip.check_key(&ip).map_err(|not_until| not_until.wait_time_from(clock.now()))
    }

    /// Records a failed password for `account`; `Err(wait)` when this
    /// failure is one too many.
    pub fn record_failure(&self, account: &str) -> Result<(), Duration> {
        let clock = DefaultClock::default();
        match self.failures.check_key(&account.to_string()) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                let wait = not_until.wait_time_from(clock.now());
                let mut locked = self.locked_until.lock().unwrap_or_else(|p| p.into_inner());
                let now = Instant::now();
                // Keep the map bounded: drop locks that have run out.
                if locked.len() > 10_000 {
                    locked.retain(|_, until| *until > now);
                }
                locked.insert(account.to_string(), now + wait);
                Err(wait)
            }
        }
    }

    /// Drops state for keys that are back at full budget.
    pub fn prune(&self) {
        self.per_ip.retain_recent();
        self.failures.retain_recent();
    }
}

/// Seconds for a `Retry-After` header, at least 1.
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs().max(1) + u64::from(wait.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eleventh_failure_locks_the_account_but_not_others() {
        let t = LoginThrottle::new();
        for _ in 0..FAILURES_PER_ACCOUNT {
            assert!(t.record_failure("a@example.com").is_ok());
        }
        assert!(t.record_failure("a@example.com").is_err());
        let ip: IpAddr = [127, 0, 0, 1].into();
        assert!(t.check_attempt(ip, "a@example.com").is_err());
        assert!(t.check_attempt(ip, "b@example.com").is_ok());
    }

    #[test]
    fn thirty_first_attempt_from_one_ip_waits() {
        let t = LoginThrottle::new();
        let ip: IpAddr = [10, 0, 0, 1].into();
        for i in 0..ATTEMPTS_PER_IP_PER_MINUTE {
            assert!(t.check_attempt(ip, &format!("u{i}@example.com")).is_ok());
        }
        assert!(t.check_attempt(ip, "x@example.com").is_err());
        assert!(t.check_attempt([10, 0, 0, 2].into(), "x@example.com").is_ok());
    }
}
