//! The subcommands other than `serve`: `migrate`, `admin create`,
//! `api-key create`, `webhook create` and `demo`. Each prints one clear
//! line on failure.

use std::io::BufRead;
use std::sync::Arc;

use anyhow::{Context, anyhow};

use crate::clock::{Clock, SystemClock};
use crate::config::Settings;
use crate::crypto::Keys;
use crate::domain::{EmailAddress, NewPassword, Role};
use crate::services::{accounts, api_keys, demo, instance, webhooks};
use crate::startup::open_database;
use crate::storage::Db;

/// `goodword migrate`.
pub fn migrate(settings: &Settings) -> anyhow::Result<()> {
    open_database(settings)?;
    eprintln!("database is up to date ({})", settings.database.backend_name());
    Ok(())
}

/// `goodword admin create --email E`, password on stdin.
pub async fn admin_create(settings: Settings, email: &str, stdin: impl BufRead) -> anyhow::Result<()> {
    let email = EmailAddress::parse(email).map_err(|e| anyhow!("--email: {e}"))?;
    let password = read_line(stdin).context("reading the password from stdin")?;
    let password = NewPassword::parse(&password).map_err(|e| anyhow!("password: {e}"))?;
    let db = actix_web::web::block(move || open_database(&settings)).await??;
    let now = SystemClock.now_utc();
    let user = accounts::create_user(&db, "cli".into(), email, password, Role::Owner, None, now)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    eprintln!("owner {} created", user.email);
    Ok(())
}

/// `goodword api-key create --name N`: prints the key, and nothing else, on stdout.
pub async fn api_key_create(settings: Settings, name: &str) -> anyhow::Result<String> {
    let name = api_keys::parse_name(name).map_err(|e| anyhow!("--{e}"))?;
    let db = actix_web::web::block(move || open_database(&settings)).await??;
    let now = Arc::new(SystemClock).now_utc();
    let (secret, _) = api_keys::create(&db, "cli".into(), None, name, now).await.map_err(|e| anyhow!("{e}"))?;
    Ok(secret)
}

fn read_line(mut input: impl BufRead) -> std::io::Result<String> {
    let mut line = String::new();
    input.read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// `goodword demo`: prints where to look.
pub async fn demo(settings: Settings) -> anyhow::Result<()> {
    let base_url = settings.base_url.clone();
    let (db, keys) = open_with_keys(settings).await?;
    let now = SystemClock.now_utc();
    let made = demo::seed(&db, &keys, now).await.map_err(|e| anyhow!("{e}"))?;
    eprintln!("demo program “{}” with {} participants is ready", made.slug, made.participants);
    eprintln!("admin:  {base_url}/admin/programs/{}", made.slug);
    eprintln!("portal: {base_url}/p/{}", made.portal_token);
    Ok(())
}

/// `goodword webhook create --url U [--event T]… [--description D]`: adds
/// an endpoint (every event type unless some are named) and returns its
/// signing secret, printed once on stdout.
pub async fn webhook_create(
    settings: Settings,
    url: &str,
    events: &[String],
    description: &str,
) -> anyhow::Result<String> {
    let events: Vec<String> = if events.is_empty() {
        crate::domain::webhook::EventType::ALL.iter().map(|t| t.as_str().to_string()).collect()
    } else {
        events.to_vec()
    };
    let spec = webhooks::parse_endpoint(url, description, &events, settings.allow_private_webhooks)
        .map_err(|e| anyhow!("{e}"))?;
    let (db, keys) = open_with_keys(settings).await?;
    let now = SystemClock.now_utc();
    let (_, secret) =
        webhooks::create(&db, &keys.webhook, "cli".into(), spec, now).await.map_err(|e| anyhow!("{e}"))?;
    Ok(secret)
}

/// The database and the keys derived from the instance's secret key.
async fn open_with_keys(settings: Settings) -> anyhow::Result<(Db, Keys)> {
    let configured = settings.secret_key.clone();
    let db = actix_web::web::block(move || open_database(&settings)).await??;
    let now = SystemClock.now_utc();
    let key_db = db.clone();
    let secret = actix_web::web::block(move || {
        let mut conn = key_db.get()?;
        instance::secret_key(&mut conn, configured.as_deref(), now)
    })
    .await??;
    Ok((db, Keys::from_secret(&secret)))
}
