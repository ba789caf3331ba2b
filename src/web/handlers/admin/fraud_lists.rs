//! `/admin/fraud-lists`: the admin's allow- and blocklists, each with its
//! entries, a form to add one (refused entries come back beside the field)
//! and a button to remove one; and what the bundled disposable-domain list
//! is (its size, source and date).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;

use crate::domain::Permission;
use crate::domain::disposable::DisposableDomains;
use crate::domain::review::FraudList;
use crate::services::ServiceError;
use crate::services::fraud::lists;
use crate::web::auth::CurrentAdmin;
use crate::web::csrf::CsrfForm;
use crate::web::error::{AppError, AppResult};
use crate::web::flash::{Flash, redirect_with};
use crate::web::format::datetime;
use crate::web::forms::FormErrors;
use crate::web::page::{Layout, PageCtx, Section};
use crate::web::state::AppState;

/// What a list does, and an example entry, for the page.
fn describe(list: FraudList) -> (&'static str, &'static str) {
    match list {
        FraudList::BlockEmail => (
            "A referee with one of these addresses is rejected. Addresses are compared normalised: \
             A.B+x@GoogleMail.com is ab@gmail.com.",
            "someone@example.com",
        ),
        FraudList::BlockDomain => (
            "A referee with an address at one of these domains, or at a subdomain of one, is rejected.",
            "spam.example",
        ),
        FraudList::BlockIp => (
            "A claim from one of these addresses or networks is rejected. Events from your backend carry no \
             address and are not checked.",
            "203.0.113.0/24",
        ),
        FraudList::DisposableAdd => (
            "Treated as disposable besides the bundled list: the disposable-email check applies to them.",
            "throwaway.example",
        ),
        FraudList::DisposableAllow => {
            ("Never treated as disposable, even where the bundled list names them.", "mail.example")
        }
    }
}

struct EntryView {
    value: String,
    note: String,
    created_by: String,
    created_at: String,
}

struct ListView {
    kind: &'static str,
    label: &'static str,
    explanation: &'static str,
    example: &'static str,
    entries: Vec<EntryView>,
    /// What the add form typed, shown again beside its errors.
    value: String,
    note: String,
    value_error: Option<String>,
    note_error: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/fraud_lists.html")]
struct ListsPage {
    layout: Layout,
    lists: Vec<ListView>,
    bundled_count: usize,
    bundled_source: String,
}

/// An add form the service refused.
struct Typed {
    list: FraudList,
    value: String,
    note: String,
    errors: FormErrors,
}

async fn page(state: &AppState, ctx: &PageCtx, who: &CurrentAdmin, typed: Option<Typed>) -> AppResult<ListsPage> {
    let entries = lists::entries(&state.db).await?;
    let lists = FraudList::ALL
        .into_iter()
        .map(|list| {
            let (explanation, example) = describe(list);
            let typed = typed.as_ref().filter(|t| t.list == list);
            ListView {
                kind: list.as_str(),
                label: list.label(),
                explanation,
                example,
                entries: entries
                    .iter()
                    .filter(|e| e.kind == list.as_str())
                    .map(|e| EntryView {
                        value: e.value.clone(),
                        note: e.note.clone(),
                        created_by: e.created_by.clone(),
                        created_at: datetime(&e.created_at),
                    })
                    .collect(),
                value: typed.map(|t| t.value.clone()).unwrap_or_default(),
                note: typed.map(|t| t.note.clone()).unwrap_or_default(),
                value_error: typed.and_then(|t| t.errors.get("value").or(t.errors.general.as_deref())).map(Into::into),
                note_error: typed.and_then(|t| t.errors.get("note")).map(Into::into),
            }
        })
        .collect();
    Ok(ListsPage {
        layout: ctx.layout(Some(&who.user), Section::FraudLists),
        lists,
        bundled_count: DisposableDomains::bundled().len(),
        bundled_source: DisposableDomains::source(),
    })
}

#[get("/admin/fraud-lists")]
pub async fn show(state: web::Data<AppState>, ctx: PageCtx, who: CurrentAdmin) -> AppResult<HttpResponse> {
    who.require(Permission::Review)?;
    let page = page(&state, &ctx, &who, None).await?;
    ctx.render(&page)
}

fn parse_list(kind: &str) -> AppResult<FraudList> {
    FraudList::parse(kind).ok_or_else(|| AppError::BadRequest("Choose one of the lists on the page.".into()))
}

fn back(state: &AppState, list: FraudList, flash: Flash) -> HttpResponse {
    let to = format!("/admin/fraud-lists#list-{}", list.as_str());
    redirect_with(&to, flash, &state.keys, state.settings.https())
}

#[derive(Deserialize)]
pub struct AddForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    value: String,
    #[serde(default)]
    note: String,
}

#[post("/admin/fraud-lists")]
pub async fn add(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: CurrentAdmin,
    CsrfForm(form): CsrfForm<AddForm>,
) -> AppResult<HttpResponse> {
    who.require(Permission::Review)?;
    let list = parse_list(&form.kind)?;
    let now = state.clock.now_utc();
    match lists::add(&state.db, list, &form.value, &form.note, &who.user.email, now).await {
        Ok(value) => {
            let text = format!("“{value}” is on the list “{}”; it applies to new referrals from now on.", list.label());
            Ok(back(&state, list, Flash::success(text)))
        }
        Err(e @ ServiceError::Invalid(_)) => {
            let typed = Typed { list, value: form.value, note: form.note, errors: FormErrors::from_service(e)? };
            let page = page(&state, &ctx, &who, Some(typed)).await?;
            ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct RemoveForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    value: String,
}

#[post("/admin/fraud-lists/remove")]
pub async fn remove(
    state: web::Data<AppState>,
    who: CurrentAdmin,
    CsrfForm(form): CsrfForm<RemoveForm>,
) -> AppResult<HttpResponse> {
    who.require(Permission::Review)?;
    let list = parse_list(&form.kind)?;
    let now = state.clock.now_utc();
    let flash = match lists::remove(&state.db, list, &form.value, &who.user.email, now).await {
        Ok(()) => Flash::success(format!("“{}” is no longer on the list “{}”.", form.value, list.label())),
        Err(ServiceError::NotFound(_)) => {
            Flash::error(format!("“{}” was not on the list “{}” (any more).", form.value, list.label()))
        }
        Err(e) => return Err(e.into()),
    };
    Ok(back(&state, list, flash))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_lists_header_names_its_source_and_date() {
        let source = DisposableDomains::source();
        assert!(source.contains("disposable-email-domains"), "{source}");
        assert!(source.contains("CC0"), "{source}");
        assert!(!source.contains('#'), "{source}");
    }
}
