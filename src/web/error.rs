//! Errors as users see them. Browser routes answer an HTML page; `/api`
//! answers `{"error": {"code", "message"}}`. Causes are logged, not shown.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, ContentType};
use actix_web::{HttpResponse, ResponseError};
use askama::Template;
use serde::Serialize;

use crate::services::{FieldError, ServiceError};
use crate::storage::StorageError;

/// An error on a browser route.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("too many attempts")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("redirect to {0}")]
    Redirect(String),
    /// The database is unreachable or busy for now: 503 with `Retry-After`.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

/// Seconds a client is asked to wait when the database is unavailable.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 5;

pub type AppResult<T> = Result<T, AppError>;

impl From<StorageError> for AppError {
    fn from(e: StorageError) -> Self {
        if e.is_unavailable() { Self::Unavailable(e.to_string()) } else { Self::Internal(e.to_string()) }
    }
}

impl From<ServiceError> for AppError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Invalid(_) => Self::BadRequest(e.to_string()),
            ServiceError::NotFound(_) => Self::NotFound,
            ServiceError::Conflict(m) => Self::Conflict(m),
            ServiceError::Forbidden(m) => Self::Forbidden(m),
            ServiceError::Storage(s) => s.into(),
        }
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        Self::Internal(format!("template: {e}"))
    }
}

#[derive(Template)]
#[template(path = "errors/error.html")]
struct ErrorPage<'a> {
    status: u16,
    title: &'a str,
    message: &'a str,
}

/// The HTML page for an error status; used for handler errors and for
/// framework errors that arrive without a body.
pub fn html_error_page(status: StatusCode, message: &str) -> HttpResponse {
    let title = match status.as_u16() {
        400 => "That request was not understood",
        403 => "Not allowed",
        404 => "Page not found",
        405 => "Method not allowed",
        409 => "That conflicts with what is there",
        413 => "That was too large",
        415 => "Unsupported content type",
        429 => "Too many attempts",
        503 => "Temporarily unavailable",
        s if s >= 500 => "Something went wrong on our side",
        _ => "That did not work",
    };
    let body = ErrorPage { status: status.as_u16(), title, message }
        .render()
        .unwrap_or_else(|_| format!("<!doctype html><title>{}</title><h1>{}</h1>", status.as_u16(), title));
    HttpResponse::build(status).content_type(ContentType::html()).body(body)
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Redirect(_) => StatusCode::SEE_OTHER,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Redirect(to) => HttpResponse::SeeOther().insert_header((header::LOCATION, to.as_str())).finish(),
            Self::Internal(cause) => {
                tracing::error!(%cause, "request failed");
                html_error_page(self.status_code(), "The error was logged. Please try again in a moment.")
            }
            Self::Unavailable(cause) => {
                tracing::warn!(%cause, "database unavailable");
                let mut resp = html_error_page(
                    self.status_code(),
                    "This page is briefly unavailable. Please try again in a few seconds.",
                );
                resp.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from(UNAVAILABLE_RETRY_AFTER_SECS));
                resp
            }
            Self::NotFound => html_error_page(self.status_code(), "There is nothing at this address."),
            Self::PayloadTooLarge => html_error_page(self.status_code(), "The form was larger than this page accepts."),
            Self::TooManyRequests { retry_after_secs } => {
                let mut resp = html_error_page(
                    self.status_code(),
                    &format!("Please wait {retry_after_secs} seconds before trying again."),
                );
                if let Ok(v) = header::HeaderValue::from_str(&retry_after_secs.to_string()) {
                    resp.headers_mut().insert(header::RETRY_AFTER, v);
                }
                resp
            }
            Self::BadRequest(m) | Self::Forbidden(m) | Self::Conflict(m) => html_error_page(self.status_code(), m),
        }
    }
}

/// An error on `/api`: a 4xx (or 5xx) with the JSON error shape.
#[derive(Debug, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub fields: Vec<FieldError>,
    pub retry_after_secs: Option<u64>,
}

pub type ApiResult<T> = Result<T, ApiError>;

#[derive(Serialize)]
struct ApiErrorBody<'a> {
    error: ApiErrorInner<'a>,
}

#[derive(Serialize)]
struct ApiErrorInner<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    fields: &'a [FieldError],
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), fields: Vec::new(), retry_after_secs: None }
    }

    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", "send a valid API key as `Authorization: Bearer <key>`")
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("{what} not found"))
    }

    pub fn invalid(fields: Vec<FieldError>) -> Self {
        let message = fields.iter().map(|f| format!("{}: {}", f.field, f.message)).collect::<Vec<_>>().join("; ");
        Self { fields, ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message) }
    }

    /// The JSON body for a bare framework error status on `/api`.
    pub fn for_status(status: StatusCode) -> Self {
        let (code, message) = match status.as_u16() {
            400 => ("bad_request", "the request could not be read"),
            401 => ("unauthorized", "send a valid API key as `Authorization: Bearer <key>`"),
            404 => ("not_found", "no such endpoint"),
            405 => ("method_not_allowed", "this endpoint does not take that method"),
            413 => ("payload_too_large", "the body is larger than 64 KiB"),
            415 => ("unsupported_media_type", "send `Content-Type: application/json`"),
            429 => ("rate_limited", "too many requests; see Retry-After"),
            503 => ("unavailable", "the database is unavailable for now; retry after the seconds in Retry-After"),
            s if s >= 500 => ("internal", "the error was logged; please retry"),
            _ => ("error", "the request failed"),
        };
        Self::new(status, code, message)
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Invalid(fields) => Self::invalid(fields),
            ServiceError::NotFound(what) => Self::not_found(what),
            ServiceError::Conflict(m) => Self::new(StatusCode::CONFLICT, "conflict", m),
            ServiceError::Forbidden(m) => Self::new(StatusCode::FORBIDDEN, "forbidden", m),
            ServiceError::Storage(s) => s.into(),
        }
    }
}

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> Self {
        if e.is_unavailable() {
            tracing::warn!(cause = %e, "database unavailable");
            return Self {
                retry_after_secs: Some(UNAVAILABLE_RETRY_AFTER_SECS),
                ..Self::for_status(StatusCode::SERVICE_UNAVAILABLE)
            };
        }
        tracing::error!(cause = %e, "api request failed");
        Self::for_status(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut resp = HttpResponse::build(self.status);
        if let Some(secs) = self.retry_after_secs {
            resp.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        resp.json(ApiErrorBody {
            error: ApiErrorInner { code: self.code, message: &self.message, fields: &self.fields },
        })
    }
}
