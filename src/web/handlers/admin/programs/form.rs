//! The program form: what a marketer types, turned into the JSON that
//! `PUT /api/v1/programs/…` takes, so that `parse_config` is the one
//! validation of both; and its field errors put back beside the inputs.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::domain::ProgramSlug;
use crate::domain::program::{ConfigError, ProgramConfig, parse_config};
use crate::web::forms::FormErrors;

/// The form's fields as typed, kept verbatim to fill the form again.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ProgramForm {
    pub name: String,
    pub slug: String,
    pub destination_url: String,
    pub allowed_hosts: String,
    pub window_days: String,
    pub model: String,
    pub headline: String,
    pub body: String,
    pub referee_offer: String,
    pub image_url: String,
    pub share_default: String,
    pub share_whatsapp: String,
    pub share_email_subject: String,
}

/// A slug the admin's own routes use; a program with it would hide a page.
const RESERVED_SLUGS: [&str; 1] = ["new"];

impl ProgramForm {
    /// The form filled with `config`, for editing (or, with the defaults,
    /// for a new program).
    pub fn from_config(slug: &str, c: &ProgramConfig) -> Self {
        Self {
            name: c.name.clone(),
            slug: slug.to_string(),
            destination_url: c.destination_url.clone(),
            allowed_hosts: c.allowed_hosts.join("\n"),
            window_days: c.attribution.window_days.to_string(),
            model: c.attribution.model.as_str().to_string(),
            headline: c.landing.headline.clone(),
            body: c.landing.body.clone(),
            referee_offer: c.landing.referee_offer.clone(),
            image_url: c.landing.image_url.clone().unwrap_or_default(),
            share_default: c.share_text.default.clone(),
            share_whatsapp: c.share_text.whatsapp.clone().unwrap_or_default(),
            share_email_subject: c.share_text.email_subject.clone().unwrap_or_default(),
        }
    }

    /// A blank form with the defaults a new program gets.
    pub fn blank() -> Self {
        let defaults = ProgramConfig {
            name: String::new(),
            status: Default::default(),
            destination_url: String::new(),
            allowed_hosts: Vec::new(),
            attribution: Default::default(),
            landing: Default::default(),
            share_text: Default::default(),
            rewards: Vec::new(),
            caps: Default::default(),
            fraud: Default::default(),
            asks: Default::default(),
            emails: Default::default(),
        };
        Self::from_config("", &defaults)
    }

    /// The allowed hosts, one per line or separated by commas.
    pub fn hosts(&self) -> Vec<String> {
        self.allowed_hosts.split([',', '\n']).map(str::trim).filter(|h| !h.is_empty()).map(str::to_string).collect()
    }

    /// The slug of a new program: as typed, or made from the name.
    pub fn new_slug(&self, errors: &mut FormErrors) -> Option<ProgramSlug> {
        let typed = self.slug.trim();
        let slug = if typed.is_empty() {
            match ProgramSlug::from_name(&self.name) {
                Some(slug) => slug,
                None => {
                    // A blank name has its own error; a name without two
                    // letters or digits needs a slug typed in.
                    if !self.name.trim().is_empty() {
                        errors.add(
                            "slug",
                            "cannot be made from this name; enter one: 2 to 64 lowercase letters, digits and dashes",
                        );
                    }
                    return None;
                }
            }
        } else {
            match ProgramSlug::parse(typed) {
                Ok(slug) => slug,
                Err(e) => {
                    errors.add("slug", e);
                    return None;
                }
            }
        };
        if RESERVED_SLUGS.contains(&slug.as_str()) {
            errors.add("slug", format!("“{slug}” is reserved; choose another"));
            return None;
        }
        Some(slug)
    }

    /// `base` (the stored configuration, or `{}` for a new program) with
    /// the form's fields written over it, validated by `parse_config`.
    /// Every problem is added to `errors` beside its input.
    pub fn to_config(&self, mut base: Value, errors: &mut FormErrors) -> Option<ProgramConfig> {
        if !base.is_object() {
            base = json!({});
        }
        let root = base.as_object_mut()?;
        root.insert("name".into(), json!(self.name));
        root.insert("destination_url".into(), json!(self.destination_url.trim()));
        root.insert("allowed_hosts".into(), json!(self.hosts()));

        let attribution = object(root, "attribution");
        // A number the form cannot even read is refused here; the range is
        // parse_config's to check, as for the API.
        match self.window_days.trim().parse::<u32>() {
            Ok(days) => {
                attribution.insert("window_days".into(), json!(days));
            }
            Err(_) => errors.add("window_days", "enter a whole number of days from 1 to 365"),
        }
        attribution.insert("model".into(), json!(self.model));

        let landing = object(root, "landing");
        landing.insert("headline".into(), json!(self.headline));
        landing.insert("body".into(), json!(self.body));
        landing.insert("referee_offer".into(), json!(self.referee_offer));
        landing.insert("image_url".into(), optional(&self.image_url));

        let share = object(root, "share_text");
        share.insert("default".into(), json!(self.share_default));
        share.insert("whatsapp".into(), optional(&self.share_whatsapp));
        share.insert("email_subject".into(), optional(&self.share_email_subject));

        match parse_config(&base) {
            Ok(config) if errors.is_empty() => Some(config),
            Ok(_) => None,
            Err(ConfigError(found)) => {
                let hosts = self.hosts();
                let mut merged: Vec<(&'static str, String)> = Vec::new();
                for e in found {
                    match form_field(&e.field) {
                        Some(input) => {
                            let message = match host_index(&e.field).and_then(|i| hosts.get(i)) {
                                Some(host) => format!("“{host}” {}", e.message),
                                None => e.message,
                            };
                            match merged.iter_mut().find(|(f, _)| *f == input) {
                                Some((_, m)) => {
                                    m.push_str("; ");
                                    m.push_str(&message);
                                }
                                None => merged.push((input, message)),
                            }
                        }
                        None => {
                            let line = format!("{}: {}", e.field, e.message);
                            errors.general = Some(match errors.general.take() {
                                Some(g) => format!("{g}; {line}"),
                                None => format!(
                                    "Settings this form does not show are invalid; fix them through the API first. {line}"
                                ),
                            });
                        }
                    }
                }
                for (input, message) in merged {
                    errors.add(input, message);
                }
                None
            }
        }
    }
}

/// The object at `key` in `root`, made empty if it is missing or not one.
fn object<'a>(root: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let slot = root.entry(key.to_string()).or_insert_with(|| json!({}));
    if !slot.is_object() {
        *slot = json!({});
    }
    slot.as_object_mut().expect("just made an object")
}

/// A blank optional text is `null`, as the API writes "not set".
fn optional(text: &str) -> Value {
    let trimmed = text.trim();
    if trimmed.is_empty() { Value::Null } else { json!(text) }
}

fn host_index(path: &str) -> Option<usize> {
    path.strip_prefix("allowed_hosts[")?.strip_suffix(']')?.parse().ok()
}

/// The input beside which an error of the configuration path `path` shows;
/// `None` for parts of the configuration the form does not edit.
pub fn form_field(path: &str) -> Option<&'static str> {
    Some(match path {
        "name" => "name",
        "destination_url" => "destination_url",
        p if p == "allowed_hosts" || p.starts_with("allowed_hosts[") => "allowed_hosts",
        "attribution" | "attribution.window_days" => "window_days",
        "attribution.model" => "model",
        "landing.headline" => "headline",
        "landing.body" => "body",
        "landing.referee_offer" => "referee_offer",
        "landing.image_url" => "image_url",
        "share_text.default" => "share_default",
        "share_text.whatsapp" => "share_whatsapp",
        "share_text.email_subject" => "share_email_subject",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> ProgramForm {
        ProgramForm {
            name: "Acme friends".into(),
            destination_url: "https://acme.example/signup".into(),
            ..ProgramForm::blank()
        }
    }

    #[test]
    fn a_filled_form_becomes_the_configuration_the_api_would_store() {
        let mut errors = FormErrors::new();
        let f = ProgramForm {
            allowed_hosts: "acme.example, www.acme.example\nshop.acme.example".into(),
            model: "first_click".into(),
            window_days: " 45 ".into(),
            image_url: "  ".into(),
            share_whatsapp: "Join me: {link}".into(),
            ..form()
        };
        let c = f.to_config(json!({}), &mut errors).expect("valid");
        assert!(errors.is_empty());
        assert_eq!(c.allowed_hosts, vec!["acme.example", "www.acme.example", "shop.acme.example"]);
        assert_eq!(c.attribution.window_days, 45);
        assert_eq!(c.attribution.model.as_str(), "first_click");
        assert_eq!(c.landing.image_url, None);
        assert_eq!(c.share_text.whatsapp.as_deref(), Some("Join me: {link}"));
        assert_eq!(c.share_text.email_subject, None);
    }

    #[test]
    fn configuration_paths_map_to_the_inputs_beside_which_errors_show() {
        assert_eq!(form_field("landing.image_url"), Some("image_url"));
        assert_eq!(form_field("attribution.window_days"), Some("window_days"));
        assert_eq!(form_field("allowed_hosts[2]"), Some("allowed_hosts"));
        assert_eq!(form_field("share_text.email_subject"), Some("share_email_subject"));
        assert_eq!(form_field("rewards[0].menu"), None);
    }

    #[test]
    fn each_error_lands_beside_its_input_and_a_bad_host_is_named() {
        let mut errors = FormErrors::new();
        let f = ProgramForm {
            allowed_hosts: "acme.example\nbad host!".into(),
            window_days: "0".into(),
            image_url: "http://img.example/a.png".into(),
            ..form()
        };
        assert!(f.to_config(json!({}), &mut errors).is_none());
        assert_eq!(errors.get("window_days"), Some("use 1 to 365 days"));
        assert_eq!(errors.get("image_url"), Some("use an https:// address of an image"));
        assert!(errors.get("allowed_hosts").is_some_and(|m| m.contains("“bad host!”")), "{errors:?}");
    }

    #[test]
    fn an_unreadable_number_is_refused_and_the_rest_still_validated() {
        let mut errors = FormErrors::new();
        let f = ProgramForm { window_days: "-3".into(), destination_url: "ftp://acme.example/".into(), ..form() };
        assert!(f.to_config(json!({}), &mut errors).is_none());
        assert!(errors.has("window_days"));
        assert_eq!(errors.get("destination_url"), Some("only http:// and https:// addresses are allowed"));
    }

    #[test]
    fn fields_the_form_does_not_show_are_kept_from_the_base() {
        let mut errors = FormErrors::new();
        let base = json!({"name": "Old", "destination_url": "https://acme.example/", "status": "paused",
                          "fraud": {"same_ip": "reject"}});
        let c = form().to_config(base, &mut errors).expect("valid");
        assert_eq!(c.name, "Acme friends");
        assert_eq!(c.status.as_str(), "paused");
        assert_eq!(c.fraud.same_ip, crate::domain::program::FraudAction::Reject);
    }

    #[test]
    fn a_blank_slug_is_made_from_the_name_and_reserved_ones_are_refused() {
        let mut errors = FormErrors::new();
        assert_eq!(form().new_slug(&mut errors).unwrap().as_str(), "acme-friends");
        let reserved = ProgramForm { slug: "new".into(), ..form() };
        assert!(reserved.new_slug(&mut errors).is_none());
        assert!(errors.get("slug").is_some_and(|m| m.contains("reserved")));
        let mut errors = FormErrors::new();
        let symbols = ProgramForm { name: "!!".into(), ..form() };
        assert!(symbols.new_slug(&mut errors).is_none());
        assert!(errors.has("slug"));
    }
}
