//! Email addresses, checked for shape and kept in a canonical form.

use std::fmt;

/// A syntactically plausible email address, trimmed and lower-cased.
///
/// Deliverability is not checked here (that would take a network call); the
/// shape check refuses what is certainly not an address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

/// Why a string is not an email address; shown beside the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("enter an email address")]
    Empty,
    #[error("an email address has one @ with text on both sides")]
    Shape,
    #[error("an email address is at most 254 characters")]
    TooLong,
    #[error("the part after @ must be a domain such as example.com")]
    Domain,
}

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(EmailError::Empty);
        }
        if trimmed.len() > 254 {
            return Err(EmailError::TooLong);
        }
        if trimmed.chars().any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>') {
            return Err(EmailError::Shape);
        }
        let (local, domain) = trimmed.rsplit_once('@').ok_or(EmailError::Shape)?;
        if local.is_empty() || local.contains('@') || local.len() > 64 {
            return Err(EmailError::Shape);
        }
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if !domain_ok {
            return Err(EmailError::Domain);
        }
        Ok(Self(trimmed.to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or_default()
    }

    /// The form two addresses of one mailbox share: `+tag` removed, and for
    /// Gmail dots removed and `googlemail.com` read as `gmail.com`. Used to
    /// match people (idempotent enrolment, self-referral), never to send.
    pub fn normalized(&self) -> String {
        let (local, domain) = self.0.rsplit_once('@').unwrap_or((&self.0, ""));
        let local = local.split('+').next().unwrap_or(local);
        let domain = if domain == "googlemail.com" { "gmail.com" } else { domain };
        let local = if domain == "gmail.com" { local.replace('.', "") } else { local.to_string() };
        format!("{local}@{domain}")
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_trimmed_and_lowercased() {
        assert_eq!(EmailAddress::parse("  Ann@Example.COM ").unwrap().as_str(), "ann@example.com");
    }

    #[test]
    fn malformed_addresses_are_refused_with_a_reason() {
        assert_eq!(EmailAddress::parse(""), Err(EmailError::Empty));
        assert_eq!(EmailAddress::parse("ann"), Err(EmailError::Shape));
        assert_eq!(EmailAddress::parse("@example.com"), Err(EmailError::Shape));
        assert_eq!(EmailAddress::parse("ann@localhost"), Err(EmailError::Domain));
        assert_eq!(EmailAddress::parse("ann@exa..mple.com"), Err(EmailError::Domain));
        assert_eq!(EmailAddress::parse("a nn@example.com"), Err(EmailError::Shape));
        assert_eq!(EmailAddress::parse("ann@example.com\r\nBcc: x@y.z"), Err(EmailError::Shape));
    }

    #[test]
    fn gmail_addresses_normalise_to_one_mailbox() {
        let e = EmailAddress::parse("A.B+x@GoogleMail.com").unwrap();
        assert_eq!(e.normalized(), "ab@gmail.com");
    }

    #[test]
    fn other_domains_keep_dots_but_lose_tags() {
        let e = EmailAddress::parse("first.last+promo@example.org").unwrap();
        assert_eq!(e.normalized(), "first.last@example.org");
    }
}
