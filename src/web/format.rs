//! How values are written on pages.

use time::PrimitiveDateTime;
use time::macros::format_description;

/// `2026-11-25 18:04 UTC`.
pub fn datetime(t: &PrimitiveDateTime) -> String {
    t.format(format_description!("[year]-[month]-[day] [hour]:[minute] UTC")).unwrap_or_else(|_| t.to_string())
}

/// `datetime`, or a dash for nothing.
pub fn datetime_or_dash(t: Option<&PrimitiveDateTime>) -> String {
    t.map(datetime).unwrap_or_else(|| "—".into())
}
