//! Typed settings: every setting is an environment variable with a matching
//! `--flag` (SPEC §2). Parsed once in `main`, passed through app state.

use std::fmt;
use std::net::SocketAddr;

use clap::{Args, Parser, Subcommand, ValueEnum};
use ipnet::IpNet;
use url::Url;

/// The command line: global settings plus one subcommand.
#[derive(Debug, Parser)]
#[command(
    name = "goodword",
    version,
    about = "Self-hosted referral links and rewards",
    long_about = "Self-hosted referral links and rewards.\n\nEvery setting can be given as a flag or as the environment variable shown in brackets."
)]
pub struct Cli {
    #[command(flatten)]
    pub settings: SettingsArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What to do; `serve` when none is given.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default). Runs pending migrations first.
    Serve,
    /// Run pending database migrations and exit.
    Migrate,
    /// Manage admin users.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Manage API keys.
    #[command(subcommand, name = "api-key")]
    ApiKey(ApiKeyCommand),
    /// Manage webhook endpoints.
    #[command(subcommand)]
    Webhook(WebhookCommand),
    /// Fill the database with a demo program, participants, clicks and referrals.
    Demo,
}

/// `goodword webhook …`
#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Add an endpoint and print its signing secret once on stdout.
    Create {
        /// The URL that receives the signed POSTs.
        #[arg(long)]
        url: String,
        /// An event type to send (repeat for several); every type if none.
        #[arg(long = "event")]
        events: Vec<String>,
        /// What the endpoint is for.
        #[arg(long, default_value = "")]
        description: String,
    },
}

/// `goodword admin …`
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an owner account; the password is read from stdin (one line).
    Create {
        /// Email address of the new owner.
        #[arg(long)]
        email: String,
    },
}

/// `goodword api-key …`
#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create an API key and print it once on stdout.
    Create {
        /// A name that says who uses the key.
        #[arg(long)]
        name: String,
    },
}

/// The raw settings as clap reads them from flags and the environment.
#[derive(Debug, Clone, Args)]
pub struct SettingsArgs {
    /// `sqlite://PATH` (embedded, the default) or `postgres://…`.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://goodword.db", hide_env_values = true, global = true)]
    pub database_url: String,
    /// Listen address.
    #[arg(long, env = "GOODWORD_BIND", default_value = "127.0.0.1:8080", global = true)]
    pub bind: SocketAddr,
    /// Public origin used in every link and email [default: http://{bind}].
    #[arg(long, env = "GOODWORD_BASE_URL", global = true)]
    pub base_url: Option<String>,
    /// Signs cookies and tokens [default: generated once, stored in the database].
    #[arg(long, env = "GOODWORD_SECRET_KEY", hide_env_values = true, global = true)]
    pub secret_key: Option<String>,
    /// `smtp://user:pass@host:port` or `smtps://…`; unset keeps emails in the outbox.
    #[arg(long, env = "GOODWORD_SMTP_URL", hide_env_values = true, global = true)]
    pub smtp_url: Option<String>,
    /// Sender address of every email.
    #[arg(long, env = "GOODWORD_MAIL_FROM", default_value = "goodword@localhost", global = true)]
    pub mail_from: String,
    /// SQLite durability: `full` or `normal` (SQLite only).
    #[arg(long, env = "GOODWORD_SQLITE_SYNCHRONOUS", default_value = "full", global = true)]
    pub sqlite_synchronous: SqliteSynchronous,
    /// Comma-separated CIDRs whose `X-Forwarded-For` is believed.
    #[arg(long, env = "GOODWORD_TRUSTED_PROXIES", value_delimiter = ',', global = true)]
    pub trusted_proxies: Vec<IpNet>,
    /// Allow webhook targets on private and loopback addresses
    /// (`--allow-private-webhooks` alone means true; `=false` says no).
    #[arg(
        long,
        env = "GOODWORD_ALLOW_PRIVATE_WEBHOOKS",
        default_value_t = false,
        global = true,
        action = clap::ArgAction::Set,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true"
    )]
    pub allow_private_webhooks: bool,
    /// Opens of short links allowed per client IP per minute (0: no limit).
    #[arg(long, env = "GOODWORD_REDIRECT_RATE_LIMIT", default_value_t = 1200, global = true)]
    pub redirect_rate_limit: u32,
    /// Folder of this server's click journal (default: beside the SQLite
    /// file, or ./goodword-clicks with PostgreSQL). One per server.
    #[arg(long, env = "GOODWORD_CLICK_JOURNAL", global = true)]
    pub click_journal: Option<std::path::PathBuf>,
    /// How loading clicks into the database shares the processor: `low`
    /// yields to redirects while they are busy, `normal` loads at full speed.
    #[arg(long, env = "GOODWORD_CLICK_LOADER_PRIORITY", default_value = "low", global = true)]
    pub click_loader_priority: LoaderPriority,
    /// Log filter, e.g. `info` or `goodword=debug,actix_web=info`.
    #[arg(long, env = "RUST_LOG", default_value = "info", global = true)]
    pub log: String,
}

/// `PRAGMA synchronous` for SQLite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SqliteSynchronous {
    Full,
    Normal,
}

impl SqliteSynchronous {
    pub fn pragma_value(self) -> &'static str {
        match self {
            Self::Full => "FULL",
            Self::Normal => "NORMAL",
        }
    }
}

/// How the click loader shares the processor: `Low` yields to redirect
/// bursts (see `services::clicks::loader`), `Normal` loads at full speed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LoaderPriority {
    Low,
    Normal,
}

/// Where the data lives; chosen by the scheme of `DATABASE_URL`.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A file path for the embedded SQLite database.
    Sqlite(String),
    /// A libpq connection URL.
    Postgres(String),
}

impl fmt::Debug for DatabaseUrl {
    // The PostgreSQL URL may carry a password: never print it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "sqlite://{path}"),
            Self::Postgres(url) => match Url::parse(url) {
                Ok(mut u) => {
                    if u.password().is_some() {
                        let _ = u.set_password(Some("***"));
                    }
                    write!(f, "{u}")
                }
                Err(_) => write!(f, "postgres://…"),
            },
        }
    }
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<Self, ConfigError> {
        if let Some(path) = raw.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(ConfigError::DatabaseUrl(
                    "DATABASE_URL sqlite:// needs a file path, e.g. sqlite://goodword.db".into(),
                ));
            }
            return Ok(Self::Sqlite(path.to_string()));
        }
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            return Ok(Self::Postgres(raw.to_string()));
        }
        let scheme = raw.split("://").next().unwrap_or(raw);
        Err(ConfigError::DatabaseUrl(format!(
            "DATABASE_URL scheme `{scheme}` is not supported; use sqlite://PATH or postgres://…"
        )))
    }

    /// The click journal's folder when none is configured: beside the
    /// SQLite file, or `goodword-clicks` in the working folder.
    pub fn default_click_journal(&self) -> std::path::PathBuf {
        match self {
            Self::Sqlite(path) => {
                let mut name = std::ffi::OsString::from(path);
                name.push("-clicks");
                std::path::PathBuf::from(name)
            }
            Self::Postgres(_) => std::path::PathBuf::from("goodword-clicks"),
        }
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }
}

/// A setting that parsed but makes no sense; `main` prints it and exits 2.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}")]
    DatabaseUrl(String),
    #[error("GOODWORD_BASE_URL must be an absolute http(s) origin such as https://refer.example.com ({0})")]
    BaseUrl(String),
    #[error("GOODWORD_SMTP_URL must start with smtp:// or smtps://")]
    SmtpUrl,
    #[error("GOODWORD_SECRET_KEY must be at least 32 characters")]
    SecretKey,
}

/// The validated settings, shared by every part of the app.
#[derive(Debug, Clone)]
pub struct Settings {
    pub database: DatabaseUrl,
    pub bind: SocketAddr,
    /// Origin without a trailing slash, e.g. `https://refer.example.com`.
    pub base_url: String,
    pub secret_key: Option<String>,
    pub smtp_url: Option<String>,
    pub mail_from: String,
    pub sqlite_synchronous: SqliteSynchronous,
    pub trusted_proxies: Vec<IpNet>,
    pub allow_private_webhooks: bool,
    pub redirect_rate_limit: u32,
    /// Whether the email worker runs in the background (tests send
    /// explicitly, with `EmailSender::run_once`).
    pub email_worker: bool,
    /// The click journal's folder.
    pub click_journal: std::path::PathBuf,
    pub click_loader_priority: LoaderPriority,
    pub log: String,
}

impl Settings {
    pub fn from_args(args: SettingsArgs) -> Result<Self, ConfigError> {
        let database = DatabaseUrl::parse(&args.database_url)?;
        let base_url = match args.base_url {
            Some(raw) => parse_origin(&raw)?,
            None => format!("http://{}", args.bind),
        };
        if let Some(smtp) = &args.smtp_url
            && !(smtp.starts_with("smtp://") || smtp.starts_with("smtps://"))
        {
            return Err(ConfigError::SmtpUrl);
        }
        if let Some(key) = &args.secret_key
            && key.len() < 32
        {
            return Err(ConfigError::SecretKey);
        }
        let click_journal = args.click_journal.unwrap_or_else(|| database.default_click_journal());
        Ok(Self {
            database,
            bind: args.bind,
            base_url,
            secret_key: args.secret_key,
            smtp_url: args.smtp_url,
            mail_from: args.mail_from,
            sqlite_synchronous: args.sqlite_synchronous,
            trusted_proxies: args.trusted_proxies,
            allow_private_webhooks: args.allow_private_webhooks,
            redirect_rate_limit: args.redirect_rate_limit,
            email_worker: true,
            click_journal,
            click_loader_priority: args.click_loader_priority,
            log: args.log,
        })
    }

    /// Defaults for tests and tools: `database`, any free local port.
    pub fn local(database: DatabaseUrl) -> Self {
        Self {
            click_journal: database.default_click_journal(),
            // Tests and one-off commands share the processor with nothing
            // that should win it.
            click_loader_priority: LoaderPriority::Normal,
            database,
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            base_url: "http://127.0.0.1:0".into(),
            secret_key: None,
            smtp_url: None,
            mail_from: "goodword@localhost".into(),
            sqlite_synchronous: SqliteSynchronous::Full,
            trusted_proxies: Vec::new(),
            allow_private_webhooks: false,
            redirect_rate_limit: 1200,
            email_worker: false,
            log: "info".into(),
        }
    }

    /// Whether cookies must carry `Secure`.
    pub fn https(&self) -> bool {
        self.base_url.starts_with("https://")
    }
}

fn parse_origin(raw: &str) -> Result<String, ConfigError> {
    let url = Url::parse(raw).map_err(|e| ConfigError::BaseUrl(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(ConfigError::BaseUrl(format!("got `{raw}`")));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(ConfigError::BaseUrl("it must have no path, query or fragment".into()));
    }
    Ok(url.origin().ascii_serialization())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_click_journal_sits_beside_a_sqlite_file() {
        let sqlite = DatabaseUrl::Sqlite("/data/goodword.db".into());
        assert_eq!(sqlite.default_click_journal(), std::path::PathBuf::from("/data/goodword.db-clicks"));
        let postgres = DatabaseUrl::Postgres("postgres://db/gw".into());
        assert_eq!(postgres.default_click_journal(), std::path::PathBuf::from("goodword-clicks"));
    }

    #[test]
    fn sqlite_and_postgres_schemes_are_accepted() {
        assert_eq!(DatabaseUrl::parse("sqlite://data/gw.db").unwrap(), DatabaseUrl::Sqlite("data/gw.db".into()));
        assert!(matches!(DatabaseUrl::parse("postgres://u@h/db").unwrap(), DatabaseUrl::Postgres(_)));
        assert!(matches!(DatabaseUrl::parse("postgresql://u@h/db").unwrap(), DatabaseUrl::Postgres(_)));
    }

    #[test]
    fn other_schemes_name_the_accepted_ones() {
        let err = DatabaseUrl::parse("mysql://root@localhost/gw").unwrap_err().to_string();
        assert!(err.contains("mysql"), "{err}");
        assert!(err.contains("sqlite://") && err.contains("postgres://"), "{err}");
    }

    #[test]
    fn postgres_password_is_not_printed() {
        let url = DatabaseUrl::parse("postgres://u:hunter2@h/db").unwrap();
        assert!(!format!("{url:?}").contains("hunter2"));
    }

    #[test]
    fn allow_private_webhooks_is_a_flag_that_also_takes_a_value() {
        let parsed = |args: &[&str]| {
            let settings = Cli::try_parse_from(args).unwrap().settings;
            settings.allow_private_webhooks
        };
        assert!(parsed(&["goodword", "--allow-private-webhooks"]));
        assert!(parsed(&["goodword", "--allow-private-webhooks", "serve"]));
        assert!(parsed(&["goodword", "--allow-private-webhooks=true"]));
        assert!(!parsed(&["goodword", "--allow-private-webhooks=false"]));
    }

    #[test]
    fn base_url_is_reduced_to_its_origin() {
        assert_eq!(parse_origin("https://Refer.Example.com/").unwrap(), "https://refer.example.com");
        assert!(parse_origin("https://refer.example.com/app").is_err());
        assert!(parse_origin("ftp://refer.example.com").is_err());
    }
}
