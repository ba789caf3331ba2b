//! A problem with one named input field.

/// A field and what is wrong with it, shown beside the field on a form and
/// named in an API's 422 answer. Nested fields use dots: `landing.image_url`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl ToString) -> Self {
        Self { field: field.into(), message: message.to_string() }
    }
}
