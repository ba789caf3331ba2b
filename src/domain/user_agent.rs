//! What kind of software opened a link, from its User-Agent.

/// Link-preview fetchers of messaging apps and social sites: they get the
/// Open Graph page, and their visit is not a click. Apple's iMessage
/// fetcher announces itself as Facebook's and Twitter's crawler; matching
/// those covers it.
const PREVIEW_FETCHERS: [&str; 12] = [
    "slackbot",
    "slack-imgproxy",
    "facebookexternalhit",
    "facebot",
    "whatsapp",
    "twitterbot",
    "linkedinbot",
    "telegrambot",
    "discordbot",
    "skypeuripreview",
    "pinterestbot",
    "redditbot",
];

/// Other automated clients: the redirect is served, the click is flagged.
const BOTS: [&str; 9] =
    ["bot", "crawler", "spider", "crawl", "slurp", "curl/", "wget/", "python-requests", "headlesschrome"];

/// What kind of software a User-Agent names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visitor {
    /// A person's browser: the click counts.
    Browser,
    /// A messaging app fetching a link preview: gets the Open Graph page.
    LinkPreview,
    /// Another automated client: redirected, the click flagged.
    Bot,
}

impl Visitor {
    /// Classifies a User-Agent in one pass over one lowercased copy (this
    /// runs on every redirect). An empty User-Agent is a bot.
    pub fn of(user_agent: &str) -> Self {
        if user_agent.trim().is_empty() {
            return Self::Bot;
        }
        // Lowercased on the stack: user agents the redirect sees are short.
        let mut stack = [0u8; 512];
        let heap;
        let ua: &[u8] = if user_agent.len() <= stack.len() {
            let buf = &mut stack[..user_agent.len()];
            buf.copy_from_slice(user_agent.as_bytes());
            buf.make_ascii_lowercase();
            buf
        } else {
            heap = user_agent.to_ascii_lowercase();
            heap.as_bytes()
        };
        // Lowercasing ASCII letters keeps UTF-8 valid.
        let ua = std::str::from_utf8(ua).unwrap_or_default();
        let has = |needle: &str| ua.contains(needle);
        if PREVIEW_FETCHERS.iter().any(|p| has(p)) {
            Self::LinkPreview
        } else if BOTS.iter().any(|b| has(b)) {
            Self::Bot
        } else {
            Self::Browser
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messaging_app_previews_are_recognised() {
        for ua in [
            "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
            "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
            "WhatsApp/2.23.20.0 A",
            "Twitterbot/1.0",
            "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
            "TelegramBot (like TwitterBot)",
            "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_1) AppleWebKit/601.2.4 (KHTML, like Gecko) Version/9.0.1 Safari/601.2.4 facebookexternalhit/1.1 Facebot Twitterbot/1.0",
        ] {
            assert_eq!(Visitor::of(ua), Visitor::LinkPreview, "{ua}");
        }
    }

    #[test]
    fn browsers_are_people_and_scripts_are_bots() {
        let safari = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
        assert_eq!(Visitor::of(safari), Visitor::Browser);
        assert_eq!(Visitor::of("curl/8.4.0"), Visitor::Bot);
        assert_eq!(Visitor::of("Googlebot/2.1"), Visitor::Bot);
        assert_eq!(Visitor::of(""), Visitor::Bot);
    }

    #[test]
    fn long_user_agents_are_classified_too() {
        let long = format!("{} Twitterbot/1.0", "x".repeat(600));
        assert_eq!(Visitor::of(&long), Visitor::LinkPreview);
        assert_eq!(Visitor::of(&"Mozilla ".repeat(100)), Visitor::Browser);
        assert_eq!(Visitor::of("  "), Visitor::Bot);
    }
}
