//! Velocity: how many referrals a participant made in the last hour and
//! day, and how many came from one IP hash on its day. Counted as
//! referrals are created (in their transaction) into small buckets, so a
//! check reads a few dozen rows whatever a participant's volume: by the
//! minute for the hour, by the hour for the day.

use time::{Duration, PrimitiveDateTime, Time};

use crate::domain::fraud::Recent;
use crate::storage::fraud;
use crate::storage::referrals::ReferralRow;
use crate::storage::{DbConnection, StorageResult};

fn by_minute(at: PrimitiveDateTime) -> PrimitiveDateTime {
    at.replace_time(Time::from_hms(at.hour(), at.minute(), 0).unwrap_or(Time::MIDNIGHT))
}

fn by_hour(at: PrimitiveDateTime) -> PrimitiveDateTime {
    at.replace_time(Time::from_hms(at.hour(), 0, 0).unwrap_or(Time::MIDNIGHT))
}

fn by_day(at: PrimitiveDateTime) -> PrimitiveDateTime {
    at.replace_time(Time::MIDNIGHT)
}

fn hour_key(participant_id: &str) -> String {
    format!("p:{participant_id}")
}

fn day_key(participant_id: &str) -> String {
    format!("pd:{participant_id}")
}

fn ip_key(program_id: &str, ip_hash: &str) -> String {
    format!("ip:{program_id}:{ip_hash}")
}

/// Counts the new referral `row` (in its transaction).
pub fn record(conn: &mut DbConnection, row: &ReferralRow) -> StorageResult<()> {
    let at = row.created_at;
    fraud::count_one(conn, &hour_key(&row.participant_id), by_minute(at))?;
    fraud::count_one(conn, &day_key(&row.participant_id), by_hour(at))?;
    if let Some(hash) = &row.referee_ip_hash {
        fraud::count_one(conn, &ip_key(&row.program_id, hash), by_day(at))?;
    }
    Ok(())
}

/// The referrals before `row` (not inserted yet) in each window: the
/// last 60 minutes and the last 24 hours, to the minute and the hour.
pub fn recent(conn: &mut DbConnection, row: &ReferralRow, now: PrimitiveDateTime) -> StorageResult<Recent> {
    let saturate = |n: i64| u32::try_from(n).unwrap_or(u32::MAX);
    let hour = fraud::count_since(conn, &hour_key(&row.participant_id), by_minute(now - Duration::minutes(59)))?;
    let day = fraud::count_since(conn, &day_key(&row.participant_id), by_hour(now - Duration::hours(23)))?;
    let ip = match &row.referee_ip_hash {
        Some(hash) => fraud::count_since(conn, &ip_key(&row.program_id, hash), by_day(now))?,
        None => 0,
    };
    Ok(Recent { participant_last_hour: saturate(hour), participant_last_day: saturate(day), ip_last_day: saturate(ip) })
}

/// Deletes buckets past every window.
pub fn forget_old(conn: &mut DbConnection, now: PrimitiveDateTime) -> StorageResult<usize> {
    fraud::delete_counts_before(conn, by_day(now - Duration::days(2)))
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn buckets_cut_time_to_the_minute_hour_and_day() {
        let at = datetime!(2026-12-04 09:41:27.5);
        assert_eq!(by_minute(at), datetime!(2026-12-04 09:41));
        assert_eq!(by_hour(at), datetime!(2026-12-04 09:00));
        assert_eq!(by_day(at), datetime!(2026-12-04 00:00));
    }
}
