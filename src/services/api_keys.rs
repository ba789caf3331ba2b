//! API keys: created once and shown once, stored as SHA-256, checked in
//! constant time, revocable.

use time::{Duration, PrimitiveDateTime};

use crate::crypto::{constant_time_eq, random_token, sha256_hex};
use crate::storage::Db;
use crate::storage::api_keys::{self, ApiKeyRow, NewApiKey};
use crate::storage::audit::{self, AuditEntry};

use super::{ServiceError, ServiceResult};

/// Every key starts with this, so a leaked key is recognisable in a scan.
pub const KEY_PREFIX: &str = "gwk_";
const SHOWN_PREFIX_CHARS: usize = 12;
const TOUCH_EVERY: Duration = Duration::seconds(60);

/// A key as the admin lists it; the secret itself is never here.
#[derive(Debug, Clone)]
pub struct ApiKeySummary {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub created_at: PrimitiveDateTime,
    pub last_used_at: Option<PrimitiveDateTime>,
    pub revoked_at: Option<PrimitiveDateTime>,
}

impl From<ApiKeyRow> for ApiKeySummary {
    fn from(row: ApiKeyRow) -> Self {
        Self {
            id: row.id,
            name: row.name,
            prefix: row.prefix,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
            revoked_at: row.revoked_at,
        }
    }
}

/// The caller of an API request.
#[derive(Debug, Clone)]
pub struct ApiClient {
    pub key_id: String,
    pub name: String,
}

/// A key name: what the admin will recognise in the list.
pub fn parse_name(raw: &str) -> ServiceResult<String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(ServiceError::invalid("name", "give the key a name that says who uses it"));
    }
    if name.chars().count() > 80 {
        return Err(ServiceError::invalid("name", "use at most 80 characters"));
    }
    if name.chars().any(char::is_control) {
        return Err(ServiceError::invalid("name", "use letters, digits and punctuation only"));
    }
    Ok(name.to_string())
}

/// Creates a key; returns the secret (to show once) and its summary.
pub async fn create(
    db: &Db,
    actor: String,
    actor_id: Option<String>,
    name: String,
    now: PrimitiveDateTime,
) -> ServiceResult<(String, ApiKeySummary)> {
    let secret = format!("{KEY_PREFIX}{}", random_token(32));
    let prefix: String = secret.chars().take(SHOWN_PREFIX_CHARS).collect();
    let key_hash = sha256_hex(&secret);
    let id = nanoid::nanoid!();
    let summary = ApiKeySummary {
        id: id.clone(),
        name: name.clone(),
        prefix: prefix.clone(),
        created_at: now,
        last_used_at: None,
        revoked_at: None,
    };
    db.write(move |conn| {
        api_keys::insert(
            conn,
            &NewApiKey {
                id: &id,
                name: &name,
                prefix: &prefix,
                key_hash: &key_hash,
                created_by: actor_id.as_deref(),
                created_at: now,
            },
        )?;
        audit::record(
            conn,
            AuditEntry { actor: &actor, action: "api_key.created", subject: &name, detail: &prefix },
            now,
        )
    })
    .await?;
    Ok((secret, summary))
}

pub async fn list(db: &Db) -> ServiceResult<Vec<ApiKeySummary>> {
    Ok(db.run(api_keys::list).await?.into_iter().map(Into::into).collect())
}

pub async fn revoke(db: &Db, actor: String, id: String, now: PrimitiveDateTime) -> ServiceResult<String> {
    db.write(move |conn| {
        let Some(name) = api_keys::revoke(conn, &id, now)? else {
            return Ok(Err(ServiceError::NotFound("active API key")));
        };
        audit::record(conn, AuditEntry { actor: &actor, action: "api_key.revoked", subject: &name, detail: "" }, now)?;
        Ok(Ok(name))
    })
    .await?
}

/// The client a bearer key belongs to, if the key is known and not revoked.
pub async fn authenticate(db: &Db, presented: String, now: PrimitiveDateTime) -> ServiceResult<Option<ApiClient>> {
    if !presented.starts_with(KEY_PREFIX) || presented.len() > 128 {
        return Ok(None);
    }
    let hash = sha256_hex(&presented);
    let client = db
        .run(move |conn| {
            let Some(row) = api_keys::find_by_hash(conn, &hash)? else {
                return Ok(None);
            };
            // The index found the row by hash; compare again in constant
            // time so that no timing depends on how much of a key matched.
            if !constant_time_eq(&row.key_hash, &hash) || row.revoked_at.is_some() {
                return Ok(None);
            }
            if row.last_used_at.is_none_or(|t| t + TOUCH_EVERY <= now) {
                api_keys::mark_used(conn, &row.id, now)?;
            }
            Ok(Some(ApiClient { key_id: row.id, name: row.name }))
        })
        .await?;
    Ok(client)
}
