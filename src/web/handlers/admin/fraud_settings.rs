//! `/admin/programs/{slug}/fraud`: a program's fraud settings as a form —
//! the action of each check, the velocity limits and the too-fast limit —
//! saved as the same `fraud` part of the configuration the API takes,
//! with everything else in it kept as it is.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::domain::fraud::Check;
use crate::domain::program::{ConfigError, FraudAction, FraudSettings, parse_config};
use crate::domain::{Permission, ProgramSlug};
use crate::services::programs::{self, Program};
use crate::web::auth::CurrentAdmin;
use crate::web::csrf::CsrfForm;
use crate::web::error::{AppError, AppResult};
use crate::web::flash::{Flash, redirect_with};
use crate::web::forms::FormErrors;
use crate::web::page::{Layout, PageCtx, Section};
use crate::web::state::AppState;

use super::program_version::{CHANGED_ELSEWHERE, version_of};

const ACTIONS: [(FraudAction, &str); 4] = [
    (FraudAction::Allow, "Allow (keep the evidence only)"),
    (FraudAction::Flag, "Flag (mark, let it go ahead)"),
    (FraudAction::Hold, "Hold for review"),
    (FraudAction::Reject, "Reject"),
];

/// The checks with an action of their own: (field, check, what it catches).
const CHECKS: [(&str, Check, &str); 5] = [
    (
        "self_referral",
        Check::SelfReferral,
        "The referee's email address (normalised) or customer id is the referrer's.",
    ),
    (
        "same_device",
        Check::SameDevice,
        "The referee's browser carries the referrer's own device cookie, set on their portal.",
    ),
    (
        "same_ip",
        Check::SameIp,
        "The referee's address and browser match a visit of the referrer's in the last 30 days. The address alone is \
         only kept as evidence.",
    ),
    (
        "disposable_email",
        Check::DisposableEmail,
        "The referee's domain is on the disposable list (see the fraud lists).",
    ),
    ("velocity.action", Check::Velocity, "Over one of the velocity limits below; the extra ones get this action."),
];

#[derive(Deserialize)]
pub struct FraudForm {
    #[serde(default)]
    version: String,
    #[serde(default)]
    self_referral: String,
    #[serde(default)]
    same_device: String,
    #[serde(default)]
    same_ip: String,
    #[serde(default)]
    disposable_email: String,
    #[serde(default, rename = "velocity.action")]
    velocity_action: String,
    #[serde(default, rename = "velocity.per_participant_per_hour")]
    per_hour: String,
    #[serde(default, rename = "velocity.per_participant_per_day")]
    per_day: String,
    #[serde(default, rename = "velocity.per_ip_per_day")]
    per_ip: String,
    #[serde(default)]
    min_seconds_click_to_lead: String,
}

impl FraudForm {
    fn from_settings(f: &FraudSettings, version: String) -> Self {
        Self {
            version,
            self_referral: f.self_referral.as_str().into(),
            same_device: f.same_device.as_str().into(),
            same_ip: f.same_ip.as_str().into(),
            disposable_email: f.disposable_email.as_str().into(),
            velocity_action: f.velocity.action.as_str().into(),
            per_hour: f.velocity.per_participant_per_hour.to_string(),
            per_day: f.velocity.per_participant_per_day.to_string(),
            per_ip: f.velocity.per_ip_per_day.to_string(),
            min_seconds_click_to_lead: f.min_seconds_click_to_lead.to_string(),
        }
    }

    fn action(&self, name: &str) -> &str {
        match name {
            "self_referral" => &self.self_referral,
            "same_device" => &self.same_device,
            "same_ip" => &self.same_ip,
            "disposable_email" => &self.disposable_email,
            _ => &self.velocity_action,
        }
    }

    /// The `fraud` JSON of the form; a number that does not read is named
    /// in `errors` and left out.
    fn to_json(&self, errors: &mut FormErrors) -> Value {
        let mut number = |name: &str, raw: &str| match raw.trim().parse::<u32>() {
            Ok(n) => Value::from(n),
            Err(_) => {
                errors.add(name, "enter a whole number");
                Value::Null
            }
        };
        let velocity = json!({
            "per_participant_per_hour": number("velocity.per_participant_per_hour", &self.per_hour),
            "per_participant_per_day": number("velocity.per_participant_per_day", &self.per_day),
            "per_ip_per_day": number("velocity.per_ip_per_day", &self.per_ip),
            "action": self.velocity_action,
        });
        let seconds = number("min_seconds_click_to_lead", &self.min_seconds_click_to_lead);
        json!({
            "self_referral": self.self_referral,
            "same_device": self.same_device,
            "same_ip": self.same_ip,
            "disposable_email": self.disposable_email,
            "velocity": velocity,
            "min_seconds_click_to_lead": seconds,
        })
    }
}

struct Choice {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

struct CheckView {
    name: &'static str,
    id: String,
    label: &'static str,
    hint: &'static str,
    choices: Vec<Choice>,
    error: Option<String>,
}

struct NumberView {
    name: &'static str,
    id: String,
    label: &'static str,
    hint: &'static str,
    value: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/fraud_settings.html")]
struct SettingsPage {
    layout: Layout,
    program_slug: String,
    program_name: String,
    version: String,
    checks: Vec<CheckView>,
    numbers: Vec<NumberView>,
    errors: FormErrors,
}

fn page(ctx: &PageCtx, who: &CurrentAdmin, program: &Program, form: &FraudForm, errors: FormErrors) -> SettingsPage {
    let id = |name: &str| name.replace('.', "-");
    let checks = CHECKS
        .iter()
        .map(|(name, check, hint)| CheckView {
            name,
            id: id(name),
            label: check.label(),
            hint,
            choices: ACTIONS
                .iter()
                .map(|(a, l)| Choice { value: a.as_str(), label: l, selected: a.as_str() == form.action(name) })
                .collect(),
            error: errors.get(&format!("fraud.{name}")).or(errors.get(name)).map(str::to_string),
        })
        .collect();
    let number = |name: &'static str, label, hint, value: &str| NumberView {
        name,
        id: id(name),
        label,
        hint,
        value: value.to_string(),
        error: errors.get(&format!("fraud.{name}")).or(errors.get(name)).map(str::to_string),
    };
    let numbers = vec![
        number(
            "velocity.per_participant_per_hour",
            "Referrals per participant per hour",
            "1 to 100000",
            &form.per_hour,
        ),
        number("velocity.per_participant_per_day", "Referrals per participant per day", "1 to 100000", &form.per_day),
        number("velocity.per_ip_per_day", "Referrals from one address per day", "1 to 100000", &form.per_ip),
        number(
            "min_seconds_click_to_lead",
            "Fastest human claim, seconds",
            "A claim sooner than this after the click is held for review; 0 turns the check off.",
            &form.min_seconds_click_to_lead,
        ),
    ];
    SettingsPage {
        layout: ctx.layout(Some(&who.user), Section::Programs),
        program_slug: program.slug.clone(),
        program_name: program.config.name.clone(),
        version: form.version.clone(),
        checks,
        numbers,
        errors,
    }
}

#[get("/admin/programs/{slug}/fraud")]
pub async fn show(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: CurrentAdmin,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    who.require(Permission::Manage)?;
    let program = programs::require(&state.db, &path).await?;
    let form = FraudForm::from_settings(&program.config.fraud, version_of(&program));
    ctx.render(&page(&ctx, &who, &program, &form, FormErrors::new()))
}

#[post("/admin/programs/{slug}/fraud")]
pub async fn save(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: CurrentAdmin,
    path: web::Path<String>,
    CsrfForm(mut form): CsrfForm<FraudForm>,
) -> AppResult<HttpResponse> {
    who.require(Permission::Manage)?;
    let program = programs::require(&state.db, &path).await?;
    let mut errors = FormErrors::new();
    let current = version_of(&program);
    if form.version != current {
        form.version = current;
        errors.general = Some(CHANGED_ELSEWHERE.into());
        return ctx.render_status(StatusCode::CONFLICT, &page(&ctx, &who, &program, &form, errors));
    }
    let mut config = serde_json::to_value(&program.config).map_err(|e| AppError::Internal(e.to_string()))?;
    let fraud = form.to_json(&mut errors);
    if errors.is_empty() {
        config["fraud"] = fraud;
    }
    let parsed = match (errors.is_empty(), parse_config(&config)) {
        (true, Ok(parsed)) => parsed,
        (_, Err(ConfigError(found))) => {
            for e in found {
                let name = e.field.strip_prefix("fraud.").unwrap_or(&e.field).to_string();
                errors.add(&name, e.message);
            }
            return ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page(&ctx, &who, &program, &form, errors));
        }
        (false, Ok(_)) => {
            return ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page(&ctx, &who, &program, &form, errors));
        }
    };
    let slug = ProgramSlug::parse(&program.slug)
        .map_err(|_| AppError::Internal(format!("stored program slug {:?} is malformed", program.slug)))?;
    let (saved, _) = programs::put(&state.db, who.user.email.clone(), slug, parsed, state.clock.now_utc()).await?;
    state.links.invalidate_program(&saved.id);
    let message =
        format!("The fraud settings of “{}” are saved. They apply to referrals from now on.", saved.config.name);
    Ok(redirect_with(
        &format!("/admin/programs/{}/fraud", saved.slug),
        Flash::success(message),
        &state.keys,
        state.settings.https(),
    ))
}
