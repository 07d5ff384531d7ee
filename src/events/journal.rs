//! The journal file: one JSON event per line, appended with one `write(2)` on an
//! `O_APPEND` descriptor, so lines from concurrent writers never interleave (a write of a
//! few hundred bytes to a regular file is done under the inode's lock). At [`ROTATE_AT`]
//! bytes the writer that crossed it renames the file to `events.log.1` (replacing the
//! previous generation) under the directory's lock; a reader that holds the old file
//! keeps reading it to its end (see `follow`), and a writer that opened it just before
//! the rename still lands its line there, where readers look. One command's events go
//! through one descriptor (see `Held`).

use super::Event;
use crate::paths::Paths;
use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

/// The size at which the journal is rotated (podman's events file default).
pub const ROTATE_AT: u64 = 1 << 20;

/// Where a store's events are kept: `RUNROOT/events/events.log` and its previous
/// generation `events.log.1`.
#[derive(Debug, Clone)]
pub struct Journal {
    pub dir: PathBuf,
    /// Bytes after which a writer rotates (tests make it small).
    pub rotate_at: u64,
}

impl Journal {
    pub fn of(paths: &Paths) -> Journal {
        Journal {
            dir: paths.runroot.join("events"),
            rotate_at: ROTATE_AT,
        }
    }
    pub fn current(&self) -> PathBuf {
        self.dir.join("events.log")
    }
    pub fn previous(&self) -> PathBuf {
        self.dir.join("events.log.1")
    }
    fn lock(&self) -> PathBuf {
        self.dir.join("rotate.lock")
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_CLOEXEC)
        .open(path)
}

/// The journal this process appended to last, kept open for the next event of the same
/// command (`run --rm` appends five). It is reused only for a short while: a file that
/// was rotated away is always past `rotate_at` (files only grow), so a write that ends
/// below it went to the current journal; and within [`HOLD_FOR`] no second rotation can
/// unlink the old generation under a writer (that takes another `ROTATE_AT` bytes).
struct Held {
    path: PathBuf,
    opened: Instant,
    file: File,
}

/// How long a kept journal descriptor is reused (a detached monitor's next event may
/// come days later: it opens the journal again).
const HOLD_FOR: Duration = Duration::from_secs(1);

static HELD: Mutex<Option<Held>> = Mutex::new(None);
/// Set in a forked child (see `forget_after_fork`): the held descriptor may have been
/// closed there (the monitor closes what it inherited), so it is never used nor closed.
static FORKED: AtomicBool = AtomicBool::new(false);
static ATFORK: Once = Once::new();

extern "C" fn forget_after_fork() {
    FORKED.store(true, Ordering::Relaxed);
}

/// Append one event as one line in one write.
pub fn append(journal: &Journal, event: &Event) -> io::Result<()> {
    let mut line = serde_json::to_vec(event).map_err(io::Error::other)?;
    line.push(b'\n');
    let path = journal.current();
    let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
    if FORKED.swap(false, Ordering::Relaxed) {
        std::mem::forget(held.take());
    }
    let (mut file, opened) = match held.take() {
        Some(h) if h.path == path && h.opened.elapsed() < HOLD_FOR => (h.file, h.opened),
        _ => (open_journal(journal, &path)?, Instant::now()),
    };
    let n = file.write(&line)?;
    if n != line.len() {
        return Err(io::Error::new(
            io::ErrorKind::WriteZero,
            format!("short write to {}", path.display()),
        ));
    }
    // With O_APPEND the offset after the write is the file's size.
    if file.stream_position()? >= journal.rotate_at {
        return rotate(journal, &file);
    }
    *held = Some(Held { path, opened, file });
    Ok(())
}

fn open_journal(journal: &Journal, path: &Path) -> io::Result<File> {
    // SAFETY: registers a plain function that only stores to an atomic.
    ATFORK.call_once(|| unsafe {
        libc::pthread_atfork(None, None, Some(forget_after_fork));
    });
    match open_append(path) {
        Ok(f) => Ok(f),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            crate::paths::make_dir(&journal.dir, crate::paths::PRIVATE)?;
            open_append(path)
        }
        Err(e) => Err(e),
    }
}

/// Rename the full journal away, once: whoever holds the lock finds the file it wrote to
/// either still in place (and renames it) or already replaced (and does nothing).
fn rotate(journal: &Journal, written: &File) -> io::Result<()> {
    let _lock = crate::lock::lock_exclusive(&journal.lock())?;
    let ours = written.metadata()?;
    match std::fs::metadata(journal.current()) {
        Ok(m) if m.ino() == ours.ino() && m.dev() == ours.dev() => {
            std::fs::rename(journal.current(), journal.previous())
        }
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Every event the journal holds, oldest first (the previous generation, then the
/// current). Lines that are not events (none are written so) are skipped.
pub fn read_all(journal: &Journal) -> io::Result<Vec<Event>> {
    let mut out = Vec::new();
    for path in [journal.previous(), journal.current()] {
        let mut text = String::new();
        match File::open(&path) {
            Ok(mut f) => f.read_to_string(&mut text)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        out.extend(parse_lines(&text));
    }
    Ok(out)
}

/// The events in whole lines of `text`.
pub(super) fn parse_lines(text: &str) -> impl Iterator<Item = Event> + '_ {
    text.lines()
        .filter_map(|l| serde_json::from_str::<Event>(l).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_keeps_the_previous_generation_and_every_line() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal {
            dir: dir.path().join("events"),
            rotate_at: 2000,
        };
        for i in 0..30 {
            append(&j, &Event::volume("create", &format!("v{i}"), "local")).unwrap();
        }
        assert!(j.previous().exists());
        let all = read_all(&j).unwrap();
        let names: Vec<_> = all.iter().map(|e| e.actor.id.clone()).collect();
        // The last generation before the current one is kept whole, in order.
        let last = names.last().unwrap();
        assert_eq!(last, "v29");
        let first: usize = names[0][1..].parse().unwrap();
        let want: Vec<String> = (first..30).map(|i| format!("v{i}")).collect();
        assert_eq!(names, want);
    }

    #[test]
    fn a_kept_descriptor_never_loses_a_line_when_another_writer_rotates() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal {
            dir: dir.path().join("events"),
            rotate_at: 4000,
        };
        append(&j, &Event::volume("create", "a", "local")).unwrap();
        // Another process fills the journal and rotates it while this one holds it.
        let mut other = open_append(&j.current()).unwrap();
        other.write_all(&vec![b'\n'; 4000]).unwrap();
        std::fs::rename(j.current(), j.previous()).unwrap();
        append(&j, &Event::volume("create", "b", "local")).unwrap();
        append(&j, &Event::volume("create", "c", "local")).unwrap();
        let names: Vec<_> = read_all(&j)
            .unwrap()
            .into_iter()
            .map(|e| e.actor.id)
            .collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert!(j.current().exists(), "the next line opened a new journal");
    }
}
