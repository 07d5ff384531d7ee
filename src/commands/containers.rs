//! `start`, `stop`, `kill`, `rm`: verbs over existing containers. Each takes several
//! names or id prefixes, prints each argument as given when it succeeds, goes on past a
//! failing one, and exits 1 if any failed (as docker does).

use super::Exit;
use crate::cli::{KillArgs, RmArgs, StartArgs, StopArgs};
use crate::monitor::{self, Mode};
use crate::paths::Paths;
use crate::runtime;
use crate::state::{ContainerRecord, ContainerStore, StateError};
use std::time::{Duration, Instant};

/// Run `f` for every argument; report failures on stderr; exit 1 if any failed.
fn each(args: &[String], mut f: impl FnMut(&str) -> anyhow::Result<()>) -> anyhow::Result<()> {
    let mut failed = false;
    for a in args {
        match f(a) {
            Ok(()) => println!("{a}"),
            Err(e) => {
                eprintln!("Error: {e:#}");
                failed = true;
            }
        }
    }
    if failed {
        return Err(Exit::silent(1).into());
    }
    Ok(())
}

pub fn start(paths: &Paths, args: StartArgs) -> anyhow::Result<()> {
    let store = ContainerStore::open(&paths.containers())?;
    if args.attach {
        // Attached: the first container runs in the foreground, kiste exits with its code.
        let rec = store.resolve(&args.containers[0])?;
        let code = monitor::start(paths, &rec.id, Mode::Foreground { interactive: false })
            .map_err(|e| Exit {
                code: e.exit_code(),
                message: e.to_string(),
            })?;
        if code != 0 {
            return Err(Exit::silent(code).into());
        }
        return Ok(());
    }
    each(&args.containers, |a| {
        let rec = store.resolve(a)?;
        monitor::start(paths, &rec.id, Mode::Detached)?;
        Ok(())
    })
}

/// pidfd of a process, or None when it is already gone.
fn pidfd(pid: i32) -> Option<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    (fd >= 0).then(|| unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as i32) })
}

/// Wait until the process behind `pidfd` has exited, at most `timeout` (None: for ever).
fn wait_exit(pidfd: &std::os::fd::OwnedFd, timeout: Option<Duration>) -> bool {
    use std::os::fd::AsRawFd;
    let mut p = libc::pollfd {
        fd: pidfd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = timeout.map_or(-1, |t| t.as_millis().min(i32::MAX as u128) as i32);
    loop {
        match unsafe { libc::poll(&mut p, 1, ms) } {
            -1 if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted => {}
            n => return n > 0,
        }
    }
}

/// Wait for the monitor to record the exit (or remove an --rm container).
fn wait_recorded(store: &ContainerStore, id: &str, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        match store.load(id) {
            Ok(r) if r.is_running() => {}
            _ => return,
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Send `signal` to the container's process (and, without a pid namespace of its own, to
/// every process of its cgroup).
fn signal_container(rec: &ContainerRecord, signal: i32) -> anyhow::Result<()> {
    if unsafe { libc::kill(rec.state.pid, signal) } != 0 {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::ESRCH) {
            anyhow::bail!("cannot signal container {}: {e}", rec.name);
        }
    }
    if rec.config.host.pid.is_host() {
        for pid in crate::cgroups::pids(&monitor::cgroup_of(rec)) {
            unsafe { libc::kill(pid, signal) };
        }
    }
    Ok(())
}

/// A stop under way: the stop signal sent, the exit awaited until `deadline`.
struct Stopping {
    rec: ContainerRecord,
    /// None when the process had already exited.
    fd: Option<std::os::fd::OwnedFd>,
    /// None: wait as long as it takes (`stop -t -1`).
    deadline: Option<Instant>,
}

/// Send the stop signal (if the container runs).
fn begin_stop(
    store: &ContainerStore,
    rec: ContainerRecord,
    signal: i32,
    timeout: Option<Duration>,
) -> anyhow::Result<Stopping> {
    let fd = if rec.is_running() {
        rec.process_alive().then(|| pidfd(rec.state.pid)).flatten()
    } else {
        None
    };
    if fd.is_some() {
        let _ = store.update(&rec.id, |r| r.state.stopped_by_user = true);
        signal_container(&rec, signal)?;
    }
    Ok(Stopping {
        rec,
        fd,
        deadline: timeout.and_then(|t| Instant::now().checked_add(t)),
    })
}

/// Wait for the exit until the deadline, then SIGKILL; return once the monitor recorded it.
fn finish_stop(store: &ContainerStore, s: Stopping) -> anyhow::Result<()> {
    if let Some(fd) = &s.fd {
        let left = s
            .deadline
            .map(|d| d.saturating_duration_since(Instant::now()));
        if !wait_exit(fd, left) {
            signal_container(&s.rec, libc::SIGKILL)?;
            wait_exit(fd, Some(Duration::from_secs(30)));
        }
    }
    wait_recorded(store, &s.rec.id, Duration::from_secs(30));
    Ok(())
}

/// Stop a running container: its stop signal, then SIGKILL after `timeout`.
fn stop_container(
    store: &ContainerStore,
    rec: ContainerRecord,
    signal: i32,
    timeout: Option<Duration>,
) -> anyhow::Result<()> {
    finish_stop(store, begin_stop(store, rec, signal, timeout)?)
}

fn stop_signal(rec: &ContainerRecord, given: Option<&str>) -> anyhow::Result<i32> {
    let name = given.unwrap_or(&rec.config.stop_signal);
    if name.is_empty() {
        return Ok(libc::SIGTERM);
    }
    Ok(runtime::parse_signal(name)?)
}

pub fn stop(paths: &Paths, args: StopArgs) -> anyhow::Result<()> {
    let store = ContainerStore::open(&paths.containers())?;
    if let Some(s) = &args.signal {
        runtime::parse_signal(s).map_err(|e| Exit {
            code: 125,
            message: e.to_string(),
        })?;
    }
    // Like docker, every container gets its stop signal first and they are awaited
    // together: stopping N containers takes one timeout, not N.
    let begin = |a: &String| -> anyhow::Result<Stopping> {
        let rec = store.resolve(a)?;
        let timeout = match args.time {
            Some(t) if t >= 0 => Some(Duration::from_secs(t as u64)),
            Some(_) => None,
            None => Some(Duration::from_secs(rec.config.stop_timeout.unwrap_or(10))),
        };
        let sig = stop_signal(&rec, args.signal.as_deref())?;
        begin_stop(&store, rec, sig, timeout)
    };
    let mut stopping = args
        .containers
        .iter()
        .map(begin)
        .collect::<Vec<_>>()
        .into_iter();
    each(&args.containers, |_| {
        stopping
            .next()
            .unwrap_or_else(|| Err(anyhow::anyhow!("no stop was begun for this argument")))
            .and_then(|s| finish_stop(&store, s))
    })
}

pub fn kill(paths: &Paths, args: KillArgs) -> anyhow::Result<()> {
    let store = ContainerStore::open(&paths.containers())?;
    let sig = runtime::parse_signal(&args.signal).map_err(|e| Exit {
        code: 125,
        message: e.to_string(),
    })?;
    each(&args.containers, |a| {
        let rec = store.resolve(a)?;
        if !rec.is_running() {
            anyhow::bail!(
                "cannot kill container {a}: container {} is not running",
                rec.id
            );
        }
        let _ = store.update(&rec.id, |r| r.state.stopped_by_user = true);
        signal_container(&rec, sig)?;
        if sig == libc::SIGKILL {
            if let Some(fd) = pidfd(rec.state.pid) {
                wait_exit(&fd, Some(Duration::from_secs(10)));
            }
            wait_recorded(&store, &rec.id, Duration::from_secs(10));
        }
        Ok(())
    })
}

pub fn rm(paths: &Paths, args: RmArgs) -> anyhow::Result<()> {
    let store = ContainerStore::open(&paths.containers())?;
    each(&args.containers, |a| {
        let rec = store.resolve(a)?;
        if rec.is_running() {
            if !args.force {
                anyhow::bail!(
                    "cannot remove container \"{}\": container is running: stop the container before removing or force remove (rm -f)",
                    rec.name
                );
            }
            stop_container(&store, rec.clone(), libc::SIGKILL, Some(Duration::ZERO))?;
        }
        monitor::release(paths, &rec);
        let lock = store.lock()?;
        match store.remove(&lock, &rec.id) {
            Ok(()) | Err(StateError::NotFound(_)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    })
}
