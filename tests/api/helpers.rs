//! The test harness: a real goodword server on port 0 with a fresh
//! database of its own — a SQLite file in a temporary folder, or, when
//! `TEST_DATABASE_URL` names a PostgreSQL server, a database created for
//! the test and dropped after it.

use std::sync::Arc;

use actix_web::dev::ServerHandle;
use actix_web::web;
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use goodword::clock::{Clock, ManualClock};
use goodword::config::{DatabaseUrl, Settings};
use goodword::domain::{EmailAddress, NewPassword, Role};
use goodword::services::accounts;
use goodword::startup::Application;
use goodword::web::state::AppState;
use reqwest::redirect::Policy;
use time::OffsetDateTime;

pub const OWNER_EMAIL: &str = "owner@example.com";
pub const PASSWORD: &str = "correct horse battery";

/// A database for one test, removed when dropped.
pub struct TestDatabase {
    pub url: DatabaseUrl,
    /// Holds the SQLite file and, for either backend, the click journal.
    dir: tempfile::TempDir,
    pg: Option<(String, String)>,
}

impl TestDatabase {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temporary folder");
        match std::env::var("TEST_DATABASE_URL").ok().filter(|u| !u.is_empty()) {
            Some(server) => {
                let alphabet: Vec<char> = "abcdefghijklmnopqrstuvwxyz0123456789".chars().collect();
                let name = format!("gw_test_{}", nanoid::nanoid!(16, &alphabet));
                let mut admin = PgConnection::establish(&server).expect("TEST_DATABASE_URL must accept connections");
                admin.batch_execute(&format!("CREATE DATABASE {name}")).expect("create test database");
                let url = replace_database(&server, &name);
                Self { url: DatabaseUrl::Postgres(url), dir, pg: Some((server, name)) }
            }
            None => {
                let path = dir.path().join("goodword.db").to_string_lossy().into_owned();
                Self { url: DatabaseUrl::Sqlite(path), dir, pg: None }
            }
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.pg.is_some()
    }

    /// The `DATABASE_URL` for a child process.
    pub fn env_url(&self) -> String {
        match &self.url {
            DatabaseUrl::Sqlite(path) => format!("sqlite://{path}"),
            DatabaseUrl::Postgres(url) => url.clone(),
        }
    }

    /// The click journal of the server on this database (one server at a
    /// time, as in production).
    pub fn journal(&self) -> std::path::PathBuf {
        self.dir.path().join("clicks")
    }

    /// Drops the database now, while the app may still hold connections.
    pub fn drop_now(&self) {
        if let Some((server, name)) = &self.pg
            && let Ok(mut admin) = PgConnection::establish(server)
        {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        self.drop_now();
    }
}

fn replace_database(server_url: &str, name: &str) -> String {
    let mut url = url::Url::parse(server_url).expect("TEST_DATABASE_URL is a URL");
    url.set_path(&format!("/{name}"));
    // libpq prefers TLS when the server offers it, and OpenSSL's exit-time
    // cleanup then races with app threads still inside a TLS read when the
    // test binary ends (a SIGSEGV after every test passed). The test server
    // is on loopback; TLS buys nothing there.
    if !url.query_pairs().any(|(k, _)| k == "sslmode") {
        url.query_pairs_mut().append_pair("sslmode", "disable");
    }
    url.to_string()
}

/// A running goodword with its own database, clock and HTTP client.
pub struct TestApp {
    pub address: String,
    pub clock: Arc<ManualClock>,
    pub state: web::Data<AppState>,
    pub client: reqwest::Client,
    /// Stops the server gracefully, as SIGTERM does.
    pub handle: ServerHandle,
    db: Option<TestDatabase>,
    server: Option<actix_web::rt::task::JoinHandle<std::io::Result<()>>>,
    /// The click journal of a server beside another ([`spawn_app_beside`]).
    _journal: Option<tempfile::TempDir>,
}

/// Starts goodword as `serve` does, on a fresh database.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Like [`spawn_app`], with settings adjusted by `configure`.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_on(TestDatabase::new(), configure).await
}

/// Starts goodword on an existing test database (e.g. after a restart).
pub async fn spawn_app_on(db: TestDatabase, configure: impl FnOnce(&mut Settings)) -> TestApp {
    let mut settings = Settings::local(db.url.clone());
    settings.click_journal = db.journal();
    configure(&mut settings);
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
    let app = Application::build(settings, clock.clone()).await.expect("the app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let state = app.state();
    let handle = app.handle();
    let server = actix_web::rt::spawn(app.run_until_stopped());
    TestApp { address, clock, state, client: browser(), handle, db: Some(db), server: Some(server), _journal: None }
}

/// A second server on the database of `first` (with its own click
/// journal), as behind a load balancer.
pub async fn spawn_app_beside(first: &TestApp, configure: impl FnOnce(&mut Settings)) -> TestApp {
    let journal = tempfile::tempdir().expect("temporary folder");
    let mut settings = Settings::local(first.db().url.clone());
    settings.click_journal = journal.path().join("clicks");
    configure(&mut settings);
    let clock = Arc::new(ManualClock::new(first.clock.now()));
    let app = Application::build(settings, clock.clone()).await.expect("the app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let state = app.state();
    let handle = app.handle();
    let server = actix_web::rt::spawn(app.run_until_stopped());
    TestApp {
        address,
        clock,
        state,
        client: browser(),
        handle,
        db: None,
        server: Some(server),
        _journal: Some(journal),
    }
}

/// A client that behaves like a browser for our purposes. Building one
/// loads the system's TLS roots (reqwest has TLS for the webhook sender),
/// tens of milliseconds in a debug build: a test that sends many requests
/// reuses one (`app.client`) instead of building one per request. It
/// keeps cookies and does not follow redirects (tests look at them).
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(Policy::none()).build().expect("client")
}

/// The value of the hidden `csrf_token` field in `html`.
pub fn csrf_in(html: &str) -> String {
    extract(html, "name=\"csrf_token\" value=\"", "\"").expect("the page has a CSRF token")
}

/// The text between `start` and the next `end` in `haystack`.
pub fn extract(haystack: &str, start: &str, end: &str) -> Option<String> {
    let from = haystack.find(start)? + start.len();
    let len = haystack[from..].find(end)?;
    Some(haystack[from..from + len].to_string())
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Load the clicks still journaled while the test's database exists;
        // dropping it first would leave the loader nothing to load into.
        self.state.clicks.shutdown();
    }
}

impl TestApp {
    /// Stops the server as SIGTERM does (in-flight requests finish, queued
    /// clicks are written) and hands back its database.
    pub async fn stop(mut self) -> TestDatabase {
        self.handle.stop(true).await;
        if let Some(server) = self.server.take() {
            server.await.expect("server task").expect("server ran");
        }
        self.db.take().expect("the database is there until stop")
    }

    /// The test's database.
    pub fn db(&self) -> &TestDatabase {
        self.db.as_ref().expect("the database is there until stop")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        get_with(&self.client, &self.url(path)).await
    }

    /// GETs `page`, then POSTs `fields` to `action` with the page's CSRF
    /// token and this site's Origin, as a browser submitting the form would.
    pub async fn submit(
        &self,
        client: &reqwest::Client,
        page: &str,
        action: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let html = get_with(client, &self.url(page)).await.text().await.expect("page body");
        let token = csrf_in(&html);
        let mut form: Vec<(&str, &str)> = vec![("csrf_token", &token)];
        form.extend_from_slice(fields);
        client.post(self.url(action)).header("Origin", &self.address).form(&form).send().await.expect("request sent")
    }

    /// Completes first-run setup; `self.client` is then signed in as owner.
    pub async fn setup_owner(&self) {
        let resp = self
            .submit(
                &self.client,
                "/admin/setup",
                "/admin/setup",
                &[("email", OWNER_EMAIL), ("password", PASSWORD), ("password_confirm", PASSWORD)],
            )
            .await;
        assert_eq!(resp.status(), 303, "setup redirects to the dashboard");
    }

    /// Creates an admin user directly through the service.
    pub async fn create_user(&self, email: &str, role: Role) {
        accounts::create_user(
            &self.state.db,
            "test".into(),
            EmailAddress::parse(email).unwrap(),
            NewPassword::parse(PASSWORD).unwrap(),
            role,
            None,
            self.state.clock.now_utc(),
        )
        .await
        .expect("user created");
    }

    /// A new browser signed in as `email`.
    pub async fn signed_in(&self, email: &str) -> reqwest::Client {
        let client = browser();
        let resp = self.login(&client, email, PASSWORD).await;
        assert_eq!(resp.status(), 303, "sign-in as {email} succeeds");
        client
    }

    pub async fn login(&self, client: &reqwest::Client, email: &str, password: &str) -> reqwest::Response {
        self.submit(client, "/admin/login", "/admin/login", &[("email", email), ("password", password)]).await
    }
}

pub async fn get_with(client: &reqwest::Client, url: &str) -> reqwest::Response {
    client.get(url).send().await.expect("request sent")
}

pub fn location(resp: &reqwest::Response) -> String {
    resp.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
}

/// A real browser's user agent, so that clicks count.
pub const BROWSER_UA: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";

/// A program `acme` with destination `https://acme.example/signup`.
/// Fraud settings whose velocity limits a test's burst of referrals from
/// one participant (or one address) does not reach.
pub fn no_velocity_limits() -> serde_json::Value {
    serde_json::json!({"velocity": {"per_participant_per_hour": 100000, "per_participant_per_day": 100000,
                                     "per_ip_per_day": 100000}})
}

pub async fn create_program(app: &TestApp, extra: serde_json::Value) -> goodword::services::programs::Program {
    let mut config = serde_json::json!({
        "name": "Acme friends",
        "destination_url": "https://acme.example/signup?plan=pro",
        "landing": {"headline": "Acme is better with friends", "referee_offer": "20% off your first year", "body": "Join Acme."},
    });
    if let (Some(base), Some(extra)) = (config.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            base.insert(k.clone(), v.clone());
        }
    }
    let config = goodword::domain::program::parse_config(&config).expect("valid test program");
    let slug = goodword::domain::ProgramSlug::parse("acme").unwrap();
    goodword::services::programs::put(&app.state.db, "test".into(), slug, config, app.state.clock.now_utc())
        .await
        .expect("program stored")
        .0
}

/// Enrols `email` (name `name`) in `program`; returns (participant id, code, portal token).
pub async fn enrol(
    app: &TestApp,
    program: &goodword::services::programs::Program,
    email: &str,
    name: &str,
) -> (String, String, String) {
    let input = goodword::services::participants::EnrolInput::parse(email, Some(name), None, None).unwrap();
    let e = goodword::services::participants::enrol(
        &app.state.db,
        &app.state.keys,
        "test".into(),
        program,
        input,
        app.state.clock.now_utc(),
    )
    .await
    .expect("enrolled");
    (e.participant.row.id.clone(), e.participant.link.expect("a link").code, e.portal_token)
}

/// A browser-like client with a real browser's user agent.
pub fn visitor() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .user_agent(BROWSER_UA)
        .build()
        .expect("client")
}

/// Every click row of the database, once what was recorded is loaded.
pub async fn clicks(app: &TestApp) -> Vec<goodword::storage::clicks::ClickRow> {
    app.state.clicks.flush().await;
    app.state
        .db
        .run(|conn| {
            use diesel::prelude::*;
            use goodword::storage::schema::clicks::dsl;
            Ok(dsl::clicks.order(dsl::at.asc()).select(goodword::storage::clicks::ClickRow::as_select()).load(conn)?)
        })
        .await
        .unwrap()
}

/// A stopped app's database with a program and one participant, and that
/// participant's code: for tests that run the real binary on it.
pub async fn database_with_a_link() -> (TestDatabase, String) {
    let app = spawn_app().await;
    let program = create_program(&app, serde_json::json!({})).await;
    let (_, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    (app.stop().await, code)
}

/// Starts the real `goodword serve` on `db` (and its click journal) and
/// waits until it is ready; returns the process and its base URL.
pub async fn serve_binary(db: &TestDatabase) -> (std::process::Child, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut server = std::process::Command::new(env!("CARGO_BIN_EXE_goodword"))
        .arg("serve")
        .env("DATABASE_URL", db.env_url())
        .env("GOODWORD_CLICK_JOURNAL", db.journal())
        .env("GOODWORD_BIND", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .spawn()
        .expect("the server starts");
    let base = format!("http://127.0.0.1:{port}");
    let client = browser();
    for _ in 0..100 {
        if client.get(format!("{base}/readyz")).send().await.is_ok_and(|r| r.status() == 200) {
            return (server, base);
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let _ = server.kill();
    let _ = server.wait();
    panic!("the server did not become ready");
}

/// A counter from the `/metrics` page of the server at `base`.
pub async fn metric(base: &str, name: &str) -> u64 {
    let text = browser().get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} is not in /metrics"))
}

/// Click rows in `db`, read straight from the database (no server).
pub fn click_rows_in(db: &TestDatabase) -> i64 {
    let store = goodword::storage::Db::connect(&db.url, goodword::config::SqliteSynchronous::Full, 1).unwrap();
    goodword::storage::clicks::count_all(&mut store.get().unwrap()).unwrap()
}

pub const CSP: &str =
    "default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// The headers every response carries, error pages included.
pub fn assert_security_headers(resp: &reqwest::Response) {
    let h = resp.headers();
    assert_eq!(h["content-security-policy"], CSP);
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "strict-origin-when-cross-origin");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["cross-origin-opener-policy"], "same-origin");
    assert!(h.contains_key("permissions-policy"));
}
