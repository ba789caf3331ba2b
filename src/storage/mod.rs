//! Storage: the only module that speaks diesel. It owns the pool, the
//! schema, the migrations and one file per group of tables; it hands the
//! rest of the app plain rows and domain types.
//!
//! Diesel blocks, so async code reaches it only through [`Db::run`] and
//! [`Db::write`], which run the closure on actix's blocking thread pool.

pub mod admin_users;
pub mod api_keys;
pub mod audit;
pub mod clicks;
mod connection;
pub mod conversion_events;
pub mod coupons;
pub mod emails;
pub mod fraud;
pub mod instance;
pub mod ip_salts;
pub mod links;
pub mod migrations;
pub mod participants;
pub mod programs;
pub mod referrals;
pub mod rewards;
pub mod schema;
pub mod sessions;
pub mod webhooks;

use std::time::Duration;

use diesel::r2d2::{Pool, PooledConnection};

pub use connection::{ConnectionManager, DbConnection, write_transaction};

use crate::config::{DatabaseUrl, SqliteSynchronous};

/// What can go wrong below the services.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("database connection: {0}")]
    Connect(#[from] diesel::ConnectionError),
    #[error("database pool: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error("database query: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("migrations: {0}")]
    Migration(String),
    #[error("stored data is unreadable: {0}")]
    Data(String),
    #[error("the blocking thread pool is gone")]
    Canceled,
    /// An unavailable database's error, passed on to several callers (one
    /// failed group of events answers each of its requests).
    #[error("database unavailable: {0}")]
    Unavailable(String),
}

impl StorageError {
    /// Whether the error is a foreign-key violation (a row names another
    /// that does not exist).
    pub fn is_foreign_key_violation(&self) -> bool {
        matches!(
            self,
            StorageError::Query(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::ForeignKeyViolation,
                _
            ))
        )
    }

    /// Whether the database could not be reached, or stayed busy past its
    /// timeout: a condition that passes, which callers answer with 503 and
    /// `Retry-After` rather than 500. Covers a pool that found no working
    /// connection in time, a connection lost mid-query (PostgreSQL marks
    /// it closed), SQLite's lock held longer than `busy_timeout`, and the
    /// blocking pool shutting down.
    pub fn is_unavailable(&self) -> bool {
        use diesel::result::{DatabaseErrorKind, Error};
        match self {
            StorageError::Connect(_)
            | StorageError::Pool(_)
            | StorageError::Canceled
            | StorageError::Unavailable(_) => true,
            StorageError::Query(Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _)) => true,
            // SQLite reports SQLITE_BUSY and SQLITE_LOCKED with these fixed
            // texts (diesel gives them no kind of their own).
            StorageError::Query(Error::DatabaseError(DatabaseErrorKind::Unknown, info)) => {
                matches!(info.message(), "database is locked" | "database table is locked")
            }
            _ => false,
        }
    }

    /// Whether the error is a unique-constraint violation (someone else
    /// inserted the same key first).
    pub fn is_unique_violation(&self) -> bool {
        matches!(
            self,
            StorageError::Query(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _
            ))
        )
    }
}

pub type StorageResult<T> = Result<T, StorageError>;

/// The connection pool, cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: Pool<ConnectionManager>,
    backend: &'static str,
    /// Opens connections outside the pool, for readiness checks.
    probe: std::sync::Arc<ConnectionManager>,
}

impl Db {
    /// Opens one connection first so a wrong URL or a stopped server fails
    /// at once with its real error, then builds the pool.
    pub fn connect(target: &DatabaseUrl, synchronous: SqliteSynchronous, max_size: u32) -> StorageResult<Self> {
        let manager = ConnectionManager::new(target.clone(), synchronous);
        drop(manager.open()?);
        let pool = Pool::builder()
            .max_size(max_size)
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(5))
            .build(manager)?;
        let probe = std::sync::Arc::new(ConnectionManager::new(target.clone(), synchronous));
        Ok(Self { pool, backend: target.backend_name(), probe })
    }

    /// Whether the database can be reached now. SQLite opens the file
    /// afresh (pooled connections keep working on a deleted file); a pooled
    /// PostgreSQL connection is validated by the pool on checkout.
    pub async fn ping(&self) -> StorageResult<()> {
        use diesel::connection::SimpleConnection;
        let probe = self.probe.clone();
        let pool = self.pool.clone();
        actix_web::web::block(move || {
            if probe.is_sqlite() {
                Ok(probe.open()?.batch_execute("SELECT count(*) FROM instance_values")?)
            } else {
                Ok(pool.get()?.batch_execute("SELECT 1")?)
            }
        })
        .await
        .map_err(|_| StorageError::Canceled)?
    }

    pub fn backend(&self) -> &'static str {
        self.backend
    }

    /// A pooled connection, for blocking code (CLI, background writers).
    pub fn get(&self) -> StorageResult<PooledConnection<ConnectionManager>> {
        Ok(self.pool.get()?)
    }

    /// Pool occupancy: (connections open, connections idle).
    pub fn pool_state(&self) -> (u32, u32) {
        let state = self.pool.state();
        (state.connections, state.idle_connections)
    }

    pub fn max_size(&self) -> u32 {
        self.pool.max_size()
    }

    /// Runs `f` with a connection on the blocking pool.
    pub async fn run<T, F>(&self, f: F) -> StorageResult<T>
    where
        F: FnOnce(&mut DbConnection) -> StorageResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        actix_web::web::block(move || {
            let mut conn = pool.get()?;
            f(&mut conn)
        })
        .await
        .map_err(|_| StorageError::Canceled)?
    }

    /// Runs `f` in a write transaction on the blocking pool; the result is
    /// committed when this returns `Ok`.
    pub async fn write<T, F>(&self, f: F) -> StorageResult<T>
    where
        F: FnOnce(&mut DbConnection) -> StorageResult<T> + Send + 'static,
        T: Send + 'static,
    {
        self.run(move |conn| write_transaction(conn, f)).await
    }
}

#[cfg(test)]
mod tests {
    use diesel::result::{DatabaseErrorKind, Error};

    use super::StorageError;

    fn database_error(kind: DatabaseErrorKind, message: &str) -> StorageError {
        StorageError::Query(Error::DatabaseError(kind, Box::new(message.to_string())))
    }

    #[test]
    fn a_lost_connection_a_busy_sqlite_and_a_stopped_pool_are_unavailable() {
        assert!(database_error(DatabaseErrorKind::ClosedConnection, "server closed the connection").is_unavailable());
        assert!(database_error(DatabaseErrorKind::Unknown, "database is locked").is_unavailable());
        assert!(database_error(DatabaseErrorKind::Unknown, "database table is locked").is_unavailable());
        assert!(StorageError::Canceled.is_unavailable());
        assert!(StorageError::Unavailable("group failed".into()).is_unavailable());
    }

    #[test]
    fn broken_rules_and_bad_data_are_failures_not_unavailability() {
        assert!(!database_error(DatabaseErrorKind::UniqueViolation, "duplicate key").is_unavailable());
        assert!(!database_error(DatabaseErrorKind::Unknown, "no such table: clicks").is_unavailable());
        assert!(!database_error(DatabaseErrorKind::Unknown, "database or disk is full").is_unavailable());
        assert!(!StorageError::Query(Error::NotFound).is_unavailable());
        assert!(!StorageError::Data("unreadable".into()).is_unavailable());
    }
}
