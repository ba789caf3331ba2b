//! The channel a link was shared on (`?c=whatsapp`).

/// A channel name as recorded on a click: 1–32 of `a-z 0-9 _ -`,
/// lower-cased. Anything else is not recorded (the click still counts).
pub fn parse_channel(raw: &str) -> Option<String> {
    let c = raw.trim().to_ascii_lowercase();
    let ok = (1..=32).contains(&c.len())
        && c.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    ok.then_some(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_are_short_lowercase_words() {
        assert_eq!(parse_channel("WhatsApp").as_deref(), Some("whatsapp"));
        assert_eq!(parse_channel("e-mail_2").as_deref(), Some("e-mail_2"));
        assert_eq!(parse_channel(""), None);
        assert_eq!(parse_channel("<script>"), None);
        assert_eq!(parse_channel(&"x".repeat(33)), None);
    }
}
