//! Form errors shown beside their fields.

use crate::services::{FieldError, ServiceError};

/// The errors of one submitted form, by field name.
#[derive(Debug, Clone, Default)]
pub struct FormErrors {
    errors: Vec<FieldError>,
    /// An error that belongs to no single field.
    pub general: Option<String>,
}

impl FormErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: &str, message: impl ToString) {
        self.errors.push(FieldError::new(field, message));
    }

    pub fn general(message: impl Into<String>) -> Self {
        Self { errors: Vec::new(), general: Some(message.into()) }
    }

    /// The message for `field`, for the template (`errors.get("email")`).
    pub fn get(&self, field: &str) -> Option<&str> {
        self.errors.iter().find(|e| e.field == field).map(|e| e.message.as_str())
    }

    /// Whether `field` has an error; used for `aria-invalid`.
    pub fn has(&self, field: &str) -> bool {
        self.get(field).is_some()
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty() && self.general.is_none()
    }

    /// Keeps the field-level errors of a service's answer; other errors
    /// are the caller's to map.
    pub fn from_service(e: ServiceError) -> Result<Self, ServiceError> {
        match e {
            ServiceError::Invalid(errors) => Ok(Self { errors, general: None }),
            ServiceError::Conflict(m) | ServiceError::Forbidden(m) => Ok(Self::general(m)),
            other => Err(other),
        }
    }
}

/// Collects the result of parsing one field into `errors`.
pub fn field<T, E: ToString>(errors: &mut FormErrors, name: &str, parsed: Result<T, E>) -> Option<T> {
    match parsed {
        Ok(v) => Some(v),
        Err(e) => {
            errors.add(name, e);
            None
        }
    }
}
