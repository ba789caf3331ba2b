//! Conversion events: what the business's systems report after the click
//! and the lead (SPEC §4 `POST /api/v1/events`), parsed and validated at
//! the boundary, and the rule that moves a referral's stage.

mod currency;
mod stage_change;

use time::PrimitiveDateTime;

use super::click_id::is_click_id;
use super::program::Stage;
use super::rfc3339::parse_utc;
use super::{EmailAddress, FieldError, ReferralCode};

pub use currency::is_iso_4217;
pub use stage_change::{ReferralState, StageChange, change_for};

/// Amounts are minor units up to this (ten billion in a two-decimal
/// currency): larger is a typo, not a deal.
pub const MAX_AMOUNT: i64 = 1_000_000_000_000;
/// How far in the future `occurred_at` may be (clock skew, time zones).
pub const MAX_FUTURE: time::Duration = time::Duration::days(1);
/// Client event ids are at most this long.
pub const MAX_ID_LEN: usize = 200;

/// What happened: the referee reached a stage, or a won deal was refunded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Reached(Stage),
    Refund,
}

impl EventKind {
    pub const ALL: [EventKind; 5] = [
        Self::Reached(Stage::Lead),
        Self::Reached(Stage::Qualified),
        Self::Reached(Stage::Opportunity),
        Self::Reached(Stage::Won),
        Self::Refund,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reached(stage) => stage.as_str(),
            Self::Refund => "refund",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "refund" => Some(Self::Refund),
            other => Stage::parse(other).map(Self::Reached),
        }
    }
}

/// The referee as the event names them; at least one of the three.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Referee {
    pub external_id: Option<String>,
    pub email: Option<EmailAddress>,
    pub name: Option<String>,
}

/// An event as the JSON body states it, before validation.
#[derive(Debug, Clone, Default)]
pub struct RawEvent {
    pub id: String,
    pub kind: String,
    pub program: String,
    pub referee_external_id: Option<String>,
    pub referee_email: Option<String>,
    pub referee_name: Option<String>,
    pub click_id: Option<String>,
    pub code: Option<String>,
    pub amount: Option<i64>,
    pub currency: Option<String>,
    pub occurred_at: Option<String>,
}

/// A valid conversion event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversionEvent {
    /// The client's id: the idempotency key, unique per program.
    pub id: String,
    pub kind: EventKind,
    pub program: String,
    pub referee: Referee,
    pub click_id: Option<String>,
    pub code: Option<String>,
    pub amount: Option<i64>,
    pub currency: Option<String>,
    /// When it happened (UTC); the time of receipt when not given.
    pub occurred_at: PrimitiveDateTime,
}

impl ConversionEvent {
    /// Validates every field and names each problem.
    pub fn parse(raw: RawEvent, now: PrimitiveDateTime) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let id = raw.id.trim().to_string();
        if id.is_empty() || id.len() > MAX_ID_LEN || id.chars().any(char::is_control) {
            errors.push(FieldError::new(
                "id",
                format!("must be 1 to {MAX_ID_LEN} characters, without control characters"),
            ));
        }
        let kind = EventKind::parse(&raw.kind);
        if kind.is_none() {
            errors.push(FieldError::new("type", "must be lead, qualified, opportunity, won or refund"));
        }
        let text = |field: &str, value: Option<String>, max: usize, errors: &mut Vec<FieldError>| {
            let value = value.map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
            if value.as_ref().is_some_and(|v| v.len() > max || v.chars().any(char::is_control)) {
                errors.push(FieldError::new(
                    field,
                    format!("must be at most {max} characters, without control characters"),
                ));
            }
            value
        };
        let external_id = text("referee.external_id", raw.referee_external_id, 200, &mut errors);
        let name = text("referee.name", raw.referee_name, 200, &mut errors);
        let email = match raw.referee_email.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
            None => None,
            Some(e) => match EmailAddress::parse(e) {
                Ok(email) => Some(email),
                Err(err) => {
                    errors.push(FieldError::new("referee.email", err));
                    None
                }
            },
        };
        let mut click_id = raw.click_id.filter(|c| !c.is_empty());
        if click_id.as_deref().is_some_and(|c| !is_click_id(c)) {
            errors.push(FieldError::new("click_id", "is not a click id (16 characters of A-Z a-z 0-9 _ -)"));
        }
        let mut code = raw.code.filter(|c| !c.is_empty());
        // The `gw_ref` cookie's value passed as `code`: its code, and its
        // click unless the event names one itself.
        if let Some((cookie_code, cookie_click)) = code.as_deref().and_then(ReferralCode::split_ref_value)
            && is_click_id(cookie_click)
        {
            click_id = click_id.or_else(|| Some(cookie_click.to_string()));
            code = Some(cookie_code.to_string());
        }
        if code.as_deref().is_some_and(|c| !ReferralCode::plausible(c)) {
            errors.push(FieldError::new("code", "is not a referral code (nor a gw_ref cookie value)"));
        }
        if raw.amount.is_some_and(|a| !(0..=MAX_AMOUNT).contains(&a)) {
            errors.push(FieldError::new(
                "amount",
                format!("must be a whole number of minor units from 0 to {MAX_AMOUNT}"),
            ));
        }
        let currency = raw.currency.filter(|c| !c.is_empty());
        if currency.as_deref().is_some_and(|c| !is_iso_4217(c)) {
            errors.push(FieldError::new("currency", "must be an ISO 4217 code such as USD or EUR"));
        }
        if raw.amount.is_some() && currency.is_none() {
            errors.push(FieldError::new("currency", "is required with an amount"));
        }
        let occurred_at = match raw.occurred_at.as_deref() {
            None => now,
            Some(t) => match parse_utc(t) {
                Some(at) => {
                    if at > now + MAX_FUTURE {
                        errors.push(FieldError::new("occurred_at", "is more than a day in the future"));
                    }
                    at
                }
                None => {
                    errors
                        .push(FieldError::new("occurred_at", "must be an RFC 3339 time such as 2026-12-03T10:00:00Z"));
                    now
                }
            },
        };
        match (kind, errors.is_empty()) {
            (Some(kind), true) => Ok(Self {
                id,
                kind,
                program: raw.program,
                referee: Referee { external_id, email, name },
                click_id,
                code,
                amount: raw.amount,
                currency,
                occurred_at,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const NOW: PrimitiveDateTime = datetime!(2026-12-03 10:00);

    fn raw() -> RawEvent {
        RawEvent {
            id: "evt-1".into(),
            kind: "won".into(),
            program: "acme".into(),
            referee_email: Some("Ann.Lee+crm@GoogleMail.com".into()),
            amount: Some(12_000),
            currency: Some("EUR".into()),
            ..RawEvent::default()
        }
    }

    fn fields(raw: RawEvent) -> Vec<String> {
        ConversionEvent::parse(raw, NOW).unwrap_err().into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn a_valid_event_parses_and_defaults_its_time_to_now() {
        let event = ConversionEvent::parse(raw(), NOW).unwrap();
        assert_eq!(event.kind, EventKind::Reached(Stage::Won));
        assert_eq!(event.occurred_at, NOW);
        assert_eq!(event.referee.email.unwrap().normalized(), "annlee@gmail.com");
    }

    #[test]
    fn every_problem_is_named() {
        let bad = RawEvent {
            id: " ".into(),
            kind: "paid".into(),
            click_id: Some("not/a/click/id!!".into()),
            code: Some("a b".into()),
            amount: Some(MAX_AMOUNT + 1),
            currency: Some("EURO".into()),
            referee_email: Some("nope".into()),
            occurred_at: Some("yesterday".into()),
            ..raw()
        };
        assert_eq!(
            fields(bad),
            ["id", "type", "referee.email", "click_id", "code", "amount", "currency", "occurred_at"]
        );
    }

    #[test]
    fn the_attribution_cookie_passed_as_code_gives_its_code_and_click() {
        let cookie = Some("Ab3dEf9h.0Nl3xQpR7vW2abCd".to_string());
        let event = ConversionEvent::parse(RawEvent { code: cookie.clone(), ..raw() }, NOW).unwrap();
        assert_eq!((event.code.as_deref(), event.click_id.as_deref()), (Some("Ab3dEf9h"), Some("0Nl3xQpR7vW2abCd")));
        // A click id the event names itself wins over the cookie's.
        let own = Some("V1StGXR8_Z5jdHi6".to_string());
        let event = ConversionEvent::parse(RawEvent { code: cookie, click_id: own, ..raw() }, NOW).unwrap();
        assert_eq!((event.code.as_deref(), event.click_id.as_deref()), (Some("Ab3dEf9h"), Some("V1StGXR8_Z5jdHi6")));
        assert_eq!(fields(RawEvent { code: Some("Ab3dEf9h.short".into()), ..raw() }), ["code"]);
    }

    #[test]
    fn amounts_need_a_currency_and_stay_within_bounds() {
        assert_eq!(fields(RawEvent { currency: None, ..raw() }), ["currency"]);
        assert_eq!(fields(RawEvent { amount: Some(-1), ..raw() }), ["amount"]);
        assert!(ConversionEvent::parse(RawEvent { amount: Some(MAX_AMOUNT), ..raw() }, NOW).is_ok());
    }

    #[test]
    fn times_are_read_as_utc_and_at_most_a_day_ahead() {
        let at = |t: &str| ConversionEvent::parse(RawEvent { occurred_at: Some(t.into()), ..raw() }, NOW);
        assert_eq!(at("2026-12-03T12:00:00+02:00").unwrap().occurred_at, datetime!(2026-12-03 10:00));
        assert!(at("2026-12-04T09:59:00Z").is_ok());
        assert_eq!(at("2026-12-04T10:01:00Z").unwrap_err()[0].field, "occurred_at");
    }
}
