//! The reward rules form: rows of rules and menu options as typed, turned
//! into the `rewards` and `caps` JSON that `PUT /api/v1/programs/…` takes,
//! so that `parse_config` is the one validation of both; and each error of
//! a configuration path (`rewards[0].menu[1].amount`) put back beside the
//! input of that name.
//!
//! Inputs are named by their configuration path, so an error's path is
//! the input's name. Blank and removed rows are dropped before the
//! configuration is built and the form is shown again from what was kept,
//! so the indices of the errors and of the inputs agree.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::domain::program::{
    Beneficiary, Caps, ConfigError, MenuOption, ProgramConfig, RewardRule, RewardTrigger, Stage, parse_config,
};
use crate::web::forms::FormErrors;

/// Rules a form takes; `parse_config` has no limit, this keeps the form
/// (and a forged body) bounded.
pub const MAX_RULES: usize = 20;
/// Options a rule may offer (`parse_config` allows 1 to 10).
pub const MAX_OPTIONS: usize = 10;
/// Blank option rows shown after a rule's options, to add one.
const SPARE_OPTIONS: usize = 2;
/// Option rows of the blank rule at the end, to add a rule.
const NEW_RULE_OPTIONS: usize = 3;

pub const KINDS: [(&str, &str); 6] = [
    ("coupon", "coupon from a pool"),
    ("percent_off", "percent off"),
    ("amount_off", "amount off"),
    ("credit", "account credit"),
    ("cash", "cash"),
    ("custom", "custom perk"),
];

/// The choices of "when": each stage, or a tier.
pub const WHEN: [(&str, &str); 5] = [
    ("lead", "the referral becomes a lead"),
    ("qualified", "the referral is qualified"),
    ("opportunity", "the referral becomes an opportunity"),
    ("won", "the referral is won"),
    ("won_count", "the participant reaches N won referrals (a tier)"),
];

pub const TO: [(&str, &str); 2] = [("referrer", "the referrer"), ("referee", "the referee")];

/// One menu option as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OptionRow {
    pub kind: String,
    pub label: String,
    pub amount: String,
    pub currency: String,
    pub percent: String,
    pub pool: String,
    pub remove: bool,
}

impl OptionRow {
    fn of(o: &MenuOption) -> Self {
        Self {
            kind: o.kind.as_str().into(),
            label: o.label.clone(),
            amount: o.amount.map(|a| a.to_string()).unwrap_or_default(),
            currency: o.currency.clone().unwrap_or_default(),
            percent: o.percent.map(|p| p.to_string()).unwrap_or_default(),
            pool: o.pool.clone().unwrap_or_default(),
            remove: false,
        }
    }

    fn spare() -> Self {
        Self { kind: "credit".into(), ..Self::default() }
    }

    /// Nothing typed (the kind is a select and always has a value).
    fn is_blank(&self) -> bool {
        [&self.label, &self.amount, &self.currency, &self.percent, &self.pool].iter().all(|v| v.trim().is_empty())
    }
}

/// One rule as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleRow {
    pub id: String,
    /// A stage, or `won_count`.
    pub when: String,
    pub won_count: String,
    pub to: String,
    pub hold_days: String,
    pub choose_within_days: String,
    pub use_within_days: String,
    pub min_amount: String,
    pub remove: bool,
    pub options: Vec<OptionRow>,
}

impl RuleRow {
    fn of(r: &RewardRule) -> Self {
        let (when, won_count) = match r.when {
            RewardTrigger::Stage { stage } => (stage.as_str().to_string(), String::new()),
            RewardTrigger::WonCount { won_count } => ("won_count".to_string(), won_count.to_string()),
        };
        Self {
            id: r.id.clone(),
            when,
            won_count,
            to: match r.to {
                Beneficiary::Referrer => "referrer".into(),
                Beneficiary::Referee => "referee".into(),
            },
            hold_days: r.hold_days.to_string(),
            choose_within_days: r.choose_within_days.to_string(),
            use_within_days: r.use_within_days.to_string(),
            min_amount: r.min_amount.to_string(),
            remove: false,
            options: r.menu.iter().map(OptionRow::of).collect(),
        }
    }

    /// The blank rule at the end, with the defaults a new rule gets.
    fn spare() -> Self {
        Self {
            when: "won".into(),
            to: "referrer".into(),
            hold_days: "30".into(),
            choose_within_days: "30".into(),
            use_within_days: "180".into(),
            min_amount: "0".into(),
            options: (0..NEW_RULE_OPTIONS).map(|_| OptionRow::spare()).collect(),
            ..Self::default()
        }
    }

    /// No id and no option typed: the spare rule left as it was.
    fn is_blank(&self) -> bool {
        self.id.trim().is_empty() && self.options.iter().all(OptionRow::is_blank)
    }
}

/// The caps as typed; blank means "no limit".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CapsRow {
    pub per_count: String,
    pub per_amount: String,
    pub total_count: String,
    pub total_amount: String,
}

impl CapsRow {
    fn of(c: &Caps) -> Self {
        let text = |n: Option<i64>| n.map(|n| n.to_string()).unwrap_or_default();
        let total = c.program_total.clone().unwrap_or_default();
        Self {
            per_count: text(c.per_participant_per_year.count.map(i64::from)),
            per_amount: text(c.per_participant_per_year.amount),
            total_count: text(total.count.map(i64::from)),
            total_amount: text(total.amount),
        }
    }
}

/// The whole form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RulesForm {
    pub rules: Vec<RuleRow>,
    pub caps: CapsRow,
    /// The program's version when the form was opened, so that a save
    /// does not silently undo a change made in between.
    pub version: String,
}

/// `rewards[3]…` → (3, `…`).
fn indexed<'a>(name: &'a str, prefix: &str) -> Option<(usize, &'a str)> {
    let rest = name.strip_prefix(prefix)?;
    let (index, rest) = rest.split_once(']')?;
    Some((index.parse().ok()?, rest))
}

impl RulesForm {
    /// The form filled with a program's rules and caps.
    pub fn from_config(config: &ProgramConfig, version: String) -> Self {
        Self { rules: config.rewards.iter().map(RuleRow::of).collect(), caps: CapsRow::of(&config.caps), version }
    }

    /// A submitted form, read from its name/value pairs. Unknown names are
    /// ignored; indices past the limits are dropped.
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut rules: BTreeMap<usize, (RuleRow, BTreeMap<usize, OptionRow>)> = BTreeMap::new();
        let mut form = Self::default();
        for (name, value) in pairs {
            match name.as_str() {
                "version" => form.version = value,
                "caps.per_participant_per_year.count" => form.caps.per_count = value,
                "caps.per_participant_per_year.amount" => form.caps.per_amount = value,
                "caps.program_total.count" => form.caps.total_count = value,
                "caps.program_total.amount" => form.caps.total_amount = value,
                _ => {
                    let Some((i, rest)) = indexed(&name, "rewards[") else { continue };
                    if i >= MAX_RULES {
                        continue;
                    }
                    let (rule, options) = rules.entry(i).or_default();
                    if let Some((j, field)) = indexed(rest, ".menu[") {
                        if j >= MAX_OPTIONS + SPARE_OPTIONS {
                            continue;
                        }
                        let o = options.entry(j).or_default();
                        match field {
                            ".kind" => o.kind = value,
                            ".label" => o.label = value,
                            ".amount" => o.amount = value,
                            ".currency" => o.currency = value,
                            ".percent" => o.percent = value,
                            ".pool" => o.pool = value,
                            ".remove" => o.remove = true,
                            _ => {}
                        }
                        continue;
                    }
                    match rest {
                        ".id" => rule.id = value,
                        ".when" => rule.when = value,
                        ".won_count" => rule.won_count = value,
                        ".to" => rule.to = value,
                        ".hold_days" => rule.hold_days = value,
                        ".choose_within_days" => rule.choose_within_days = value,
                        ".use_within_days" => rule.use_within_days = value,
                        ".min_amount" => rule.min_amount = value,
                        ".remove" => rule.remove = true,
                        _ => {}
                    }
                }
            }
        }
        form.rules = rules
            .into_values()
            .map(|(mut rule, options)| {
                rule.options = options.into_values().collect();
                rule
            })
            .collect();
        form
    }

    /// Drops removed and blank rules and options: what is left is what
    /// will be saved, in order.
    pub fn prune(&mut self) {
        self.rules.retain(|r| !r.remove && !r.is_blank());
        for rule in &mut self.rules {
            rule.options.retain(|o| !o.remove && !o.is_blank());
        }
    }

    /// Spare rows to type into: a few options after each rule's, and one
    /// blank rule at the end.
    pub fn with_spares(mut self) -> Self {
        for rule in &mut self.rules {
            let room = MAX_OPTIONS.saturating_sub(rule.options.len()).min(SPARE_OPTIONS);
            rule.options.extend((0..room).map(|_| OptionRow::spare()));
        }
        if self.rules.len() < MAX_RULES {
            self.rules.push(RuleRow::spare());
        }
        self
    }

    /// `base` (the stored configuration) with the form's rules and caps
    /// written over it, validated by `parse_config`. Call [`Self::prune`]
    /// first. Every problem is added to `errors` beside its input.
    pub fn to_config(&self, mut base: Value, errors: &mut FormErrors) -> Option<ProgramConfig> {
        let mut found: Vec<(String, String)> = Vec::new();
        let rewards: Vec<Value> =
            self.rules.iter().enumerate().map(|(i, rule)| rule_json(i, rule, &mut found)).collect();
        let caps = caps_json(&self.caps, &mut found);
        if let Some(root) = base.as_object_mut() {
            root.insert("rewards".into(), Value::Array(rewards));
            root.insert("caps".into(), caps);
        }
        let parsed = parse_config(&base);
        // An input the form could not read was left out of the JSON, and
        // `parse_config` may then miss it too ("give an amount"): the
        // form's own message says what is wrong, so it stands alone.
        let unreadable: Vec<String> = found.iter().map(|(input, _)| input.clone()).collect();
        if let Err(ConfigError(config_errors)) = &parsed {
            for e in config_errors {
                match input_for(&e.field) {
                    Some(input) if unreadable.contains(&input) => {}
                    Some(input) => found.push((input, e.message.clone())),
                    None => {
                        let line = format!("{}: {}", e.field, e.message);
                        errors.general = Some(match errors.general.take() {
                            Some(g) => format!("{g}; {line}"),
                            None => format!(
                                "Settings this page does not show are invalid; fix them through the API first. {line}"
                            ),
                        });
                    }
                }
            }
        }
        // One message per input, in the order found.
        let mut merged: Vec<(String, String)> = Vec::new();
        for (input, message) in found {
            match merged.iter_mut().find(|(f, _)| *f == input) {
                Some((_, m)) if !m.contains(&message) => {
                    m.push_str("; ");
                    m.push_str(&message);
                }
                Some(_) => {}
                None => merged.push((input, message)),
            }
        }
        for (input, message) in &merged {
            errors.add(input, message);
        }
        match parsed {
            Ok(config) if errors.is_empty() => Some(config),
            _ => None,
        }
    }
}

/// A whole number typed into `input`, or none when blank; a number the
/// form cannot read is an error beside it (ranges are `parse_config`'s).
fn number<T: std::str::FromStr>(
    raw: &str,
    input: String,
    message: &str,
    found: &mut Vec<(String, String)>,
) -> Option<T> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    match raw.parse() {
        Ok(n) => Some(n),
        Err(_) => {
            found.push((input, message.to_string()));
            None
        }
    }
}

const DAYS: &str = "enter a whole number of days";
const MINOR: &str = "enter a whole amount in minor units, e.g. 2000 for 20.00";

fn rule_json(i: usize, rule: &RuleRow, found: &mut Vec<(String, String)>) -> Value {
    let at = format!("rewards[{i}]");
    let mut out = Map::new();
    out.insert("id".into(), json!(rule.id.trim()));
    let when = if rule.when == "won_count" {
        let message = "enter how many won referrals reach this tier (1 or more)";
        match number::<u32>(&rule.won_count, format!("{at}.won_count"), message, found) {
            Some(n) => json!({"won_count": n}),
            None => {
                if rule.won_count.trim().is_empty() {
                    found.push((format!("{at}.won_count"), message.into()));
                }
                // A stand-in, so that the rest of the rule is still checked.
                json!({"stage": "won"})
            }
        }
    } else if let Some(stage) = Stage::parse(&rule.when) {
        json!({"stage": stage.as_str()})
    } else {
        found.push((format!("{at}.when"), "choose when the reward is earned".into()));
        json!({"stage": "won"})
    };
    out.insert("when".into(), when);
    let to = if TO.iter().any(|(v, _)| *v == rule.to) {
        rule.to.as_str()
    } else {
        found.push((format!("{at}.to"), "choose who receives the reward".into()));
        "referrer"
    };
    out.insert("to".into(), json!(to));
    for (field, raw) in [
        ("hold_days", &rule.hold_days),
        ("choose_within_days", &rule.choose_within_days),
        ("use_within_days", &rule.use_within_days),
    ] {
        if let Some(n) = number::<u32>(raw, format!("{at}.{field}"), DAYS, found) {
            out.insert(field.into(), json!(n));
        }
    }
    if let Some(n) = number::<i64>(&rule.min_amount, format!("{at}.min_amount"), MINOR, found) {
        out.insert("min_amount".into(), json!(n));
    }
    let menu =
        rule.options.iter().enumerate().map(|(j, o)| option_json(&format!("{at}.menu[{j}]"), o, found)).collect();
    out.insert("menu".into(), Value::Array(menu));
    Value::Object(out)
}

fn option_json(at: &str, o: &OptionRow, found: &mut Vec<(String, String)>) -> Value {
    let mut out = Map::new();
    let kind = if KINDS.iter().any(|(v, _)| *v == o.kind) {
        o.kind.as_str()
    } else {
        found.push((format!("{at}.kind"), "choose a kind".into()));
        "custom"
    };
    out.insert("kind".into(), json!(kind));
    out.insert("label".into(), json!(o.label.trim()));
    if let Some(n) = number::<i64>(&o.amount, format!("{at}.amount"), MINOR, found) {
        out.insert("amount".into(), json!(n));
    }
    if !o.currency.trim().is_empty() {
        out.insert("currency".into(), json!(o.currency.trim()));
    }
    if let Some(n) = number::<u32>(&o.percent, format!("{at}.percent"), "enter a whole percent from 1 to 100", found) {
        out.insert("percent".into(), json!(n));
    }
    if !o.pool.trim().is_empty() {
        out.insert("pool".into(), json!(o.pool.trim()));
    }
    Value::Object(out)
}

fn caps_json(c: &CapsRow, found: &mut Vec<(String, String)>) -> Value {
    const COUNT: &str = "enter a whole number of rewards, or leave it blank for no limit";
    const AMOUNT: &str = "enter a whole amount in minor units, or leave it blank for no limit";
    let limit = |count: &str, amount: &str, at: &str, found: &mut Vec<(String, String)>| {
        json!({
            "count": number::<u32>(count, format!("{at}.count"), COUNT, found),
            "amount": number::<i64>(amount, format!("{at}.amount"), AMOUNT, found),
        })
    };
    let per = limit(&c.per_count, &c.per_amount, "caps.per_participant_per_year", found);
    let total = if c.total_count.trim().is_empty() && c.total_amount.trim().is_empty() {
        Value::Null
    } else {
        limit(&c.total_count, &c.total_amount, "caps.program_total", found)
    };
    json!({"per_participant_per_year": per, "program_total": total})
}

/// The input beside which an error of the configuration path `path`
/// shows; `None` for parts of the configuration this form does not edit.
pub fn input_for(path: &str) -> Option<String> {
    const CAPS: [&str; 4] = [
        "caps.per_participant_per_year.count",
        "caps.per_participant_per_year.amount",
        "caps.program_total.count",
        "caps.program_total.amount",
    ];
    if CAPS.contains(&path) {
        return Some(path.to_string());
    }
    if path == "caps" || path.starts_with("caps.") {
        return Some("caps".into());
    }
    if path == "rewards" {
        return Some("rewards".into());
    }
    let (i, rest) = indexed(path, "rewards[")?;
    let at = format!("rewards[{i}]");
    if let Some((j, field)) = indexed(rest, ".menu[") {
        let field = match field {
            ".kind" | ".label" | ".amount" | ".currency" | ".percent" | ".pool" => field,
            _ => ".label",
        };
        return Some(format!("{at}.menu[{j}]{field}"));
    }
    Some(match rest {
        ".when.won_count" => format!("{at}.won_count"),
        r if r.starts_with(".when") => format!("{at}.when"),
        ".id" | ".to" | ".hold_days" | ".choose_within_days" | ".use_within_days" | ".min_amount" | ".menu" => {
            format!("{at}{rest}")
        }
        _ => format!("{at}.id"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn base() -> Value {
        json!({"name": "Acme", "destination_url": "https://acme.example/", "fraud": {"same_ip": "reject"}})
    }

    #[test]
    fn a_filled_form_becomes_rules_and_caps_and_keeps_the_rest() {
        let mut form = RulesForm::from_pairs(pairs(&[
            ("rewards[0].id", "won"),
            ("rewards[0].when", "won"),
            ("rewards[0].to", "referrer"),
            ("rewards[0].hold_days", "0"),
            ("rewards[0].choose_within_days", "14"),
            ("rewards[0].use_within_days", ""),
            ("rewards[0].min_amount", "5000"),
            ("rewards[0].menu[0].kind", "credit"),
            ("rewards[0].menu[0].label", "$20 credit"),
            ("rewards[0].menu[0].amount", "2000"),
            ("rewards[0].menu[0].currency", "usd"),
            ("rewards[0].menu[1].kind", "coupon"),
            ("rewards[0].menu[1].label", ""),
            ("rewards[1].id", "tier"),
            ("rewards[1].when", "won_count"),
            ("rewards[1].won_count", "3"),
            ("rewards[1].to", "referrer"),
            ("rewards[1].menu[0].kind", "percent_off"),
            ("rewards[1].menu[0].label", "25% off"),
            ("rewards[1].menu[0].percent", "25"),
            ("rewards[2].id", ""),
            ("rewards[2].when", "won"),
            ("rewards[2].menu[0].kind", "credit"),
            ("caps.per_participant_per_year.count", "5"),
            ("caps.per_participant_per_year.amount", ""),
            ("caps.program_total.count", ""),
            ("caps.program_total.amount", "100000"),
        ]));
        form.prune();
        assert_eq!(form.rules.len(), 2, "the blank rule is dropped");
        assert_eq!(form.rules[0].options.len(), 1, "the blank option is dropped");
        let mut errors = FormErrors::new();
        let c = form.to_config(base(), &mut errors).expect("valid");
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(c.rewards[0].hold_days, 0);
        assert_eq!(c.rewards[0].use_within_days, 180, "a blank number takes its default");
        assert_eq!(c.rewards[0].menu[0].currency.as_deref(), Some("USD"));
        assert_eq!(c.rewards[1].when, RewardTrigger::WonCount { won_count: 3 });
        assert_eq!((c.caps.per_participant_per_year.count, c.caps.per_participant_per_year.amount), (Some(5), None));
        assert_eq!(c.caps.program_total.and_then(|t| t.amount), Some(100_000));
        assert_eq!(c.fraud.same_ip, crate::domain::program::FraudAction::Reject);
    }

    #[test]
    fn errors_land_beside_the_inputs_of_the_rows_kept() {
        let mut form = RulesForm::from_pairs(pairs(&[
            ("rewards[0].id", "gone"),
            ("rewards[0].remove", "1"),
            ("rewards[0].menu[0].label", "x"),
            ("rewards[1].id", "won"),
            ("rewards[1].when", "won"),
            ("rewards[1].to", "referrer"),
            ("rewards[1].menu[0].kind", "custom"),
            ("rewards[1].menu[0].label", "Mug"),
            ("rewards[1].menu[1].kind", "cash"),
            ("rewards[1].menu[1].label", "Cash"),
            ("rewards[1].menu[1].amount", "lots"),
            ("rewards[1].hold_days", "-1"),
            ("caps.per_participant_per_year.count", "0"),
        ]));
        form.prune();
        let mut errors = FormErrors::new();
        assert!(form.to_config(base(), &mut errors).is_none());
        // The removed rule is gone: the kept one is rewards[0].
        assert_eq!(errors.get("rewards[0].menu[1].amount"), Some(MINOR));
        assert!(errors.get("rewards[0].menu[1].currency").is_some(), "{errors:?}");
        assert_eq!(errors.get("rewards[0].hold_days"), Some(DAYS));
        assert!(errors.has("caps.per_participant_per_year.count"));
        assert!(errors.general.is_none());
    }

    #[test]
    fn a_tier_without_a_count_is_named_and_unknown_choices_are_refused() {
        let mut form = RulesForm::from_pairs(pairs(&[
            ("rewards[0].id", "tier"),
            ("rewards[0].when", "won_count"),
            ("rewards[0].to", "nobody"),
            ("rewards[0].menu[0].kind", "gold"),
            ("rewards[0].menu[0].label", "Gold"),
        ]));
        form.prune();
        let mut errors = FormErrors::new();
        assert!(form.to_config(base(), &mut errors).is_none());
        assert!(errors.has("rewards[0].won_count") && errors.has("rewards[0].to"));
        assert!(errors.has("rewards[0].menu[0].kind"));
    }

    #[test]
    fn a_stored_configuration_fills_the_form_and_saves_back_unchanged() {
        let stored = parse_config(&json!({
            "name": "Acme", "destination_url": "https://acme.example/",
            "rewards": [{"id": "r", "when": {"won_count": 3}, "to": "referee", "hold_days": 7,
                         "menu": [{"kind": "coupon", "pool": "spring", "label": "25% off"}]}],
            "caps": {"per_participant_per_year": {"count": null, "amount": 900}, "program_total": {"count": 50}}
        }))
        .unwrap();
        let mut form = RulesForm::from_config(&stored, "v".into()).with_spares();
        assert_eq!(form.rules.len(), 2, "one spare rule");
        assert_eq!(form.rules[0].options.len(), 1 + SPARE_OPTIONS);
        form.prune();
        let mut errors = FormErrors::new();
        let again = form.to_config(serde_json::to_value(&stored).unwrap(), &mut errors).expect("valid");
        assert_eq!(again, stored);
    }

    #[test]
    fn configuration_paths_map_to_inputs() {
        assert_eq!(input_for("rewards[2].when.won_count").as_deref(), Some("rewards[2].won_count"));
        assert_eq!(input_for("rewards[0].menu[1].amount").as_deref(), Some("rewards[0].menu[1].amount"));
        assert_eq!(input_for("rewards[0].menu").as_deref(), Some("rewards[0].menu"));
        assert_eq!(input_for("caps.program_total.count").as_deref(), Some("caps.program_total.count"));
        assert_eq!(input_for("fraud.same_ip"), None);
    }

    #[test]
    fn indices_past_the_limits_are_ignored() {
        let form = RulesForm::from_pairs(pairs(&[("rewards[999999].id", "x"), ("rewards[0].menu[99].label", "y")]));
        assert_eq!(form.rules.len(), 1);
        assert!(form.rules[0].options.is_empty());
    }
}
