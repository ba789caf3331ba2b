//! Parsing a program configuration from JSON: types, unknown fields and
//! the rules between fields, every problem named by its path
//! (`landing.image_url`, `rewards[0].menu[1].amount`).

use std::collections::HashSet;

use serde_json::Value;

use super::{AskCondition, MenuKind, ProgramConfig, RewardTrigger};
use crate::domain::FieldError;
use crate::domain::destination::{normalize_host, parse_destination};

/// Why a configuration was refused: one entry per field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid program configuration")]
pub struct ConfigError(pub Vec<FieldError>);

/// Parses and validates a whole configuration; the result has its
/// defaults filled in and its hosts and currencies normalised.
pub fn parse_config(input: &Value) -> Result<ProgramConfig, ConfigError> {
    if !input.is_object() {
        return Err(ConfigError(vec![FieldError::new("body", "send a JSON object")]));
    }
    let mut config: ProgramConfig = serde_path_to_error::deserialize(input).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        ConfigError(vec![type_error(&path, &inner)])
    })?;
    let mut errors = Vec::new();
    // Fields the typed form does not have are the unknown ones: compare
    // the input with the configuration serialised back.
    let known = serde_json::to_value(&config).unwrap_or(Value::Null);
    unknown_fields(input, &known, "", &mut errors);
    validate(&mut config, &mut errors);
    if errors.is_empty() { Ok(config) } else { Err(ConfigError(errors)) }
}

fn type_error(path: &str, message: &str) -> FieldError {
    // serde names a missing field in its message, at the parent's path.
    if let Some(rest) = message.strip_prefix("missing field `")
        && let Some(name) = rest.split('`').next()
    {
        let field = if path == "." || path.is_empty() { name.to_string() } else { format!("{path}.{name}") };
        return FieldError::new(field, "is required");
    }
    let message = message.split(" at line ").next().unwrap_or(message);
    FieldError::new(if path == "." { "body" } else { path }, message)
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() { key.to_string() } else { format!("{prefix}.{key}") }
}

fn unknown_fields(input: &Value, known: &Value, path: &str, errors: &mut Vec<FieldError>) {
    match (input, known) {
        (Value::Object(given), Value::Object(expected)) => {
            for (key, value) in given {
                let here = join(path, key);
                match expected.get(key) {
                    None => errors.push(FieldError::new(here, "is not a known field")),
                    Some(k) => unknown_fields(value, k, &here, errors),
                }
            }
        }
        (Value::Array(given), Value::Array(expected)) => {
            for (i, (g, k)) in given.iter().zip(expected.iter()).enumerate() {
                unknown_fields(g, k, &format!("{path}[{i}]"), errors);
            }
        }
        _ => {}
    }
}

fn text(errors: &mut Vec<FieldError>, field: &str, value: &str, max: usize, required: bool) {
    if required && value.trim().is_empty() {
        errors.push(FieldError::new(field, "is required"));
    } else if value.chars().count() > max {
        errors.push(FieldError::new(field, format!("use at most {max} characters")));
    }
}

fn one_line(errors: &mut Vec<FieldError>, field: &str, value: &str) {
    if value.contains(['\r', '\n']) {
        errors.push(FieldError::new(field, "must be a single line"));
    }
}

fn is_currency(code: &str) -> bool {
    code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())
}

fn is_identifier(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

fn is_clock_time(t: &str) -> bool {
    let Some((h, m)) = t.split_once(':') else { return false };
    h.len() == 2 && m.len() == 2 && h.parse::<u8>().is_ok_and(|h| h < 24) && m.parse::<u8>().is_ok_and(|m| m < 60)
}

const MAX_AMOUNT: i64 = 1_000_000_000_000;

fn validate(c: &mut ProgramConfig, errors: &mut Vec<FieldError>) {
    text(errors, "name", &c.name, 120, true);
    one_line(errors, "name", &c.name);
    c.name = c.name.trim().to_string();

    let mut hosts = Vec::new();
    for (i, raw) in c.allowed_hosts.iter().enumerate() {
        match normalize_host(raw) {
            Some(h) if !hosts.contains(&h) => hosts.push(h),
            Some(_) => {}
            None => {
                errors.push(FieldError::new(format!("allowed_hosts[{i}]"), "is not a host name such as acme.example"))
            }
        }
    }
    if hosts.is_empty()
        && let Ok(url) = url::Url::parse(c.destination_url.trim())
        && let Some(h) = url.host_str().and_then(normalize_host)
    {
        hosts.push(h);
    }
    match parse_destination(&c.destination_url, &hosts) {
        Ok(url) => c.destination_url = url.to_string(),
        Err(e) => errors.push(FieldError::new("destination_url", e)),
    }
    c.allowed_hosts = hosts;

    if !(1..=365).contains(&c.attribution.window_days) {
        errors.push(FieldError::new("attribution.window_days", "use 1 to 365 days"));
    }

    text(errors, "landing.headline", &c.landing.headline, 200, true);
    text(errors, "landing.body", &c.landing.body, 5000, false);
    text(errors, "landing.referee_offer", &c.landing.referee_offer, 500, false);
    c.landing.image_url = c.landing.image_url.take().map(|u| u.trim().to_string()).filter(|u| !u.is_empty());
    if let Some(img) = &c.landing.image_url {
        match url::Url::parse(img) {
            Ok(u) if u.scheme() == "https" && u.host_str().is_some() => {}
            _ => errors.push(FieldError::new("landing.image_url", "use an https:// address of an image")),
        }
    }

    text(errors, "share_text.default", &c.share_text.default, 1000, true);
    for (field, value) in [
        ("share_text.whatsapp", &mut c.share_text.whatsapp),
        ("share_text.email_subject", &mut c.share_text.email_subject),
    ] {
        *value = value.take().filter(|v| !v.trim().is_empty());
        if let Some(v) = value {
            text(errors, field, v, 1000, false);
        }
    }
    if let Some(subject) = &c.share_text.email_subject {
        one_line(errors, "share_text.email_subject", subject);
    }

    validate_rewards(c, errors);
    validate_caps(c, errors);
    validate_fraud(c, errors);
    validate_emails(c, errors);
    validate_asks(c, errors);
}

fn validate_rewards(c: &mut ProgramConfig, errors: &mut Vec<FieldError>) {
    let mut ids = HashSet::new();
    for (i, rule) in c.rewards.iter_mut().enumerate() {
        let at = format!("rewards[{i}]");
        if !is_identifier(&rule.id) {
            errors.push(FieldError::new(format!("{at}.id"), "use 1 to 64 of a-z, 0-9, - and _"));
        } else if !ids.insert(rule.id.clone()) {
            errors.push(FieldError::new(format!("{at}.id"), "is used by another rule"));
        }
        if let RewardTrigger::WonCount { won_count } = rule.when
            && won_count == 0
        {
            errors.push(FieldError::new(format!("{at}.when.won_count"), "must be at least 1"));
        }
        if rule.menu.is_empty() || rule.menu.len() > 10 {
            errors.push(FieldError::new(format!("{at}.menu"), "offer 1 to 10 options"));
        }
        if rule.hold_days > 3650 {
            errors.push(FieldError::new(format!("{at}.hold_days"), "use at most 3650 days"));
        }
        if !(1..=3650).contains(&rule.choose_within_days) {
            errors.push(FieldError::new(format!("{at}.choose_within_days"), "use 1 to 3650 days"));
        }
        if !(1..=3650).contains(&rule.use_within_days) {
            errors.push(FieldError::new(format!("{at}.use_within_days"), "use 1 to 3650 days"));
        }
        if !(0..=MAX_AMOUNT).contains(&rule.min_amount) {
            errors.push(FieldError::new(format!("{at}.min_amount"), "use 0 to 10^12 minor units"));
        }
        for (j, option) in rule.menu.iter_mut().enumerate() {
            let at = format!("{at}.menu[{j}]");
            text(errors, &format!("{at}.label"), &option.label, 120, true);
            option.currency = option.currency.take().map(|c| c.trim().to_ascii_uppercase());
            let needs_amount = matches!(option.kind, MenuKind::AmountOff | MenuKind::Credit | MenuKind::Cash);
            match (needs_amount, option.amount) {
                (true, Some(a)) if (1..=MAX_AMOUNT).contains(&a) => {}
                (true, _) => {
                    errors.push(FieldError::new(format!("{at}.amount"), "give an amount of 1 to 10^12 minor units"))
                }
                (false, Some(_)) => errors.push(FieldError::new(
                    format!("{at}.amount"),
                    format!("does not apply to {}", option.kind.as_str()),
                )),
                (false, None) => {}
            }
            match (needs_amount, &option.currency) {
                (true, Some(cur)) if is_currency(cur) => {}
                (true, _) => {
                    errors.push(FieldError::new(format!("{at}.currency"), "give an ISO 4217 code such as USD"))
                }
                (false, Some(_)) => errors.push(FieldError::new(
                    format!("{at}.currency"),
                    format!("does not apply to {}", option.kind.as_str()),
                )),
                (false, None) => {}
            }
            match (option.kind, option.percent) {
                (MenuKind::PercentOff, Some(p)) if (1..=100).contains(&p) => {}
                (MenuKind::PercentOff, _) => {
                    errors.push(FieldError::new(format!("{at}.percent"), "give a percent from 1 to 100"))
                }
                (_, Some(_)) => errors.push(FieldError::new(format!("{at}.percent"), "applies to percent_off only")),
                (_, None) => {}
            }
            match (option.kind, &option.pool) {
                (MenuKind::Coupon, Some(pool)) if is_identifier(pool) => {}
                (MenuKind::Coupon, _) => {
                    errors.push(FieldError::new(format!("{at}.pool"), "name the coupon pool (a-z, 0-9, - and _)"))
                }
                (_, Some(_)) => errors.push(FieldError::new(format!("{at}.pool"), "applies to coupon only")),
                (_, None) => {}
            }
        }
    }
}

fn validate_caps(c: &ProgramConfig, errors: &mut Vec<FieldError>) {
    let limits = [
        ("caps.per_participant_per_year", Some(&c.caps.per_participant_per_year)),
        ("caps.program_total", c.caps.program_total.as_ref()),
    ];
    for (at, limit) in limits {
        let Some(limit) = limit else { continue };
        if limit.count == Some(0) {
            errors.push(FieldError::new(format!("{at}.count"), "must be at least 1, or null for no limit"));
        }
        if limit.amount.is_some_and(|a| !(0..=MAX_AMOUNT).contains(&a)) {
            errors.push(FieldError::new(format!("{at}.amount"), "use 0 to 10^12 minor units, or null for no limit"));
        }
    }
}

fn validate_emails(c: &mut ProgramConfig, errors: &mut Vec<FieldError>) {
    let e = &mut c.emails;
    if let Some(name) = &e.sender_name {
        // A header value: one line, no control characters (CR/LF above all).
        text(errors, "emails.sender_name", name, 100, false);
        one_line(errors, "emails.sender_name", name);
        if name.chars().any(char::is_control) {
            errors.push(FieldError::new("emails.sender_name", "use letters, digits and punctuation only"));
        }
        e.sender_name = Some(name.trim().to_string()).filter(|n| !n.is_empty());
    }
    if let Some(reply_to) = &e.reply_to {
        match crate::domain::EmailAddress::parse(reply_to) {
            Ok(address) => e.reply_to = Some(address.to_string()),
            Err(_) => errors.push(FieldError::new("emails.reply_to", "is not an email address")),
        }
    }
}

fn validate_fraud(c: &ProgramConfig, errors: &mut Vec<FieldError>) {
    let v = &c.fraud.velocity;
    for (field, n) in [
        ("fraud.velocity.per_participant_per_hour", v.per_participant_per_hour),
        ("fraud.velocity.per_participant_per_day", v.per_participant_per_day),
        ("fraud.velocity.per_ip_per_day", v.per_ip_per_day),
    ] {
        if !(1..=100_000).contains(&n) {
            errors.push(FieldError::new(field, "use 1 to 100000"));
        }
    }
    if c.fraud.min_seconds_click_to_lead > 3600 {
        errors.push(FieldError::new("fraud.min_seconds_click_to_lead", "use 0 to 3600 seconds"));
    }
}

fn validate_asks(c: &ProgramConfig, errors: &mut Vec<FieldError>) {
    let a = &c.asks;
    for (i, rule) in a.rules.iter().enumerate() {
        if rule.all.is_empty() {
            errors.push(FieldError::new(format!("asks.rules[{i}].all"), "give at least one condition"));
        }
        for (j, cond) in rule.all.iter().enumerate() {
            if let AskCondition::Signal { op, value, .. } = cond
                && op.is_some() != value.is_some()
            {
                errors.push(FieldError::new(format!("asks.rules[{i}].all[{j}]"), "give op and value together"));
            }
        }
    }
    for (field, days) in [("asks.frequency_cap_days", a.frequency_cap_days), ("asks.snooze_days", a.snooze_days)] {
        if days > 3650 {
            errors.push(FieldError::new(field, "use at most 3650 days"));
        }
    }
    let [start, end] = &a.send_window;
    if !is_clock_time(start) || !is_clock_time(end) || start >= end {
        errors.push(FieldError::new("asks.send_window", "give two times [\"HH:MM\", \"HH:MM\"], the first earlier"));
    }
    if a.email_after_hours > 720 {
        errors.push(FieldError::new("asks.email_after_hours", "use at most 720 hours"));
    }
    if a.holdout_percent > 50 {
        errors.push(FieldError::new("asks.holdout_percent", "use 0 to 50"));
    }
    let mut ids = HashSet::new();
    for (i, v) in a.variants.iter().enumerate() {
        if !is_identifier(&v.id) || !ids.insert(v.id.as_str()) {
            errors.push(FieldError::new(format!("asks.variants[{i}].id"), "use a unique id of a-z, 0-9, - and _"));
        }
        text(errors, &format!("asks.variants[{i}].text"), &v.text, 1000, true);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::program::{AttributionModel, FraudAction, ProgramStatus};

    fn fields(result: Result<ProgramConfig, ConfigError>) -> Vec<String> {
        result.unwrap_err().0.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn minimal_config_gets_the_documented_defaults() {
        let c =
            parse_config(&json!({"name": "Acme friends", "destination_url": "https://acme.example/signup"})).unwrap();
        assert_eq!(c.status, ProgramStatus::Active);
        assert_eq!(c.allowed_hosts, vec!["acme.example"]);
        assert_eq!(c.attribution.window_days, 30);
        assert_eq!(c.attribution.model, AttributionModel::LastClick);
        assert_eq!(c.caps.per_participant_per_year.count, Some(10));
        assert_eq!(c.caps.per_participant_per_year.amount, Some(50_000));
        assert_eq!(c.fraud.self_referral, FraudAction::Reject);
        assert_eq!(c.fraud.same_ip, FraudAction::Hold);
        assert_eq!(c.fraud.velocity.per_ip_per_day, 3);
        assert_eq!(c.fraud.min_seconds_click_to_lead, 3);
        assert_eq!(c.asks.frequency_cap_days, 90);
        assert_eq!(c.asks.holdout_percent, 10);
        assert!(c.rewards.is_empty() && c.asks.rules.is_empty());
    }

    #[test]
    fn the_spec_example_parses() {
        let example = json!({
          "name": "Acme friends", "status": "active",
          "destination_url": "https://acme.example/signup", "allowed_hosts": ["acme.example"],
          "attribution": {"window_days": 30, "model": "last_click"},
          "landing": {"headline": "Hi", "body": "Body", "referee_offer": "20% off", "image_url": null},
          "share_text": {"default": "I use Acme and like it: {link}", "whatsapp": null, "email_subject": null},
          "rewards": [{"id": "won-referrer", "when": {"stage": "won"}, "to": "referrer",
             "menu": [{"kind": "credit", "amount": 2000, "currency": "USD", "label": "$20 account credit"},
                      {"kind": "coupon", "pool": "spring", "label": "25% off one year"},
                      {"kind": "custom", "label": "Early access to new features"}],
             "hold_days": 30, "choose_within_days": 30, "use_within_days": 180, "min_amount": 0}],
          "caps": {"per_participant_per_year": {"count": 10, "amount": 50000}, "program_total": null},
          "fraud": {"self_referral": "reject", "same_device": "reject", "same_ip": "hold",
                    "disposable_email": "hold", "velocity": {"per_participant_per_hour": 5,
                    "per_participant_per_day": 20, "per_ip_per_day": 3, "action": "hold"},
                    "min_seconds_click_to_lead": 3},
          "asks": {"rules": [{"all": [{"signal": "nps", "op": ">=", "value": 9},
                                     {"no_signal": "ticket_opened", "within_days": 14}]}],
                   "frequency_cap_days": 90, "snooze_days": 90, "send_window": ["09:00", "18:00"],
                   "email_after_hours": 24, "holdout_percent": 10,
                   "variants": [{"id": "recognition", "text": "…"}, {"id": "reward", "text": "…"}]}
        });
        let c = parse_config(&example).unwrap();
        assert_eq!(c.rewards[0].menu.len(), 3);
        assert_eq!(c.asks.rules[0].all.len(), 2);
        // What GET returns parses back to the same configuration.
        assert_eq!(parse_config(&serde_json::to_value(&c).unwrap()).unwrap(), c);
    }

    #[test]
    fn unknown_fields_are_all_named_with_their_paths() {
        let got = fields(parse_config(&json!({
            "name": "A", "destination_url": "https://acme.example/", "colour": "red",
            "landing": {"headline": "Hi", "subtitle": "x"},
            "rewards": [{"id": "r", "when": {"stage": "won"}, "to": "referrer",
                         "menu": [{"kind": "custom", "label": "Perk", "sparkle": true}]}]
        })));
        assert_eq!(got, vec!["colour", "landing.subtitle", "rewards[0].menu[0].sparkle"]);
    }

    #[test]
    fn missing_required_fields_and_wrong_types_are_named() {
        assert_eq!(fields(parse_config(&json!({"name": "A"}))), vec!["destination_url"]);
        assert_eq!(
            fields(parse_config(
                &json!({"name": "A", "destination_url": "https://a.example/", "attribution": {"window_days": "thirty"}})
            )),
            vec!["attribution.window_days"]
        );
    }

    #[test]
    fn destination_must_be_http_and_allowed() {
        assert_eq!(
            fields(parse_config(&json!({"name": "A", "destination_url": "ftp://acme.example/"}))),
            vec!["destination_url"]
        );
        assert_eq!(
            fields(parse_config(
                &json!({"name": "A", "destination_url": "https://evil.example/", "allowed_hosts": ["acme.example"]})
            )),
            vec!["destination_url"]
        );
    }

    #[test]
    fn menu_options_need_their_kind_specific_fields() {
        let got = fields(parse_config(&json!({
            "name": "A", "destination_url": "https://acme.example/",
            "rewards": [{"id": "r", "when": {"won_count": 0}, "to": "referrer", "menu": [
                {"kind": "credit", "label": "Credit"},
                {"kind": "coupon", "label": "Coupon"},
                {"kind": "percent_off", "label": "Off", "percent": 120},
                {"kind": "custom", "label": "Perk", "amount": 5}]}]
        })));
        assert_eq!(
            got,
            vec![
                "rewards[0].when.won_count",
                "rewards[0].menu[0].amount",
                "rewards[0].menu[0].currency",
                "rewards[0].menu[1].pool",
                "rewards[0].menu[2].percent",
                "rewards[0].menu[3].amount",
            ]
        );
    }

    #[test]
    fn ask_settings_are_checked() {
        let got = fields(parse_config(&json!({
            "name": "A", "destination_url": "https://acme.example/",
            "asks": {"send_window": ["18:00", "09:00"], "holdout_percent": 80,
                     "variants": [{"id": "a", "text": "x"}, {"id": "a", "text": "y"}]}
        })));
        assert_eq!(got, vec!["asks.send_window", "asks.holdout_percent", "asks.variants[1].id"]);
    }
}
