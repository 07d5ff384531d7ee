//! `exec`: a process started in a running container (`runtime::spawn_in`) with the
//! container's own settings, and kiste's side of it: waiting for its exit code with
//! stdio passed straight through, relaying a pseudo-terminal (`-t`), or leaving it to a
//! small waiter process (`-d`) that reaps it.

use super::pty::{self, Input, KeyRelay, RawMode};
use super::{other, MonitorError};
use crate::image::config::set_env;
use crate::runtime::{self, ExecSpec, Seccomp, Stdio};
use crate::state::ContainerRecord;
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use std::os::fd::{AsRawFd, OwnedFd};

/// An exec's settings, from `exec`'s checked flags.
#[derive(Debug, Clone, Default)]
pub struct ExecRequest {
    pub command: Vec<String>,
    /// KEY=VALUE entries set over the container's environment, in order.
    pub env: Vec<String>,
    pub workdir: Option<String>,
    pub user: Option<String>,
    pub privileged: bool,
    pub interactive: bool,
    pub tty: bool,
    pub detach: bool,
    pub detach_keys: Vec<u8>,
}

/// The process spec for `req` in the running container `rec`.
pub(super) fn exec_spec(rec: &ContainerRecord, req: &ExecRequest, stdio: Stdio) -> ExecSpec {
    let host = &rec.config.host;
    let (mut security, _) = super::spec::security(host);
    if req.privileged {
        security.capabilities = runtime::all_capabilities();
        security.privileged = true;
        security.seccomp = Seccomp::Unconfined;
    }
    let mut env = rec.config.env.clone();
    for e in &req.env {
        set_env(&mut env, e.clone());
    }
    if req.tty && !env.iter().any(|e| e.starts_with("TERM=")) {
        env.push("TERM=xterm".into());
    }
    let cwd = req
        .workdir
        .clone()
        .filter(|w| !w.is_empty())
        .unwrap_or_else(|| rec.config.working_dir.clone());
    ExecSpec {
        id: rec.id.clone(),
        pid: rec.state.pid,
        pid_start_time: rec.state.pid_start_time,
        cgroup: Some(super::cgroup_of(rec)),
        args: req.command.clone(),
        env,
        hostname: rec.config.hostname.clone(),
        cwd: if cwd.is_empty() { "/".into() } else { cwd },
        user: req.user.clone().unwrap_or_else(|| rec.config.user.clone()),
        security,
        rlimits: super::spec::rlimits(host),
        stdio,
        tty: req.tty,
        oci: None,
    }
}

/// Run `req` in `rec`'s container. Returns the command's exit code (0 at once for `-d`,
/// 1 after a detach, as docker's CLI).
pub fn exec(rec: &ContainerRecord, req: &ExecRequest) -> Result<i32, MonitorError> {
    if req.detach {
        return exec_detached(rec, req);
    }
    if req.tty {
        return exec_tty(rec, req);
    }
    let null = if req.interactive {
        None
    } else {
        Some(std::fs::File::open("/dev/null").map_err(other("cannot open /dev/null"))?)
    };
    let stdio = Stdio {
        stdin: null.as_ref().map_or(0, |f| f.as_raw_fd()),
        stdout: 1,
        stderr: 2,
    };
    let started = runtime::spawn_in(&exec_spec(rec, req, stdio))?;
    drop(null);
    Ok(wait_exit(started.pid))
}

/// Block until `pid` (our child) ends; docker's code for how it ended.
fn wait_exit(pid: i32) -> i32 {
    let mut status = 0;
    loop {
        // SAFETY: waiting for our own child.
        let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
        if rc == pid {
            return code_of(status);
        }
        if rc < 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return 255;
        }
    }
}

fn code_of(status: i32) -> i32 {
    if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        libc::WEXITSTATUS(status)
    }
}

/// `-d`: a waiter process (own session, no terminal) starts the command, says whether it
/// runs, and reaps it; kiste returns once it runs.
fn exec_detached(rec: &ContainerRecord, req: &ExecRequest) -> Result<i32, MonitorError> {
    let (ready_r, ready_w) = runtime::channel_pair()?;
    // SAFETY: kiste is single-threaded here; the child runs only kiste's own code.
    let forked = unsafe { libc::fork() };
    if forked < 0 {
        return Err(other("cannot fork the exec waiter")(
            std::io::Error::last_os_error(),
        ));
    }
    if forked == 0 {
        drop(ready_r);
        let _ = nix::unistd::setsid();
        super::detach_stdio();
        let stdio = Stdio {
            stdin: 0,
            stdout: 1,
            stderr: 2,
        };
        match runtime::spawn_in(&exec_spec(rec, req, stdio)) {
            Ok(started) => {
                let _ = ready_w.send(&runtime::Message::Started);
                drop(ready_w);
                wait_exit(started.pid);
            }
            Err(e) => {
                let _ = ready_w.send(&super::start_failed(&e.into()));
            }
        }
        // SAFETY: leaving the forked waiter without the parent's atexit handlers.
        unsafe { libc::_exit(0) }
    }
    drop(ready_w);
    super::start_outcome(&ready_r, &rec.id)
}

/// `-t`: the command gets a new pty as stdio and controlling terminal; the user's
/// terminal is raw while kiste relays (with `-i`, input too) until the command exits.
fn exec_tty(rec: &ContainerRecord, req: &ExecRequest) -> Result<i32, MonitorError> {
    let pty = pty::open_pty().map_err(other("cannot open a pseudo-terminal"))?;
    let slave = pty.slave.as_raw_fd();
    let stdio = Stdio {
        stdin: slave,
        stdout: slave,
        stderr: slave,
    };
    let mut mask = SigSet::empty();
    for s in [
        Signal::SIGCHLD,
        Signal::SIGWINCH,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGINT,
        Signal::SIGQUIT,
    ] {
        mask.add(s);
    }
    // Blocked before the fork so no SIGCHLD is lost; the child resets its mask.
    let _ = mask.thread_block();
    let started = runtime::spawn_in(&exec_spec(rec, req, stdio));
    let started = match started {
        Ok(s) => s,
        Err(e) => {
            let _ = mask.thread_unblock();
            return Err(e.into());
        }
    };
    drop(pty.slave);
    let raw = if req.interactive {
        RawMode::enter(0)
    } else {
        None
    };
    let outcome = relay(started.pid, &pty.master, &mask, req);
    drop(raw);
    let code = match outcome {
        Relayed::Exited(code) => code,
        Relayed::Detached => {
            eprintln!("read escape sequence");
            // Forked while SIGHUP is still blocked: kiste's exit hangs up its own terminal.
            keep_terminal(pty.master);
            // docker's CLI exits 1 after a detach.
            1
        }
    };
    let _ = mask.thread_unblock();
    Ok(code)
}

enum Relayed {
    Exited(i32),
    Detached,
}

/// Copy the master to stdout and (with -i) stdin to the master until `pid` has exited
/// and its output is drained, or the detach keys are typed.
fn relay(pid: i32, master: &OwnedFd, mask: &SigSet, req: &ExecRequest) -> Relayed {
    let sfd = SignalFd::with_flags(mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
        .expect("signalfd is available");
    let mut keys = KeyRelay::new(req.detach_keys.clone());
    let mut input_open = req.interactive;
    let mut master_open = true;
    let mut code: Option<i32> = None;
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        if code.is_some() && !master_open {
            break;
        }
        let mut fds = vec![
            libc::pollfd {
                fd: sfd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: if master_open { master.as_raw_fd() } else { -1 },
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: if input_open && code.is_none() { 0 } else { -1 },
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // After the exit, what is buffered in the pty is drained; a descendant holding
        // the slave open must not keep kiste waiting.
        let timeout = if code.is_some() { 100 } else { -1 };
        // SAFETY: poll on a valid array.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) };
        if n == 0 && code.is_some() {
            break;
        }
        if n < 0 {
            continue;
        }
        if fds[0].revents != 0 {
            while let Ok(Some(info)) = sfd.read_signal() {
                match info.ssi_signo as i32 {
                    libc::SIGCHLD => {
                        let mut status = 0;
                        // SAFETY: waiting for our own child without blocking.
                        if unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) } == pid {
                            code = Some(code_of(status));
                        }
                    }
                    libc::SIGWINCH => pty::copy_window_size(0, master.as_raw_fd()),
                    // SAFETY: forwarding a signal to our own child.
                    signo => unsafe {
                        libc::kill(pid, signo);
                    },
                }
            }
        }
        if fds[1].revents != 0 {
            // SAFETY: read into a local buffer.
            let r = unsafe { libc::read(master.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if r > 0 {
                pty::write_all(1, &buf[..r as usize]);
            } else {
                // EIO: every slave descriptor is closed.
                master_open = false;
            }
        }
        if fds[2].revents != 0 {
            match keys.pump(0, master.as_raw_fd()) {
                Input::More => {}
                Input::Closed => input_open = false,
                Input::Detach => return Relayed::Detached,
            }
        }
    }
    Relayed::Exited(code.unwrap_or(255))
}

/// After a detach the command goes on: a small process keeps its terminal open (and
/// drains it) so that it does not get a hangup when kiste exits.
fn keep_terminal(master: OwnedFd) {
    // SAFETY: single-threaded; the child only reads and exits.
    if unsafe { libc::fork() } != 0 {
        return;
    }
    let _ = nix::unistd::setsid();
    // SAFETY: ignoring SIGHUP (still blocked since the fork) discards a pending one.
    unsafe { libc::signal(libc::SIGHUP, libc::SIG_IGN) };
    super::detach_stdio();
    let mut buf = [0u8; 4096];
    // SAFETY: read into a local buffer until the slave side is gone (EIO).
    while unsafe { libc::read(master.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) } > 0 {}
    // SAFETY: leaving the forked child.
    unsafe { libc::_exit(0) }
}
