//! RFC 3339 times as the API reads and writes them: any offset in, UTC out.

use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// The UTC time `raw` names (`2026-12-03T10:00:00+02:00` → 08:00 UTC).
pub fn parse_utc(raw: &str) -> Option<PrimitiveDateTime> {
    let utc = OffsetDateTime::parse(raw, &Rfc3339).ok()?.to_offset(UtcOffset::UTC);
    Some(PrimitiveDateTime::new(utc.date(), utc.time()))
}

/// A UTC time in RFC 3339 (`2026-12-03T08:00:00Z`).
pub fn format_utc(at: PrimitiveDateTime) -> String {
    at.assume_utc().format(&Rfc3339).unwrap_or_else(|_| at.to_string())
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn offsets_are_read_as_utc_and_written_with_z() {
        assert_eq!(parse_utc("2026-12-03T10:00:00+02:00"), Some(datetime!(2026-12-03 08:00)));
        assert_eq!(parse_utc("yesterday"), None);
        assert_eq!(format_utc(datetime!(2026-12-03 08:00)), "2026-12-03T08:00:00Z");
    }
}
