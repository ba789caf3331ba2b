//! Who is asking: the signed-in admin (session cookie) on `/admin`, the
//! API client (bearer key) on `/api`.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};

use crate::domain::Permission;
use crate::services::accounts::{self, AdminUser};
use crate::services::api_keys::{self, ApiClient};

use super::csrf::SESSION_COOKIE;
use super::error::{ApiError, AppError};
use super::state::AppState;

/// The signed-in admin user. A request without a live session is sent to
/// the sign-in page, and comes back to where it was going afterwards.
#[derive(Debug, Clone)]
pub struct CurrentAdmin {
    pub user: AdminUser,
    /// The raw session token, needed to keep this session when others end.
    pub token: String,
}

impl CurrentAdmin {
    /// `Ok` when the user's role allows `permission`, else a 403 page.
    pub fn require(&self, permission: Permission) -> Result<(), AppError> {
        if self.user.role.can(permission) {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "Your role ({}) does not allow this. Ask an owner if you need it.",
                self.user.role
            )))
        }
    }
}

impl FromRequest for CurrentAdmin {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state =
                req.app_data::<web::Data<AppState>>().ok_or_else(|| AppError::Internal("app state missing".into()))?;
            let to_login = || {
                let next = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/admin");
                let next = if req.method() == actix_web::http::Method::GET { next } else { "/admin" };
                AppError::Redirect(format!(
                    "/admin/login?next={}",
                    url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
                ))
            };
            let Some(token) = req.cookie(SESSION_COOKIE).map(|c| c.value().to_string()) else {
                return Err(to_login());
            };
            let now = state.clock.now_utc();
            match accounts::authenticate(&state.db, token.clone(), now).await? {
                Some(user) => Ok(CurrentAdmin { user, token }),
                None => Err(to_login()),
            }
        })
    }
}

/// Where to go after sign-in: only a path inside the admin, so that a
/// crafted `next` can never send the user to another site.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if (n == "/admin" || n.starts_with("/admin/") || n.starts_with("/admin?"))
                && !n.contains('\\')
                && !n.contains("//")
                && !n.chars().any(char::is_control) =>
        {
            n.to_string()
        }
        _ => "/admin".to_string(),
    }
}

/// An API request with a valid bearer key.
#[derive(Debug, Clone)]
pub struct ApiAuth(pub ApiClient);

impl FromRequest for ApiAuth {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = req
                .app_data::<web::Data<AppState>>()
                .ok_or_else(|| ApiError::for_status(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR))?;
            let presented = req
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(|k| k.trim().to_string())
                .ok_or_else(ApiError::unauthorized)?;
            let now = state.clock.now_utc();
            match api_keys::authenticate(&state.db, presented, now).await? {
                Some(client) => Ok(ApiAuth(client)),
                None => Err(ApiError::unauthorized()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_inside_the_admin() {
        assert_eq!(safe_next(Some("/admin/api-keys")), "/admin/api-keys");
        assert_eq!(safe_next(Some("https://evil.example/admin")), "/admin");
        assert_eq!(safe_next(Some("//evil.example")), "/admin");
        assert_eq!(safe_next(Some("/admin//evil.example")), "/admin");
        assert_eq!(safe_next(Some("/admin/\\evil.example")), "/admin");
        assert_eq!(safe_next(Some("/administrator")), "/admin");
        assert_eq!(safe_next(None), "/admin");
    }
}
