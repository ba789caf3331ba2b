//! The click journal: clicks as the redirect saw them, appended to segment
//! files in a local folder before they reach the database.
//!
//! A segment is a run of blocks; a block is `[payload length u32][checksum of
//! the payload u32][payload]`, written with one `write` and synced, and its
//! payload is whole records. A crash can tear only the last block of a
//! segment, which the checksum reveals. Records hold no raw IP address: the
//! redirect hashes it with the day's salt before the click is journaled.
//!
//! The folder holds `journal-id` (names this journal's loaded position in
//! the database), `lock` (held while a server uses the folder, so two
//! servers never share one) and `segment-NNNNNNNNNN.log` files.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use time::{OffsetDateTime, PrimitiveDateTime};

use crate::storage::clicks::ClickRow;

/// A segment is closed and a new one begun past this size.
pub const SEGMENT_MAX: u64 = 64 * 1024 * 1024;
/// Payload bytes of one block at most (a flush of more writes several).
const BLOCK_MAX: usize = 1024 * 1024;
const HEADER: usize = 8;

/// A place in the journal: a segment and a byte offset in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Position {
    pub segment: u64,
    pub offset: u64,
}

impl Position {
    pub fn start_of(segment: u64) -> Self {
        Self { segment, offset: 0 }
    }
}

/// A click's fields as the journal stores them.
pub struct Record<'a> {
    pub id: &'a str,
    pub at: PrimitiveDateTime,
    pub link_id: &'a str,
    pub program_id: &'a str,
    pub channel: Option<&'a str>,
    /// At most 256 bytes (the caller cuts it).
    pub user_agent: &'a str,
    pub referrer_host: Option<&'a str>,
    /// Empty when the address was unknown.
    pub ip_hash: &'a str,
    pub is_bot: bool,
}

fn put_str8(out: &mut Vec<u8>, s: &str) {
    let s = &s.as_bytes()[..s.len().min(255)];
    out.push(s.len() as u8);
    out.extend_from_slice(s);
}

/// Appends one record: `[length u16][fields]`.
pub fn encode(record: &Record<'_>, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[0, 0]);
    put_str8(out, record.id);
    let micros = (record.at.assume_utc().unix_timestamp_nanos() / 1_000) as i64;
    out.extend_from_slice(&micros.to_le_bytes());
    put_str8(out, record.link_id);
    put_str8(out, record.program_id);
    put_str8(out, record.channel.unwrap_or(""));
    let ua = &record.user_agent.as_bytes()[..record.user_agent.len().min(1024)];
    out.extend_from_slice(&(ua.len() as u16).to_le_bytes());
    out.extend_from_slice(ua);
    put_str8(out, record.referrer_host.unwrap_or(""));
    put_str8(out, record.ip_hash);
    out.push(u8::from(record.is_bot));
    let len = (out.len() - start - 2) as u16;
    out[start..start + 2].copy_from_slice(&len.to_le_bytes());
}

/// The journal's bytes do not hold what was written.
#[derive(Debug, thiserror::Error)]
#[error("click journal record unreadable: {0}")]
pub struct Corrupt(&'static str);

struct Cursor<'a> {
    bytes: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Corrupt> {
        if self.bytes.len() < n {
            return Err(Corrupt("cut short"));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn str_n(&mut self, n: usize) -> Result<String, Corrupt> {
        std::str::from_utf8(self.take(n)?).map(str::to_owned).map_err(|_| Corrupt("not UTF-8"))
    }

    fn str8(&mut self) -> Result<String, Corrupt> {
        let n = self.take(1)?[0] as usize;
        self.str_n(n)
    }

    fn u16(&mut self) -> Result<u16, Corrupt> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
}

/// Decodes the records of a block payload into click rows (not yet
/// flagged as duplicates).
pub fn decode(payload: &[u8], rows: &mut Vec<ClickRow>) -> Result<(), Corrupt> {
    let mut all = Cursor { bytes: payload };
    while !all.bytes.is_empty() {
        let len = all.u16()? as usize;
        let mut c = Cursor { bytes: all.take(len)? };
        let id = c.str8()?;
        let micros = i64::from_le_bytes(c.take(8)?.try_into().map_err(|_| Corrupt("time"))?);
        let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000).map_err(|_| Corrupt("time"))?;
        let link_id = c.str8()?;
        let program_id = c.str8()?;
        let channel = Some(c.str8()?).filter(|s| !s.is_empty());
        let ua_len = c.u16()? as usize;
        let user_agent = c.str_n(ua_len)?;
        let referrer_host = Some(c.str8()?).filter(|s| !s.is_empty());
        let ip_hash = c.str8()?;
        let is_bot = c.take(1)?[0] == 1;
        rows.push(ClickRow {
            id,
            link_id,
            program_id,
            at: PrimitiveDateTime::new(at.date(), at.time()),
            channel,
            user_agent,
            referrer_host,
            ip_hash,
            is_bot,
            is_duplicate: false,
        });
    }
    Ok(())
}

/// The folder of one server's journal, locked while open.
pub struct JournalDir {
    path: PathBuf,
    id: String,
    _lock: File,
}

impl JournalDir {
    /// Opens (or creates) the folder and takes its lock.
    pub fn open(path: &Path) -> io::Result<Self> {
        fs::create_dir_all(path)?;
        let lock = OpenOptions::new().create(true).truncate(false).write(true).open(path.join("lock"))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(io::Error::other(format!(
                    "the click journal {} is in use by another goodword server; give each server its own GOODWORD_CLICK_JOURNAL",
                    path.display()
                )));
            }
            Err(TryLockError::Error(e)) => return Err(e),
        }
        let id_path = path.join("journal-id");
        let id = match fs::read_to_string(&id_path) {
            Ok(id) if !id.trim().is_empty() => id.trim().to_string(),
            _ => {
                let id = nanoid::nanoid!(21);
                write_synced(&id_path, id.as_bytes())?;
                id
            }
        };
        Ok(Self { path: path.to_path_buf(), id, _lock: lock })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn segment_path(&self, segment: u64) -> PathBuf {
        self.path.join(format!("segment-{segment:010}.log"))
    }

    /// The segments on disk, oldest first.
    pub fn segments(&self) -> io::Result<Vec<u64>> {
        let mut found = Vec::new();
        for entry in fs::read_dir(&self.path)? {
            let name = entry?.file_name();
            let name = name.to_string_lossy();
            if let Some(n) = name.strip_prefix("segment-").and_then(|s| s.strip_suffix(".log"))
                && let Ok(n) = n.parse::<u64>()
            {
                found.push(n);
            }
        }
        found.sort_unstable();
        Ok(found)
    }

    /// Deletes a segment that is loaded to its end.
    pub fn remove(&self, segment: u64) -> io::Result<()> {
        match fs::remove_file(self.segment_path(segment)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Reads whole blocks of `from.segment` starting at `from.offset`, up to
    /// `until` bytes (the end of what the writer has synced) or, with
    /// `None`, to the end of the file, stopping once `max_rows` are read.
    pub fn read(&self, from: Position, until: Option<u64>, max_rows: usize) -> io::Result<Blocks> {
        let mut out = Blocks { rows: Vec::new(), end: from, torn: false };
        let mut file = match File::open(self.segment_path(from.segment)) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(e),
        };
        let end = match until {
            Some(until) => until,
            None => file.metadata()?.len(),
        };
        file.seek(SeekFrom::Start(from.offset))?;
        let mut offset = from.offset;
        let mut payload = Vec::new();
        while offset + HEADER as u64 <= end && out.rows.len() < max_rows {
            let mut header = [0u8; HEADER];
            file.read_exact(&mut header)?;
            let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as u64;
            let sum = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
            if len == 0 || len > BLOCK_MAX as u64 * 2 || offset + HEADER as u64 + len > end {
                out.torn = true;
                break;
            }
            payload.resize(len as usize, 0);
            file.read_exact(&mut payload)?;
            let before = out.rows.len();
            if checksum(&payload) != sum || decode(&payload, &mut out.rows).is_err() {
                out.rows.truncate(before);
                out.torn = true;
                break;
            }
            offset += HEADER as u64 + len;
            out.end = Position { segment: from.segment, offset };
        }
        if until.is_none() && offset < end && !out.torn && out.rows.len() < max_rows {
            // Fewer bytes than a header at the end: a torn write.
            out.torn = true;
        }
        Ok(out)
    }
}

/// Blocks read from a segment.
pub struct Blocks {
    pub rows: Vec<ClickRow>,
    /// Just past the last whole block read.
    pub end: Position,
    /// The segment ends in a block that a crash cut short.
    pub torn: bool,
}

/// Appends blocks to one segment.
pub struct SegmentWriter {
    segment: u64,
    file: File,
    len: u64,
}

impl SegmentWriter {
    /// Starts segment `segment` (a new, empty file).
    pub fn create(dir: &JournalDir, segment: u64) -> io::Result<Self> {
        let file = OpenOptions::new().create_new(true).append(true).open(dir.segment_path(segment))?;
        // The new file's name must survive a crash too.
        File::open(&dir.path)?.sync_all()?;
        Ok(Self { segment, file, len: 0 })
    }

    pub fn segment(&self) -> u64 {
        self.segment
    }

    /// Bytes in the segment so far.
    pub fn size(&self) -> u64 {
        self.len
    }

    /// Writes `records` (whole encoded records) as blocks and syncs them;
    /// returns the position after them.
    pub fn append(&mut self, records: &[u8]) -> io::Result<Position> {
        let mut framed = Vec::with_capacity(records.len() + HEADER * (1 + records.len() / BLOCK_MAX));
        let mut rest = records;
        while !rest.is_empty() {
            let cut = block_cut(rest);
            let (block, tail) = rest.split_at(cut);
            framed.extend_from_slice(&(block.len() as u32).to_le_bytes());
            framed.extend_from_slice(&checksum(block).to_le_bytes());
            framed.extend_from_slice(block);
            rest = tail;
        }
        if let Err(e) = self.file.write_all(&framed).and_then(|()| self.file.sync_data()) {
            // Leave the file as it was, so a retry does not follow a torn block.
            let _ = self.file.set_len(self.len);
            return Err(e);
        }
        self.len += framed.len() as u64;
        Ok(Position { segment: self.segment, offset: self.len })
    }
}

/// Where to end a block: after the last whole record within [`BLOCK_MAX`].
fn block_cut(records: &[u8]) -> usize {
    let mut at = 0;
    while at + 2 <= records.len() {
        let next = at + 2 + u16::from_le_bytes([records[at], records[at + 1]]) as usize;
        if next > BLOCK_MAX && at > 0 {
            break;
        }
        at = next;
    }
    at.min(records.len())
}

fn write_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// The block checksum, to tell a torn block from a whole one: a 64-bit
/// multiply-xorshift hash over 8-byte words, cut to 32 bits. It is not a
/// defence against forgery (whoever can write the journal can write a
/// valid one), only against a crash's half-written block, and it costs a
/// multiplication per 8 bytes where a table CRC costs a lookup per byte.
fn checksum(bytes: &[u8]) -> u32 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut h = (bytes.len() as u64).wrapping_mul(K);
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let w = u64::from_le_bytes(word.try_into().unwrap_or([0; 8]));
        h = (h ^ w).wrapping_mul(K).rotate_left(29);
    }
    let mut tail = [0u8; 8];
    tail[..words.remainder().len()].copy_from_slice(words.remainder());
    h = (h ^ u64::from_le_bytes(tail)).wrapping_mul(K);
    h ^= h >> 32;
    h as u32
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn record(id: &str) -> Record<'_> {
        Record {
            id,
            at: datetime!(2026-12-03 07:40:43.123456),
            link_id: "link-1",
            program_id: "prog-1",
            channel: Some("whatsapp"),
            user_agent: "Mozilla/5.0 (iPhone)",
            referrer_host: None,
            ip_hash: "abcdefghijklmnopqrstuv",
            is_bot: false,
        }
    }

    #[test]
    fn the_checksum_sees_a_changed_byte_a_cut_tail_and_zeros() {
        let block: Vec<u8> = (0..1000u32).map(|i| (i * 7 % 251) as u8).collect();
        let sum = checksum(&block);
        for at in [0, 7, 8, 500, 999] {
            let mut changed = block.clone();
            changed[at] ^= 1;
            assert_ne!(checksum(&changed), sum, "byte {at}");
        }
        assert_ne!(checksum(&block[..999]), sum);
        assert_ne!(checksum(&[0u8; 1000]), checksum(&[0u8; 992]));
    }

    #[test]
    fn a_record_decodes_to_the_click_it_encoded() {
        let mut bytes = Vec::new();
        encode(&record("0123456789abcdeF"), &mut bytes);
        encode(
            &Record { channel: None, referrer_host: Some("t.co"), is_bot: true, ..record("0123456789abcdeG") },
            &mut bytes,
        );
        let mut rows = Vec::new();
        decode(&bytes, &mut rows).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].id, "0123456789abcdeF");
        assert_eq!(rows[0].at, datetime!(2026-12-03 07:40:43.123456));
        assert_eq!(rows[0].channel.as_deref(), Some("whatsapp"));
        assert_eq!(rows[0].user_agent, "Mozilla/5.0 (iPhone)");
        assert_eq!(rows[0].ip_hash, "abcdefghijklmnopqrstuv");
        assert!(!rows[0].is_bot && rows[1].is_bot);
        assert_eq!((rows[1].channel.as_deref(), rows[1].referrer_host.as_deref()), (None, Some("t.co")));
        assert!(decode(&bytes[..bytes.len() - 1], &mut Vec::new()).is_err());
    }

    #[test]
    fn blocks_read_back_and_a_torn_tail_is_reported_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let journal = JournalDir::open(dir.path()).unwrap();
        let mut writer = SegmentWriter::create(&journal, 1).unwrap();
        let mut bytes = Vec::new();
        for i in 0..3 {
            encode(&record(&format!("0123456789abcd{i:02}")), &mut bytes);
        }
        let first = writer.append(&bytes).unwrap();
        writer.append(&bytes).unwrap();
        // A crash in the middle of a third block.
        let mut file = OpenOptions::new().append(true).open(journal.segment_path(1)).unwrap();
        file.write_all(&[200, 0, 0, 0, 1, 2]).unwrap();

        let read = journal.read(Position::start_of(1), None, 4).unwrap();
        assert_eq!((read.rows.len(), read.end), (6, Position { segment: 1, offset: writer.size() }));
        let read = journal.read(Position::start_of(1), Some(first.offset), 100).unwrap();
        assert_eq!((read.rows.len(), read.end, read.torn), (3, first, false));
        let read = journal.read(Position { segment: 1, offset: writer.size() }, None, 100).unwrap();
        assert!(read.rows.is_empty() && read.torn);
    }

    #[test]
    fn a_second_server_cannot_open_a_journal_in_use() {
        let dir = tempfile::tempdir().unwrap();
        let first = JournalDir::open(dir.path()).unwrap();
        let err = JournalDir::open(dir.path()).err().expect("the folder is locked");
        assert!(err.to_string().contains("in use"));
        let id = first.id().to_string();
        drop(first);
        assert_eq!(JournalDir::open(dir.path()).unwrap().id(), id, "the journal keeps its id");
    }
}
