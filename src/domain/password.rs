//! The password policy for admin accounts.

/// A password that satisfies the policy; not yet hashed.
#[derive(Clone, PartialEq, Eq)]
pub struct NewPassword(String);

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(***)")
    }
}

pub const MIN_PASSWORD_CHARS: usize = 8;
/// Long enough for passphrases and password managers; bounded so that a
/// megabyte "password" cannot make argon2 a denial-of-service lever.
pub const MAX_PASSWORD_CHARS: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("use at least {MIN_PASSWORD_CHARS} characters")]
    TooShort,
    #[error("use at most {MAX_PASSWORD_CHARS} characters")]
    TooLong,
}

impl NewPassword {
    pub fn parse(raw: &str) -> Result<Self, PasswordError> {
        let chars = raw.chars().count();
        if chars < MIN_PASSWORD_CHARS {
            Err(PasswordError::TooShort)
        } else if chars > MAX_PASSWORD_CHARS {
            Err(PasswordError::TooLong)
        } else {
            Ok(Self(raw.to_string()))
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_limits_are_counted_in_characters() {
        assert_eq!(NewPassword::parse("1234567"), Err(PasswordError::TooShort));
        assert!(NewPassword::parse("12345678").is_ok());
        assert!(NewPassword::parse(&"é".repeat(64)).is_ok());
        assert!(NewPassword::parse(&"x".repeat(128)).is_ok());
        assert_eq!(NewPassword::parse(&"x".repeat(129)), Err(PasswordError::TooLong));
    }
}
