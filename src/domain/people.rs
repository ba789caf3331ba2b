//! How people's names are shown: first names to referees, masked names of
//! referees to participants.

/// The first word of a name, for "Jane invited you".
pub fn first_name(full: &str) -> Option<&str> {
    full.split_whitespace().next()
}

/// "John Smith" → "Jo… S."; "Ann" → "An…"; nothing → "Someone". Enough for
/// a participant to recognise a friend, not enough to identify a stranger.
pub fn mask_name(full: &str) -> String {
    let mut words = full.split_whitespace();
    let Some(first) = words.next() else {
        return "Someone".into();
    };
    let head: String = first.chars().take(2).collect();
    match words.last().and_then(|w| w.chars().next()) {
        Some(initial) => format!("{head}… {}.", initial.to_uppercase()),
        None => format!("{head}…"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_masked_to_two_letters_and_an_initial() {
        assert_eq!(mask_name("John Smith"), "Jo… S.");
        assert_eq!(mask_name("  maria  de la cruz "), "ma… C.");
        assert_eq!(mask_name("Ann"), "An…");
        assert_eq!(mask_name("Łukasz Żak"), "Łu… Ż.");
        assert_eq!(mask_name(""), "Someone");
    }

    #[test]
    fn first_name_is_the_first_word() {
        assert_eq!(first_name("Jane Q. Doe"), Some("Jane"));
        assert_eq!(first_name("   "), None);
    }
}
