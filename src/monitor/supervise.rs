//! The monitor's loop: one `poll` over the container's output pipes (or its pty master),
//! a signalfd (SIGCHLD, and in the foreground the signals it forwards to the container
//! and SIGWINCH), kiste's stdin for `run -it`, `attach` clients and the port forwarder,
//! until the container has exited and its output is drained. Healthchecks (when the
//! container has one) are timed by the same loop.

use super::health::HealthWatch;
use super::logs::{LogFile, LogStream};
use crate::network::PortForwarder;
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};

pub struct Watch {
    pub pid: i32,
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
    pub log: LogFile,
    /// Copy output to our own stdout/stderr (foreground) and forward signals.
    pub echo: bool,
    /// Which of stdout, stderr are echoed (`run -a`).
    pub shown: [bool; 2],
    /// `run -it`: the user's keystrokes go to the container's terminal.
    pub input: Option<TermInput>,
    pub forwarder: Option<PortForwarder>,
    pub health: Option<HealthWatch>,
    /// A detached `-t`/`-i` container: `kiste attach` clients.
    pub attach: Option<super::attach::AttachServer>,
}

/// The container's pty master and the relay of kiste's stdin to it (foreground `-it`).
pub struct TermInput {
    pub master: std::os::fd::RawFd,
    pub keys: super::pty::KeyRelay,
}

const FORWARDED: [Signal; 6] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
];

/// Whether a foreground monitor forwards the signals it gets to the container (`run
/// --sig-proxy`, docker's default; off with `--sig-proxy=false` or `-t`). Off, they take
/// their default action on kiste, whose container dies with it.
static SIGNAL_PROXY: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

/// Set before a foreground start (`run`): see `SIGNAL_PROXY`.
pub fn set_signal_proxy(on: bool) {
    SIGNAL_PROXY.store(on, std::sync::atomic::Ordering::Relaxed);
}

/// docker's exit code for a wait status: the code, or 128 + the signal.
fn exit_code(status: WaitStatus) -> Option<i32> {
    match status {
        WaitStatus::Exited(_, code) => Some(code),
        WaitStatus::Signaled(_, sig, _) => Some(128 + sig as i32),
        _ => None,
    }
}

/// Reap every child that has ended (we are a subreaper: orphans come to us too); return
/// the container's exit code if it was among them. A healthcheck probe's end goes to
/// `health`.
fn reap(pid: i32, health: &mut Option<HealthWatch>) -> Option<i32> {
    let mut found = None;
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) | Err(_) => return found,
            Ok(st) => {
                let (Some(p), Some(code)) = (st.pid(), exit_code(st)) else {
                    continue;
                };
                if p == Pid::from_raw(pid) {
                    found = Some(code);
                } else if let Some(h) = health {
                    h.exited(p.as_raw(), code);
                }
            }
        }
    }
}

/// Watch until the container exits; return its exit code.
pub fn supervise(mut w: Watch) -> i32 {
    let mut mask = SigSet::empty();
    mask.add(Signal::SIGCHLD);
    if w.echo && SIGNAL_PROXY.load(std::sync::atomic::Ordering::Relaxed) {
        for s in FORWARDED {
            mask.add(s);
        }
    }
    if w.input.is_some() {
        mask.add(Signal::SIGWINCH);
    }
    let _ = mask.thread_block();
    let sfd = SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
        .expect("signalfd is available");
    // SIGCHLD may have come before it was blocked: look once.
    let mut code = reap(w.pid, &mut w.health);
    let mut streams = [
        (Some(w.stdout), LogStream::new("stdout")),
        (Some(w.stderr), LogStream::new("stderr")),
    ];
    let mut buf = vec![0u8; 64 * 1024];
    let mut fds: Vec<libc::pollfd> = Vec::new();
    // A detached monitor (no echo) idles from its first poll until its container ends.
    let mut release = !w.echo;
    loop {
        let open = streams.iter().any(|(fd, _)| fd.is_some());
        if code.is_some() && !open {
            break;
        }
        fds.clear();
        fds.push(libc::pollfd {
            fd: sfd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        });
        for (fd, _) in &streams {
            fds.push(libc::pollfd {
                fd: fd.as_ref().map(|f| f.as_raw_fd()).unwrap_or(-1),
                events: libc::POLLIN,
                revents: 0,
            });
        }
        let health_fd = fds.len();
        fds.push(libc::pollfd {
            fd: w
                .health
                .as_ref()
                .and_then(HealthWatch::output_fd)
                .unwrap_or(-1),
            events: libc::POLLIN,
            revents: 0,
        });
        let input_at = fds.len();
        if w.input.is_some() {
            fds.push(libc::pollfd {
                fd: if code.is_none() { 0 } else { -1 },
                events: libc::POLLIN,
                revents: 0,
            });
        }
        let attach_at = fds.len();
        if let Some(a) = &w.attach {
            a.register(&mut fds);
        }
        let fwd_start = fds.len();
        if code.is_none() {
            if let Some(f) = &w.forwarder {
                f.register(&mut fds);
            }
        }
        // After the exit, output still buffered in the pipes is drained; a pipe kept open by
        // an escaped process must not hold the monitor forever.
        let timeout = match (&code, &w.health) {
            (Some(_), _) => 200,
            (None, Some(h)) => h.timeout_ms(std::time::Instant::now()),
            (None, None) => -1,
        };
        if std::mem::take(&mut release) {
            // The CLI's freed heap first: the page release must be the last code to run.
            crate::alloc::release_free_memory();
            super::footprint::release_idle_pages();
        }
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) };
        if n < 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            break;
        }
        if n == 0 && code.is_some() {
            break;
        }
        if fds[0].revents & libc::POLLIN != 0 {
            while let Ok(Some(info)) = sfd.read_signal() {
                let signo = info.ssi_signo as i32;
                if signo == libc::SIGCHLD {
                    if let Some(c) = reap(w.pid, &mut w.health) {
                        code = Some(c);
                    }
                } else if signo == libc::SIGWINCH {
                    if let Some(t) = &w.input {
                        super::pty::copy_window_size(0, t.master);
                    }
                } else if code.is_none() {
                    unsafe { libc::kill(w.pid, signo) };
                }
            }
        }
        for (i, (fd, stream)) in streams.iter_mut().enumerate() {
            let rev = fds[1 + i].revents;
            if rev == 0 {
                continue;
            }
            let Some(f) = fd.as_ref() else { continue };
            let r = unsafe { libc::read(f.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if r > 0 {
                let data = &buf[..r as usize];
                stream.push(data, &mut w.log);
                if let Some(a) = &mut w.attach {
                    let kind = [super::attach::STDOUT, super::attach::STDERR][i];
                    a.broadcast(kind, data);
                }
                if w.echo && w.shown[i] {
                    // Flushed at once: a prompt has no newline to flush a line buffer.
                    let _ = if i == 0 {
                        let mut out = std::io::stdout().lock();
                        out.write_all(data).and_then(|()| out.flush())
                    } else {
                        std::io::stderr().write_all(data)
                    };
                }
            } else if r == 0 || rev & (libc::POLLHUP | libc::POLLERR) != 0 {
                stream.finish(&mut w.log);
                *fd = None;
                if i == 0 {
                    // The terminal is gone: nothing to type into any more.
                    w.input = None;
                }
            }
        }
        if let Some(t) = &mut w.input {
            if fds[input_at].revents != 0 {
                // The end of kiste's input (or the detach keys, which a foreground run
                // does not honour) stops the relay; the container goes on.
                if t.keys.pump(0, t.master) != super::pty::Input::More {
                    w.input = None;
                }
            }
        }
        if let Some(a) = &mut w.attach {
            a.dispatch(&fds[attach_at..fwd_start]);
        }
        if code.is_none() {
            if let Some(f) = &mut w.forwarder {
                f.dispatch(&fds[fwd_start..]);
            }
            if let Some(h) = &mut w.health {
                if fds[health_fd].revents != 0 {
                    h.read_output();
                }
                h.tick(std::time::Instant::now());
            }
        }
    }
    for (_, stream) in &mut streams {
        stream.finish(&mut w.log);
    }
    let _ = std::io::stdout().flush();
    let _ = mask.thread_unblock();
    code.unwrap_or(255)
}
