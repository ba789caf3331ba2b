//! What an email says, as a view: a greeting, paragraphs, one action
//! button, a few labelled details and the footer; rendered as the askama
//! pair `email/message.html` and `email/message.txt` (sent together as
//! multipart/alternative). Every kind of email fills this one shape, so
//! every email looks alike and escapes alike.

use askama::Template;

/// The button of an email (a link in the text part).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    pub label: String,
    pub url: String,
}

/// One email's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub subject: String,
    pub greeting: String,
    pub paragraphs: Vec<String>,
    pub action: Option<Action>,
    /// Labelled values shown as a list ("Your link", the coupon code).
    pub details: Vec<(String, String)>,
    /// Who sends it ("Acme friends").
    pub signature: String,
    /// Why the recipient gets it, for the footer.
    pub reason: String,
    /// The one-click unsubscribe page of this kind, if it can be turned off.
    pub unsubscribe_url: Option<String>,
}

#[derive(Template)]
#[template(path = "email/message.html")]
struct HtmlPart<'a> {
    m: &'a Message,
}

#[derive(Template)]
#[template(path = "email/message.txt")]
struct TextPart<'a> {
    m: &'a Message,
}

impl Message {
    /// The text and HTML parts.
    pub fn render(&self) -> Result<(String, String), askama::Error> {
        Ok((TextPart { m: self }.render()?, HtmlPart { m: self }.render()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_parts_carry_the_content_and_the_html_escapes_names() {
        let m = Message {
            subject: "Welcome".into(),
            greeting: "Hi <b>Jane</b>,".into(),
            paragraphs: vec!["Share your link.".into()],
            action: Some(Action { label: "Open your page".into(), url: "https://x.example/p/t?a=1&b=2".into() }),
            details: vec![("Your link".into(), "https://x.example/r/abc".into())],
            signature: "Acme friends".into(),
            reason: "You are enrolled in Acme friends.".into(),
            unsubscribe_url: Some("https://x.example/u/tok".into()),
        };
        let (text, html) = m.render().unwrap();
        assert!(text.contains("Hi <b>Jane</b>,") && text.contains("Open your page: https://x.example/p/t?a=1&b=2"));
        assert!(text.contains("https://x.example/u/tok"));
        assert!(html.contains("Hi &#60;b&#62;Jane&#60;/b&#62;,") || html.contains("Hi &lt;b&gt;Jane&lt;/b&gt;,"));
        assert!(!html.contains("<b>Jane</b>"), "a name is escaped in HTML");
        assert!(html.contains("href=\"https://x.example/p/t?a=1&#38;b=2\"") || html.contains("a=1&amp;b=2"));
    }
}
