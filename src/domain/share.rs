//! Share texts with `{link}`, `{name}` and `{offer}`, and the one-tap
//! share addresses of each messaging channel.

use url::form_urlencoded::byte_serialize;

/// What the placeholders stand for.
pub struct ShareValues<'a> {
    /// The participant's short link (with `?c=channel` where known).
    pub link: &'a str,
    /// The participant's first name.
    pub name: &'a str,
    /// The referee's offer from the landing copy.
    pub offer: &'a str,
}

/// Fills the placeholders and tidies the spaces left by empty ones. A text
/// without `{link}` gets the link appended: a share without it is useless.
pub fn render(template: &str, values: &ShareValues<'_>) -> String {
    let filled =
        template.replace("{link}", values.link).replace("{name}", values.name).replace("{offer}", values.offer);
    let mut tidy = filled.split_whitespace().collect::<Vec<_>>().join(" ");
    if !template.contains("{link}") {
        tidy.push(' ');
        tidy.push_str(values.link);
    }
    tidy
}

fn enc(s: &str) -> String {
    byte_serialize(s.as_bytes()).collect::<String>().replace('+', "%20")
}

/// A one-tap share target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareTarget {
    /// The channel recorded on clicks of links shared this way.
    pub channel: &'static str,
    pub label: &'static str,
    pub href: String,
}

/// The share targets for a participant: email, SMS, WhatsApp, LinkedIn and X.
/// `link_for(channel)` gives the link tagged with its channel, so clicks
/// show where they came from.
pub fn targets(
    text_for: impl Fn(&'static str, &str) -> String,
    link_for: impl Fn(&'static str) -> String,
    email_subject: &str,
) -> Vec<ShareTarget> {
    let email_link = link_for("email");
    let sms_link = link_for("sms");
    let wa_link = link_for("whatsapp");
    let li_link = link_for("linkedin");
    let x_link = link_for("x");
    vec![
        ShareTarget {
            channel: "email",
            label: "Email",
            href: format!("mailto:?subject={}&body={}", enc(email_subject), enc(&text_for("email", &email_link))),
        },
        ShareTarget { channel: "sms", label: "SMS", href: format!("sms:?&body={}", enc(&text_for("sms", &sms_link))) },
        ShareTarget {
            channel: "whatsapp",
            label: "WhatsApp",
            href: format!("https://wa.me/?text={}", enc(&text_for("whatsapp", &wa_link))),
        },
        ShareTarget {
            channel: "linkedin",
            label: "LinkedIn",
            href: format!("https://www.linkedin.com/sharing/share-offsite/?url={}", enc(&li_link)),
        },
        ShareTarget {
            channel: "x",
            label: "X",
            href: format!("https://x.com/intent/post?text={}", enc(&text_for("x", &x_link))),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_and_spaces_tidied() {
        let v = ShareValues { link: "https://r.example/r/Ab3dEf9h", name: "Jane", offer: "" };
        assert_eq!(render("Hi, {name} here. {offer} {link}", &v), "Hi, Jane here. https://r.example/r/Ab3dEf9h");
        assert_eq!(render("I like Acme", &v), "I like Acme https://r.example/r/Ab3dEf9h");
    }

    #[test]
    fn share_targets_carry_the_text_and_the_channel_tagged_link() {
        let t = targets(
            |_, link| format!("Try Acme & see: {link}"),
            |c| format!("https://r.example/r/Ab3dEf9h?c={c}"),
            "A gift for you",
        );
        let wa = t.iter().find(|t| t.channel == "whatsapp").unwrap();
        assert_eq!(
            wa.href,
            "https://wa.me/?text=Try%20Acme%20%26%20see%3A%20https%3A%2F%2Fr.example%2Fr%2FAb3dEf9h%3Fc%3Dwhatsapp"
        );
        let mail = t.iter().find(|t| t.channel == "email").unwrap();
        assert!(mail.href.starts_with("mailto:?subject=A%20gift%20for%20you&body="));
        assert_eq!(t.len(), 5);
    }
}
