//! Links: resolving a code for the redirect (through the cache), adding a
//! code to a participant, disabling one.

use std::sync::Arc;

use time::PrimitiveDateTime;

use crate::domain::ReferralCode;
use crate::domain::code::CodeError;
use crate::storage::Db;
use crate::storage::audit::{self, AuditEntry};
use crate::storage::links::{self, LinkRow};

use super::link_cache::{CachedLink, LinkCache};
use super::programs::{self, Program, SharedProgram};
use super::{ServiceError, ServiceResult};

/// The link behind `code`, from the cache when fresh. `None`: no such code.
pub async fn resolve(db: &Db, cache: &LinkCache, code: &str) -> ServiceResult<Option<Arc<CachedLink>>> {
    if let Some(hit) = cache.get(code) {
        return Ok(hit);
    }
    let owned = code.to_string();
    let Some(link) = db.run(move |conn| links::resolve(conn, &owned)).await? else {
        cache.put(code, None);
        return Ok(None);
    };
    let program = match cache.program(&link.program_id) {
        Some(p) => p,
        None => {
            let Some(p) = programs::get_by_id(db, &link.program_id).await? else {
                return Ok(None);
            };
            let p = Arc::new(p);
            cache.put_program(p.clone());
            p
        }
    };
    let cached = Arc::new(CachedLink { link, program });
    cache.put(code, Some(cached.clone()));
    Ok(Some(cached))
}

/// The program `slug` from the cache, else from the database (and cached):
/// for the API's hot paths, which name programs by slug.
pub async fn program_by_slug(db: &Db, cache: &LinkCache, slug: &str) -> ServiceResult<Option<SharedProgram>> {
    if let Some(program) = cache.program_by_slug(slug) {
        return Ok(Some(program));
    }
    let Some(program) = programs::get(db, slug).await? else { return Ok(None) };
    let program = Arc::new(program);
    cache.put_program(program.clone());
    Ok(Some(program))
}

/// Adds a link to a participant: a vanity code when given, else a random one.
pub async fn add(
    db: &Db,
    cache: &LinkCache,
    actor: String,
    program: &Program,
    participant_id: String,
    vanity: Option<ReferralCode>,
    now: PrimitiveDateTime,
) -> ServiceResult<LinkRow> {
    let program_id = program.id.clone();
    let result = db
        .write(move |conn| {
            let row = match vanity {
                Some(code) => {
                    let row = LinkRow {
                        id: nanoid::nanoid!(),
                        program_id: program_id.clone(),
                        participant_id: participant_id.clone(),
                        code: code.into_string(),
                        is_vanity: true,
                        disabled_at: None,
                        created_at: now,
                    };
                    links::insert(conn, &row)?;
                    row
                }
                None => links::insert_with_random_code(conn, &program_id, &participant_id, now)?,
            };
            audit::record(
                conn,
                AuditEntry { actor: &actor, action: "link.created", subject: &row.code, detail: &participant_id },
                now,
            )?;
            Ok(row)
        })
        .await;
    match result {
        Ok(row) => {
            // The code may be cached as unknown from before it existed.
            cache.invalidate_code(&row.code);
            Ok(row)
        }
        Err(e) if e.is_unique_violation() => Err(ServiceError::invalid("code", "this code is taken; choose another")),
        Err(e) => Err(e.into()),
    }
}

/// Disables or re-enables a link; a disabled code answers 404.
pub async fn set_disabled(
    db: &Db,
    cache: &LinkCache,
    actor: String,
    link_id: String,
    disabled: bool,
    now: PrimitiveDateTime,
) -> ServiceResult<LinkRow> {
    let row = db
        .write(move |conn| {
            let Some(row) = links::find(conn, &link_id)? else {
                return Ok(None);
            };
            let at = disabled.then_some(now);
            links::set_disabled(conn, &row.id, at)?;
            let action = if disabled { "link.disabled" } else { "link.enabled" };
            audit::record(conn, AuditEntry { actor: &actor, action, subject: &row.code, detail: "" }, now)?;
            Ok(Some(LinkRow { disabled_at: at, ..row }))
        })
        .await?
        .ok_or(ServiceError::NotFound("link"))?;
    cache.invalidate_code(&row.code);
    Ok(row)
}

/// Parses an optional vanity code from a form or API field.
pub fn parse_vanity(raw: Option<&str>) -> Result<Option<ReferralCode>, CodeError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        Some(code) => ReferralCode::vanity(code).map(Some),
        None => Ok(None),
    }
}
