//! Pseudo-terminals for `run -t` and `exec -t`: a new pty pair whose slave becomes the
//! container process's stdio and controlling terminal, the user's terminal in raw mode
//! (restored when the guard drops, on every return path), the window size copied at
//! start and on SIGWINCH, and the relay of the user's keystrokes to the master with
//! docker's detach keys watched for. Output from the master is read by the caller's loop.

use nix::sys::termios::{self, SetArg, Termios};
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};

/// The container's stdio for a start: with -t a new pty's slave (the monitor reads the
/// master where it reads the stdout pipe otherwise); with -i the caller's stdin
/// (foreground) or a pipe whose write end the monitor keeps for `attach` (detached);
/// else /dev/null. The returned file must stay open until the spawn.
pub(super) fn wire_stdio(
    rec: &crate::state::ContainerRecord,
    mode: super::Mode,
) -> Result<(super::Pipes, Option<std::fs::File>, crate::runtime::Stdio), super::MonitorError> {
    use super::{other, pipe, Mode};
    let tty = rec.config.host.terminal.tty;
    let (out_r, out_w) = if tty {
        let p = open_pty().map_err(other("cannot open a pseudo-terminal"))?;
        (p.master, p.slave)
    } else {
        pipe()?
    };
    let (err_r, err_w) = pipe()?;
    let mut stdin_w = None;
    let stdin = match mode {
        _ if tty => None,
        Mode::Detached if rec.config.host.interactive => {
            let (r, w) = pipe()?;
            stdin_w = Some(w);
            Some(std::fs::File::from(r))
        }
        Mode::Foreground { interactive: true } => None,
        _ => Some(std::fs::File::open("/dev/null").map_err(other("cannot open /dev/null"))?),
    };
    let stdio = if tty {
        crate::runtime::Stdio {
            stdin: out_w.as_raw_fd(),
            stdout: out_w.as_raw_fd(),
            stderr: out_w.as_raw_fd(),
        }
    } else {
        crate::runtime::Stdio {
            stdin: stdin.as_ref().map(|f| f.as_raw_fd()).unwrap_or(0),
            stdout: out_w.as_raw_fd(),
            stderr: err_w.as_raw_fd(),
        }
    };
    let pipes = super::Pipes {
        out: out_r,
        err: err_r,
        out_w,
        err_w,
        stdin_w,
    };
    Ok((pipes, stdin, stdio))
}

/// A new pty pair, both ends close-on-exec.
pub struct Pty {
    pub master: OwnedFd,
    pub slave: OwnedFd,
}

pub fn open_pty() -> std::io::Result<Pty> {
    let p = nix::pty::openpty(None, None).map_err(std::io::Error::from)?;
    for fd in [p.master.as_raw_fd(), p.slave.as_raw_fd()] {
        // SAFETY: fcntl on fds we own.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    if isatty(0) {
        copy_window_size(0, p.master.as_raw_fd());
    }
    Ok(Pty {
        master: p.master,
        slave: p.slave,
    })
}

pub fn isatty(fd: RawFd) -> bool {
    // SAFETY: isatty on an fd number.
    unsafe { libc::isatty(fd) == 1 }
}

/// Copy the window size of terminal `from` to `to` (the container's pty).
pub fn copy_window_size(from: RawFd, to: RawFd) {
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ/TIOCSWINSZ read and write a winsize.
    unsafe {
        if libc::ioctl(from, libc::TIOCGWINSZ, &mut ws) == 0 {
            libc::ioctl(to, libc::TIOCSWINSZ, &ws);
        }
    }
}

/// The user's terminal in raw mode; its settings come back when this drops.
pub struct RawMode {
    fd: RawFd,
    saved: Termios,
}

impl RawMode {
    /// Raw mode on `fd` if it is a terminal (None otherwise: nothing to restore).
    pub fn enter(fd: RawFd) -> Option<RawMode> {
        if !isatty(fd) {
            return None;
        }
        // SAFETY: the fd is open for the life of this guard (the process's stdin).
        let bfd = unsafe { BorrowedFd::borrow_raw(fd) };
        let saved = termios::tcgetattr(bfd).ok()?;
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        termios::tcsetattr(bfd, SetArg::TCSANOW, &raw).ok()?;
        Some(RawMode { fd, saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        // SAFETY: as in enter.
        let bfd = unsafe { BorrowedFd::borrow_raw(self.fd) };
        let _ = termios::tcsetattr(bfd, SetArg::TCSANOW, &self.saved);
    }
}

/// What the user's input did.
#[derive(Debug, PartialEq, Eq)]
pub enum Input {
    /// Passed on (or nothing read).
    More,
    /// The input ended (EOF): no more to read.
    Closed,
    /// The detach sequence was typed.
    Detach,
}

/// Copies the user's input to the container, holding back a prefix of the detach keys
/// until it is known whether the whole sequence follows (docker's behaviour).
pub struct KeyRelay {
    keys: Vec<u8>,
    held: Vec<u8>,
}

impl KeyRelay {
    pub fn new(keys: Vec<u8>) -> KeyRelay {
        KeyRelay {
            keys,
            held: Vec::new(),
        }
    }

    /// Read what is available on `from` and write it to `to`.
    pub fn pump(&mut self, from: RawFd, to: RawFd) -> Input {
        let mut buf = [0u8; 4096];
        // SAFETY: read into a local buffer.
        let n = unsafe { libc::read(from, buf.as_mut_ptr().cast(), buf.len()) };
        if n == 0 {
            return Input::Closed;
        }
        if n < 0 {
            let e = std::io::Error::last_os_error();
            return match e.kind() {
                std::io::ErrorKind::Interrupted | std::io::ErrorKind::WouldBlock => Input::More,
                _ => Input::Closed,
            };
        }
        let (out, detach) = self.filter(&buf[..n as usize]);
        write_all(to, &out);
        if detach {
            Input::Detach
        } else {
            Input::More
        }
    }

    /// The bytes to pass on, and whether the detach sequence was completed.
    pub fn filter(&mut self, data: &[u8]) -> (Vec<u8>, bool) {
        let mut out = Vec::with_capacity(data.len());
        if self.keys.is_empty() {
            out.extend_from_slice(data);
            return (out, false);
        }
        for &b in data {
            if b == self.keys[self.held.len()] {
                self.held.push(b);
                if self.held.len() == self.keys.len() {
                    self.held.clear();
                    return (out, true);
                }
            } else {
                out.append(&mut self.held);
                if b == self.keys[0] {
                    self.held.push(b);
                } else {
                    out.push(b);
                }
            }
        }
        (out, false)
    }
}

/// Write everything (the pty master or the user's terminal), retrying on EINTR/EAGAIN.
pub fn write_all(fd: RawFd, mut data: &[u8]) {
    while !data.is_empty() {
        // SAFETY: write from a valid slice.
        let n = unsafe { libc::write(fd, data.as_ptr().cast(), data.len()) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            match e.kind() {
                std::io::ErrorKind::Interrupted => continue,
                std::io::ErrorKind::WouldBlock => {
                    let mut p = libc::pollfd {
                        fd,
                        events: libc::POLLOUT,
                        revents: 0,
                    };
                    // SAFETY: poll on one pollfd.
                    unsafe { libc::poll(&mut p, 1, 1000) };
                    continue;
                }
                _ => return,
            }
        }
        data = &data[n as usize..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detach_keys_are_held_back_and_a_broken_prefix_is_passed_on() {
        let mut r = KeyRelay::new(vec![0x10, 0x11]);
        assert_eq!(r.filter(b"ab\x10"), (b"ab".to_vec(), false));
        assert_eq!(r.filter(b"c"), (b"\x10c".to_vec(), false));
        assert_eq!(r.filter(b"x\x10"), (b"x".to_vec(), false));
        assert_eq!(r.filter(b"\x11rest"), (Vec::new(), true));
        let mut r = KeyRelay::new(vec![1, b'a']);
        assert_eq!(r.filter(b"\x01\x01a"), (b"\x01".to_vec(), true));
    }
}
