//! The loader: reads the click journal from the position the database
//! holds for it, flags duplicates, and commits each batch of clicks with
//! the journal's new position, so that a batch loads exactly once.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use time::PrimitiveDateTime;

use crate::clock::Clock;
use crate::storage::clicks::{self, ClickRow};
use crate::storage::{Db, DbConnection, StorageResult, links, write_transaction};

use super::journal::{JournalDir, Position};
use super::{BATCH_MAX, BATCH_MIN, BATCH_WAIT, DUPLICATE_WINDOW, SHUTDOWN_PATIENCE, Shared};

/// Redirects count as busy while clicks arrive faster than this (per
/// second): a burst the processor may be short for. The loader then pauses
/// after each batch for [`YIELD_FACTOR`] times the processor time the batch
/// took, so it takes at most a tenth of one core (still some 15,000 clicks a
/// second here) and the redirects the rest. Its transactions run at normal
/// priority, so SQLite's write lock is never held by a starved thread.
const BUSY_RATE: f64 = 1_000.0;
const YIELD_FACTOR: u32 = 9;
/// The longest pause between two batches.
const YIELD_MAX: Duration = Duration::from_secs(1);

/// Counts the clicks journaled between two looks.
struct Arrivals {
    since: Instant,
    journaled: u64,
}

impl Arrivals {
    fn new(now: Instant, journaled: u64) -> Self {
        Self { since: now, journaled }
    }

    /// Whether clicks arrived faster than [`BUSY_RATE`] since the last look.
    fn busy(&mut self, now: Instant, journaled: u64) -> bool {
        let arrived = journaled.saturating_sub(self.journaled) as f64;
        let seconds = now.saturating_duration_since(self.since).as_secs_f64();
        *self = Self::new(now, journaled);
        arrived > BUSY_RATE * seconds
    }
}

/// The pause after a batch that took `spent` of processor time while
/// redirects were busy.
fn yield_after(spent: Duration) -> Duration {
    (spent * YIELD_FACTOR).min(YIELD_MAX)
}

/// Visits kept in memory before the ones past the window are dropped.
const SEEN_MAX: usize = 200_000;
/// How often visits past the duplicate window are deleted from the database.
const PRUNE_EVERY: Duration = Duration::from_secs(600);

type VisitKey = [u8; 16];

pub(super) struct Loader {
    db: Db,
    clock: Arc<dyn Clock>,
    dir: Arc<JournalDir>,
    shared: Arc<Shared>,
    /// Yields the processor to redirects while they are busy (`low`
    /// loader priority).
    yields: bool,
    /// How fast clicks have been arriving.
    arrivals: Arrivals,
    /// Visit key → time of its last counted click: answers most duplicate
    /// questions without the database.
    seen: HashMap<VisitKey, PrimitiveDateTime>,
    pruned_at: Option<Instant>,
}

/// The database stayed unreachable through the shutdown's patience.
struct GaveUp;

impl Loader {
    pub(super) fn new(db: Db, clock: Arc<dyn Clock>, dir: Arc<JournalDir>, shared: Arc<Shared>, yields: bool) -> Self {
        let arrivals = Arrivals::new(Instant::now(), shared.clicks_journaled.load(Ordering::Relaxed));
        Self { db, clock, dir, shared, yields, arrivals, seen: HashMap::new(), pruned_at: None }
    }

    pub(super) fn run(mut self) {
        if let Ok(mut pos) = self.start_position() {
            self.shared.update(|p| p.loaded = pos);
            let mut pending_since: Option<Instant> = None;
            loop {
                let (written, load_wanted, stopping, writer_stopped) = {
                    let p = self.shared.progress();
                    (p.written, p.load_wanted, p.stopping, p.writer_stopped)
                };
                // Older segments are read to their end; the one being written
                // only as far as the flusher has synced it.
                let until = (pos.segment >= written.segment).then_some(written.offset);
                let read = match self.dir.read(pos, until, BATCH_MAX) {
                    Ok(read) => read,
                    Err(e) => {
                        tracing::error!(error = %e, "the click journal cannot be read; retrying");
                        if stopping {
                            break;
                        }
                        std::thread::sleep(Duration::from_secs(1));
                        continue;
                    }
                };
                if read.rows.is_empty() {
                    if until.is_none() {
                        if read.torn {
                            tracing::warn!(
                                segment = pos.segment,
                                "a click journal segment ends in a torn write (a crash); its last block is skipped"
                            );
                        }
                        pos = self.next_segment(pos, written);
                        self.shared.update(|p| p.loaded = pos);
                        continue;
                    }
                    if writer_stopped {
                        break;
                    }
                    pending_since = None;
                    self.shared.wait_changed(BATCH_WAIT);
                    continue;
                }
                let urgent = stopping || load_wanted > pos || read.rows.len() >= BATCH_MIN;
                let since = *pending_since.get_or_insert_with(Instant::now);
                if !urgent && since.elapsed() < BATCH_WAIT {
                    self.shared.wait_changed(BATCH_WAIT.saturating_sub(since.elapsed()));
                    continue;
                }
                pending_since = None;
                let mut rows = read.rows;
                let cpu_before = thread_cpu_time();
                if self.load_with_retry(&mut rows, read.end, stopping).is_err() {
                    break;
                }
                pos = read.end;
                self.shared.clicks_loaded.fetch_add(rows.len() as u64, Ordering::Relaxed);
                self.shared.update(|p| p.loaded = pos);
                let journaled = self.shared.clicks_journaled.load(Ordering::Relaxed);
                if self.yields && !stopping && load_wanted <= pos && self.arrivals.busy(Instant::now(), journaled) {
                    self.pause(yield_after(thread_cpu_time().saturating_sub(cpu_before)), pos);
                }
            }
        }
        if let Ok(segments) = self.dir.segments()
            && segments.len() > 1
        {
            tracing::warn!(dir = %self.dir.path().display(), "clicks not loaded stay in the journal and load at the next start");
        }
        self.shared.update(|p| p.loader_stopped = true);
    }

    /// Waits `pause`, unless shutdown or a flush needs the loader first.
    fn pause(&self, pause: Duration, pos: Position) {
        let until = Instant::now() + pause;
        let mut p = self.shared.progress();
        while !p.stopping && p.load_wanted <= pos {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            p = self.shared.changed.wait_timeout(p, left).unwrap_or_else(|e| e.into_inner()).0;
        }
    }

    /// Where loading resumes: the position the database holds for this
    /// journal (segments before it are loaded and deleted), else the
    /// oldest segment on disk.
    fn start_position(&mut self) -> Result<Position, GaveUp> {
        let started = Instant::now();
        let stored = loop {
            let id = self.dir.id().to_string();
            match self.db.get().and_then(|mut conn| clicks::journal_position(&mut conn, &id)) {
                Ok(stored) => break stored,
                Err(e) => {
                    tracing::error!(error = %e, "the click journal's position cannot be read; retrying");
                    if self.shared.progress().stopping && started.elapsed() > SHUTDOWN_PATIENCE {
                        return Err(GaveUp);
                    }
                    std::thread::sleep(Duration::from_secs(1));
                }
            }
        };
        let segments = self.dir.segments().unwrap_or_default();
        let stored = stored.map(|(s, o)| Position { segment: s.max(0) as u64, offset: o.max(0) as u64 });
        for &old in segments.iter().filter(|&&s| stored.is_some_and(|p| s < p.segment)) {
            let _ = self.dir.remove(old);
        }
        Ok(match stored {
            Some(p) if segments.contains(&p.segment) => p,
            Some(p) => Position::start_of(segments.iter().copied().find(|&s| s > p.segment).unwrap_or(p.segment)),
            None => Position::start_of(segments.first().copied().unwrap_or(0)),
        })
    }

    /// Deletes the segment `pos` finished and moves to the next one.
    fn next_segment(&self, pos: Position, written: Position) -> Position {
        if let Err(e) = self.dir.remove(pos.segment) {
            tracing::warn!(error = %e, segment = pos.segment, "a loaded click journal segment could not be deleted");
        }
        let next = self.dir.segments().unwrap_or_default().into_iter().find(|&s| s > pos.segment);
        Position::start_of(next.unwrap_or(written.segment).min(written.segment))
    }

    /// Loads a batch, retrying while the database is unreachable. At
    /// shutdown the retries stop after [`SHUTDOWN_PATIENCE`]; the batch then
    /// stays in the journal for the next start.
    fn load_with_retry(&mut self, rows: &mut Vec<ClickRow>, end: Position, stopping: bool) -> Result<(), GaveUp> {
        let started = Instant::now();
        let mut delay = Duration::from_millis(50);
        loop {
            match self.load(rows, end) {
                Ok(()) => return Ok(()),
                Err(e) if e.is_unique_violation() => {
                    // Clicks already stored (a journal loaded twice by hand).
                    let known = self.db.get().and_then(|mut c| {
                        look_up(&mut c, rows.iter().map(|r| r.id.clone()).collect(), clicks::existing_ids)
                    });
                    let before = rows.len();
                    if let Ok(known) = known {
                        rows.retain(|r| !known.contains(&r.id));
                    }
                    if rows.len() < before {
                        tracing::warn!(clicks = before - rows.len(), "clicks already stored were skipped");
                        continue;
                    }
                    tracing::error!(error = %e, clicks = rows.len(), "loading clicks failed; retrying");
                }
                Err(e) if e.is_foreign_key_violation() => {
                    // Clicks of links this database does not have: a journal
                    // that belonged to another database.
                    let known = self.db.get().and_then(|mut c| {
                        look_up(&mut c, rows.iter().map(|r| r.link_id.clone()).collect(), links::existing_ids)
                    });
                    let before = rows.len();
                    if let Ok(known) = known {
                        rows.retain(|r| known.contains(&r.link_id));
                    }
                    if rows.len() < before {
                        tracing::error!(
                            clicks = before - rows.len(),
                            "clicks of links unknown to this database were dropped"
                        );
                        continue;
                    }
                    tracing::error!(error = %e, clicks = rows.len(), "loading clicks failed; retrying");
                }
                Err(e) => {
                    tracing::error!(error = %e, clicks = rows.len(), "loading clicks failed; retrying");
                }
            }
            if (stopping || self.shared.progress().stopping) && started.elapsed() > SHUTDOWN_PATIENCE {
                return Err(GaveUp);
            }
            std::thread::sleep(delay);
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    }

    /// Flags duplicates and commits the batch with the journal position.
    /// Only a committed batch changes what this loader has seen, so a retry
    /// flags exactly what the first attempt would have.
    fn load(&mut self, rows: &mut [ClickRow], end: Position) -> StorageResult<()> {
        let mut conn = self.db.get()?;
        let now = self.clock.now_utc();
        // Visits this batch counts (key → (time, to store)), read outside
        // the write transaction so that it holds SQLite's lock briefly.
        let mut fresh: HashMap<VisitKey, (PrimitiveDateTime, bool)> = HashMap::new();
        let keys: Vec<Option<VisitKey>> =
            rows.iter().map(|row| (!row.ip_hash.is_empty()).then(|| visit_key(row))).collect();
        // The visits memory does not know, asked of the database at once.
        let unknown: Vec<String> =
            keys.iter().flatten().filter(|k| !self.seen.contains_key(*k)).map(encode_key).collect();
        let stored: HashMap<String, PrimitiveDateTime> =
            look_up(&mut conn, unknown, clicks::visits_last_counted)?.into_iter().collect();
        for (row, key) in rows.iter_mut().zip(keys) {
            let Some(key) = key else { continue };
            let last = match fresh.get(&key) {
                Some((at, _)) => Some(*at),
                None => self.seen.get(&key).copied().or_else(|| stored.get(&encode_key(&key)).copied()),
            };
            row.is_duplicate = last.is_some_and(|at| at <= row.at && row.at < at + DUPLICATE_WINDOW);
            if !row.is_duplicate {
                fresh.insert(key, (row.at, true));
            } else if let Some(at) = last {
                // Known now: later batches need not ask again.
                fresh.entry(key).or_insert((at, false));
            }
        }
        let visits: Vec<(String, PrimitiveDateTime)> =
            fresh.iter().filter(|(_, (_, store))| *store).map(|(key, (at, _))| (encode_key(key), *at)).collect();
        let journal_id = self.dir.id().to_string();
        write_transaction(&mut conn, |c| {
            clicks::insert_batch(c, rows)?;
            clicks::upsert_visits(c, &visits)?;
            clicks::set_journal_position(c, &journal_id, (end.segment as i64, end.offset as i64), now)
        })?;
        self.seen.extend(fresh.into_iter().map(|(key, (at, _))| (key, at)));
        if self.seen.len() > SEEN_MAX {
            self.seen.retain(|_, at| *at + DUPLICATE_WINDOW > now);
            if self.seen.len() > SEEN_MAX {
                // More visitors within the hour than memory keeps: the
                // visits table answers for the ones forgotten.
                self.seen.clear();
            }
        }
        if self.pruned_at.is_none_or(|t| t.elapsed() > PRUNE_EVERY) {
            self.pruned_at = Some(Instant::now());
            if let Err(e) = clicks::delete_visits_before(&mut conn, now - DUPLICATE_WINDOW) {
                tracing::warn!(error = %e, "old click visits could not be deleted");
            }
        }
        Ok(())
    }
}

/// What `lookup` finds for `values` (each asked once), in chunks of a size
/// every backend accepts in one statement.
fn look_up<T>(
    conn: &mut DbConnection,
    mut values: Vec<String>,
    lookup: fn(&mut DbConnection, &[String]) -> StorageResult<Vec<T>>,
) -> StorageResult<Vec<T>> {
    values.sort_unstable();
    values.dedup();
    let mut found = Vec::new();
    for chunk in values.chunks(500) {
        found.extend(lookup(conn, chunk)?);
    }
    Ok(found)
}

/// Who opened which link: SHA-256 of link, IP hash and user agent, cut to
/// 128 bits (the user agent is long; the key stays short).
fn visit_key(row: &ClickRow) -> VisitKey {
    let mut h = Sha256::new();
    for part in [row.link_id.as_bytes(), row.ip_hash.as_bytes(), row.user_agent.as_bytes()] {
        h.update((part.len() as u32).to_le_bytes());
        h.update(part);
    }
    let digest = h.finalize();
    let mut key = [0u8; 16];
    key.copy_from_slice(&digest[..16]);
    key
}

fn encode_key(key: &VisitKey) -> String {
    URL_SAFE_NO_PAD.encode(key)
}

/// Processor time this thread has used (zero where it cannot be read).
fn thread_cpu_time() -> Duration {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes one timespec, which outlives the call.
    if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) } != 0 {
        return Duration::ZERO;
    }
    Duration::new(now.tv_sec.max(0) as u64, now.tv_nsec.clamp(0, 999_999_999) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_are_busy_only_while_clicks_arrive_faster_than_a_thousand_a_second() {
        let start = Instant::now();
        let mut arrivals = Arrivals::new(start, 10_000);
        assert!(arrivals.busy(start + Duration::from_secs(2), 12_500), "1,250 a second");
        assert!(!arrivals.busy(start + Duration::from_secs(4), 14_000), "750 a second");
        assert!(!arrivals.busy(start + Duration::from_secs(5), 14_000), "none");
        assert!(arrivals.busy(start + Duration::from_millis(5_100), 14_200), "a burst in a tenth of a second");
    }

    #[test]
    fn the_loader_takes_at_most_a_tenth_of_the_processor_while_yielding() {
        let spent = Duration::from_millis(12);
        let pause = yield_after(spent);
        assert_eq!(pause, Duration::from_millis(108));
        assert!((spent.as_secs_f64() / (spent + pause).as_secs_f64() - 0.1).abs() < 1e-9);
        assert_eq!(yield_after(Duration::from_millis(500)), YIELD_MAX, "a pause never exceeds a second");
    }
}
