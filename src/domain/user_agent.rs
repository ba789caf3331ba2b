//! What kind of software opened a link, from its User-Agent.

/// The names looked for in a User-Agent, without regard to case, grouped
/// by first letter (see [`BY_LETTER`]).
///
/// Link-preview fetchers of messaging apps and social sites get the Open
/// Graph page, and their visit is not a click. Apple's iMessage fetcher
/// announces itself as Facebook's and Twitter's crawler; matching those
/// covers it. Other automated clients are redirected, the click flagged.
const NAMES: [(&str, Visitor); 20] = [
    ("bot", Visitor::Bot),
    ("crawl", Visitor::Bot),
    ("curl/", Visitor::Bot),
    ("discordbot", Visitor::LinkPreview),
    ("facebookexternalhit", Visitor::LinkPreview),
    ("facebot", Visitor::LinkPreview),
    ("headlesschrome", Visitor::Bot),
    ("linkedinbot", Visitor::LinkPreview),
    ("pinterestbot", Visitor::LinkPreview),
    ("python-requests", Visitor::Bot),
    ("redditbot", Visitor::LinkPreview),
    ("slackbot", Visitor::LinkPreview),
    ("slack-imgproxy", Visitor::LinkPreview),
    ("skypeuripreview", Visitor::LinkPreview),
    ("spider", Visitor::Bot),
    ("slurp", Visitor::Bot),
    ("twitterbot", Visitor::LinkPreview),
    ("telegrambot", Visitor::LinkPreview),
    ("whatsapp", Visitor::LinkPreview),
    ("wget/", Visitor::Bot),
];

/// For each letter a–z, the range of [`NAMES`] that begin with it.
const BY_LETTER: [(usize, usize); 26] = by_letter();

/// For each byte, the second letters of the names that begin with it (in
/// either case), as bits: most positions of a browser's User-Agent are
/// passed over after one table read.
const SECOND_LETTERS: [u32; 256] = second_letters();

const fn second_letters() -> [u32; 256] {
    let mut bits = [0u32; 256];
    let mut i = 0;
    while i < NAMES.len() {
        let name = NAMES[i].0.as_bytes();
        bits[name[0] as usize] |= 1 << (name[1] - b'a');
        bits[name[0].to_ascii_uppercase() as usize] |= 1 << (name[1] - b'a');
        i += 1;
    }
    bits
}

const fn by_letter() -> [(usize, usize); 26] {
    let mut ranges = [(0, 0); 26];
    let mut i = 0;
    while i < NAMES.len() {
        let letter = (NAMES[i].0.as_bytes()[0] - b'a') as usize;
        // Two letters at least, and grouped by the first: a letter's range
        // only grows at its end.
        assert!(NAMES[i].0.len() >= 2 && NAMES[i].0.as_bytes()[1].is_ascii_lowercase());
        assert!(ranges[letter].1 == 0 || ranges[letter].1 == i, "NAMES must be grouped by first letter");
        if ranges[letter].1 == 0 {
            ranges[letter].0 = i;
        }
        ranges[letter].1 = i + 1;
        i += 1;
    }
    ranges
}

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
    /// Classifies a User-Agent in one pass (this runs on every redirect):
    /// a position is compared with the names that begin with its letter,
    /// and only where the next letter can follow it. An empty User-Agent is
    /// a bot.
    pub fn of(user_agent: &str) -> Self {
        if user_agent.trim().is_empty() {
            return Self::Bot;
        }
        let ua = user_agent.as_bytes();
        let mut found = Self::Browser;
        for (i, pair) in ua.windows(2).enumerate() {
            let seconds = SECOND_LETTERS[usize::from(pair[0])];
            if seconds == 0 {
                continue;
            }
            let second = pair[1].to_ascii_lowercase();
            if !second.is_ascii_lowercase() || seconds & (1 << (second - b'a')) == 0 {
                continue;
            }
            let (from, to) = BY_LETTER[usize::from(pair[0].to_ascii_lowercase() - b'a')];
            let rest = &ua[i..];
            for (name, kind) in &NAMES[from..to] {
                if rest.get(..name.len()).is_some_and(|r| r.eq_ignore_ascii_case(name.as_bytes())) {
                    // A preview fetcher wins over the bot names it contains.
                    if *kind == Self::LinkPreview {
                        return Self::LinkPreview;
                    }
                    found = Self::Bot;
                }
            }
        }
        found
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

    #[test]
    fn every_name_is_found_anywhere_in_any_case() {
        for (name, kind) in NAMES {
            for ua in [
                name.to_string(),
                format!("Mozilla/5.0 (Linux; Android 14) {}/2.1", name.to_ascii_uppercase()),
                format!("Mozilla/5.0 (compatible; {name}"),
            ] {
                assert_eq!(Visitor::of(&ua), kind, "{ua}");
            }
        }
        // Preview fetchers win over the bot names they contain, wherever
        // the bot name comes first.
        assert_eq!(Visitor::of("crawler-bot then WhatsApp/2"), Visitor::LinkPreview);
        assert_eq!(
            Visitor::of("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0 Safari/537.36"),
            Visitor::Browser
        );
        assert_eq!(Visitor::of("Mozilla/5.0 (X11; Linux) Firefox/128.0 – ünïcode"), Visitor::Browser);
    }
}
