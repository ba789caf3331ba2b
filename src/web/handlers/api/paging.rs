//! The paging parameters every list of the API shares: `cursor` (opaque,
//! given out as `next` by the previous page) and `limit`.

use std::collections::HashMap;

use crate::domain::FieldError;
use crate::services::referrals::Cursor;

/// Rows per page unless `limit` says otherwise, and at most.
pub const DEFAULT_LIMIT: i64 = 100;
pub const MAX_LIMIT: i64 = 500;

/// Reads `cursor` and `limit` from the query; a bad one is added to
/// `errors` (named by its field) and replaced by the default.
pub fn paging(query: &HashMap<String, String>, errors: &mut Vec<FieldError>) -> (Option<Cursor>, i64) {
    let after = match query.get("cursor") {
        None => None,
        Some(raw) => {
            let cursor = Cursor::decode(raw);
            if cursor.is_none() {
                errors.push(FieldError::new("cursor", "is not a cursor this API gave out"));
            }
            cursor
        }
    };
    let limit = match query.get("limit").map(|l| l.parse::<i64>()) {
        None => DEFAULT_LIMIT,
        Some(Ok(n)) if (1..=MAX_LIMIT).contains(&n) => n,
        Some(_) => {
            errors.push(FieldError::new("limit", format!("must be a whole number from 1 to {MAX_LIMIT}")));
            DEFAULT_LIMIT
        }
    };
    (after, limit)
}
