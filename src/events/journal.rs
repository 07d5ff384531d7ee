//! The journal file: one JSON event per line, appended with one `write(2)` on an
//! `O_APPEND` descriptor, so lines from concurrent writers never interleave (a write of a
//! few hundred bytes to a regular file is done under the inode's lock). At [`ROTATE_AT`]
//! bytes the writer that crossed it renames the file to `events.log.1` (replacing the
//! previous generation) under the directory's lock; a reader that holds the old file
//! keeps reading it to its end (see `follow`), and a writer that opened it just before
//! the rename still lands its line there, where readers look.

use super::Event;
use crate::paths::Paths;
use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

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

/// Append one event as one line in one write.
pub fn append(journal: &Journal, event: &Event) -> io::Result<()> {
    let mut line = serde_json::to_vec(event).map_err(io::Error::other)?;
    line.push(b'\n');
    let mut file = match open_append(&journal.current()) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            crate::paths::make_dir(&journal.dir, crate::paths::PRIVATE)?;
            open_append(&journal.current())?
        }
        Err(e) => return Err(e),
    };
    let n = file.write(&line)?;
    if n != line.len() {
        return Err(io::Error::new(
            io::ErrorKind::WriteZero,
            format!("short write to {}", journal.current().display()),
        ));
    }
    // With O_APPEND the offset after the write is the file's size.
    if file.stream_position()? >= journal.rotate_at {
        rotate(journal, &file)?;
    }
    Ok(())
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
}
