//! The in-memory cache the redirect reads: code → link, and program id →
//! program. Bounded, and every entry lives at most 30 seconds, so edits on
//! another server behind the load balancer show here within that time;
//! edits on this server invalidate at once.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::storage::links::ResolvedLink;

use super::programs::SharedProgram;

/// How long an entry may be served without asking the database again.
pub const TTL: Duration = Duration::from_secs(30);
/// Codes kept at most (two generations of half this each).
const CAPACITY: usize = 100_000;

/// A code as the redirect needs it; `None` in the cache means "no such
/// code" (so that scans of random codes do not each reach the database).
#[derive(Debug, Clone)]
pub struct CachedLink {
    pub link: ResolvedLink,
    pub program: SharedProgram,
}

struct Entry<T> {
    value: T,
    at: Instant,
}

/// Two generations: lookups promote from the old one; when the new one is
/// full, the old one is dropped. An LRU approximation without a list to
/// maintain on every hit.
struct Generations<T> {
    young: HashMap<String, Entry<T>>,
    old: HashMap<String, Entry<T>>,
    half: usize,
}

impl<T: Clone> Generations<T> {
    fn new(capacity: usize) -> Self {
        Self { young: HashMap::new(), old: HashMap::new(), half: (capacity / 2).max(1) }
    }

    fn insert(&mut self, key: String, value: T) {
        self.insert_entry(key, Entry { value, at: Instant::now() });
    }

    /// Adds to the young generation, which becomes the old one when full.
    fn insert_entry(&mut self, key: String, entry: Entry<T>) {
        if self.young.len() >= self.half {
            self.old = std::mem::take(&mut self.young);
        }
        self.young.insert(key, entry);
    }

    fn remove_where(&mut self, mut f: impl FnMut(&T) -> bool) {
        self.young.retain(|_, e| !f(&e.value));
        self.old.retain(|_, e| !f(&e.value));
    }
}

/// Codes are spread over this many locks, so that the workers answering
/// redirects side by side rarely touch the same lock (one lock's counter
/// bouncing between cores costs more than the lookup).
const SHARDS: usize = 16;

type Codes = Generations<Option<Arc<CachedLink>>>;

/// The redirect's cache of links and programs.
pub struct LinkCache {
    codes: Box<[RwLock<Codes>]>,
    programs: RwLock<HashMap<String, Entry<SharedProgram>>>,
}

impl Default for LinkCache {
    fn default() -> Self {
        Self::new()
    }
}

impl LinkCache {
    pub fn new() -> Self {
        Self::with_capacity(CAPACITY)
    }

    pub fn with_capacity(capacity: usize) -> Self {
        let per_shard = capacity.div_ceil(SHARDS);
        Self {
            codes: (0..SHARDS).map(|_| RwLock::new(Generations::new(per_shard))).collect(),
            programs: RwLock::new(HashMap::new()),
        }
    }

    /// The shard of `code` (FNV-1a: cheap, and the shard's map hashes the
    /// code again with a keyed hash).
    fn shard(&self, code: &str) -> &RwLock<Codes> {
        let hash = code.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
        &self.codes[(hash % SHARDS as u64) as usize]
    }

    /// `Some(hit)` when the code is cached and fresh (the hit itself may
    /// be "no such code"); `None` when the database must be asked.
    pub fn get(&self, code: &str) -> Option<Option<Arc<CachedLink>>> {
        let shard = self.shard(code);
        {
            let codes = shard.read().unwrap_or_else(|p| p.into_inner());
            if let Some(e) = codes.young.get(code) {
                return (e.at.elapsed() < TTL).then(|| e.value.clone());
            }
            match codes.old.get(code) {
                Some(e) if e.at.elapsed() < TTL => {}
                _ => return None,
            }
        }
        // A hit in the old generation: move it to the young one.
        let mut codes = shard.write().unwrap_or_else(|p| p.into_inner());
        let entry = codes.old.remove(code)?;
        let value = entry.value.clone();
        codes.insert_entry(code.to_string(), entry);
        Some(value)
    }

    pub fn put(&self, code: &str, value: Option<Arc<CachedLink>>) {
        self.shard(code).write().unwrap_or_else(|p| p.into_inner()).insert(code.to_string(), value);
    }

    /// A fresh cached program, if any.
    pub fn program(&self, id: &str) -> Option<SharedProgram> {
        let programs = self.programs.read().unwrap_or_else(|p| p.into_inner());
        programs.get(id).filter(|e| e.at.elapsed() < TTL).map(|e| e.value.clone())
    }

    /// A fresh cached program by its slug, if any (few programs: a scan).
    pub fn program_by_slug(&self, slug: &str) -> Option<SharedProgram> {
        let programs = self.programs.read().unwrap_or_else(|p| p.into_inner());
        programs.values().find(|e| e.at.elapsed() < TTL && e.value.slug.as_str() == slug).map(|e| e.value.clone())
    }

    pub fn put_program(&self, program: SharedProgram) {
        let mut programs = self.programs.write().unwrap_or_else(|p| p.into_inner());
        programs.insert(program.id.clone(), Entry { value: program, at: Instant::now() });
    }

    /// Forgets one code (a link was disabled or created).
    pub fn invalidate_code(&self, code: &str) {
        let mut codes = self.shard(code).write().unwrap_or_else(|p| p.into_inner());
        codes.young.remove(code);
        codes.old.remove(code);
    }

    /// Forgets a program and every code of it (its configuration changed).
    pub fn invalidate_program(&self, program_id: &str) {
        self.programs.write().unwrap_or_else(|p| p.into_inner()).remove(program_id);
        for shard in &self.codes {
            shard
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .remove_where(|v| v.as_ref().is_some_and(|l| l.link.program_id == program_id));
        }
    }

    pub fn len(&self) -> usize {
        self.codes
            .iter()
            .map(|shard| {
                let codes = shard.read().unwrap_or_else(|p| p.into_inner());
                codes.young.len() + codes.old.len()
            })
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_stays_bounded_and_keeps_recent_codes() {
        let cache = LinkCache::with_capacity(10 * SHARDS);
        for i in 0..1000 {
            cache.put(&format!("code{i}"), None);
        }
        assert!(cache.len() <= 10 * SHARDS, "{}", cache.len());
        assert!(cache.get("code999").is_some());
        assert!(cache.get("code0").is_none());
    }

    #[test]
    fn invalidated_codes_are_asked_again() {
        let cache = LinkCache::new();
        cache.put("abc", None);
        assert!(matches!(cache.get("abc"), Some(None)));
        cache.invalidate_code("abc");
        assert!(cache.get("abc").is_none());
    }
}
