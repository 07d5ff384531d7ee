//! `POST /containers/{id}/attach`: docker's hijacked connection. The answer is `101
//! UPGRADED` (or `200` to a client that did not ask to upgrade), then the connection
//! carries the container's output: raw bytes with a TTY, else docker's 8-byte frames
//! (stream 1 or 2, three zero bytes, big-endian length). docker's CLI attaches before it
//! starts the container, so the output is read from the container's log: the file is
//! opened (created if need be) before the start, and its end at that moment is where
//! this attach begins, so an `--rm` removal after a short run cannot take the output
//! away. The attach ends when the monitor of the run it saw start has exited and the
//! log is read to its end; without `stream=1` only the past output (`logs=1`) is sent. With `stdin=1` on a `-i` container, the client's bytes go to
//! the container through kiste's own attach socket once it runs.

use super::backend::Backend;
use super::http;
use super::routes::Reply;
use crate::state::{ContainerRecord, ContainerStore};
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

/// How often the log is looked at again while nothing else happens.
const TICK_MS: i32 = 50;

/// What is known of the run this attach follows.
enum Phase {
    /// Not started since the attach began: `started_at` still has this value.
    Waiting(Option<String>),
    /// Running, supervised by this monitor (pid, start time).
    Running(i32, u64),
    /// Over (or the container is gone): read the log to its end and stop.
    Done,
}

/// The streams a client asked for, and how they are framed.
struct Want {
    stdout: bool,
    stderr: bool,
    stdin: bool,
    tty: bool,
}

pub fn attach(req: &http::Request, stream: &mut UnixStream, id: &str, backend: &Backend) -> Reply {
    let paths =
        crate::paths::Paths::resolve(Some(backend.root.clone()), Some(backend.runroot.clone()));
    let store = match ContainerStore::open(&paths.containers()) {
        Ok(s) => s,
        Err(e) => return Reply::error(500, format!("cannot open the container store: {e}")),
    };
    let Ok(rec) = store.resolve(id) else {
        return Reply::error(404, format!("No such container: {id}"));
    };
    let host = &rec.config.host;
    let want = Want {
        stdout: req.flag("stdout"),
        stderr: req.flag("stderr"),
        stdin: req.flag("stdin") && host.interactive,
        tty: host.terminal.tty,
    };
    let log_path = paths.container_log(&rec.id);
    let log = if host.log.driver == crate::config::LogDriver::None {
        None
    } else {
        match open_log(&log_path, req.flag("logs")) {
            Ok(f) => Some(f),
            Err(e) => {
                return Reply::error(500, format!("cannot open the log of {}: {e}", rec.name))
            }
        }
    };
    let phase = if !req.flag("stream") {
        // Only the past output (`logs=1`), no live stream.
        Phase::Done
    } else if rec.state.status == crate::state::Status::Running {
        started(&rec)
    } else {
        Phase::Waiting(rec.state.started_at.clone())
    };
    let ctype = if want.tty {
        "application/vnd.docker.raw-stream"
    } else {
        "application/vnd.docker.multiplexed-stream"
    };
    let upgrade = req
        .header("upgrade")
        .is_some_and(|u| u.eq_ignore_ascii_case("tcp"));
    let head = if upgrade {
        format!(
            "HTTP/1.1 101 UPGRADED\r\nContent-Type: {ctype}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
        )
    } else {
        format!("HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nConnection: close\r\n\r\n")
    };
    if stream.write_all(head.as_bytes()).is_ok() {
        let mut session = Session {
            store,
            id: rec.id.clone(),
            run_dir: paths.container_run_dir(&rec.id),
            log_path,
            log: log.map(BufReader::new),
            want,
            phase,
            input: None,
            pending: Vec::new(),
            client_open: true,
        };
        session.run(stream);
    }
    Reply::Streamed
}

/// The log, created (0600, as the monitor makes it) when the container has none yet;
/// positioned at its end unless the client asked for the past output (`logs=1`).
fn open_log(path: &PathBuf, from_start: bool) -> std::io::Result<File> {
    use std::io::{Seek, SeekFrom};
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = File::options()
        .read(true)
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)?;
    if !from_start {
        f.seek(SeekFrom::End(0))?;
    }
    Ok(f)
}

struct Session {
    store: ContainerStore,
    id: String,
    run_dir: PathBuf,
    log_path: PathBuf,
    log: Option<BufReader<File>>,
    want: Want,
    phase: Phase,
    /// kiste's attach socket of the running container (stdin only).
    input: Option<UnixStream>,
    /// stdin the client sent before the container ran.
    pending: Vec<u8>,
    client_open: bool,
}

impl Session {
    fn run(&mut self, client: &mut UnixStream) {
        loop {
            if self.pump(client).is_err() {
                return;
            }
            if matches!(self.phase, Phase::Done) {
                return;
            }
            self.advance();
            if matches!(self.phase, Phase::Done) {
                continue;
            }
            if self.want.stdin && self.input.is_none() && matches!(self.phase, Phase::Running(..)) {
                self.connect_input();
            }
            if self.wait_io(client).is_err() {
                return;
            }
        }
    }

    /// Copies the log's complete new lines to the client, framed.
    fn pump(&mut self, client: &mut UnixStream) -> std::io::Result<()> {
        let Some(reader) = self.log.as_mut() else {
            return Ok(());
        };
        let mut line = String::new();
        loop {
            line.clear();
            let n = reader.read_line(&mut line)?;
            if n == 0 || !line.ends_with('\n') {
                if n > 0 {
                    reader.seek_relative(-(n as i64))?;
                } else if rotated(reader.get_ref(), &self.log_path) {
                    // The monitor rotated the log (--log-opt max-size): go on in the new file.
                    if let Ok(f) = File::open(&self.log_path) {
                        *reader = BufReader::new(f);
                        continue;
                    }
                }
                return Ok(());
            }
            let Some(crate::wire::LogEntry {
                stream, log: text, ..
            }) = crate::wire::read_line(&line)
            else {
                continue;
            };
            let (kind, wanted) = if stream == "stderr" {
                (2u8, self.want.stderr)
            } else {
                (1u8, self.want.stdout)
            };
            if !wanted || text.is_empty() {
                continue;
            }
            let bytes = text.as_bytes();
            if self.want.tty {
                client.write_all(bytes)?;
            } else {
                let mut frame = vec![kind, 0, 0, 0];
                frame.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
                frame.extend_from_slice(bytes);
                client.write_all(&frame)?;
            }
        }
    }

    /// Moves the phase on from what the record and the monitor say now.
    fn advance(&mut self) {
        self.phase = match std::mem::replace(&mut self.phase, Phase::Done) {
            Phase::Waiting(before) => match self.store.resolve(&self.id) {
                Err(_) => Phase::Done,
                Ok(rec) if rec.state.started_at == before => Phase::Waiting(before),
                // Started: follow its monitor; gone already means the run is over.
                Ok(rec) => started(&rec),
            },
            Phase::Running(pid, start) if !crate::state::alive(pid, start) => Phase::Done,
            running => running,
        };
    }

    /// Connects to kiste's attach socket of the running container and sends what the
    /// client typed before it ran.
    fn connect_input(&mut self) {
        let Ok(mut s) = connect(&self.run_dir) else {
            return;
        };
        let mut ok = true;
        if !self.pending.is_empty() {
            ok = s
                .write_all(&crate::wire::frame(crate::wire::STDIN, &self.pending))
                .is_ok();
            self.pending.clear();
        }
        if ok && !self.client_open {
            ok = s
                .write_all(&crate::wire::frame(crate::wire::STDIN_EOF, &[]))
                .is_ok();
        }
        if ok {
            self.input = Some(s);
        }
    }

    /// Waits one tick for the client's bytes (stdin, or its hang-up) and the attach
    /// socket's (read and dropped: the output comes from the log).
    fn wait_io(&mut self, client: &mut UnixStream) -> std::io::Result<()> {
        let mut fds = [
            libc::pollfd {
                fd: if self.client_open {
                    client.as_raw_fd()
                } else {
                    -1
                },
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: self.input.as_ref().map_or(-1, |s| s.as_raw_fd()),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: poll on a valid array of two pollfds.
        if unsafe { libc::poll(fds.as_mut_ptr(), 2, TICK_MS) } <= 0 {
            return Ok(());
        }
        let mut buf = vec![0u8; 32 * 1024];
        if fds[0].revents != 0 {
            let n = match client.read(&mut buf) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => return Ok(()),
                Err(e) => return Err(e),
            };
            if n == 0 {
                // The client closed its side (stdin ended); its read side may still be open.
                self.client_open = false;
                if let Some(s) = self.input.as_mut() {
                    let _ = s.write_all(&crate::wire::frame(crate::wire::STDIN_EOF, &[]));
                }
            } else if self.want.stdin {
                match self.input.as_mut() {
                    Some(s) => {
                        if s.write_all(&crate::wire::frame(crate::wire::STDIN, &buf[..n]))
                            .is_err()
                        {
                            self.input = None;
                        }
                    }
                    None => self.pending.extend_from_slice(&buf[..n]),
                }
            }
        }
        if fds[1].revents != 0 {
            if let Some(s) = self.input.as_mut() {
                if matches!(s.read(&mut buf), Ok(0) | Err(_)) {
                    self.input = None;
                }
            }
        }
        Ok(())
    }
}

/// The monitor of a run that has started, while it still runs.
fn started(rec: &ContainerRecord) -> Phase {
    let (pid, start) = (rec.state.monitor_pid, rec.state.monitor_start_time);
    if crate::state::alive(pid, start) {
        Phase::Running(pid, start)
    } else {
        Phase::Done
    }
}

/// Whether the file at the log's path is no longer the one being read.
fn rotated(ours: &File, path: &std::path::Path) -> bool {
    match (ours.metadata(), std::fs::metadata(path)) {
        (Ok(ours), Ok(now)) => ours.ino() != now.ino() || ours.dev() != now.dev(),
        _ => false,
    }
}

/// kiste's attach socket in the run dir `dir`, reached through an O_PATH handle on the
/// dir that keeps the socket's address short.
fn connect(dir: &std::path::Path) -> std::io::Result<UnixStream> {
    use std::os::unix::fs::OpenOptionsExt;
    let handle = File::options()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY)
        .open(dir)?;
    UnixStream::connect(format!(
        "/proc/self/fd/{}/{}",
        handle.as_raw_fd(),
        crate::wire::SOCKET
    ))
}

/// `POST /containers/{id}/resize?h=&w=`: the new size goes to the running container's
/// terminal through kiste's attach socket.
pub fn resize(req: &http::Request, id: &str, backend: &Backend) -> Reply {
    let size = |name: &str| -> Result<u16, Reply> {
        let v = req.param(name).unwrap_or("");
        v.parse::<u16>()
            .map_err(|_| Reply::error(400, format!("invalid value for {name}: \"{v}\"")))
    };
    let (rows, cols) = match (size("h"), size("w")) {
        (Ok(h), Ok(w)) => (h, w),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let paths =
        crate::paths::Paths::resolve(Some(backend.root.clone()), Some(backend.runroot.clone()));
    let Ok(rec) = ContainerStore::open(&paths.containers()).and_then(|s| s.resolve(id)) else {
        return Reply::error(404, format!("No such container: {id}"));
    };
    if !rec.is_running() {
        return Reply::error(409, format!("Container {} is not running", rec.id));
    }
    if !rec.config.host.terminal.tty {
        return Reply::error(500, format!("cannot resize {}: it has no TTY", rec.name));
    }
    let mut size = rows.to_le_bytes().to_vec();
    size.extend_from_slice(&cols.to_le_bytes());
    match connect(&paths.container_run_dir(&rec.id))
        .and_then(|mut s| s.write_all(&crate::wire::frame(crate::wire::RESIZE, &size)))
    {
        Ok(()) => Reply::Empty(200),
        Err(e) => Reply::error(500, format!("cannot resize {}: {e}", rec.name)),
    }
}
