//! The store's summary index, `$root/containers/summaries`: every record's summary (what
//! a listing, repair and a name check read of a container, see `summary`) with the stamp
//! of the record file it was taken from (inode, size, mtime, ctime). A listing checks
//! each record's stamp with one `fstatat` instead of opening and reading a thousand
//! files; a record the index does not hold, whose stamp differs, or that changed too
//! recently for its stamp to tell (see `Stamp::settled`) is read, and the index is
//! rewritten when that found something it can keep.
//!
//! It is a cache, never trusted over the records: derived data, replaced by temp +
//! rename without fsync and without the store's lock (a record saved while a listing runs
//! has a new stamp, so an index written from what the listing read is only out of date,
//! never wrong), each entry checked by a checksum, and rebuilt from the records when it
//! is missing or damaged. Nothing here writes a record.

use super::files::read_file;
use crate::paths::RECORD;
use std::collections::HashMap;
use std::ffi::CString;
use std::fs::File;
use std::ops::Range;
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// The index's file name in the store's directory (not a container id: listings skip it).
pub(super) const INDEX: &str = "summaries";

/// What the file opens with: a later format gets a new one, and an index of another
/// format is rebuilt instead of misread.
const MAGIC: &[u8; 16] = b"kiste-summary-1\n";

/// id, inode, size, mtime, ctime (seconds and nanoseconds each), the time noted.
const FIXED: usize = 64 + 8 + 8 + 8 + 8 + 8 + 8 + 8;

/// What identifies one version of a record file. Records are replaced by rename, so a
/// new version is a new inode; the times and the size catch a file rewritten in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Stamp {
    fn of(st: &libc::stat) -> Stamp {
        Stamp {
            ino: st.st_ino,
            size: st.st_size as u64,
            mtime: (st.st_mtime, st.st_mtime_nsec),
            ctime: (st.st_ctime, st.st_ctime_nsec),
        }
    }

    /// Whether a file with this stamp, read no earlier than `noted` (seconds), cannot
    /// have changed since without its stamp changing: every later change stamps a time
    /// after `noted`. A file changed in the same second as it was read (or one second
    /// before: some file systems keep whole seconds, and the kernel's clock is coarse)
    /// may be changed again, same size, inode and times, so it is read again next time.
    fn settled(&self, noted: i64) -> bool {
        self.ctime.0.max(self.mtime.0) + 2 <= noted
    }
}

/// One record of a listing: where its summary comes from.
pub(super) struct Item {
    pub(super) id: String,
    pub(super) from: Source,
}

pub(super) enum Source {
    /// The summary at this range of the index's bytes (its stamp matched).
    Index(Range<usize>),
    /// The record file's bytes, read now.
    Record(Vec<u8>),
}

/// Every record of the store (directory order) and the ids of the directories without
/// one (a create killed before its first save, or one under way).
pub(super) struct Listing {
    index: Vec<u8>,
    pub(super) items: Vec<Item>,
    pub(super) orphans: Vec<String>,
}

impl Listing {
    /// The summary an `Index` item points at.
    pub(super) fn summary(&self, range: &Range<usize>) -> &[u8] {
        &self.index[range.clone()]
    }
}

/// One entry of the index's bytes.
struct Entry {
    stamp: Stamp,
    noted: i64,
    summary: Range<usize>,
}

/// The entries of an index file's bytes by id; None when the file is not an index of this
/// format. A damaged entry ends the parse (what follows it cannot be found reliably):
/// the records of the entries lost are read and the index rewritten.
fn entries(data: &[u8]) -> Option<(HashMap<&[u8], Entry>, bool)> {
    let mut rest = data.strip_prefix(MAGIC)?;
    let mut map = HashMap::new();
    let mut at = MAGIC.len();
    let mut damaged = false;
    while !rest.is_empty() {
        let Some(len) = rest.get(..4).map(|b| u32_at(b, 0) as usize) else {
            damaged = true;
            break;
        };
        let Some(body) = rest
            .get(4..)
            .and_then(|r| r.get(..len.checked_add(8)?))
            .filter(|_| len >= FIXED)
        else {
            damaged = true;
            break;
        };
        let (body, sum) = body.split_at(len);
        if checksum(body) != u64_at(sum, 0) {
            damaged = true;
            break;
        }
        let n = |i: usize| u64_at(body, 64 + 8 * i);
        let entry = Entry {
            stamp: Stamp {
                ino: n(0),
                size: n(1),
                mtime: (n(2) as i64, n(3) as i64),
                ctime: (n(4) as i64, n(5) as i64),
            },
            noted: n(6) as i64,
            summary: at + 4 + FIXED..at + 4 + len,
        };
        map.insert(&body[..64], entry);
        at += 4 + len + 8;
        rest = &rest[4 + len + 8..];
    }
    Some((map, damaged))
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes(b[i..i + 4].try_into().expect("4 bytes"))
}

fn u64_at(b: &[u8], i: usize) -> u64 {
    u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"))
}

/// Appends one entry to an index being written.
fn push_entry(out: &mut Vec<u8>, id: &str, stamp: &Stamp, noted: i64, summary: &[u8]) {
    let start = out.len() + 4;
    out.extend_from_slice(&((FIXED + summary.len()) as u32).to_le_bytes());
    out.extend_from_slice(id.as_bytes());
    for n in [
        stamp.ino,
        stamp.size,
        stamp.mtime.0 as u64,
        stamp.mtime.1 as u64,
        stamp.ctime.0 as u64,
        stamp.ctime.1 as u64,
        noted as u64,
    ] {
        out.extend_from_slice(&n.to_le_bytes());
    }
    out.extend_from_slice(summary);
    let sum = checksum(&out[start..]);
    out.extend_from_slice(&sum.to_le_bytes());
}

/// A checksum that finds a damaged or torn entry (not a defence against an attacker:
/// whoever can write the index can write the records). Eight bytes per step, so that
/// checking the whole index costs little next to parsing it.
fn checksum(data: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h = K ^ data.len() as u64;
    let mut words = data.chunks_exact(8);
    for w in &mut words {
        h = (h ^ u64::from_le_bytes(w.try_into().expect("8 bytes")))
            .wrapping_mul(K)
            .rotate_left(31);
    }
    let mut tail = [0u8; 8];
    tail[..words.remainder().len()].copy_from_slice(words.remainder());
    h = (h ^ u64::from_le_bytes(tail)).wrapping_mul(K);
    h ^ (h >> 29)
}

/// The current time in whole seconds, from the clock file times are taken from.
fn coarse_now() -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME_COARSE, &mut ts) };
    ts.tv_sec
}

/// `<id>/container.json`, NUL-terminated, relative to the store's directory.
fn record_name(id: &str) -> CString {
    let mut name = Vec::with_capacity(id.len() + 1 + RECORD.len() + 1);
    name.extend_from_slice(id.as_bytes());
    name.push(b'/');
    name.extend_from_slice(RECORD.as_bytes());
    CString::new(name).expect("a directory entry's name holds no NUL")
}

/// The stamp of the record file `name` (relative to the store's directory; followed as
/// `read_at` and `ContainerStore::load` follow it).
fn stamp_at(dir: &File, name: &CString) -> std::io::Result<Stamp> {
    // SAFETY: an all-zero stat is a valid value for fstatat to overwrite.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `name` is NUL-terminated and the directory fd is open.
    let r = unsafe { libc::fstatat(dir.as_raw_fd(), name.as_ptr(), &mut st, 0) };
    if r != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(Stamp::of(&st))
}

/// The bytes of the record of `id` and the stamp of the very file they were read from.
fn read_at(dir: &File, name: &CString) -> std::io::Result<(Vec<u8>, Stamp)> {
    // SAFETY: `name` is NUL-terminated and the directory fd is open.
    let fd = unsafe {
        libc::openat(
            dir.as_raw_fd(),
            name.as_ptr(),
            libc::O_RDONLY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a fresh fd that nothing else owns.
    let file = unsafe { File::from_raw_fd(fd) };
    // SAFETY: as in `stamp_at`; fstat fills it for the open fd.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: the fd is open and `st` is writable.
    if unsafe { libc::fstat(file.as_raw_fd(), &mut st) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok((read_file(file)?, Stamp::of(&st)))
}

/// Every record of the store at `dir`: from the index where a record's stamp says the
/// index holds its current summary, else read. `summary_of_record` gives the summary to
/// keep for a record read now (None: nothing to keep, e.g. a record that does not parse).
/// The index is rewritten when it is missing, damaged, holds records that are gone or
/// out of date, or misses one read now that it can keep; a failed write is ignored (a
/// read-only store lists alike, only slower).
pub(super) fn list(
    dir: &Path,
    summary_of_record: impl Fn(&[u8]) -> Option<Vec<u8>>,
) -> std::io::Result<Listing> {
    // Taken before anything is read: see `Stamp::settled`.
    let now = coarse_now();
    let store = File::open(dir)?;
    let index = std::fs::read(dir.join(INDEX)).unwrap_or_default();
    // An empty or foreign file is rebuilt like a damaged one.
    let (mut held, mut rewrite) = entries(&index).unwrap_or((HashMap::new(), true));
    let mut items = Vec::new();
    let mut orphans = Vec::new();
    // What a rewritten index holds: (item, stamp, noted, summary when read now).
    let mut kept: Vec<(usize, Stamp, i64, Option<Vec<u8>>)> = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(id) = name.to_str().filter(|id| id.len() == 64) else {
            remove_stale_temp(&store, name.as_bytes());
            continue;
        };
        let path = record_name(id);
        let stamp = match stamp_at(&store, &path) {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                orphans.push(id.to_string());
                continue;
            }
            Err(e) => return Err(e),
        };
        // An empty record is an interrupted create (see `files::read_file`).
        if stamp.size == 0 {
            orphans.push(id.to_string());
            continue;
        }
        match held.remove(name.as_bytes()) {
            Some(e) if e.stamp == stamp && stamp.settled(e.noted) => {
                kept.push((items.len(), stamp, e.noted, None));
                items.push(Item {
                    id: id.to_string(),
                    from: Source::Index(e.summary),
                });
                continue;
            }
            Some(_) => rewrite = true,
            None => {}
        }
        let (data, stamp) = match read_at(&store, &path) {
            Ok(read) => read,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                orphans.push(id.to_string());
                continue;
            }
            Err(e) => return Err(e),
        };
        if stamp.settled(now) {
            if let Some(summary) = summary_of_record(&data) {
                kept.push((items.len(), stamp, now, Some(summary)));
                rewrite = true;
            }
        }
        items.push(Item {
            id: id.to_string(),
            from: Source::Record(data),
        });
    }
    // Entries of records that are gone.
    rewrite |= !held.is_empty();
    drop(held);
    if rewrite && !(items.is_empty() && index.is_empty()) {
        let mut out = Vec::with_capacity(index.len() + 4096);
        out.extend_from_slice(MAGIC);
        for (i, stamp, noted, fresh) in &kept {
            let summary = match (fresh, &items[*i].from) {
                (Some(s), _) => s.as_slice(),
                (None, Source::Index(r)) => &index[r.clone()],
                (None, Source::Record(_)) => continue,
            };
            push_entry(&mut out, &items[*i].id, stamp, *noted, summary);
        }
        let tmp = dir.join(format!(".{INDEX}.tmp-{}", std::process::id()));
        let _ = super::files::replace_unsynced(&tmp, &dir.join(INDEX), &out);
    }
    Ok(Listing {
        index,
        items,
        orphans,
    })
}

/// Removes `name` when it is the temp file of an index rewrite whose process is gone (a
/// listing killed between its write and its rename); a live writer's file is left alone.
fn remove_stale_temp(store: &File, name: &[u8]) {
    use std::os::fd::AsRawFd;
    let prefix = format!(".{INDEX}.tmp-");
    let Some(pid) = name
        .strip_prefix(prefix.as_bytes())
        .and_then(|p| std::str::from_utf8(p).ok())
        .and_then(|p| p.parse::<libc::pid_t>().ok())
        .filter(|&p| p > 0)
    else {
        return;
    };
    // SAFETY: signal 0 only checks that the process exists.
    let gone = unsafe { libc::kill(pid, 0) } == -1
        && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH);
    if gone {
        if let Ok(c) = std::ffi::CString::new(name) {
            // SAFETY: a NUL-terminated name relative to the open store directory.
            unsafe { libc::unlinkat(store.as_raw_fd(), c.as_ptr(), 0) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dead_writers_temp_file_is_removed_and_a_live_ones_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let store = File::open(tmp.path()).unwrap();
        // A pid above the kernel's maximum (4194304) names no process.
        let dead = tmp.path().join(format!(".{INDEX}.tmp-99999999"));
        let live = tmp
            .path()
            .join(format!(".{INDEX}.tmp-{}", std::process::id()));
        let other = tmp.path().join("notes.tmp-1");
        for p in [&dead, &live, &other] {
            std::fs::write(p, b"x").unwrap();
        }
        for p in [&dead, &live, &other] {
            remove_stale_temp(&store, p.file_name().unwrap().as_encoded_bytes());
        }
        assert!(!dead.exists(), "a dead writer's temp file goes");
        assert!(live.exists(), "a live writer's temp file stays");
        assert!(other.exists(), "other names are not touched");
    }

    #[test]
    fn an_entry_reads_back_and_a_damaged_one_ends_the_parse() {
        let stamp = Stamp {
            ino: 7,
            size: 300,
            mtime: (1_700_000_000, 5),
            ctime: (1_700_000_001, 6),
        };
        let mut data = MAGIC.to_vec();
        push_entry(
            &mut data,
            &"a".repeat(64),
            &stamp,
            1_700_000_009,
            b"{\"x\":1}",
        );
        let second = data.len();
        push_entry(&mut data, &"b".repeat(64), &stamp, 1_700_000_009, b"{}");
        let (map, damaged) = entries(&data).unwrap();
        assert!(!damaged);
        let a = &map["a".repeat(64).as_bytes()];
        assert_eq!((a.stamp, a.noted), (stamp, 1_700_000_009));
        assert_eq!(&data[a.summary.clone()], b"{\"x\":1}");
        // One flipped byte in the second entry: the first is kept, the second is not.
        data[second + 70] ^= 1;
        let (map, damaged) = entries(&data).unwrap();
        assert!(damaged && map.len() == 1);
        // Cut short, or another format: nothing is read from it.
        assert!(entries(&data[..second - 3]).unwrap().1);
        assert!(entries(b"{\"summary\":").is_none());
    }

    #[test]
    fn a_stamp_is_settled_two_seconds_after_its_last_change() {
        let stamp = Stamp {
            ino: 1,
            size: 1,
            mtime: (100, 999_999_999),
            ctime: (100, 0),
        };
        assert!(!stamp.settled(100) && !stamp.settled(101));
        assert!(stamp.settled(102));
    }
}
