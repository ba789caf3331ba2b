//! Rendering pages: the per-request [`PageCtx`] (CSRF token, flash message)
//! and the [`Layout`] view every page template receives for the frame.

use std::future::{Ready, ready};

use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::ContentType;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use askama::Template;

use crate::crypto::random_token;
use crate::domain::Permission;
use crate::services::accounts::AdminUser;

use super::csrf::{CSRF_COOKIE, SESSION_COOKIE, token_for};
use super::error::{AppError, AppResult};
use super::flash::{FLASH_COOKIE, Flash, removal_cookie};
use super::state::AppState;

/// The admin navigation sections; the current one is highlighted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    None,
    Dashboard,
    Programs,
    Referrals,
    Review,
    FraudLists,
    Rewards,
    Webhooks,
    Emails,
    ApiKeys,
    Users,
    Audit,
    Account,
}

/// The signed-in user as the frame shows them.
#[derive(Debug, Clone)]
pub struct NavUser {
    pub email: String,
    pub role: &'static str,
    pub can_manage_users: bool,
    pub can_manage_keys: bool,
    pub can_view: bool,
    /// Decides held referrals and keeps the fraud lists.
    pub can_review: bool,
}

/// What the page frame needs: navigation, the flash message, the CSRF token.
#[derive(Debug, Clone)]
pub struct Layout {
    pub csrf: String,
    pub flash: Option<Flash>,
    pub user: Option<NavUser>,
    pub section: Section,
}

impl Layout {
    /// Whether the page belongs to the named section (`"dashboard"`,
    /// `"api-keys"`, `"users"`, `"audit"`, `"account"`); marks the nav link.
    pub fn section_is(&self, name: &str) -> bool {
        let current = match self.section {
            Section::None => "",
            Section::Dashboard => "dashboard",
            Section::Programs => "programs",
            Section::Referrals => "referrals",
            Section::Review => "review",
            Section::FraudLists => "fraud-lists",
            Section::Rewards => "rewards",
            Section::Webhooks => "webhooks",
            Section::Emails => "emails",
            Section::ApiKeys => "api-keys",
            Section::Users => "users",
            Section::Audit => "audit",
            Section::Account => "account",
        };
        current == name
    }
}

/// Per-request rendering context, taken by every page handler.
pub struct PageCtx {
    csrf: String,
    flash: Option<Flash>,
    had_flash_cookie: bool,
    new_browser_cookie: Option<String>,
    secure: bool,
}

impl FromRequest for PageCtx {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(PageCtx::build(req))
    }
}

impl PageCtx {
    fn build(req: &HttpRequest) -> AppResult<Self> {
        let state =
            req.app_data::<web::Data<AppState>>().ok_or_else(|| AppError::Internal("app state missing".into()))?;
        let existing = req.cookie(CSRF_COOKIE).map(|c| c.value().to_string()).filter(|v| !v.is_empty());
        let (browser, new_browser_cookie) = match existing {
            Some(v) => (v, None),
            None => {
                let v = random_token(24);
                (v.clone(), Some(v))
            }
        };
        let session = req.cookie(SESSION_COOKIE).map(|c| c.value().to_string());
        let csrf = token_for(&state.keys, &browser, session.as_deref());
        let flash_cookie = req.cookie(FLASH_COOKIE);
        let flash = flash_cookie.as_ref().and_then(|c| Flash::decode(c.value(), &state.keys));
        Ok(Self {
            csrf,
            flash,
            had_flash_cookie: flash_cookie.is_some(),
            new_browser_cookie,
            secure: state.settings.https(),
        })
    }

    /// The CSRF token for forms on this page.
    pub fn csrf(&self) -> &str {
        &self.csrf
    }

    /// The frame for a page seen by `user` (or nobody signed in).
    pub fn layout(&self, user: Option<&AdminUser>, section: Section) -> Layout {
        Layout {
            csrf: self.csrf.clone(),
            flash: self.flash.clone(),
            user: user.map(|u| NavUser {
                email: u.email.clone(),
                role: u.role.as_str(),
                can_manage_users: u.role.can(Permission::ManageUsers),
                can_manage_keys: u.role.can(Permission::ManageApiKeys),
                can_view: u.role.can(Permission::View),
                can_review: u.role.can(Permission::Review),
            }),
            section,
        }
    }

    /// Renders `page` with status 200.
    pub fn render(&self, page: &impl Template) -> AppResult<HttpResponse> {
        self.render_status(StatusCode::OK, page)
    }

    /// Renders `page` with `status` (e.g. 422 for a form with errors).
    pub fn render_status(&self, status: StatusCode, page: &impl Template) -> AppResult<HttpResponse> {
        let body = page.render()?;
        let mut resp = HttpResponse::build(status);
        resp.content_type(ContentType::html());
        if let Some(value) = self.new_browser_cookie.clone() {
            resp.cookie(
                Cookie::build(CSRF_COOKIE, value)
                    .path("/")
                    .http_only(true)
                    .secure(self.secure)
                    .same_site(SameSite::Lax)
                    .finish(),
            );
        }
        if self.had_flash_cookie {
            resp.cookie(removal_cookie(self.secure));
        }
        Ok(resp.body(body))
    }
}
