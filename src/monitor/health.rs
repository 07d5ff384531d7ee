//! Healthchecks, run by the container's monitor (and once by `healthcheck run`): each
//! probe runs the check command in the container's namespaces and cgroup, as the
//! container's user with its capabilities, seccomp filter and rlimits, joined the way
//! `kiste exec` joins (`runtime::spawn_in`). A short-lived helper process does the joining
//! and waits for the probe, so the monitor itself stays where it is.
//! The result of each probe goes into the record (state's `HealthState`).

use crate::config::HealthConfig;
use crate::paths::Paths;
use crate::runtime::{self, ExecSpec, Stdio};
use crate::state::{ContainerRecord, ContainerStore, HealthProbe, HealthState};
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

/// docker keeps at most this much of a probe's output.
const MAX_OUTPUT: usize = 4096;

/// The spec of a probe running `args` in the running container `rec`: joined as `exec`
/// joins (every namespace it does not share with kiste, the user namespace included, and
/// its cgroup), as the container's user with its capabilities, seccomp filter and rlimits.
pub fn probe_spec(
    _paths: &Paths,
    rec: &ContainerRecord,
    args: Vec<String>,
) -> Result<ExecSpec, String> {
    let req = super::ExecRequest {
        command: args,
        ..Default::default()
    };
    let stdio = Stdio {
        stdin: 0,
        stdout: 1,
        stderr: 2,
    };
    Ok(super::exec::exec_spec(rec, &req, stdio))
}

/// A probe under way: the helper process (a child of the caller) and its output.
pub struct Probe {
    pub pid: i32,
    output: Option<OwnedFd>,
    text: Vec<u8>,
    start: String,
    pub deadline: Instant,
    timeout: Duration,
    timed_out: bool,
}

/// Start `spec` in the container's cgroup `cgroup`; it may run for `timeout`.
pub fn start_probe(spec: &ExecSpec, timeout: Duration) -> std::io::Result<Probe> {
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
    let null = std::fs::File::open("/dev/null")?;
    let start = crate::time::now_rfc3339();
    // SAFETY: the caller is single-threaded; the helper only runs kiste's code and exits.
    match unsafe { nix::unistd::fork() }? {
        nix::unistd::ForkResult::Child => {
            drop(r);
            let code = helper(spec, &w, &null);
            // SAFETY: leaving the forked helper without the caller's atexit handlers.
            unsafe { libc::_exit(code) }
        }
        nix::unistd::ForkResult::Parent { child } => {
            drop(w);
            // SAFETY: fcntl on the read end we own.
            unsafe { libc::fcntl(r.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) };
            Ok(Probe {
                pid: child.as_raw(),
                output: Some(r),
                text: Vec::new(),
                start,
                deadline: Instant::now() + timeout,
                timeout,
                timed_out: false,
            })
        }
    }
}

/// The helper: join the container's cgroup, start the probe, wait; its exit code.
fn helper(spec: &ExecSpec, out: &OwnedFd, null: &std::fs::File) -> i32 {
    // SAFETY: prctl and sigprocmask with plain arguments: the helper dies with its caller
    // and waits with no signal blocked.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
        let mut none: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut none);
        libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
    }
    let mut spec = spec.clone();
    spec.stdio = Stdio {
        stdin: null.as_raw_fd(),
        stdout: out.as_raw_fd(),
        stderr: out.as_raw_fd(),
    };
    match runtime::spawn_in(&spec) {
        Ok(started) => match nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(started.pid), None)
        {
            Ok(nix::sys::wait::WaitStatus::Exited(_, c)) => c,
            Ok(nix::sys::wait::WaitStatus::Signaled(_, s, _)) => 128 + s as i32,
            _ => 255,
        },
        Err(e) => {
            // SAFETY: writing our own message to the output pipe.
            let text = format!("{e}\n");
            unsafe { libc::write(out.as_raw_fd(), text.as_ptr().cast(), text.len()) };
            e.exit_code()
        }
    }
}

impl Probe {
    pub fn output_fd(&self) -> Option<i32> {
        self.output.as_ref().map(|f| f.as_raw_fd())
    }

    /// Read what the probe wrote so far (up to docker's limit); false at end of output.
    pub fn read_output(&mut self) -> bool {
        let Some(fd) = &self.output else { return false };
        // SAFETY: the descriptor is ours; File borrows it without closing it.
        let mut f =
            std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(fd.as_raw_fd()) });
        let mut buf = [0u8; 4096];
        loop {
            match f.read(&mut buf) {
                Ok(0) => {
                    self.output = None;
                    return false;
                }
                Ok(n) => {
                    let room = MAX_OUTPUT.saturating_sub(self.text.len());
                    self.text.extend_from_slice(&buf[..n.min(room)]);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return true,
            }
        }
    }

    /// Past its deadline: kill the helper (the probe dies with it).
    pub fn kill_if_late(&mut self, now: Instant) {
        if !self.timed_out && now >= self.deadline {
            self.timed_out = true;
            // SAFETY: kill(2) on our own child, not reaped yet.
            unsafe { libc::kill(self.pid, libc::SIGKILL) };
        }
    }

    /// The probe's result once its helper exited with `code`.
    pub fn result(mut self, code: i32) -> HealthProbe {
        self.read_output();
        let (exit_code, output) = if self.timed_out {
            (
                -1,
                format!(
                    "Health check exceeded timeout ({})",
                    go_duration(self.timeout)
                ),
            )
        } else {
            (code, String::from_utf8_lossy(&self.text).into_owned())
        };
        HealthProbe {
            start: self.start,
            end: crate::time::now_rfc3339(),
            exit_code,
            output,
        }
    }

    /// Wait for the probe to end (at most its timeout); its result. For `healthcheck run`,
    /// which is not a monitor with an event loop.
    pub fn wait(mut self) -> HealthProbe {
        let pidfd = pidfd_open(self.pid);
        loop {
            let now = Instant::now();
            self.kill_if_late(now);
            let mut fds = vec![libc::pollfd {
                fd: pidfd.as_ref().map_or(-1, |f| f.as_raw_fd()),
                events: libc::POLLIN,
                revents: 0,
            }];
            if let Some(fd) = self.output_fd() {
                fds.push(libc::pollfd {
                    fd,
                    events: libc::POLLIN,
                    revents: 0,
                });
            }
            let left = self.deadline.saturating_duration_since(now).as_millis() as i32 + 1;
            // SAFETY: poll on valid pollfds.
            unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, left) };
            self.read_output();
            if fds[0].revents != 0 || pidfd.is_none() {
                let code = match nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(self.pid), None)
                {
                    Ok(nix::sys::wait::WaitStatus::Exited(_, c)) => c,
                    _ => -1,
                };
                return self.result(code);
            }
        }
    }
}

/// A pidfd for our own child `pid` (which cannot be reused before we reap it).
fn pidfd_open(pid: i32) -> Option<OwnedFd> {
    // SAFETY: pidfd_open with a pid and no flags; the result is checked.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    // SAFETY: a fresh descriptor owned by nobody else.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Go's Duration.String() for whole seconds and milliseconds, as docker prints timeouts.
fn go_duration(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        let s = d.as_secs();
        return match (s / 3600, s / 60 % 60, s % 60) {
            (0, 0, sec) => format!("{sec}s"),
            (0, m, sec) => format!("{m}m{sec}s"),
            (h, m, sec) => format!("{h}h{m}m{sec}s"),
        };
    }
    format!("{}ms", d.as_millis())
}

/// Add a probe's result to the record.
pub fn record_probe(
    paths: &Paths,
    store: &ContainerStore,
    id: &str,
    probe: HealthProbe,
    cfg: &HealthConfig,
) -> Option<HealthState> {
    let mut before = None;
    store
        .update(id, |r| {
            before = r.state.health.as_ref().map(|h| h.status);
            let in_start = r
                .state
                .started_at
                .as_deref()
                .and_then(crate::time::parse_rfc3339)
                .is_some_and(|s| {
                    let now = crate::time::now_unix() * 1e9;
                    (now - s as f64) < cfg.start_period().as_nanos() as f64
                });
            r.state
                .health
                .get_or_insert_with(HealthState::starting)
                .record(probe, cfg.retries(), in_start);
        })
        .ok()
        .inspect(|r| crate::events::health_changed(paths, r, before))
        .and_then(|r| r.state.health)
}

/// The monitor's side: when to probe, the probe under way, and its result.
pub struct HealthWatch {
    paths: Paths,
    store: ContainerStore,
    id: String,
    config: HealthConfig,
    spec: Result<ExecSpec, String>,
    started: Instant,
    next: Instant,
    probe: Option<Probe>,
}

impl HealthWatch {
    /// For the container `rec` that has just started (None without a healthcheck).
    pub fn new(paths: &Paths, rec: &ContainerRecord) -> Option<HealthWatch> {
        let config = rec.config.healthcheck.clone()?;
        let args = config.command()?;
        let store = ContainerStore::open(&paths.containers()).ok()?;
        let now = Instant::now();
        let first = if config.start_period().is_zero() {
            config.interval()
        } else {
            config.start_interval()
        };
        Some(HealthWatch {
            paths: paths.clone(),
            store,
            id: rec.id.clone(),
            spec: probe_spec(paths, rec, args),
            config,
            started: now,
            next: now + first,
            probe: None,
        })
    }

    /// How long the monitor may sleep before `tick` has work (ms, for poll).
    pub fn timeout_ms(&self, now: Instant) -> i32 {
        let due = match &self.probe {
            Some(p) => p.deadline,
            None => self.next,
        };
        due.saturating_duration_since(now)
            .as_millis()
            .min(i32::MAX as u128) as i32
            + 1
    }

    /// The probe's output descriptor to poll, if a probe runs.
    pub fn output_fd(&self) -> Option<i32> {
        self.probe.as_ref().and_then(Probe::output_fd)
    }

    pub fn read_output(&mut self) {
        if let Some(p) = &mut self.probe {
            p.read_output();
        }
    }

    /// Start a probe when one is due (not while paused), kill one that is late.
    pub fn tick(&mut self, now: Instant) {
        if let Some(p) = &mut self.probe {
            p.kill_if_late(now);
            return;
        }
        if now < self.next {
            return;
        }
        let in_start = now.duration_since(self.started) < self.config.start_period();
        self.next = now
            + if in_start {
                self.config.start_interval()
            } else {
                self.config.interval()
            };
        let paused = self.store.load(&self.id).is_ok_and(|r| r.state.paused);
        if paused {
            return;
        }
        match &self.spec {
            Ok(spec) => match start_probe(spec, self.config.timeout()) {
                Ok(p) => self.probe = Some(p),
                Err(e) => self.failed(format!("cannot start the healthcheck: {e}")),
            },
            Err(why) => {
                let why = why.clone();
                self.failed(why)
            }
        }
    }

    fn failed(&mut self, output: String) {
        let now = crate::time::now_rfc3339();
        let probe = HealthProbe {
            start: now.clone(),
            end: now,
            exit_code: -1,
            output,
        };
        record_probe(&self.paths, &self.store, &self.id, probe, &self.config);
    }

    /// A child of the monitor ended: if it was the probe, record its result. Whether it was.
    pub fn exited(&mut self, pid: i32, code: i32) -> bool {
        if self.probe.as_ref().is_none_or(|p| p.pid != pid) {
            return false;
        }
        if let Some(p) = self.probe.take() {
            let result = p.result(code);
            record_probe(&self.paths, &self.store, &self.id, result, &self.config);
        }
        true
    }
}
