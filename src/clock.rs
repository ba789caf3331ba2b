//! Time is injected: everything that depends on "now" (sessions, holds,
//! expiries, windows, caps) asks a [`Clock`], so tests can move time.

use std::sync::Mutex;

use time::{Duration, OffsetDateTime, PrimitiveDateTime};

/// A source of the current UTC time.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> OffsetDateTime;

    /// The current time as stored in the database (UTC, no offset).
    fn now_utc(&self) -> PrimitiveDateTime {
        let now = self.now().to_offset(time::UtcOffset::UTC);
        // Microseconds are what both backends keep; truncating here makes a
        // value read back equal to the value written.
        let micros = now.microsecond();
        PrimitiveDateTime::new(now.date(), now.time())
            .replace_nanosecond(micros * 1_000)
            .unwrap_or(PrimitiveDateTime::new(now.date(), now.time()))
    }
}

/// The real wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that stands still until told to move; for tests and demos.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<OffsetDateTime>,
}

impl ManualClock {
    pub fn new(start: OffsetDateTime) -> Self {
        Self { now: Mutex::new(start) }
    }

    /// Moves the clock forward (or back, with a negative duration).
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|p| p.into_inner());
        *now += by;
    }

    pub fn set(&self, to: OffsetDateTime) {
        *self.now.lock().unwrap_or_else(|p| p.into_inner()) = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.now.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let start = time::macros::datetime!(2026-01-01 00:00 UTC);
        let clock = ManualClock::new(start);
        assert_eq!(clock.now(), start);
        clock.advance(Duration::minutes(31));
        assert_eq!(clock.now(), start + Duration::minutes(31));
    }

    #[test]
    fn stored_time_is_truncated_to_microseconds() {
        let clock = ManualClock::new(time::macros::datetime!(2026-01-01 00:00:00.123456789 UTC));
        assert_eq!(clock.now_utc().nanosecond(), 123_456_000);
    }
}
