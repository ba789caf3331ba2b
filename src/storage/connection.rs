//! Connections: the multi-backend connection type, the r2d2 manager that
//! opens the variant the `DATABASE_URL` scheme names, SQLite pragmas, and
//! write transactions (`BEGIN IMMEDIATE` on SQLite).

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::ManageConnection;

use crate::config::{DatabaseUrl, SqliteSynchronous};

/// One connection to whichever backend is configured.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Sqlite(diesel::SqliteConnection),
    Postgres(diesel::PgConnection),
}

impl DbConnection {
    pub fn is_sqlite(&self) -> bool {
        matches!(self, Self::Sqlite(_))
    }
}

/// Opens connections for the pool. Choosing the variant from the URL scheme
/// here (instead of `MultiConnection::establish`, which tries each backend in
/// turn) keeps the real connection error for the log.
#[derive(Debug)]
pub struct ConnectionManager {
    target: DatabaseUrl,
    pragmas: String,
}

impl ConnectionManager {
    pub fn new(target: DatabaseUrl, synchronous: SqliteSynchronous) -> Self {
        // WAL lets readers run beside the one writer; busy_timeout makes a
        // second writer wait instead of failing; FULL survives power loss.
        let pragmas = format!(
            "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; PRAGMA synchronous = {};",
            synchronous.pragma_value()
        );
        Self { target, pragmas }
    }

    pub fn is_sqlite(&self) -> bool {
        matches!(self.target, DatabaseUrl::Sqlite(_))
    }

    pub fn open(&self) -> Result<DbConnection, diesel::ConnectionError> {
        match &self.target {
            DatabaseUrl::Sqlite(path) => {
                let mut conn = diesel::SqliteConnection::establish(path)?;
                conn.batch_execute(&self.pragmas)
                    .map_err(|e| diesel::ConnectionError::BadConnection(format!("SQLite pragmas: {e}")))?;
                Ok(DbConnection::Sqlite(conn))
            }
            DatabaseUrl::Postgres(url) => Ok(DbConnection::Postgres(diesel::PgConnection::establish(url)?)),
        }
    }
}

impl ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConnection, Self::Error> {
        self.open().map_err(diesel::r2d2::Error::ConnectionError)
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), Self::Error> {
        conn.batch_execute("SELECT 1").map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        // A connection whose transaction state is broken (a panic inside a
        // transaction) must not go back to the pool.
        match conn {
            DbConnection::Sqlite(c) => is_broken(c),
            DbConnection::Postgres(c) => is_broken(c),
        }
    }
}

fn is_broken<C>(conn: &mut C) -> bool
where
    C: Connection<TransactionManager = AnsiTransactionManager>,
{
    AnsiTransactionManager::is_broken_transaction_manager(conn)
}

/// Runs `f` in a write transaction and commits it when `f` returns `Ok`.
///
/// On SQLite the transaction starts with `BEGIN IMMEDIATE`, taking the write
/// lock up front: a deferred transaction that reads and then writes can fail
/// with SQLITE_BUSY at the write, which `busy_timeout` cannot retry.
pub fn write_transaction<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    // PostgreSQL takes row locks as it writes; a nested call becomes a
    // savepoint of the transaction already open.
    if !conn.is_sqlite() || in_transaction(conn) {
        return conn.transaction(f);
    }
    with_sqlite(conn, |c| AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE"))?;
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(conn)));
    match outcome {
        Ok(Ok(value)) => {
            with_sqlite(conn, AnsiTransactionManager::commit_transaction)?;
            Ok(value)
        }
        Ok(Err(e)) => {
            with_sqlite(conn, AnsiTransactionManager::rollback_transaction)?;
            Err(e)
        }
        Err(panic) => {
            let _ = with_sqlite(conn, AnsiTransactionManager::rollback_transaction);
            std::panic::resume_unwind(panic)
        }
    }
}

fn in_transaction(conn: &mut DbConnection) -> bool {
    match conn {
        DbConnection::Sqlite(c) => {
            AnsiTransactionManager::transaction_manager_status_mut(c).transaction_depth().ok().flatten().is_some()
        }
        DbConnection::Postgres(c) => {
            AnsiTransactionManager::transaction_manager_status_mut(c).transaction_depth().ok().flatten().is_some()
        }
    }
}

fn with_sqlite<T>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut diesel::SqliteConnection) -> QueryResult<T>,
) -> QueryResult<T> {
    match conn {
        DbConnection::Sqlite(c) => f(c),
        DbConnection::Postgres(_) => Err(diesel::result::Error::NotInTransaction),
    }
}
