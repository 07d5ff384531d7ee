//! `kiste oci start`, `kill` and `delete`: releasing a created container's process
//! through its exec fifo (then the poststart hooks), signalling it, and removing it
//! (its processes, its cgroup, its state directory; then the poststop hooks).

use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::time::{Duration, Instant};

use super::state::{cgroup_spec, check_id, remove_dir, Record, Status};
use super::translate::hook_list;
use super::{warn, Global, OciError};
use crate::cli::oci::{DeleteArgs, OciKillArgs};

/// `start ID`: opens the exec fifo so the waiting process goes on to execve.
pub fn start(g: &Global, id: &str) -> Result<(), OciError> {
    check_id(id)?;
    let _lock = g.root.lock(id)?;
    let rec = g.root.load(id)?;
    match rec.status(&g.root) {
        Status::Created => {}
        Status::Stopped => {
            return Err(OciError::WrongStatus {
                id: id.into(),
                status: "stopped",
                reason: "cannot start a container that has stopped",
            })
        }
        other => {
            return Err(OciError::WrongStatus {
                id: id.into(),
                status: other.as_str(),
                reason: "cannot start an already running container",
            })
        }
    }
    let fifo = g.root.fifo(id);
    let mut f = std::fs::File::options()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .map_err(|e| OciError::io(format!("cannot open {}", fifo.display()), e))?;
    // The process opens its end for writing once a reader exists, and writes one byte.
    let mut p = libc::pollfd {
        fd: f.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    loop {
        // SAFETY: one valid pollfd.
        let rc = unsafe { libc::poll(&mut p, 1, 100) };
        if rc > 0 {
            break;
        }
        if !rec.alive() {
            let _ = std::fs::remove_file(&fifo);
            return Err(OciError::WrongStatus {
                id: id.into(),
                status: "stopped",
                reason: "its process exited before it was started",
            });
        }
    }
    let mut byte = [0u8; 1];
    let _ = f.read(&mut byte);
    // The process holds its end until its execve (after the startContainer hooks):
    // the hang-up says the program runs, and the poststart hooks come after it.
    while p.revents & libc::POLLHUP == 0 && rec.alive() {
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&mut p, 1, 100) };
    }
    std::fs::remove_file(&fifo)
        .map_err(|e| OciError::io(format!("cannot remove {}", fifo.display()), e))?;
    poststart(&rec);
    Ok(())
}

/// The poststart hooks of a container whose program runs.
pub(super) fn poststart(rec: &Record) {
    run_host_hooks(rec, "poststart", "running");
}

/// Runs the poststart or poststop hooks; a failure is a warning (the spec's rule).
fn run_host_hooks(rec: &Record, kind: &'static str, status: &str) {
    let Some(hooks) = rec
        .hooks
        .clone()
        .and_then(|v| serde_json::from_value::<super::spec::Hooks>(v).ok())
    else {
        return;
    };
    let list = match kind {
        "poststart" => hook_list(&hooks.poststart),
        _ => hook_list(&hooks.poststop),
    };
    let state = rec.hook_state(status);
    for h in &list {
        if let Err(e) = crate::runtime::run_hook(h, &state) {
            warn(&format!("container {}: {kind} {e}", rec.id));
        }
    }
}

/// `kill ID [SIGNAL]`: to the first process, or with --all to every process of its cgroup.
pub fn kill(g: &Global, a: &OciKillArgs) -> Result<(), OciError> {
    check_id(&a.id)?;
    let sig = crate::signal::parse_signal(&a.signal)?;
    let rec = g.root.load(&a.id)?;
    let status = rec.status(&g.root);
    if status == Status::Stopped && !a.all {
        return Err(OciError::WrongStatus {
            id: a.id.clone(),
            status: "stopped",
            reason: "container not running",
        });
    }
    if a.all {
        if let Some(cg) = &rec.cgroup {
            for pid in crate::cgroups::pids(&cgroup_spec(cg)) {
                // SAFETY: kill with a pid and a signal number.
                unsafe { libc::kill(pid, sig) };
            }
        }
        return Ok(());
    }
    // SAFETY: as above; the pid was checked against its start time just now.
    if unsafe { libc::kill(rec.pid, sig) } != 0 {
        return Err(OciError::io(
            format!("cannot signal container {}", a.id),
            std::io::Error::last_os_error(),
        ));
    }
    Ok(())
}

/// `delete ID`: a stopped or created container; --force kills a running one first.
pub fn delete(g: &Global, a: &DeleteArgs) -> Result<(), OciError> {
    check_id(&a.id)?;
    let _lock = match g.root.lock(&a.id) {
        Ok(l) => l,
        Err(OciError::NotFound { .. }) if a.force => return Ok(()),
        Err(e) => return Err(e),
    };
    let rec = match g.root.load(&a.id) {
        Ok(r) => r,
        // A create that died before its record: only the directory is there.
        Err(OciError::NotFound { .. }) => {
            remove_dir(&g.root.dir(&a.id))?;
            return if a.force {
                Ok(())
            } else {
                Err(OciError::NotFound { id: a.id.clone() })
            };
        }
        Err(e) => return Err(e),
    };
    match rec.status(&g.root) {
        Status::Stopped | Status::Created => {}
        other if !a.force => {
            return Err(OciError::WrongStatus {
                id: a.id.clone(),
                status: other.as_str(),
                reason: "cannot delete a container that is not stopped (use --force)",
            })
        }
        _ => {}
    }
    destroy(g, &rec)
}

/// Kills what is left of the container, waits for it, removes its cgroup and state
/// directory, and runs the poststop hooks.
pub fn destroy(g: &Global, rec: &Record) -> Result<(), OciError> {
    if rec.alive() {
        // SAFETY: kill with the recorded pid, checked against its start time.
        unsafe { libc::kill(rec.pid, libc::SIGKILL) };
    }
    if let Some(cg) = &rec.cgroup {
        let spec = cgroup_spec(cg);
        if crate::cgroups::freeze::is_frozen(&spec) {
            for pid in crate::cgroups::pids(&spec) {
                // SAFETY: as above.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
            let _ = crate::cgroups::freeze::set_frozen(&spec, false);
        }
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while rec.alive() && Instant::now() < deadline {
        // Not our child (its subreaper reaps it): watch /proc until it is gone.
        std::thread::sleep(Duration::from_millis(5));
    }
    if let Some(cg) = &rec.cgroup {
        crate::cgroups::remove(&cgroup_spec(cg)).map_err(|source| OciError::Cgroup {
            id: rec.id.clone(),
            source,
        })?;
    }
    remove_dir(&g.root.dir(&rec.id))?;
    run_host_hooks(rec, "poststop", "stopped");
    Ok(())
}

/// Kills a created container's process that is still waiting on its fifo.
pub fn release(rec: &Record) {
    if rec.alive() {
        // SAFETY: as above.
        unsafe { libc::kill(rec.pid, libc::SIGKILL) };
    }
}
