//! `/admin/programs/{slug}/coupons`: a program's coupon pools — every pool
//! with codes and every pool its rules name — with how many codes are
//! left and a warning when a pool runs low; and adding codes to a pool
//! from a CSV or text file or from a text box.

use std::collections::BTreeSet;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use askama::Template;

use crate::domain::program::MenuKind;
use crate::domain::reward::CouponBatch;
use crate::domain::{FieldError, Permission};
use crate::services::programs::{self, Program};
use crate::services::rewards::{self, PoolCount};
use crate::web::auth::CurrentAdmin;
use crate::web::error::AppResult;
use crate::web::flash::{Flash, redirect_with};
use crate::web::forms::FormErrors;
use crate::web::multipart::CsrfMultipart;
use crate::web::page::{Layout, PageCtx, Section};
use crate::web::state::AppState;

struct PoolView {
    pool: String,
    total: i64,
    used: i64,
    left: i64,
    low: bool,
    /// Whether a rule of the program hands out codes from it.
    named: bool,
}

#[derive(Template)]
#[template(path = "admin/coupons.html")]
struct CouponsPage {
    layout: Layout,
    can_manage: bool,
    program_slug: String,
    program_name: String,
    pools: Vec<PoolView>,
    /// Pools a rule uses that are low, for the warning at the top.
    low: Vec<String>,
    /// Names offered in the pool input: those of the rules and the pools.
    pool_names: Vec<String>,
    pool: String,
    codes: String,
    errors: FormErrors,
}

/// The pools the program's rules hand out codes from.
fn named_pools(program: &Program) -> Vec<String> {
    let named: BTreeSet<String> = program
        .config
        .rewards
        .iter()
        .flat_map(|r| r.menu.iter())
        .filter(|o| o.kind == MenuKind::Coupon)
        .filter_map(|o| o.pool.clone())
        .collect();
    named.into_iter().collect()
}

async fn page(
    state: &AppState,
    ctx: &PageCtx,
    who: &CurrentAdmin,
    program: Program,
    pool: String,
    codes: String,
    errors: FormErrors,
) -> AppResult<CouponsPage> {
    let named = named_pools(&program);
    let counts = rewards::pools(&state.db, &program.id, named.clone()).await?;
    let pools: Vec<PoolView> = counts
        .iter()
        .map(|c: &PoolCount| PoolView {
            pool: c.pool.clone(),
            total: c.total,
            used: c.total - c.free,
            left: c.free,
            low: c.is_low(),
            named: named.contains(&c.pool),
        })
        .collect();
    Ok(CouponsPage {
        layout: ctx.layout(Some(&who.user), Section::Programs),
        can_manage: who.user.role.can(Permission::Manage),
        low: pools.iter().filter(|p| p.low && p.named).map(|p| format!("“{}” ({} left)", p.pool, p.left)).collect(),
        pool_names: pools.iter().map(|p| p.pool.clone()).collect(),
        pools,
        program_slug: program.slug,
        program_name: program.config.name,
        pool,
        codes,
        errors,
    })
}

#[get("/admin/programs/{slug}/coupons")]
pub async fn show(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: CurrentAdmin,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    who.require(Permission::View)?;
    let program = programs::require(&state.db, &path).await?;
    let page = page(&state, &ctx, &who, program, String::new(), String::new(), FormErrors::new()).await?;
    ctx.render(&page)
}

/// Where a code came from, to point at it in a message.
struct Origin {
    source: String,
    line: usize,
}

/// Header cells a file may start with; not codes.
const HEADERS: [&str; 5] = ["code", "codes", "coupon", "coupon_code", "coupon code"];

/// The codes of a text: one a line, the first cell of each (a CSV file
/// may carry more columns, separated by commas, semicolons or tabs),
/// quotes around it dropped, a header row such as `code` skipped.
fn codes_in(text: &str, source: &str, codes: &mut Vec<String>, origins: &mut Vec<Origin>) {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut first = true;
    for (i, line) in text.lines().enumerate() {
        let cell = line.split([',', ';', '\t']).next().unwrap_or("").trim();
        let cell = cell.strip_prefix('"').and_then(|c| c.strip_suffix('"')).unwrap_or(cell).trim();
        if cell.is_empty() {
            continue;
        }
        if std::mem::take(&mut first) && HEADERS.contains(&cell.to_ascii_lowercase().as_str()) {
            continue;
        }
        codes.push(cell.to_string());
        origins.push(Origin { source: source.to_string(), line: i + 1 });
    }
}

/// `CouponBatch`'s errors beside the inputs: the pool's beside the pool,
/// the codes' (the first few, with where each came from) beside the codes.
fn batch_errors(found: Vec<FieldError>, codes: &[String], origins: &[Origin]) -> FormErrors {
    const SHOWN: usize = 5;
    let mut errors = FormErrors::new();
    let mut about_codes = Vec::new();
    let mut bad_codes = 0;
    for e in found {
        if e.field == "pool" {
            errors.add("pool", e.message);
        } else if let Some(i) = e.field.strip_prefix("codes[").and_then(|r| r.strip_suffix(']')) {
            bad_codes += 1;
            let i: usize = i.parse().unwrap_or(usize::MAX);
            if about_codes.len() < SHOWN
                && let (Some(code), Some(at)) = (codes.get(i), origins.get(i))
            {
                about_codes.push(format!("line {} of {}: “{code}” {}", at.line, at.source, e.message));
            }
        } else {
            about_codes.push(e.message);
        }
    }
    if bad_codes > SHOWN {
        about_codes.push(format!("and {} more", bad_codes - SHOWN));
    }
    if !about_codes.is_empty() {
        errors.add("codes", format!("{}. Nothing was added.", about_codes.join("; ")));
    }
    errors
}

#[post("/admin/programs/{slug}/coupons")]
pub async fn upload(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: CurrentAdmin,
    path: web::Path<String>,
    form: CsrfMultipart,
) -> AppResult<HttpResponse> {
    who.require(Permission::Manage)?;
    let program = programs::require(&state.db, &path).await?;
    let pool = form.field("pool").unwrap_or_default().to_string();
    let typed = form.field("codes").unwrap_or_default().to_string();
    let (mut codes, mut origins) = (Vec::new(), Vec::new());
    let mut errors = FormErrors::new();
    if let Some(file) = &form.file {
        let bytes = file.bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&file.bytes);
        match std::str::from_utf8(bytes) {
            Ok(text) => codes_in(text, &file.file_name, &mut codes, &mut origins),
            Err(_) => errors
                .add("codes", format!("{} is not UTF-8 text; save it as “CSV UTF-8” and try again", file.file_name)),
        }
    }
    codes_in(&typed, "the text box", &mut codes, &mut origins);
    let batch = if errors.is_empty() {
        CouponBatch::parse(&pool, &codes).map_err(|found| batch_errors(found, &codes, &origins))
    } else {
        Err(errors)
    };
    let batch = match batch {
        Ok(batch) => batch,
        Err(errors) => {
            let page = page(&state, &ctx, &who, program, pool, typed, errors).await?;
            return ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let pool = batch.pool.clone();
    let now = state.clock.now_utc();
    let added = rewards::add_coupons(&state.db, who.user.email.clone(), &program.id, &program.slug, batch, now).await?;
    // Repeats within the upload count as skipped too: the admin sent them.
    let skipped = codes.len() - added.added;
    let mut message = format!("Added {} {} to the pool “{pool}”", added.added, plural(added.added, "code", "codes"));
    if skipped > 0 {
        message.push_str(&format!(
            "; skipped {skipped} ({} already in the pool, {} repeated in the upload)",
            added.sent - added.added,
            codes.len() - added.sent
        ));
    }
    message.push('.');
    if !named_pools(&program).contains(&pool) {
        message.push_str(" No reward rule hands out codes from this pool yet; name it in a coupon option of a rule.");
    }
    Ok(redirect_with(
        &format!("/admin/programs/{}/coupons", program.slug),
        Flash::success(message),
        &state.keys,
        state.settings.https(),
    ))
}

fn plural(n: usize, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Vec<String> {
        let (mut codes, mut origins) = (Vec::new(), Vec::new());
        codes_in(text, "t", &mut codes, &mut origins);
        codes
    }

    #[test]
    fn codes_are_the_first_cell_of_each_line_and_a_header_is_skipped() {
        assert_eq!(read("\u{feff}code,note\r\nA1,first\n\"B2\";x\n\nC3\tz\n"), ["A1", "B2", "C3"]);
        assert_eq!(read("SPRING-1\nSPRING-2"), ["SPRING-1", "SPRING-2"]);
        // Only a first line is taken for a header.
        assert_eq!(read("A1\ncode"), ["A1", "code"]);
    }

    #[test]
    fn bad_codes_are_named_by_line_and_source() {
        let codes = vec!["ok".to_string(), "has space".to_string()];
        let origins = vec![Origin { source: "a.csv".into(), line: 2 }, Origin { source: "a.csv".into(), line: 3 }];
        let found = CouponBatch::parse("spring sale", &codes).unwrap_err();
        let errors = batch_errors(found, &codes, &origins);
        assert!(errors.has("pool"));
        assert!(errors.get("codes").is_some_and(|m| m.starts_with("line 3 of a.csv: “has space”")), "{errors:?}");
    }
}
