//! Click ids: 16 characters of nanoid's URL-safe alphabet, ordered by time.
//!
//! The first 7 characters are the click's millisecond (42 bits, good until
//! 2109), the other 9 are random (54 bits). The alphabet is taken in ASCII
//! order, so ids sort as their clicks happened: the click table's only
//! index grows at its end instead of at a random page per click.

/// nanoid's URL-safe alphabet, sorted by byte value.
const ALPHABET: &[u8; 64] = b"-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";

pub const CLICK_ID_LEN: usize = 16;
const TIME_CHARS: usize = 7;

/// The click id for a click at `at` (UTC), with `random` supplying the
/// random part (its low 54 bits are used).
pub fn click_id_at(at: time::PrimitiveDateTime, random: u64) -> String {
    let millis = at.assume_utc().unix_timestamp_nanos() / 1_000_000;
    click_id(u64::try_from(millis).unwrap_or(0), random)
}

/// The click id for a click at `unix_millis`, with `random` supplying the
/// random part (its low 54 bits are used).
pub fn click_id(unix_millis: u64, random: u64) -> String {
    let mut id = [0u8; CLICK_ID_LEN];
    for (i, slot) in id[..TIME_CHARS].iter_mut().enumerate() {
        let shift = 6 * (TIME_CHARS - 1 - i);
        *slot = ALPHABET[((unix_millis >> shift) & 63) as usize];
    }
    for (i, slot) in id[TIME_CHARS..].iter_mut().enumerate() {
        *slot = ALPHABET[((random >> (6 * i)) & 63) as usize];
    }
    // Every byte comes from the ASCII alphabet above.
    id.iter().map(|&b| b as char).collect()
}

/// Whether `s` looks like a click id (length and alphabet; not that it exists).
pub fn is_click_id(s: &str) -> bool {
    s.len() == CLICK_ID_LEN && s.bytes().all(|b| ALPHABET.contains(&b))
}

/// When the click of id `s` happened (to the millisecond), if `s` is a
/// click id.
pub fn time_of(s: &str) -> Option<time::PrimitiveDateTime> {
    if !is_click_id(s) {
        return None;
    }
    let mut millis: i128 = 0;
    for b in s.bytes().take(TIME_CHARS) {
        let digit = ALPHABET.iter().position(|&a| a == b)?;
        millis = (millis << 6) | digit as i128;
    }
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(millis * 1_000_000).ok()?;
    Some(time::PrimitiveDateTime::new(at.date(), at.time()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn click_ids_have_sixteen_url_safe_characters() {
        let id = click_id(1_764_748_800_123, u64::MAX);
        assert_eq!(id.len(), 16);
        assert!(is_click_id(&id));
        assert!(id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    }

    #[test]
    fn later_clicks_sort_after_earlier_ones_whatever_the_random_part() {
        let t = 1_764_748_800_000u64;
        let ids = [click_id(t, u64::MAX), click_id(t + 1, 0), click_id(t + 64, 7), click_id(t + 86_400_000, 1)];
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(sorted, ids);
    }

    #[test]
    fn a_click_time_gives_the_id_of_its_millisecond() {
        let at = time::macros::datetime!(2025-12-03 08:00:00.123456);
        assert_eq!(click_id_at(at, 5), click_id(1_764_748_800_123, 5));
    }

    #[test]
    fn the_random_part_differs_between_clicks_of_one_millisecond() {
        let t = 1_764_748_800_000u64;
        assert_ne!(click_id(t, 1), click_id(t, 2));
        assert_eq!(click_id(t, 1)[..7], click_id(t, 2)[..7]);
    }

    #[test]
    fn other_strings_are_not_click_ids() {
        assert!(!is_click_id("short"));
        assert!(!is_click_id("0123456789abcde!"));
        assert!(is_click_id("0123456789abcdeF"));
    }

    #[test]
    fn a_click_id_tells_its_time_to_the_millisecond() {
        let at = time::macros::datetime!(2026-12-04 09:30:15.250);
        assert_eq!(time_of(&click_id_at(at, 12345)), Some(at));
        assert_eq!(time_of("not a click id"), None);
    }
}
