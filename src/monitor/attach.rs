//! `attach` to a detached container started with `-t` or `-i`: its monitor keeps the
//! pty master (or the write end of the container's stdin pipe) and serves a unix socket,
//! `attach` in the container's run dir (mode 0600). Both ways the bytes travel in frames
//! `[kind u8][len u32 le][payload]`: the client sends stdin and window sizes, the
//! monitor sends stdout and stderr. The monitor closes the socket when the container
//! has exited; the client then reads the exit code from the record.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;

pub use crate::wire::{frame, take_frames, RESIZE, SOCKET, STDERR, STDIN, STDIN_EOF, STDOUT};

/// A path to `SOCKET` in `dir` short enough for a socket address (108 bytes), through an
/// O_PATH handle on the dir that must be kept open while the path is used.
fn short_path(dir: &Path) -> std::io::Result<(std::fs::File, std::path::PathBuf)> {
    use std::os::unix::fs::OpenOptionsExt;
    let handle = std::fs::File::options()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY)
        .open(dir)?;
    let path = format!("/proc/self/fd/{}/{SOCKET}", handle.as_raw_fd()).into();
    Ok((handle, path))
}

struct Client {
    stream: UnixStream,
    pending: Vec<u8>,
}

/// The monitor's end: the listening socket and the attached clients.
pub struct AttachServer {
    listener: UnixListener,
    clients: Vec<Client>,
    /// Where typed input goes: the pty master, or the container's stdin pipe.
    input: Option<std::os::fd::OwnedFd>,
    /// The pty master, for window sizes (None without -t).
    master: Option<RawFd>,
    /// Output made before the first client came (a shell's first prompt, for `run -it`,
    /// whose client connects just after the start); given to that client, then dropped.
    early: Option<Vec<u8>>,
}

/// At most this much output waits for the first client.
const EARLY_MAX: usize = 64 * 1024;

impl AttachServer {
    /// Listen in the container's run dir `dir` (only the owner may connect).
    pub fn bind(
        dir: &Path,
        input: Option<std::os::fd::OwnedFd>,
        master: Option<RawFd>,
    ) -> std::io::Result<AttachServer> {
        use std::os::unix::fs::PermissionsExt;
        let (_dir, path) = short_path(dir)?;
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        listener.set_nonblocking(true)?;
        Ok(AttachServer {
            listener,
            clients: Vec::new(),
            input,
            master,
            early: Some(Vec::new()),
        })
    }

    /// The fds to poll: the listener, then each client.
    pub fn register(&self, fds: &mut Vec<libc::pollfd>) {
        for fd in std::iter::once(self.listener.as_raw_fd())
            .chain(self.clients.iter().map(|c| c.stream.as_raw_fd()))
        {
            fds.push(libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            });
        }
    }

    /// Handle what `register`'s fds reported.
    pub fn dispatch(&mut self, fds: &[libc::pollfd]) {
        let mut gone = Vec::new();
        for (i, pfd) in fds.iter().enumerate().skip(1).take(self.clients.len()) {
            if pfd.revents == 0 {
                continue;
            }
            let idx = i - 1;
            let mut buf = [0u8; 8192];
            match self.clients[idx].stream.read(&mut buf) {
                Ok(0) | Err(_) => gone.push(idx),
                Ok(n) => {
                    self.clients[idx].pending.extend_from_slice(&buf[..n]);
                    let frames = take_frames(&mut self.clients[idx].pending);
                    for (kind, data) in frames {
                        self.handle(kind, &data);
                    }
                }
            }
        }
        for idx in gone.into_iter().rev() {
            self.clients.remove(idx);
        }
        if fds.first().is_some_and(|p| p.revents != 0) {
            while let Ok((stream, _)) = self.listener.accept() {
                // Writes block (briefly): a client that stops reading must not lose output
                // silently, nor stall the container for long.
                let _ = stream.set_nonblocking(false);
                let _ = stream.set_write_timeout(Some(std::time::Duration::from_secs(2)));
                let _ = stream.set_read_timeout(Some(std::time::Duration::from_millis(1)));
                if let Some(early) = self.early.take() {
                    let _ = (&stream).write_all(&early);
                }
                self.clients.push(Client {
                    stream,
                    pending: Vec::new(),
                });
            }
        }
    }

    fn handle(&mut self, kind: u8, data: &[u8]) {
        match kind {
            STDIN => {
                if let Some(fd) = &self.input {
                    super::pty::write_all(fd.as_raw_fd(), data);
                }
            }
            STDIN_EOF if self.master.is_none() => self.input = None,
            RESIZE if data.len() == 4 => {
                if let Some(m) = self.master {
                    let ws = libc::winsize {
                        ws_row: u16::from_le_bytes([data[0], data[1]]),
                        ws_col: u16::from_le_bytes([data[2], data[3]]),
                        ws_xpixel: 0,
                        ws_ypixel: 0,
                    };
                    // SAFETY: TIOCSWINSZ reads a winsize.
                    unsafe { libc::ioctl(m, libc::TIOCSWINSZ, &ws) };
                }
            }
            _ => {}
        }
    }

    /// Send the container's output to every client.
    pub fn broadcast(&mut self, kind: u8, data: &[u8]) {
        let f = frame(kind, data);
        if let Some(early) = &mut self.early {
            if early.len() + f.len() <= EARLY_MAX {
                early.extend_from_slice(&f);
            }
        }
        self.clients.retain_mut(|c| c.stream.write_all(&f).is_ok());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_survive_being_cut_anywhere() {
        let mut all = frame(STDOUT, b"hello");
        all.extend(frame(RESIZE, &[24, 0, 80, 0]));
        let mut buf = Vec::new();
        let mut got = Vec::new();
        for b in all {
            buf.push(b);
            got.extend(take_frames(&mut buf));
        }
        assert_eq!(
            got,
            vec![(STDOUT, b"hello".to_vec()), (RESIZE, vec![24, 0, 80, 0])]
        );
        assert!(buf.is_empty());
    }
}

/// The server of a detached container's monitor in run dir `dir`: typed input goes to
/// the pty master `out` (with -t) or to the container's stdin pipe `stdin_w`.
pub(super) fn serve(
    dir: &Path,
    tty: bool,
    out: &std::os::fd::OwnedFd,
    stdin_w: Option<std::os::fd::OwnedFd>,
) -> Result<AttachServer, super::MonitorError> {
    let input = if tty { out.try_clone().ok() } else { stdin_w };
    let master = tty.then(|| out.as_raw_fd());
    AttachServer::bind(dir, input, master).map_err(super::other(&format!(
        "cannot listen on {}",
        dir.join(SOCKET).display()
    )))
}

/// How an attach ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// The detach keys were typed: the container goes on.
    Detached,
    /// The monitor closed the socket: the container has exited.
    Closed,
}

/// `kiste attach`'s side: connect to the socket in run dir `dir`, show the container's output, send the
/// user's input (unless `stdin` is false) and window size, watch for `keys` (with a tty).
pub fn attach_client(dir: &Path, tty: bool, keys: Vec<u8>, stdin: bool) -> std::io::Result<Ended> {
    use nix::sys::signal::{SigSet, Signal};
    use nix::sys::signalfd::{SfdFlags, SignalFd};
    let (_dir, path) = short_path(dir)?;
    let mut sock = UnixStream::connect(&path)?;
    let _raw = if tty && stdin {
        super::pty::RawMode::enter(0)
    } else {
        None
    };
    let mut mask = SigSet::empty();
    mask.add(Signal::SIGWINCH);
    let _ = mask.thread_block();
    let sfd = SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
        .map_err(std::io::Error::from)?;
    let send_size = |sock: &mut UnixStream| {
        let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
        // SAFETY: TIOCGWINSZ writes a winsize.
        if tty && unsafe { libc::ioctl(0, libc::TIOCGWINSZ, &mut ws) } == 0 {
            let mut p = ws.ws_row.to_le_bytes().to_vec();
            p.extend_from_slice(&ws.ws_col.to_le_bytes());
            let _ = sock.write_all(&frame(RESIZE, &p));
        }
    };
    send_size(&mut sock);
    let mut relay = super::pty::KeyRelay::new(if tty { keys } else { Vec::new() });
    let mut stdin_open = stdin;
    let mut pending = Vec::new();
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        let mut fds = [
            libc::pollfd {
                fd: sfd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: sock.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: if stdin_open { 0 } else { -1 },
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: poll on a valid array.
        if unsafe { libc::poll(fds.as_mut_ptr(), 3, -1) } < 0 {
            continue;
        }
        if fds[0].revents != 0 {
            while let Ok(Some(_)) = sfd.read_signal() {}
            send_size(&mut sock);
        }
        if fds[1].revents != 0 {
            match sock.read(&mut buf) {
                Ok(0) | Err(_) => return Ok(Ended::Closed),
                Ok(n) => {
                    pending.extend_from_slice(&buf[..n]);
                    for (kind, data) in take_frames(&mut pending) {
                        let fd = if kind == STDERR { 2 } else { 1 };
                        super::pty::write_all(fd, &data);
                    }
                }
            }
        }
        if fds[2].revents != 0 {
            // SAFETY: read into a local buffer.
            let n = unsafe { libc::read(0, buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                stdin_open = false;
                let _ = sock.write_all(&frame(STDIN_EOF, &[]));
                continue;
            }
            let (out, detach) = relay.filter(&buf[..n as usize]);
            if !out.is_empty() {
                let _ = sock.write_all(&frame(STDIN, &out));
            }
            if detach {
                return Ok(Ended::Detached);
            }
        }
    }
}
