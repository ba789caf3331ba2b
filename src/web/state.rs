//! Application state shared by every handler: settings, the database,
//! the clock, signing keys, rate limiters and metrics.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::clock::Clock;
use crate::config::{LoaderPriority, Settings};
use crate::metrics::Metrics;
use crate::services::clicks::{ClickRecorder, JournalOptions};
use crate::services::email::render::RenderContext;
use crate::services::email::sender::EmailSender;
use crate::services::events::EventWriter;
use crate::services::link_cache::LinkCache;
use crate::services::webhooks::{Doorbell, WebhookSender};
use crate::storage::Db;

use super::rate_limit::RateLimits;

pub use crate::crypto::Keys;

/// Everything a request may need, behind one `web::Data`.
pub struct AppState {
    pub settings: Settings,
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    pub keys: Keys,
    pub limits: RateLimits,
    pub metrics: Arc<Metrics>,
    /// What the redirect reads: codes and programs.
    pub links: LinkCache,
    /// What clicks are recorded through (journal, then database).
    pub clicks: ClickRecorder,
    /// Commits conversion events in groups.
    pub events: EventWriter,
    /// Sends queued webhooks.
    pub webhooks: WebhookSender,
    /// Sends queued emails.
    pub emails: Arc<EmailSender>,
    /// Set once the first owner exists; never unset, because the last owner
    /// cannot be removed. Saves a query on every admin request.
    setup_done: AtomicBool,
}

impl AppState {
    /// Fails when the click journal cannot be opened (or a thread cannot
    /// be started).
    pub fn new(
        settings: Settings,
        db: Db,
        clock: Arc<dyn Clock>,
        keys: Keys,
        metrics: Arc<Metrics>,
    ) -> std::io::Result<Self> {
        let journal = JournalOptions {
            path: settings.click_journal.clone(),
            yields: settings.click_loader_priority == LoaderPriority::Low,
        };
        let clicks = ClickRecorder::start(db.clone(), clock.clone(), keys.ip.clone(), &journal)?;
        let limits = RateLimits::new(settings.redirect_rate_limit);
        let doorbell = Doorbell::new();
        let webhooks = WebhookSender::new(
            db.clone(),
            clock.clone(),
            keys.webhook.clone(),
            settings.allow_private_webhooks,
            doorbell.clone(),
        );
        let events = EventWriter::start(db.clone(), doorbell, keys.ip.clone())?;
        let render = RenderContext { base_url: settings.base_url.clone(), keys: keys.clone(), redact_secrets: false };
        let emails =
            EmailSender::new(db.clone(), clock.clone(), render, settings.smtp_url.as_deref(), &settings.mail_from)
                .map_err(std::io::Error::other)?;
        Ok(Self {
            events,
            emails: Arc::new(emails),
            webhooks,
            settings,
            db,
            clock,
            keys,
            limits,
            metrics,
            links: LinkCache::new(),
            clicks,
            setup_done: AtomicBool::new(false),
        })
    }

    pub fn setup_known_done(&self) -> bool {
        self.setup_done.load(Ordering::Relaxed)
    }

    pub fn mark_setup_done(&self) {
        self.setup_done.store(true, Ordering::Relaxed);
    }

    /// The public URL of `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.settings.base_url, path)
    }
}
