//! Sending webhooks: a worker on every server claims due deliveries with a
//! lease, posts them signed (Standard Webhooks), and records each attempt.
//! Success is a 2xx; a 410 disables the endpoint; anything else is retried
//! on the schedule of [`crate::domain::webhook::retry_delay`], then given up.
//! Redirects are not followed, and private or loopback addresses (also
//! those a name resolves to) are refused unless allowed in the settings.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use rand::Rng;
use time::PrimitiveDateTime;

use crate::clock::Clock;
use crate::crypto::SigningKey;
use crate::domain::webhook::{is_private_address, retry_delay};
use crate::storage::webhooks::{self, AttemptResult, AttemptRow, DELIVERED, DeliveryRow, EndpointRow, FAILED, PENDING};
use crate::storage::{Db, StorageResult};

use super::outbox::Doorbell;
use super::secret_for;

/// A receiver has this long to answer.
const TIMEOUT: Duration = Duration::from_secs(15);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longer than an attempt can take, so a lease ends only when its server
/// stopped (then another server retries the delivery).
const LEASE: time::Duration = time::Duration::seconds(60);
/// Deliveries claimed per round, and sent at once at most.
const BATCH: i64 = 32;
const IN_FLIGHT: usize = 16;
/// How often the worker looks for due deliveries when nobody rings.
const POLL: Duration = Duration::from_secs(1);
/// How much of a receiver's answer is kept for the admin.
const EXCERPT_BYTES: usize = 512;

/// Counters for `/metrics`, and a signal of every recorded attempt.
pub struct SenderCounts {
    pub delivered: AtomicU64,
    pub retried: AtomicU64,
    pub failed: AtomicU64,
    /// Attempts recorded so far; lets a caller wait for the worker.
    recorded: tokio::sync::watch::Sender<u64>,
}

impl Default for SenderCounts {
    fn default() -> Self {
        Self {
            delivered: AtomicU64::new(0),
            retried: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            recorded: tokio::sync::watch::Sender::new(0),
        }
    }
}

impl SenderCounts {
    /// Watches the number of attempts this server has recorded.
    pub fn recorded(&self) -> tokio::sync::watch::Receiver<u64> {
        self.recorded.subscribe()
    }
}

/// Sends due webhook deliveries; one per server, cheap to clone.
#[derive(Clone)]
pub struct WebhookSender {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    clock: Arc<dyn Clock>,
    key: SigningKey,
    client: tokio::sync::OnceCell<reqwest::Client>,
    allow_private: bool,
    /// Names this server's leases.
    worker: String,
    doorbell: Doorbell,
    counts: SenderCounts,
}

impl WebhookSender {
    pub fn new(db: Db, clock: Arc<dyn Clock>, key: SigningKey, allow_private: bool, doorbell: Doorbell) -> Self {
        let worker = format!("{}-{}", std::process::id(), nanoid::nanoid!(8));
        Self {
            inner: Arc::new(Inner {
                db,
                clock,
                key,
                client: tokio::sync::OnceCell::new(),
                allow_private,
                worker,
                doorbell,
                counts: SenderCounts::default(),
            }),
        }
    }

    /// The HTTP client, built on first use: loading the system's TLS trust
    /// store takes a moment (about a second in a debug build), which a
    /// server that never sends a webhook should not pay at start.
    async fn client(&self) -> Result<&reqwest::Client, String> {
        let allow_private = self.inner.allow_private;
        self.inner
            .client
            .get_or_try_init(|| async move {
                let build = move || {
                    let mut builder = reqwest::Client::builder()
                        .timeout(TIMEOUT)
                        .connect_timeout(CONNECT_TIMEOUT)
                        .redirect(reqwest::redirect::Policy::none())
                        .no_proxy()
                        .user_agent(concat!("goodword-webhooks/", env!("CARGO_PKG_VERSION")));
                    if !allow_private {
                        builder = builder.dns_resolver(PublicOnly);
                    }
                    builder.build().map_err(|e| format!("the HTTP client could not be set up: {e}"))
                };
                actix_web::web::block(build).await.map_err(|e| e.to_string())?
            })
            .await
    }

    pub fn doorbell(&self) -> &Doorbell {
        &self.inner.doorbell
    }

    pub fn counts(&self) -> &SenderCounts {
        &self.inner.counts
    }

    /// Sends every delivery due now, a batch at a time; the number of
    /// attempts made. Safe beside other servers doing the same. A batch is
    /// claimed in one transaction and its results are recorded as they
    /// come in, those ready together in one transaction: a few commits per
    /// batch instead of two per delivery, which matters on SQLite, where
    /// every commit is a sync and the event writer waits for the lock.
    pub async fn deliver_due(&self) -> StorageResult<usize> {
        let mut attempts = 0;
        loop {
            let now = self.inner.clock.now_utc();
            let claimed = self.claim(now).await?;
            if claimed.is_empty() {
                return Ok(attempts);
            }
            attempts += claimed.len();
            let mut finished = futures_util::stream::iter(claimed)
                .map(|(delivery, endpoint)| self.attempt(delivery, endpoint))
                .buffer_unordered(IN_FLIGHT)
                .ready_chunks(IN_FLIGHT);
            while let Some(chunk) = finished.next().await {
                self.record(chunk).await?;
            }
        }
    }

    /// Runs until the task is dropped: delivers what is due whenever the
    /// doorbell rings, and at least every second.
    pub async fn run(self) {
        loop {
            if let Err(e) = self.deliver_due().await {
                tracing::warn!(error = %e, "webhook deliveries could not be read");
            }
            let _ = tokio::time::timeout(POLL, self.inner.doorbell.wait()).await;
        }
    }

    async fn claim(&self, now: PrimitiveDateTime) -> StorageResult<Vec<(DeliveryRow, EndpointRow)>> {
        let worker = self.inner.worker.clone();
        self.inner
            .db
            .write(move |conn| {
                let mut claimed = Vec::new();
                for id in webhooks::due(conn, now, BATCH)? {
                    let Some(delivery) = webhooks::claim(conn, &id, &worker, now, now + LEASE)? else {
                        continue; // another server took it
                    };
                    match webhooks::find_endpoint(conn, &delivery.endpoint_id)? {
                        Some(endpoint) => claimed.push((delivery, endpoint)),
                        None => continue, // deleted meanwhile; the cascade removes the row
                    }
                }
                Ok(claimed)
            })
            .await
    }

    /// One attempt of one delivery: sends it and decides what follows.
    async fn attempt(&self, delivery: DeliveryRow, endpoint: EndpointRow) -> Finished {
        let started = Instant::now();
        let sent = self.send(&delivery, &endpoint).await;
        let at = self.inner.clock.now_utc();
        let duration_ms = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
        let (status_code, error, excerpt) = match &sent {
            Ok(answer) => (Some(i32::from(answer.status)), answer.problem(), answer.excerpt.clone()),
            Err(e) => (None, Some(e.clone()), String::new()),
        };
        let gone = status_code == Some(410);
        let status = match (&error, gone) {
            (None, _) => DELIVERED,
            (Some(_), true) => FAILED,
            (Some(_), false) if delivery.attempts >= delivery.max_attempts => FAILED,
            (Some(_), false) => PENDING,
        };
        let jitter = rand::rng().random_range(-1.0..=1.0);
        let next_attempt_at = match status {
            PENDING => at + retry_delay(delivery.attempts, jitter).unwrap_or(Duration::ZERO),
            _ => at,
        };
        let disable = gone.then(|| {
            let reason = format!(
                "the receiver answered 410 Gone on {}: it asked to receive no more webhooks",
                crate::domain::rfc3339::format_utc(at)
            );
            (endpoint.id.clone(), reason)
        });
        Finished {
            attempt: AttemptRow {
                delivery_id: delivery.id,
                attempt: delivery.attempts,
                at,
                status_code,
                error: error.clone(),
                response_excerpt: excerpt,
                duration_ms,
            },
            result: AttemptResult { status, next_attempt_at, at, status_code, error },
            disable,
        }
    }

    /// Records finished attempts in one transaction.
    async fn record(&self, finished: Vec<Finished>) -> StorageResult<()> {
        let inner = &self.inner;
        for f in &finished {
            let counter = match f.result.status {
                DELIVERED => &inner.counts.delivered,
                FAILED => &inner.counts.failed,
                _ => &inner.counts.retried,
            };
            counter.fetch_add(1, Ordering::Relaxed);
            if f.result.status == PENDING {
                tracing::info!(
                    delivery = %f.attempt.delivery_id,
                    attempt = f.attempt.attempt,
                    next_attempt_at = %f.result.next_attempt_at,
                    "webhook attempt failed; will retry"
                );
            }
        }
        let count = finished.len() as u64;
        let worker = inner.worker.clone();
        inner
            .db
            .write(move |conn| {
                for f in &finished {
                    webhooks::finish_attempt(conn, &f.attempt, &worker, &f.result)?;
                    if let Some((endpoint_id, reason)) = &f.disable {
                        webhooks::set_enabled(conn, endpoint_id, false, Some(reason), f.result.at)?;
                    }
                }
                Ok(())
            })
            .await?;
        inner.counts.recorded.send_modify(|n| *n += count);
        Ok(())
    }

    /// Posts the delivery; the receiver's answer, or why there was none.
    async fn send(&self, delivery: &DeliveryRow, endpoint: &EndpointRow) -> Result<Answer, String> {
        let url = reqwest::Url::parse(&endpoint.url).map_err(|e| format!("the endpoint URL is not valid: {e}"))?;
        if !self.inner.allow_private {
            // Addresses written in the URL never reach the resolver.
            let literal = match url.host() {
                Some(url::Host::Ipv4(ip)) => Some(std::net::IpAddr::V4(ip)),
                Some(url::Host::Ipv6(ip)) => Some(std::net::IpAddr::V6(ip)),
                _ => None,
            };
            if let Some(ip) = literal.filter(|ip| is_private_address(*ip)) {
                return Err(refused(ip));
            }
        }
        let now = self.inner.clock.now();
        let timestamp = now.unix_timestamp();
        let sign = |salt: &str| {
            secret_for(&self.inner.key, &endpoint.id, salt).sign(&delivery.message_id, timestamp, &delivery.payload)
        };
        let mut signature = sign(&endpoint.secret_salt);
        // During a rotation both secrets sign; a receiver accepts either.
        if let (Some(previous), Some(until)) = (&endpoint.previous_secret_salt, endpoint.previous_secret_until)
            && self.inner.clock.now_utc() < until
        {
            signature.push(' ');
            signature.push_str(&sign(previous));
        }
        let response = self
            .client()
            .await?
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &delivery.message_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(delivery.payload.clone())
            .send()
            .await
            .map_err(|e| describe(&e))?;
        let status = response.status().as_u16();
        let location = response.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_string);
        let excerpt = read_excerpt(response).await;
        Ok(Answer { status, location, excerpt })
    }
}

/// An attempt made, to record.
struct Finished {
    attempt: AttemptRow,
    result: AttemptResult,
    /// The endpoint to disable, and why (it answered 410).
    disable: Option<(String, String)>,
}

/// What a receiver answered.
struct Answer {
    status: u16,
    location: Option<String>,
    excerpt: String,
}

impl Answer {
    /// Why the answer is not a success, or `None` for a 2xx.
    fn problem(&self) -> Option<String> {
        match self.status {
            200..=299 => None,
            300..=399 => Some(format!(
                "redirects are not followed: the receiver answered {} to {}",
                self.status,
                self.location.as_deref().unwrap_or("nowhere")
            )),
            410 => Some("the receiver answered 410 Gone; the endpoint is disabled".into()),
            status => Some(format!("the receiver answered {status}")),
        }
    }
}

/// The first bytes of the body, as text; what does not arrive in time is
/// left out (the request's timeout covers the body too).
async fn read_excerpt(mut response: reqwest::Response) -> String {
    let mut bytes = Vec::new();
    while bytes.len() < EXCERPT_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            _ => break,
        }
    }
    bytes.truncate(EXCERPT_BYTES);
    String::from_utf8_lossy(&bytes).chars().filter(|c| !c.is_control() || *c == '\n').collect()
}

/// An error with its causes, which say what actually went wrong.
fn describe(e: &reqwest::Error) -> String {
    let mut text = if e.is_timeout() {
        format!("no answer within {} seconds", TIMEOUT.as_secs())
    } else if e.is_connect() {
        "could not connect".to_string()
    } else {
        e.to_string()
    };
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn refused(ip: std::net::IpAddr) -> String {
    format!("refused: {ip} is a private or loopback address {ALLOW_HINT}")
}

const ALLOW_HINT: &str = "(set GOODWORD_ALLOW_PRIVATE_WEBHOOKS=true to allow such targets)";

/// A resolver that refuses names resolving to a private or loopback
/// address: checked at connect time, so a name cannot be pointed at the
/// internal network after the endpoint was saved.
struct PublicOnly;

#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if let Some(private) = addrs.iter().find(|a| is_private_address(a.ip())) {
                let ip = private.ip();
                let why = format!("refused: {host} resolves to {ip}, a private or loopback address {ALLOW_HINT}");
                return Err(Box::new(Refused(why)) as _);
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}
