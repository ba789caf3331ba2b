//! Referral codes: random ones from an alphabet without look-alikes, and
//! vanity ones a marketer chooses.

use std::fmt;

/// `0 O 1 l I` are left out: a code read aloud or copied by hand survives.
pub const CODE_ALPHABET: [char; 57] = [
    '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'm', 'n', 'o', 'p',
    'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'J', 'K', 'L', 'M', 'N',
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z',
];
pub const CODE_LENGTH: usize = 8;

/// Words a vanity code may not be: they name routes or invite confusion.
const RESERVED: [&str; 24] = [
    "admin",
    "api",
    "join",
    "static",
    "assets",
    "login",
    "logout",
    "setup",
    "metrics",
    "healthz",
    "readyz",
    "portal",
    "ask",
    "new",
    "edit",
    "delete",
    "null",
    "undefined",
    "goodword",
    "support",
    "help",
    "root",
    "system",
    "www",
];

/// A referral code, random or vanity.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReferralCode(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("use 3 to 32 characters")]
    Length,
    #[error("use lowercase letters, digits and dashes only")]
    Characters,
    #[error("a code cannot start or end with a dash")]
    Dash,
    #[error("“{0}” is reserved; choose another code")]
    Reserved(String),
}

impl ReferralCode {
    /// A fresh random code (8 characters, about 47 bits).
    pub fn random() -> Self {
        Self(nanoid::nanoid!(CODE_LENGTH, &CODE_ALPHABET))
    }

    /// A vanity code: 3–32 of `a-z 0-9 -`, not a reserved word.
    pub fn vanity(raw: &str) -> Result<Self, CodeError> {
        let code = raw.trim().to_lowercase();
        if !(3..=32).contains(&code.len()) {
            return Err(CodeError::Length);
        }
        if !code.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
            return Err(CodeError::Characters);
        }
        if code.starts_with('-') || code.ends_with('-') {
            return Err(CodeError::Dash);
        }
        if RESERVED.contains(&code.as_str()) {
            return Err(CodeError::Reserved(code));
        }
        Ok(Self(code))
    }

    /// Splits an attribution cookie's value, `{code}.{click_id}` (what the
    /// short link sets as `gw_ref`), into its code and click id; the click
    /// id is only checked for length here.
    pub fn split_ref_value(value: &str) -> Option<(&str, &str)> {
        let (code, click) = value.split_once('.')?;
        (Self::plausible(code) && !click.is_empty() && click.len() <= 32).then_some((code, click))
    }

    /// Whether `raw` could be a code at all; the redirect refuses anything
    /// else before looking it up.
    pub fn plausible(raw: &str) -> bool {
        (3..=32).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for ReferralCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_codes_are_eight_characters_without_look_alikes() {
        for _ in 0..200 {
            let code = ReferralCode::random();
            assert_eq!(code.as_str().len(), 8);
            assert!(!code.as_str().contains(['0', 'O', '1', 'l', 'I']), "{code}");
            assert!(ReferralCode::plausible(code.as_str()));
        }
    }

    #[test]
    fn vanity_codes_follow_the_rules() {
        assert_eq!(ReferralCode::vanity("Jane-Doe").unwrap().as_str(), "jane-doe");
        assert_eq!(ReferralCode::vanity("ab"), Err(CodeError::Length));
        assert_eq!(ReferralCode::vanity(&"a".repeat(33)), Err(CodeError::Length));
        assert_eq!(ReferralCode::vanity("jane_doe"), Err(CodeError::Characters));
        assert_eq!(ReferralCode::vanity("-jane"), Err(CodeError::Dash));
        assert!(matches!(ReferralCode::vanity("admin"), Err(CodeError::Reserved(_))));
    }

    #[test]
    fn implausible_codes_are_refused_before_lookup() {
        assert!(!ReferralCode::plausible("a/b"));
        assert!(!ReferralCode::plausible(""));
        assert!(!ReferralCode::plausible(&"x".repeat(40)));
    }
}
