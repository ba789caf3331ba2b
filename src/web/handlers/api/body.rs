//! Reading typed JSON bodies so that every problem names its field:
//! unknown fields, wrong types and missing ones answer 422.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::domain::FieldError;
use crate::web::error::ApiError;

/// Deserialises `value` into `T` (declared with `deny_unknown_fields`),
/// turning serde's first complaint into a named field error.
pub fn typed<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        ApiError::invalid(vec![field_error(&path, &message)])
    })
}

fn field_error(path: &str, message: &str) -> FieldError {
    let prefix = if path == "." { String::new() } else { format!("{path}.") };
    let quoted = |m: &str| m.split('`').nth(1).map(str::to_string);
    if message.starts_with("unknown field") {
        // The path already ends at the unknown field.
        let name = quoted(message).unwrap_or_default();
        let field = if path.ends_with(&name) { path.to_string() } else { format!("{prefix}{name}") };
        return FieldError::new(field, "is not a known field");
    }
    if message.starts_with("missing field") {
        let name = quoted(message).unwrap_or_default();
        return FieldError::new(format!("{prefix}{name}"), "is required");
    }
    FieldError::new(if path == "." { "body".to_string() } else { path.to_string() }, message)
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        email: String,
        count: Option<u32>,
    }

    #[test]
    fn problems_name_their_field() {
        let fields = |v| typed::<Body>(v).unwrap_err().fields;
        assert_eq!(fields(json!({"email": "a", "colour": 1}))[0].field, "colour");
        assert_eq!(fields(json!({}))[0].field, "email");
        assert_eq!(fields(json!({"email": "a", "count": "x"}))[0].field, "count");
    }
}
