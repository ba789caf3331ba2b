//! Program slugs: the `{program}` in `/join/{program}` and the API paths.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProgramSlug(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlugError {
    #[error("use 2 to 64 characters: lowercase letters, digits and dashes")]
    Shape,
    #[error("“new” is reserved; choose another")]
    Reserved,
}

impl ProgramSlug {
    pub fn parse(raw: &str) -> Result<Self, SlugError> {
        let ok = (2..=64).contains(&raw.len())
            && raw.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !raw.starts_with('-')
            && !raw.ends_with('-');
        if !ok {
            return Err(SlugError::Shape);
        }
        // "new" would hide the admin's /admin/programs/new page.
        if raw == "new" {
            return Err(SlugError::Reserved);
        }
        Ok(Self(raw.to_string()))
    }

    /// A slug made from a program name: "Acme Friends!" → "acme-friends".
    pub fn from_name(name: &str) -> Option<Self> {
        let mut slug = String::new();
        for c in name.to_lowercase().chars() {
            if c.is_ascii_alphanumeric() {
                slug.push(c);
            } else if !slug.ends_with('-') && !slug.is_empty() {
                slug.push('-');
            }
        }
        let slug: String = slug.trim_end_matches('-').chars().take(64).collect();
        Self::parse(slug.trim_end_matches('-')).ok()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProgramSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_lowercase_words_joined_by_dashes() {
        assert!(ProgramSlug::parse("acme-friends").is_ok());
        assert!(ProgramSlug::parse("Acme").is_err());
        assert!(ProgramSlug::parse("a").is_err());
        assert!(ProgramSlug::parse("-acme").is_err());
        assert_eq!(ProgramSlug::parse("new"), Err(SlugError::Reserved));
        assert_eq!(ProgramSlug::from_name("Acme Friends!").unwrap().as_str(), "acme-friends");
        assert_eq!(ProgramSlug::from_name("  Spring 2026 — VIP ").unwrap().as_str(), "spring-2026-vip");
        assert!(ProgramSlug::from_name("!!").is_none());
    }
}
