//! Recording clicks off the response path. The redirect hands a click to
//! an in-memory queue and answers; one writer thread commits the queue in
//! batches (what is queued, up to 5,000 clicks, or what arrived within a
//! second), hashes the IPs with the day's salt, and flags duplicates. The
//! queue is bounded: when the writer falls behind, the redirect waits for
//! room instead of dropping a click or growing without limit. A flush on
//! shutdown writes whatever is still queued.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use time::{Date, PrimitiveDateTime};
use tokio::sync::Notify;

use crate::crypto::{SigningKey, random_token};
use crate::storage::clicks::{self, ClickRow};
use crate::storage::{Db, DbConnection, StorageResult, ip_salts, write_transaction};

use super::link_cache::CachedLink;

/// Clicks written in one transaction at most. A batch takes what is
/// queued, so under load few large transactions replace many small ones:
/// each commit rewrites every index page it touched, and syncs the WAL.
pub const BATCH_MAX: usize = 5_000;
/// How long a click may wait in the queue.
pub const BATCH_WAIT: Duration = Duration::from_secs(1);
/// Clicks queued or being written at most: the batch being written and
/// the next one (about 4 MB). Beyond this the redirect waits until the
/// writer has made room, so a writer that falls behind slows the redirect
/// down instead of growing memory without limit.
pub const QUEUE_MAX: usize = 2 * BATCH_MAX;
/// Two opens of one link by one visitor within this are one click.
pub const DUPLICATE_WINDOW: time::Duration = time::Duration::hours(1);
/// How long shutdown waits for an unreachable database.
pub const SHUTDOWN_PATIENCE: Duration = Duration::from_secs(30);
/// Salts older than this are deleted; their hashes become anonymous.
pub const SALT_KEEP_DAYS: i64 = 31;

/// A click as the redirect saw it; the raw IP never leaves this process.
#[derive(Debug, Clone)]
pub struct NewClick {
    pub id: String,
    /// The cached link (shared, not copied: this is the hot path).
    pub link: Arc<CachedLink>,
    pub at: PrimitiveDateTime,
    pub channel: Option<String>,
    pub user_agent: String,
    pub referrer_host: Option<String>,
    pub ip: Option<IpAddr>,
    pub is_bot: bool,
}

enum Message {
    Click(Box<NewClick>),
    Flush(Sender<()>),
    Shutdown,
}

/// The handle the web layer records clicks through.
pub struct ClickRecorder {
    tx: Sender<Message>,
    /// Clicks queued or being written.
    queued: Arc<AtomicUsize>,
    /// Signalled by the writer whenever it has written a batch.
    room: Arc<Notify>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl ClickRecorder {
    /// Starts the writer thread.
    pub fn start(db: Db, ip_key: SigningKey) -> Self {
        let (tx, rx) = mpsc::channel();
        let queued = Arc::new(AtomicUsize::new(0));
        let room = Arc::new(Notify::new());
        let writer = Writer {
            db,
            ip_key,
            salts: HashMap::new(),
            today: None,
            seen: HashMap::new(),
            queued: queued.clone(),
            room: room.clone(),
        };
        let handle = std::thread::Builder::new()
            .name("click-writer".into())
            .spawn(move || writer.run(rx))
            .expect("the click writer thread starts");
        Self { tx, queued, room, writer: Mutex::new(Some(handle)) }
    }

    /// Queues a click. Returns at once unless [`QUEUE_MAX`] clicks are
    /// waiting; then it waits (without blocking the thread) until the writer
    /// has made room. Cancelled while waiting, the click is not queued.
    pub async fn record(&self, click: NewClick) {
        while self.queued.load(Ordering::Relaxed) >= QUEUE_MAX {
            let room = self.room.notified();
            if self.queued.load(Ordering::Relaxed) < QUEUE_MAX {
                break;
            }
            room.await;
        }
        self.queued.fetch_add(1, Ordering::Relaxed);
        if self.tx.send(Message::Click(Box::new(click))).is_err() {
            self.queued.fetch_sub(1, Ordering::Relaxed);
            tracing::error!("a click arrived after the click writer stopped and was not recorded");
        }
    }

    /// Clicks waiting to be written.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    /// Waits until every click queued before this call is committed.
    pub async fn flush(&self) {
        let (ack_tx, ack_rx) = mpsc::channel();
        if self.tx.send(Message::Flush(ack_tx)).is_ok() {
            let _ = actix_web::web::block(move || ack_rx.recv()).await;
        }
    }

    /// Writes everything queued and stops the writer. Blocking; called once
    /// the server has stopped taking requests.
    pub fn shutdown(&self) {
        let _ = self.tx.send(Message::Shutdown);
        if let Some(handle) = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = handle.join();
        }
    }
}

impl Drop for ClickRecorder {
    fn drop(&mut self) {
        self.shutdown();
    }
}

struct Writer {
    db: Db,
    ip_key: SigningKey,
    /// day (YYYY-MM-DD) → salt
    salts: HashMap<String, String>,
    /// The salt of the day asked for last: nearly every click's.
    today: Option<(Date, String)>,
    /// hash of (link, ip hash, user agent) → last click time: answers most
    /// duplicate questions without the database.
    seen: HashMap<u64, PrimitiveDateTime>,
    queued: Arc<AtomicUsize>,
    room: Arc<Notify>,
}

/// A batch on its way to the database: the rows, with the raw IPs kept
/// beside them until they are hashed.
struct Pending {
    rows: Vec<ClickRow>,
    ips: Vec<Option<IpAddr>>,
}

impl Pending {
    fn new() -> Self {
        Self { rows: Vec::with_capacity(BATCH_MAX), ips: Vec::with_capacity(BATCH_MAX) }
    }

    fn len(&self) -> usize {
        self.rows.len()
    }

    fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Takes a click's fields (no copies); hash and duplicate flag follow
    /// when the batch is written.
    fn push(&mut self, click: NewClick) {
        let NewClick { id, link, at, channel, mut user_agent, referrer_host, ip, is_bot } = click;
        let cut = truncate_utf8(&user_agent, 256).len();
        user_agent.truncate(cut);
        self.rows.push(ClickRow {
            id,
            link_id: link.link.link_id.clone(),
            program_id: link.link.program_id.clone(),
            at,
            channel,
            user_agent,
            referrer_host,
            ip_hash: String::new(),
            is_bot,
            is_duplicate: false,
        });
        self.ips.push(ip);
    }

    fn clear(&mut self) {
        self.rows.clear();
        self.ips.clear();
    }
}

impl Writer {
    fn run(mut self, rx: Receiver<Message>) {
        let mut batch = Pending::new();
        let mut acks: Vec<Sender<()>> = Vec::new();
        loop {
            // Wait for the first message of a batch, however long it takes.
            let mut closed = false;
            match rx.recv() {
                Ok(Message::Click(c)) => batch.push(*c),
                Ok(Message::Flush(ack)) => acks.push(ack),
                Ok(Message::Shutdown) | Err(_) => closed = true,
            }
            let deadline = Instant::now() + BATCH_WAIT;
            while !closed && batch.len() < BATCH_MAX && acks.is_empty() {
                // What is queued already joins this batch without waiting.
                let msg = match rx.try_recv() {
                    Ok(msg) => Ok(msg),
                    Err(_) => rx.recv_timeout(deadline.saturating_duration_since(Instant::now())),
                };
                match msg {
                    Ok(Message::Click(c)) => batch.push(*c),
                    Ok(Message::Flush(ack)) => acks.push(ack),
                    Ok(Message::Shutdown) | Err(RecvTimeoutError::Disconnected) => closed = true,
                    Err(RecvTimeoutError::Timeout) => break,
                }
            }
            self.write_with_retry(&mut batch, closed);
            for ack in acks.drain(..) {
                let _ = ack.send(());
            }
            if closed {
                break;
            }
        }
        // Shutting down: write what is left.
        while let Ok(msg) = rx.try_recv() {
            match msg {
                Message::Click(c) => batch.push(*c),
                Message::Flush(ack) => acks.push(ack),
                Message::Shutdown => {}
            }
            if batch.len() >= BATCH_MAX {
                self.write_with_retry(&mut batch, true);
            }
        }
        self.write_with_retry(&mut batch, true);
        for ack in acks {
            let _ = ack.send(());
        }
    }

    /// Writes the batch, retrying while the database is unreachable: a
    /// click once answered is not given up on while the server runs. At
    /// shutdown the retries stop after [`SHUTDOWN_PATIENCE`], so that a
    /// lost database cannot keep the process from exiting; what is given
    /// up is logged with its count.
    fn write_with_retry(&mut self, batch: &mut Pending, shutting_down: bool) {
        if batch.is_empty() {
            return;
        }
        let started = Instant::now();
        let mut delay = Duration::from_millis(50);
        loop {
            if shutting_down && started.elapsed() > SHUTDOWN_PATIENCE {
                tracing::error!(
                    clicks = batch.len(),
                    "the database stayed unreachable at shutdown; these clicks are lost"
                );
                self.queued.fetch_sub(batch.len(), Ordering::Relaxed);
                batch.clear();
                self.room.notify_waiters();
                return;
            }
            match self.write(batch) {
                Ok(()) => {
                    self.queued.fetch_sub(batch.len(), Ordering::Relaxed);
                    batch.clear();
                    self.room.notify_waiters();
                    return;
                }
                Err(e) => {
                    tracing::error!(error = %e, clicks = batch.len(), "writing clicks failed; retrying");
                    std::thread::sleep(delay);
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
            }
        }
    }

    /// Hashes the IPs, flags duplicates and inserts the batch in one
    /// transaction. Only a committed batch updates what this process has
    /// seen, so a retry flags exactly what the first attempt would have.
    fn write(&mut self, batch: &mut Pending) -> StorageResult<()> {
        let mut conn = self.db.get()?;
        // Opens of this batch: key → time, consulted before `seen`.
        let mut fresh: HashMap<u64, PrimitiveDateTime> = HashMap::new();
        for (row, ip) in batch.rows.iter_mut().zip(&batch.ips) {
            row.ip_hash = match *ip {
                Some(ip) => {
                    self.load_salt(&mut conn, row.at)?;
                    let salt = self.today.as_ref().map_or("", |(_, salt)| salt.as_str());
                    hash_ip(&self.ip_key, salt, ip)
                }
                None => String::new(),
            };
            row.is_duplicate = self.is_duplicate(&mut conn, &mut fresh, row)?;
        }
        write_transaction(&mut conn, |c| clicks::insert_batch(c, &batch.rows))?;
        self.seen.extend(fresh);
        if self.seen.len() > 200_000 {
            let newest = batch.rows.last().map(|c| c.at);
            if let Some(newest) = newest {
                self.seen.retain(|_, at| *at + DUPLICATE_WINDOW > newest);
            }
        }
        Ok(())
    }

    fn is_duplicate(
        &self,
        conn: &mut DbConnection,
        fresh: &mut HashMap<u64, PrimitiveDateTime>,
        row: &ClickRow,
    ) -> StorageResult<bool> {
        let (link_id, ip_hash, ua, at) = (row.link_id.as_str(), row.ip_hash.as_str(), row.user_agent.as_str(), row.at);
        let key = {
            let mut h = DefaultHasher::new();
            (link_id, ip_hash, ua).hash(&mut h);
            h.finish()
        };
        let duplicate = match fresh.get(&key).or_else(|| self.seen.get(&key)) {
            Some(last) if *last + DUPLICATE_WINDOW > at && *last <= at => true,
            // Not seen by this process lately: another server (or this one
            // before a restart) may have.
            _ => !ip_hash.is_empty() && clicks::seen_since(conn, link_id, ip_hash, ua, at - DUPLICATE_WINDOW)?,
        };
        fresh.insert(key, at);
        Ok(duplicate)
    }

    /// Makes `today` hold the salt of `at`'s day.
    fn load_salt(&mut self, conn: &mut DbConnection, at: PrimitiveDateTime) -> StorageResult<()> {
        let date = at.date();
        if self.today.as_ref().is_some_and(|(d, _)| *d == date) {
            return Ok(());
        }
        let day = date.to_string();
        let salt = match self.salts.get(&day) {
            Some(salt) => salt.clone(),
            None => {
                let salt = day_salt(conn, &day, at)?;
                self.salts.retain(|d, _| *d >= day);
                self.salts.insert(day, salt.clone());
                salt
            }
        };
        self.today = Some((date, salt));
        Ok(())
    }
}

/// The salt of `day`, created by whichever server needs it first.
pub fn day_salt(conn: &mut DbConnection, day: &str, now: PrimitiveDateTime) -> StorageResult<String> {
    if let Some(salt) = ip_salts::get(conn, day)? {
        return Ok(salt);
    }
    let salt = random_token(32);
    match ip_salts::insert(conn, day, &salt, now) {
        Ok(()) => {
            let cutoff = (now - time::Duration::days(SALT_KEEP_DAYS)).date().to_string();
            ip_salts::delete_before(conn, &cutoff)?;
            Ok(salt)
        }
        Err(e) if e.is_unique_violation() => ip_salts::get(conn, day)?.ok_or(e),
        Err(e) => Err(e),
    }
}

/// The keyed hash of an IP address with a day's salt: 128 bits, base64url.
pub fn hash_ip(key: &SigningKey, salt: &str, ip: IpAddr) -> String {
    let mut message = salt.as_bytes().to_vec();
    message.push(b'|');
    match ip {
        IpAddr::V4(v4) => message.extend_from_slice(&v4.octets()),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => message.extend_from_slice(&v4.octets()),
            None => message.extend_from_slice(&v6.octets()),
        },
    }
    let mac = key.mac(&message);
    URL_SAFE_NO_PAD.encode(&mac[..16])
}

fn truncate_utf8(s: &str, max_bytes: usize) -> &str {
    if s.len() <= max_bytes {
        return s;
    }
    let mut end = max_bytes;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agents_are_cut_at_256_bytes_on_a_character_boundary() {
        let ua = "é".repeat(200);
        let cut = truncate_utf8(&ua, 256);
        assert!(cut.len() <= 256 && cut.len() >= 255);
        assert!(cut.chars().all(|c| c == 'é'));
    }

    #[test]
    fn ip_hashes_depend_on_the_salt_and_hide_the_address() {
        let key = SigningKey::new(b"0123456789abcdef0123456789abcdef");
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        let a = hash_ip(&key, "salt-1", ip);
        assert_eq!(a, hash_ip(&key, "salt-1", ip));
        assert_ne!(a, hash_ip(&key, "salt-2", ip));
        assert!(!a.contains("203"));
        assert_eq!(a.len(), 22);
        let mapped: IpAddr = "::ffff:203.0.113.7".parse().unwrap();
        assert_eq!(a, hash_ip(&key, "salt-1", mapped));
    }
}
