//! Reading the journal for `kiste events`: the past events in a time window, then (without
//! `--until`, or with one still ahead) the new ones as they are appended. New lines are
//! awaited with inotify on the journal's directory, which reports writes to both
//! generations and the creation of a new current file after a rotation; no polling loop.
//! The follower keeps the generation it was reading after a rotation and reads it to its
//! end, so a rotation loses nothing. It ends when `--until` passes or its stdout is gone.

use super::journal::{parse_lines, Journal};
use super::{Event, EventFilter};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;

/// What to show: the window (nanoseconds since the epoch) and the filter.
#[derive(Debug, Clone, Default)]
pub struct Follow {
    pub since: Option<i128>,
    pub until: Option<i128>,
    pub filter: EventFilter,
}

#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    #[error("cannot watch the events journal {path}: {source}")]
    Watch {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("cannot read the events journal {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: io::Error,
    },
    /// The consumer failed (stdout closed): the stream ends.
    #[error("cannot write an event: {0}")]
    Output(#[source] io::Error),
}

/// One generation of the journal being read: where we are and a partial last line.
struct Tail {
    file: File,
    ino: u64,
    pending: Vec<u8>,
}

impl Tail {
    fn open(path: &std::path::Path, at_end: bool) -> io::Result<Option<Tail>> {
        let mut file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        if at_end {
            file.seek(SeekFrom::End(0))?;
        }
        let ino = file.metadata()?.ino();
        Ok(Some(Tail {
            file,
            ino,
            pending: Vec::new(),
        }))
    }

    /// The whole lines appended since the last read.
    fn drain(&mut self) -> io::Result<Vec<Event>> {
        let mut buf = Vec::new();
        self.file.read_to_end(&mut buf)?;
        self.pending.extend_from_slice(&buf);
        let Some(end) = self.pending.iter().rposition(|&b| b == b'\n') else {
            return Ok(Vec::new());
        };
        let whole: Vec<u8> = self.pending.drain(..=end).collect();
        Ok(parse_lines(&String::from_utf8_lossy(&whole)).collect())
    }
}

fn now_ns() -> i128 {
    jiff::Timestamp::now().as_nanosecond()
}

/// Show the events `opts` selects through `out`, oldest first; follow the journal until
/// `opts.until` (for ever without it) or until `out` fails or stdout is closed.
pub fn follow(
    journal: &Journal,
    opts: &Follow,
    out: &mut dyn FnMut(&Event) -> io::Result<()>,
) -> Result<(), FollowError> {
    let watch_err = |source| FollowError::Watch {
        path: journal.dir.display().to_string(),
        source,
    };
    let read_err = |source| FollowError::Read {
        path: journal.current().display().to_string(),
        source,
    };
    let past_only = opts.until.is_some_and(|u| u <= now_ns());
    // The watch exists before the first read, so no append after that read goes unseen.
    let inotify = if past_only {
        None
    } else {
        crate::paths::make_dir(&journal.dir, crate::paths::PRIVATE).map_err(watch_err)?;
        Some(watch(&journal.dir).map_err(watch_err)?)
    };
    // docker replays its buffer when either bound is given, and only new events otherwise.
    let replay = opts.since.is_some() || opts.until.is_some();
    let mut prev = match replay {
        true => Tail::open(&journal.previous(), false).map_err(read_err)?,
        false => None,
    };
    let mut cur = Tail::open(&journal.current(), !replay).map_err(read_err)?;
    let mut show = |events: Vec<Event>| -> Result<(), FollowError> {
        for ev in events {
            let t = ev.time_nano as i128;
            if opts.since.is_some_and(|s| t < s) || opts.until.is_some_and(|u| t > u) {
                continue;
            }
            if opts.filter.includes(&ev) {
                out(&ev).map_err(FollowError::Output)?;
            }
        }
        Ok(())
    };
    loop {
        for tail in [&mut prev, &mut cur].into_iter().flatten() {
            show(tail.drain().map_err(read_err)?)?;
        }
        let Some(inotify) = &inotify else {
            return Ok(());
        };
        // A rotation (or the first event ever): read the new current file from its start,
        // and the old one to its end, where a writer that opened it late may still add.
        let now_ino = std::fs::metadata(journal.current()).ok().map(|m| m.ino());
        if now_ino.is_some() && now_ino != cur.as_ref().map(|t| t.ino) {
            let held = cur.take();
            // Rotated more than once since the last look: the generation in between
            // (now the previous one) was never read; read it whole.
            let between = match &held {
                Some(t) => Tail::open(&journal.previous(), false)
                    .map_err(read_err)?
                    .filter(|p| p.ino != t.ino && Some(p.ino) != now_ino),
                None => None,
            };
            prev = between.or(held);
            cur = Tail::open(&journal.current(), false).map_err(read_err)?;
            continue;
        }
        let timeout = match opts.until {
            None => -1,
            Some(u) => {
                let left = u - now_ns();
                if left <= 0 {
                    return Ok(());
                }
                (left / 1_000_000 + 1).min(i32::MAX as i128) as i32
            }
        };
        if !wait(inotify, timeout).map_err(watch_err)? {
            return Ok(());
        }
    }
}

/// An inotify descriptor watching `dir` for writes, creations and renames.
fn watch(dir: &std::path::Path) -> io::Result<OwnedFd> {
    use std::os::unix::ffi::OsStrExt;
    // SAFETY: inotify_init1 returns a new descriptor or -1.
    let fd = unsafe { libc::inotify_init1(libc::IN_CLOEXEC | libc::IN_NONBLOCK) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd was just returned and is owned here alone.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).map_err(io::Error::other)?;
    let mask = libc::IN_MODIFY | libc::IN_CREATE | libc::IN_MOVED_TO | libc::IN_MOVED_FROM;
    // SAFETY: a valid descriptor and a NUL-terminated path.
    if unsafe { libc::inotify_add_watch(fd.as_raw_fd(), path.as_ptr(), mask) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(fd)
}

/// Wait for a change in the journal's directory (true), the timeout, or stdout closing
/// (false for both: the stream ends).
fn wait(inotify: &OwnedFd, timeout_ms: i32) -> io::Result<bool> {
    let mut fds = [
        libc::pollfd {
            fd: inotify.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        },
        // Only errors are asked for: a closed pipe reports POLLERR, a gone tty POLLHUP.
        libc::pollfd {
            fd: libc::STDOUT_FILENO,
            events: 0,
            revents: 0,
        },
    ];
    loop {
        // SAFETY: two valid pollfd structures.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, timeout_ms) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if n == 0 || fds[1].revents & (libc::POLLERR | libc::POLLHUP | libc::POLLNVAL) != 0 {
            return Ok(false);
        }
        let mut buf = [0u8; 4096];
        // Empty the queue: what changed is read from the files themselves.
        // SAFETY: reading into a local buffer of its size.
        while unsafe { libc::read(inotify.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) } > 0 {}
        return Ok(true);
    }
}
