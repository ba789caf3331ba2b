//! `/admin/programs/{slug}/rewards`: a program's reward rules and caps as
//! a form — per rule when, to whom, its timing and its menu; caps per
//! participant and per program — saved as the same configuration the API
//! takes, with everything else in it kept as it is.

mod form;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, Resource, web};
use askama::Template;

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

use form::{CapsRow, KINDS, OptionRow, RuleRow, RulesForm, TO, WHEN};

/// The form's body limit: a rule with its options is a few kilobytes of
/// field names, more than the default form limit allows for many rules.
const RULES_FORM_LIMIT: usize = 256 * 1024;

/// The page's resource, with its own body limit.
pub fn resource() -> Resource {
    web::resource("/admin/programs/{slug}/rewards")
        .app_data(web::PayloadConfig::new(RULES_FORM_LIMIT))
        .route(web::get().to(show))
        .route(web::post().to(save))
}

/// An input, its value and its error.
struct Field {
    name: String,
    id: String,
    value: String,
    error: Option<String>,
}

struct Choice {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

/// A select, its choices and its error.
struct Select {
    name: String,
    id: String,
    choices: Vec<Choice>,
    error: Option<String>,
}

struct OptionView {
    number: usize,
    kind: Select,
    label: Field,
    amount: Field,
    currency: Field,
    percent: Field,
    pool: Field,
    remove: Field,
}

struct RuleView {
    number: usize,
    /// The spare rule at the end, for adding one.
    is_new: bool,
    id: Field,
    when: Select,
    won_count: Field,
    to: Select,
    hold_days: Field,
    choose_within_days: Field,
    use_within_days: Field,
    min_amount: Field,
    remove: Field,
    menu_error: Option<String>,
    options: Vec<OptionView>,
}

struct CapsView {
    per_count: Field,
    per_amount: Field,
    total_count: Field,
    total_amount: Field,
    error: Option<String>,
}

/// An HTML id from a field name: `rewards[0].menu[1].amount` → `rewards-0-menu-1-amount`.
fn html_id(name: &str) -> String {
    let mut id = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            id.push(c);
        } else if !id.ends_with('-') {
            id.push('-');
        }
    }
    id.trim_end_matches('-').to_string()
}

fn field(name: String, value: &str, errors: &FormErrors) -> Field {
    Field { id: html_id(&name), value: value.to_string(), error: errors.get(&name).map(str::to_string), name }
}

fn select(name: String, current: &str, choices: &[(&'static str, &'static str)], errors: &FormErrors) -> Select {
    Select {
        id: html_id(&name),
        choices: choices.iter().map(|(value, label)| Choice { value, label, selected: *value == current }).collect(),
        error: errors.get(&name).map(str::to_string),
        name,
    }
}

fn option_view(at: &str, j: usize, o: &OptionRow, errors: &FormErrors) -> OptionView {
    let at = format!("{at}.menu[{j}]");
    OptionView {
        number: j + 1,
        kind: select(format!("{at}.kind"), &o.kind, &KINDS, errors),
        label: field(format!("{at}.label"), &o.label, errors),
        amount: field(format!("{at}.amount"), &o.amount, errors),
        currency: field(format!("{at}.currency"), &o.currency, errors),
        percent: field(format!("{at}.percent"), &o.percent, errors),
        pool: field(format!("{at}.pool"), &o.pool, errors),
        remove: field(format!("{at}.remove"), "1", errors),
    }
}

fn rule_view(i: usize, r: &RuleRow, is_new: bool, errors: &FormErrors) -> RuleView {
    let at = format!("rewards[{i}]");
    RuleView {
        number: i + 1,
        is_new,
        id: field(format!("{at}.id"), &r.id, errors),
        when: select(format!("{at}.when"), &r.when, &WHEN, errors),
        won_count: field(format!("{at}.won_count"), &r.won_count, errors),
        to: select(format!("{at}.to"), &r.to, &TO, errors),
        hold_days: field(format!("{at}.hold_days"), &r.hold_days, errors),
        choose_within_days: field(format!("{at}.choose_within_days"), &r.choose_within_days, errors),
        use_within_days: field(format!("{at}.use_within_days"), &r.use_within_days, errors),
        min_amount: field(format!("{at}.min_amount"), &r.min_amount, errors),
        remove: field(format!("{at}.remove"), "1", errors),
        menu_error: errors.get(&format!("{at}.menu")).map(str::to_string),
        options: r.options.iter().enumerate().map(|(j, o)| option_view(&at, j, o, errors)).collect(),
    }
}

fn caps_view(c: &CapsRow, errors: &FormErrors) -> CapsView {
    CapsView {
        per_count: field("caps.per_participant_per_year.count".into(), &c.per_count, errors),
        per_amount: field("caps.per_participant_per_year.amount".into(), &c.per_amount, errors),
        total_count: field("caps.program_total.count".into(), &c.total_count, errors),
        total_amount: field("caps.program_total.amount".into(), &c.total_amount, errors),
        error: errors.get("caps").map(str::to_string),
    }
}

#[derive(Template)]
#[template(path = "admin/reward_rules.html")]
struct RulesPage {
    layout: Layout,
    program_slug: String,
    program_name: String,
    version: String,
    rules: Vec<RuleView>,
    caps: CapsView,
    /// An error of the rules as a whole.
    rules_error: Option<String>,
    errors: FormErrors,
}

/// The page for `form` (shown with spare rows), with `errors` beside its inputs.
fn page(ctx: &PageCtx, who: &CurrentAdmin, program: &Program, form: RulesForm, errors: FormErrors) -> RulesPage {
    let form = form.with_spares();
    let last = form.rules.len().saturating_sub(1);
    let rules =
        form.rules.iter().enumerate().map(|(i, r)| rule_view(i, r, i == last && r.id.is_empty(), &errors)).collect();
    RulesPage {
        layout: ctx.layout(Some(&who.user), Section::Programs),
        program_slug: program.slug.clone(),
        program_name: program.config.name.clone(),
        version: form.version.clone(),
        rules,
        caps: caps_view(&form.caps, &errors),
        rules_error: errors.get("rewards").map(str::to_string),
        errors,
    }
}

pub async fn show(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: CurrentAdmin,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    who.require(Permission::Manage)?;
    let program = programs::require(&state.db, &path).await?;
    let form = RulesForm::from_config(&program.config, version_of(&program));
    ctx.render(&page(&ctx, &who, &program, form, FormErrors::new()))
}

pub async fn save(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: CurrentAdmin,
    path: web::Path<String>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> AppResult<HttpResponse> {
    who.require(Permission::Manage)?;
    let program = programs::require(&state.db, &path).await?;
    let mut form = RulesForm::from_pairs(pairs);
    form.prune();
    let mut errors = FormErrors::new();
    let current = version_of(&program);
    if form.version != current {
        // Shown again with the current version: saving once more, after
        // reading the warning, is a deliberate overwrite.
        form.version = current;
        errors.general = Some(CHANGED_ELSEWHERE.into());
        return ctx.render_status(StatusCode::CONFLICT, &page(&ctx, &who, &program, form, errors));
    }
    // The stored configuration is the base, so that everything this form
    // does not show stays as it is.
    let base = serde_json::to_value(&program.config).map_err(|e| AppError::Internal(e.to_string()))?;
    let Some(config) = form.to_config(base, &mut errors) else {
        return ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page(&ctx, &who, &program, form, errors));
    };
    let slug = ProgramSlug::parse(&program.slug)
        .map_err(|_| AppError::Internal(format!("stored program slug {:?} is malformed", program.slug)))?;
    let now = state.clock.now_utc();
    let rules = config.rewards.len();
    let (saved, _) = programs::put(&state.db, who.user.email.clone(), slug, config, now).await?;
    state.links.invalidate_program(&saved.id);
    let message = format!(
        "The reward rules of “{}” are saved ({rules} {}). They apply to what referrals reach from now on; rewards \
         already issued keep the rules they were issued under.",
        saved.config.name,
        if rules == 1 { "rule" } else { "rules" }
    );
    Ok(redirect_with(
        &format!("/admin/programs/{}/rewards", saved.slug),
        Flash::success(message),
        &state.keys,
        state.settings.https(),
    ))
}
