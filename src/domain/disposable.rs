//! Disposable email domains: the bundled public list in
//! `data/disposable_email_domains.txt` (source, licence and date in its
//! header), compiled into the binary and read once. A listed domain also
//! covers its subdomains (`x.mailinator.com`). The fraud checks ask it
//! whether a referee's address is a throwaway one.

use std::collections::HashSet;
use std::sync::OnceLock;

const BUNDLED: &str = include_str!("../../data/disposable_email_domains.txt");

/// A set of disposable domains.
#[derive(Debug, Default)]
pub struct DisposableDomains {
    domains: HashSet<&'static str>,
}

impl DisposableDomains {
    /// The bundled list, parsed on first use.
    pub fn bundled() -> &'static Self {
        static LIST: OnceLock<DisposableDomains> = OnceLock::new();
        LIST.get_or_init(|| Self::parse(BUNDLED))
    }

    /// One domain per line; `#` comments and blank lines are skipped.
    fn parse(text: &'static str) -> Self {
        let domains = text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
        Self { domains }
    }

    /// Where the bundled list comes from: its header's `#` lines (source,
    /// licence, date), joined.
    pub fn source() -> String {
        BUNDLED.lines().map_while(|l| l.strip_prefix('#')).map(str::trim).collect::<Vec<_>>().join(" ")
    }

    pub fn len(&self) -> usize {
        self.domains.len()
    }

    pub fn is_empty(&self) -> bool {
        self.domains.is_empty()
    }

    /// Whether `domain` (any case, a trailing dot allowed) or one of its
    /// parent domains is listed.
    pub fn contains(&self, domain: &str) -> bool {
        let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
        let mut rest = domain.as_str();
        loop {
            if self.domains.contains(rest) {
                return true;
            }
            match rest.split_once('.') {
                Some((_, parent)) if parent.contains('.') => rest = parent,
                _ => return false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_list_knows_throwaway_domains_and_their_subdomains() {
        let list = DisposableDomains::bundled();
        assert!(list.len() > 5_000, "the whole list is bundled");
        assert!(list.contains("mailinator.com"));
        assert!(list.contains("Inbox.Mailinator.COM."));
        assert!(!list.contains("gmail.com"));
        assert!(!list.contains("example.com"));
        // A parent that is only a top-level domain is never matched.
        assert!(!list.contains("com"));
    }
}
