//! Use cases, one file per capability. Services take parsed domain values,
//! run their reads and writes through [`crate::storage::Db`] and answer with
//! view-ready values or a [`ServiceError`].

pub mod accounts;
pub mod api_keys;
pub mod audit;
pub mod clicks;
pub mod demo;
pub mod email;
pub mod events;
pub mod fraud;
pub mod import;
pub mod instance;
pub mod link_cache;
pub mod links;
pub mod participant_export;
pub mod participant_overview;
pub mod participants;
pub mod programs;
pub mod referral_json;
pub mod referrals;
pub mod rewards;
pub mod stats;
pub mod webhooks;

use crate::storage::{Db, DbConnection, StorageError, write_transaction};

pub use crate::domain::FieldError;

/// The error policy of the service layer: callers show `Invalid`,
/// `NotFound`, `Conflict` and `Forbidden` to users; `Storage` is logged with
/// its cause and shown as a generic failure.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{}", summarize(.0))]
    Invalid(Vec<FieldError>),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

fn summarize(errors: &[FieldError]) -> String {
    errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; ")
}

impl ServiceError {
    pub fn invalid(field: &str, message: impl ToString) -> Self {
        Self::Invalid(vec![FieldError::new(field, message)])
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;

impl From<diesel::result::Error> for ServiceError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Storage(StorageError::Query(e))
    }
}

/// Runs `f` in a write transaction that commits when it answers `Ok` and
/// rolls back when it refuses (any `Err`, a refusal included), so a use
/// case may refuse after it has written, and nothing of it stays.
pub(crate) async fn write_or_refuse<T, F>(db: &Db, f: F) -> ServiceResult<T>
where
    F: FnOnce(&mut DbConnection) -> ServiceResult<T> + Send + 'static,
    T: Send + 'static,
{
    db.run(move |conn| Ok(write_transaction(conn, f))).await?
}

/// Runs CPU-heavy work (argon2) off the async workers.
pub(crate) async fn cpu<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> ServiceResult<T> {
    actix_web::web::block(f).await.map_err(|_| ServiceError::Storage(StorageError::Canceled))
}
