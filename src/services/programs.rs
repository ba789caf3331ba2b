//! Programs: create or replace a whole configuration, read it back, pause
//! and archive. Every change lands in the audit log and drops the cached
//! copies this server holds.

use std::sync::Arc;

use time::PrimitiveDateTime;

use crate::domain::ProgramSlug;
use crate::domain::program::{ProgramConfig, ProgramStatus};
use crate::storage::audit::{self, AuditEntry};
use crate::storage::programs::{self, ProgramRow};
use crate::storage::{Db, StorageError};

use super::{ServiceError, ServiceResult};

/// A program with its parsed configuration.
#[derive(Debug, Clone)]
pub struct Program {
    pub id: String,
    pub slug: String,
    pub config: ProgramConfig,
    pub created_at: PrimitiveDateTime,
    pub updated_at: PrimitiveDateTime,
}

impl Program {
    pub fn status(&self) -> ProgramStatus {
        self.config.status
    }

    pub fn from_row(row: ProgramRow) -> ServiceResult<Self> {
        let config: ProgramConfig = serde_json::from_str(&row.config).map_err(|e| {
            ServiceError::Conflict(format!("program {} has an unreadable configuration: {e}", row.slug))
        })?;
        Ok(Self { id: row.id, slug: row.slug, config, created_at: row.created_at, updated_at: row.updated_at })
    }
}

/// Creates the program `slug` or replaces its configuration; `true` when
/// it was created.
pub async fn put(
    db: &Db,
    actor: String,
    slug: ProgramSlug,
    config: ProgramConfig,
    now: PrimitiveDateTime,
) -> ServiceResult<(Program, bool)> {
    let json = serde_json::to_string(&config).map_err(|e| ServiceError::Conflict(e.to_string()))?;
    let attempt = |db: Db, slug: ProgramSlug, json: String, name: String, status: ProgramStatus, actor: String| async move {
        db.write(move |conn| {
            let existing = programs::find_by_slug(conn, slug.as_str())?;
            let (row, created) = match existing {
                Some(row) => {
                    programs::update(conn, &row.id, &name, status.as_str(), &json, now)?;
                    (ProgramRow { name, status: status.as_str().into(), config: json, updated_at: now, ..row }, false)
                }
                None => {
                    let row = ProgramRow {
                        id: nanoid::nanoid!(),
                        slug: slug.to_string(),
                        name,
                        status: status.as_str().into(),
                        config: json,
                        created_at: now,
                        updated_at: now,
                    };
                    programs::insert(conn, &row)?;
                    (row, true)
                }
            };
            let action = if created { "program.created" } else { "program.updated" };
            audit::record(conn, AuditEntry { actor: &actor, action, subject: slug.as_str(), detail: "" }, now)?;
            Ok((row, created))
        })
        .await
    };
    let (name, status) = (config.name.clone(), config.status);
    let result = match attempt(db.clone(), slug.clone(), json.clone(), name.clone(), status, actor.clone()).await {
        // Two creates of one slug at once: the loser updates what the winner made.
        Err(e) if e.is_unique_violation() => attempt(db.clone(), slug, json, name, status, actor).await,
        other => other,
    };
    let (row, created) = result?;
    Ok((Program::from_row(row)?, created))
}

pub async fn get(db: &Db, slug: &str) -> ServiceResult<Option<Program>> {
    let slug = slug.to_string();
    db.run(move |conn| programs::find_by_slug(conn, &slug)).await?.map(Program::from_row).transpose()
}

pub async fn get_by_id(db: &Db, id: &str) -> ServiceResult<Option<Program>> {
    let id = id.to_string();
    db.run(move |conn| programs::find(conn, &id)).await?.map(Program::from_row).transpose()
}

/// The program `slug`, or `NotFound`.
pub async fn require(db: &Db, slug: &str) -> ServiceResult<Program> {
    get(db, slug).await?.ok_or(ServiceError::NotFound("program"))
}

pub async fn list(db: &Db) -> ServiceResult<Vec<Program>> {
    db.run(programs::list).await?.into_iter().map(Program::from_row).collect()
}

/// Pauses, resumes or archives a program.
pub async fn set_status(
    db: &Db,
    actor: String,
    slug: &str,
    status: ProgramStatus,
    now: PrimitiveDateTime,
) -> ServiceResult<Program> {
    let slug = slug.to_string();
    let row = db
        .write(move |conn| {
            let Some(row) = programs::find_by_slug(conn, &slug)? else {
                return Ok(None);
            };
            let mut config: ProgramConfig =
                serde_json::from_str(&row.config).map_err(|e| StorageError::Data(format!("program {slug}: {e}")))?;
            config.status = status;
            let json = serde_json::to_string(&config).map_err(|e| StorageError::Data(e.to_string()))?;
            programs::update(conn, &row.id, &row.name, status.as_str(), &json, now)?;
            audit::record(
                conn,
                AuditEntry { actor: &actor, action: "program.status_changed", subject: &slug, detail: status.as_str() },
                now,
            )?;
            Ok(Some(ProgramRow { status: status.as_str().into(), config: json, updated_at: now, ..row }))
        })
        .await?
        .ok_or(ServiceError::NotFound("program"))?;
    Program::from_row(row)
}

/// A shared, immutable program for caches.
pub type SharedProgram = Arc<Program>;
