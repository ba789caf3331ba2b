//! Builds the application: pool, migrations, secret key, app state and the
//! HTTP server. `main` and the tests use the same [`Application::build`].

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use anyhow::Context;

use crate::clock::Clock;
use crate::config::{DatabaseUrl, Settings};
use crate::jobs;
use crate::metrics::Metrics;
use crate::services::instance;
use crate::storage::{Db, migrations};
use crate::web::handlers::admin::require_setup;
use crate::web::hot_path::ShortLinks;
use crate::web::middleware::{catch_panic, error_bodies, observe, security_headers};
use crate::web::routes;
use crate::web::state::{AppState, Keys};

/// Connections in the pool. PostgreSQL is shared by several servers, so
/// each keeps a modest pool; SQLite serialises writers anyway and every
/// connection keeps a page cache of its own (2 MB), so a few per core.
fn pool_size(database: &DatabaseUrl) -> u32 {
    match database {
        DatabaseUrl::Postgres(_) => 16,
        DatabaseUrl::Sqlite(_) => (2 * worker_count() as u32).max(4),
    }
}

/// Opens the database, runs pending migrations and returns the pool.
pub fn open_database(settings: &Settings) -> anyhow::Result<Db> {
    let db = Db::connect(&settings.database, settings.sqlite_synchronous, pool_size(&settings.database))
        .with_context(|| format!("cannot open the database {:?}", settings.database))?;
    let mut conn = db.get()?;
    let applied = migrations::run_pending(&mut conn).context("cannot run database migrations")?;
    if applied > 0 {
        tracing::info!(applied, backend = db.backend(), "database migrations applied");
    }
    Ok(db)
}

/// A server bound to its port, ready to run.
pub struct Application {
    server: Server,
    port: u16,
    state: web::Data<AppState>,
}

impl Application {
    /// Everything `serve` does before it accepts connections.
    pub async fn build(mut settings: Settings, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let db = {
            let settings = settings.clone();
            web::block(move || open_database(&settings)).await??
        };
        let secret = {
            let db = db.clone();
            let configured = settings.secret_key.clone();
            let now = clock.now_utc();
            web::block(move || {
                let mut conn = db.get()?;
                Ok::<_, anyhow::Error>(instance::secret_key(&mut conn, configured.as_deref(), now)?)
            })
            .await??
        };
        let listener =
            TcpListener::bind(settings.bind).with_context(|| format!("cannot listen on {}", settings.bind))?;
        let port = listener.local_addr()?.port();
        // Port 0 (tests, or "any free port") is known only now; a base URL
        // derived from the bind address follows it.
        if settings.bind.port() == 0 && settings.base_url == format!("http://{}", settings.bind) {
            settings.base_url = format!("http://{}", listener.local_addr()?);
        }
        let https = settings.https();
        let journal = settings.click_journal.clone();
        let state = AppState::new(settings, db, clock, Keys::from_secret(&secret), Arc::new(Metrics::new()))
            .with_context(|| format!("cannot open the click journal {}", journal.display()))?;
        let state = web::Data::new(state);
        let app_state = state.clone();
        let workers = worker_count();
        let database = app_state.settings.database.clone();
        let server = HttpServer::new(move || {
            // Outermost last: metrics see the final status; headers reach
            // every response, error pages and panics included. Short links
            // are answered before all of it, with the same headers and
            // metrics (see `hot_path`).
            App::new()
                .app_data(app_state.clone())
                .configure(routes)
                .wrap(from_fn(require_setup))
                .wrap(from_fn(catch_panic))
                .wrap(from_fn(error_bodies))
                .wrap(security_headers(https))
                .wrap(from_fn(observe))
                .wrap(ShortLinks::new(app_state.clone()))
        })
        .workers(workers)
        // Blocking work is database work (and argon2): together the workers
        // get as many threads as the pool has connections. The default
        // (512 / cores each) lets a burst of link-cache misses start dozens
        // of threads that only wait for a connection, and grow memory.
        .worker_max_blocking_threads((pool_size(&database) as usize).div_ceil(workers))
        .shutdown_timeout(10)
        .listen(listener)?
        .run();
        Ok(Self { server, port, state })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// A handle that stops the server gracefully, as SIGTERM does.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGTERM/SIGINT (or a stop through the handle), then
    /// finishes background work.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let housekeeping = jobs::spawn_housekeeping(self.state.clone());
        let reward_clock = jobs::spawn_reward_clock(self.state.clone());
        // A delivery cut short here is sent again by the next server to
        // see its lease end (at least once, with the same webhook-id).
        let webhooks = actix_web::rt::spawn(self.state.webhooks.clone().run());
        // An email cut short is leased; another run sends it when the
        // lease ends.
        let emails = self.state.settings.email_worker.then(|| self.state.emails.clone().spawn());
        let result = self.server.await;
        if let Some(emails) = emails {
            emails.abort();
        }
        housekeeping.abort();
        reward_clock.abort();
        webhooks.abort();
        // No request is in flight any more: journal what is buffered and
        // load the journal into the database.
        let state = self.state.clone();
        let pending = state.clicks.pending();
        let _ = web::block(move || state.clicks.shutdown()).await;
        tracing::info!(clicks_loaded_at_stop = pending, "server stopped");
        result
    }
}

fn worker_count() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).clamp(1, 16)
}
