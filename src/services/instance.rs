//! The installation's secret key: from `GOODWORD_SECRET_KEY`, or generated
//! on first start and kept in the database so every server and every
//! restart signs with the same key.

use crate::crypto::random_token;
use crate::storage::{DbConnection, StorageResult, instance};
use time::PrimitiveDateTime;

/// Returns the configured key, or the stored one, generating it once.
pub fn secret_key(conn: &mut DbConnection, configured: Option<&str>, now: PrimitiveDateTime) -> StorageResult<String> {
    if let Some(key) = configured {
        return Ok(key.to_string());
    }
    if let Some(stored) = instance::get(conn, instance::SECRET_KEY)? {
        return Ok(stored);
    }
    let generated = random_token(32);
    match instance::insert(conn, instance::SECRET_KEY, &generated, now) {
        Ok(()) => Ok(generated),
        // Another server starting at the same moment stored its key first:
        // use that one, so that all servers agree.
        Err(e) if e.is_unique_violation() => instance::get(conn, instance::SECRET_KEY)?.ok_or(e),
        Err(e) => Err(e),
    }
}
