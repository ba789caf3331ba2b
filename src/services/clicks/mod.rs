//! Recording clicks off the response path.
//!
//! The redirect encodes the click (IP already hashed) into an in-memory
//! buffer and answers. A flusher thread appends the buffer to the local
//! click journal every [`FLUSH_EVERY`] and syncs it; a loader thread loads
//! the journal into the database in batches (at least [`BATCH_MIN`] clicks
//! or what waited [`BATCH_WAIT`], at most [`BATCH_MAX`]), flags duplicates,
//! and moves the journal's loaded position in the same transaction — so a
//! click loads exactly once, whatever crashes in between.
//!
//! Why a journal and not a queue in memory: the redirect never waits for
//! the database (a slow or unreachable database only delays loading), a
//! burst is absorbed on disk instead of in memory, and a crash loses at most
//! the last [`FLUSH_EVERY`] of clicks instead of everything queued. By
//! default the loader yields the processor while redirects are busy (see
//! `loader`), so under a burst redirects win and loading catches up when
//! the burst is over.

pub mod ip_hash;
mod journal;
mod loader;

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use time::PrimitiveDateTime;
use tokio::sync::Notify;

use crate::clock::Clock;
use crate::crypto::SigningKey;
use crate::storage::Db;

use ip_hash::IpHasher;
pub use ip_hash::{SALT_KEEP_DAYS, day_salt, hash_ip};
use journal::{JournalDir, Position, Record, SegmentWriter};

use super::link_cache::CachedLink;

/// How often the flusher appends what the redirects buffered.
pub const FLUSH_EVERY: Duration = Duration::from_millis(50);
/// A batch this large loads at once.
pub const BATCH_MIN: usize = 500;
/// How long a smaller batch waits for more clicks.
pub const BATCH_WAIT: Duration = Duration::from_secs(1);
/// Clicks loaded in one transaction at most: few enough that the loader
/// holds SQLite's write lock only briefly.
pub const BATCH_MAX: usize = 2_000;
/// Bytes buffered for the flusher at most (tens of thousands of clicks).
/// Reached only when the journal cannot be written; the redirect then
/// waits for room instead of memory growing without limit.
pub const BUFFER_MAX: usize = 16 * 1024 * 1024;
/// At most one counted click per visitor (link, IP hash, user agent) in
/// this window; the others are stored, flagged duplicate, and not counted.
pub const DUPLICATE_WINDOW: time::Duration = time::Duration::hours(1);
/// How long shutdown keeps trying an unreachable database or disk; what is
/// not loaded by then stays in the journal and loads at the next start.
pub const SHUTDOWN_PATIENCE: Duration = Duration::from_secs(30);

/// A click as the redirect saw it; the raw IP never leaves this process.
#[derive(Debug, Clone)]
pub struct NewClick<'a> {
    pub id: &'a str,
    pub link: &'a CachedLink,
    pub at: PrimitiveDateTime,
    pub channel: Option<&'a str>,
    pub user_agent: &'a str,
    pub referrer_host: Option<&'a str>,
    pub ip: Option<IpAddr>,
    pub is_bot: bool,
}

/// Where the click pipeline runs, from the settings.
#[derive(Debug, Clone)]
pub struct JournalOptions {
    pub path: PathBuf,
    /// Yield the processor to redirect bursts between batches (see `loader`).
    pub yields: bool,
}

/// What the flusher and the loader tell each other and the recorder.
#[derive(Debug, Default)]
struct Progress {
    /// Flushes asked for and done (generations).
    flush_wanted: u64,
    flushed: u64,
    /// The end of what the flusher has written and synced.
    written: Position,
    /// A position the loader should reach without waiting for a full batch.
    load_wanted: Position,
    /// The end of what the loader has committed.
    loaded: Position,
    stopping: bool,
    writer_stopped: bool,
    loader_stopped: bool,
}

struct Shared {
    /// Encoded records the flusher has not taken yet.
    buffer: Mutex<Vec<u8>>,
    buffered: AtomicUsize,
    /// Signalled when the flusher takes the buffer.
    room: Notify,
    progress: Mutex<Progress>,
    changed: Condvar,
    /// Clicks this process journaled and loaded, for `/metrics`.
    clicks_journaled: AtomicU64,
    clicks_loaded: AtomicU64,
}

impl Shared {
    fn progress(&self) -> MutexGuard<'_, Progress> {
        self.progress.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn update(&self, f: impl FnOnce(&mut Progress)) {
        f(&mut self.progress());
        self.changed.notify_all();
    }

    /// Waits at most `timeout` for a change of progress.
    fn wait_changed(&self, timeout: Duration) {
        let guard = self.progress();
        let _ = self.changed.wait_timeout(guard, timeout);
    }

    /// Blocks until everything buffered before the call is written to the
    /// journal and loaded into the database (or the pipeline stopped).
    fn flush_and_load(&self) {
        let mut p = self.progress();
        p.flush_wanted += 1;
        let want = p.flush_wanted;
        self.changed.notify_all();
        while p.flushed < want && !p.writer_stopped {
            p = self.changed.wait(p).unwrap_or_else(|e| e.into_inner());
        }
        let target = p.written;
        p.load_wanted = p.load_wanted.max(target);
        self.changed.notify_all();
        while p.loaded < target && !p.loader_stopped {
            p = self.changed.wait(p).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// The handle the web layer records clicks through.
pub struct ClickRecorder {
    shared: Arc<Shared>,
    db: Db,
    ip: IpHasher,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl ClickRecorder {
    /// Opens the journal and starts the flusher and the loader. Fails when
    /// the journal folder cannot be written or another server holds it.
    pub fn start(db: Db, clock: Arc<dyn Clock>, ip_key: SigningKey, options: &JournalOptions) -> std::io::Result<Self> {
        let dir = Arc::new(JournalDir::open(&options.path)?);
        let next = dir.segments()?.last().map_or(1, |last| last + 1);
        let writer = SegmentWriter::create(&dir, next)?;
        let shared = Arc::new(Shared {
            buffer: Mutex::new(Vec::with_capacity(64 * 1024)),
            buffered: AtomicUsize::new(0),
            room: Notify::new(),
            progress: Mutex::new(Progress { written: Position::start_of(next), ..Progress::default() }),
            changed: Condvar::new(),
            clicks_journaled: AtomicU64::new(0),
            clicks_loaded: AtomicU64::new(0),
        });
        let flusher = {
            let (shared, dir) = (shared.clone(), dir.clone());
            std::thread::Builder::new().name("click-flusher".into()).spawn(move || flush_loop(&shared, writer, &dir))?
        };
        let loader = loader::Loader::new(db.clone(), clock, dir, shared.clone(), options.yields);
        let loader = std::thread::Builder::new().name("click-loader".into()).spawn(move || loader.run())?;
        Ok(Self { shared, db, ip: IpHasher::new(ip_key), threads: Mutex::new(vec![flusher, loader]) })
    }

    /// Buffers a click for the journal. Returns at once, unless the journal
    /// could not be written for a while and [`BUFFER_MAX`] is reached: then
    /// it waits (without blocking the thread) until the flusher takes the
    /// buffer. Only the first click of a day reads the day's salt.
    pub async fn record(&self, click: NewClick<'_>) {
        let ip_hash = match click.ip {
            Some(ip) => self.ip_hash(click.at, ip).await,
            None => String::new(),
        };
        while self.shared.buffered.load(Ordering::Relaxed) >= BUFFER_MAX {
            let room = self.shared.room.notified();
            if self.shared.buffered.load(Ordering::Relaxed) < BUFFER_MAX {
                break;
            }
            room.await;
        }
        let record = Record {
            id: click.id,
            at: click.at,
            link_id: &click.link.link.link_id,
            program_id: &click.link.link.program_id,
            channel: click.channel,
            user_agent: truncate_utf8(click.user_agent, 256),
            referrer_host: click.referrer_host,
            ip_hash: &ip_hash,
            is_bot: click.is_bot,
        };
        let mut buffer = self.shared.buffer.lock().unwrap_or_else(|p| p.into_inner());
        journal::encode(&record, &mut buffer);
        self.shared.buffered.store(buffer.len(), Ordering::Relaxed);
    }

    async fn ip_hash(&self, at: PrimitiveDateTime, ip: IpAddr) -> String {
        let date = at.date();
        if let Some(hash) = self.ip.hash(date, ip) {
            return hash;
        }
        let day = date.to_string();
        match self.db.run(move |conn| day_salt(conn, &day, at)).await {
            Ok(salt) => {
                self.ip.load(date, &salt);
                self.ip.hash(date, ip).unwrap_or_default()
            }
            Err(e) => {
                // Unreachable database at the first click of a day: the
                // click is kept, without an IP hash (never with the address).
                tracing::error!(error = %e, "the day's IP salt could not be read; a click is kept without its IP hash");
                String::new()
            }
        }
    }

    /// Clicks this process journaled but has not loaded yet.
    pub fn pending(&self) -> u64 {
        self.journaled().saturating_sub(self.loaded())
    }

    /// Clicks this process wrote to its journal.
    pub fn journaled(&self) -> u64 {
        self.shared.clicks_journaled.load(Ordering::Relaxed)
    }

    /// Clicks this process loaded into the database.
    pub fn loaded(&self) -> u64 {
        self.shared.clicks_loaded.load(Ordering::Relaxed)
    }

    /// Waits until every click recorded before this call is committed.
    pub async fn flush(&self) {
        let shared = self.shared.clone();
        let _ = actix_web::web::block(move || shared.flush_and_load()).await;
    }

    /// Journals what is buffered, loads the journal to its end and stops
    /// both threads. Blocking; called once the server takes no requests.
    pub fn shutdown(&self) {
        self.shared.update(|p| p.stopping = true);
        let threads = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|p| p.into_inner()));
        for thread in threads {
            let _ = thread.join();
        }
    }
}

impl Drop for ClickRecorder {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The flusher: every [`FLUSH_EVERY`] (or when a flush is asked for) takes
/// the buffer, appends it to the journal and syncs it.
fn flush_loop(shared: &Shared, mut writer: SegmentWriter, dir: &JournalDir) {
    // Records taken from the buffer and not yet written; swapped with the
    // buffer, so the two allocations are reused.
    let mut unwritten: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut failing_since: Option<Instant> = None;
    loop {
        let (want, stopping) = {
            let mut p = shared.progress();
            if p.flush_wanted == p.flushed && !p.stopping && failing_since.is_none() {
                p = shared.changed.wait_timeout(p, FLUSH_EVERY).unwrap_or_else(|e| e.into_inner()).0;
            }
            (p.flush_wanted, p.stopping)
        };
        // While a write keeps failing the buffer stays where it is, so that
        // it fills up to BUFFER_MAX and the redirects wait.
        if unwritten.is_empty() {
            let mut buffer = shared.buffer.lock().unwrap_or_else(|p| p.into_inner());
            std::mem::swap(&mut *buffer, &mut unwritten);
            shared.buffered.store(0, Ordering::Relaxed);
            drop(buffer);
            shared.room.notify_waiters();
        }
        if !unwritten.is_empty() {
            match append(&mut writer, dir, &unwritten) {
                Ok(end) => {
                    shared.clicks_journaled.fetch_add(count_records(&unwritten), Ordering::Relaxed);
                    unwritten.clear();
                    failing_since = None;
                    shared.update(|p| p.written = end);
                }
                Err(e) => {
                    let since = *failing_since.get_or_insert_with(Instant::now);
                    tracing::error!(error = %e, dir = %dir.path().display(), "the click journal cannot be written; retrying");
                    if stopping && since.elapsed() > SHUTDOWN_PATIENCE {
                        tracing::error!(
                            clicks = count_records(&unwritten),
                            "the click journal stayed unwritable at shutdown; these clicks are lost"
                        );
                        unwritten.clear();
                    } else {
                        std::thread::sleep(Duration::from_millis(500));
                        continue;
                    }
                }
            }
        }
        shared.update(|p| p.flushed = p.flushed.max(want));
        if stopping && shared.buffered.load(Ordering::Relaxed) == 0 {
            shared.update(|p| p.writer_stopped = true);
            return;
        }
    }
}

/// Appends to the current segment, starting a new one when it is full.
fn append(writer: &mut SegmentWriter, dir: &JournalDir, records: &[u8]) -> std::io::Result<Position> {
    if writer.size() >= journal::SEGMENT_MAX {
        *writer = SegmentWriter::create(dir, writer.segment() + 1)?;
    }
    writer.append(records)
}

fn count_records(mut bytes: &[u8]) -> u64 {
    let mut n = 0;
    while bytes.len() >= 2 {
        let len = u16::from_le_bytes([bytes[0], bytes[1]]) as usize;
        bytes = &bytes[(2 + len).min(bytes.len())..];
        n += 1;
    }
    n
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
}
