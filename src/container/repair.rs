//! Crash repair: what a dead monitor leaves behind, put right by the next kiste command.
//! A monitor (a detached one, or a foreground `kiste run`) killed with SIGKILL takes its
//! container with it (the container's init has PR_SET_PDEATHSIG), but it cannot record
//! the exit, unmount the rootfs, remove the cgroup or an `--rm` record. Every command
//! calls `repair_all` first: it kills what still runs in the container's cgroup, releases
//! the mount and cgroup, and records one exit state (exit code, a real FinishedAt, no
//! ports), or removes the record of an `--rm` container, and the directory of a create
//! that was killed before it saved the record.

use super::process::PidFd;
use super::ContainerError;
use crate::monitor;
use crate::paths::Paths;
use crate::state::{ContainerRecord, ContainerStore, StateError, Status};
use std::time::Duration;

/// docker's exit code for an exit nobody saw.
const EXIT_UNKNOWN: i32 = 255;
/// The exit code of a container killed here (128 + SIGKILL).
const EXIT_KILLED: i32 = 137;

/// What went wrong with a container's supervision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Damage {
    /// Recorded as running, but its monitor is gone.
    MonitorDied,
    /// A start died midway: the `kiste run` that made it is gone, or its run dir exists
    /// and nobody holds its start lock.
    StartInterrupted,
}

fn damage(paths: &Paths, rec: &ContainerRecord) -> Option<Damage> {
    damage_of(
        paths,
        &rec.id,
        rec.state.status,
        rec.state.monitor_pid,
        || rec.monitor_alive(),
        || paths.container_run_dir(&rec.id).exists(),
    )
}

fn damage_of(
    paths: &Paths,
    id: &str,
    status: Status,
    monitor_pid: i32,
    monitor_alive: impl Fn() -> bool,
    has_run_dir: impl Fn() -> bool,
) -> Option<Damage> {
    match status {
        Status::Running if !monitor_alive() => Some(Damage::MonitorDied),
        // `run` names itself before it starts the container; `start` holds the start lock
        // while the run dir exists.
        Status::Created
            if (monitor_pid != 0 && !monitor_alive())
                || (has_run_dir() && !start_lock_held(paths, id)) =>
        {
            Some(Damage::StartInterrupted)
        }
        _ => None,
    }
}

/// Whether a start of the container is under way (its start lock is held).
fn start_lock_held(paths: &Paths, id: &str) -> bool {
    let Ok(f) = std::fs::File::open(paths.container_start_lock(id)) else {
        return false;
    };
    matches!(f.try_lock(), Err(std::fs::TryLockError::WouldBlock))
}

/// Repair every container of the store (nothing to do in a store that does not exist).
pub fn repair_all(paths: &Paths) -> Result<(), ContainerError> {
    let Some(store) = ContainerStore::open_existing(&paths.containers())? else {
        return Ok(());
    };
    // Only the status of each record is read here; a damaged one is loaded in full.
    // The run dirs that exist, listed once rather than one stat per created container,
    // and before the records are read: a run dir is made after its container's
    // directory, so one whose container directory is gone by then is left over (see
    // `remove_left_run_dirs`).
    let run_dirs: std::collections::HashSet<std::ffi::OsString> =
        std::fs::read_dir(paths.run_containers())
            .map(|d| d.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
    let (summaries, orphans) = store.scan_summaries()?;
    for sum in &summaries {
        let st = &sum.state;
        let has_run_dir = || run_dirs.contains(std::ffi::OsStr::new(&sum.id));
        if damage_of(
            paths,
            &sum.id,
            st.status,
            st.monitor_pid,
            || sum.monitor_alive(),
            has_run_dir,
        )
        .is_none()
        {
            continue;
        }
        match store.load(&sum.id) {
            Ok(rec) => repair_one(paths, &store, &rec)?,
            Err(StateError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    if !orphans.is_empty() {
        let lock = store.lock()?;
        for id in orphans {
            store.remove_orphan(&lock, &id)?;
        }
    }
    let recorded: std::collections::HashSet<&str> =
        summaries.iter().map(|s| s.id.as_str()).collect();
    remove_left_run_dirs(paths, &run_dirs, &recorded);
    Ok(())
}

/// Removes the run dirs (listed in `run_dirs` before the records were read) whose
/// container's directory is gone: an `--rm` container's teardown removes its run dir and
/// its record side by side, and a `kiste` killed meanwhile leaves the run dir alone.
/// A container's directory is made before its run dir and removed after its record, so
/// a run dir seen before its directory was found missing belongs to no container (ids
/// are never reused). What cannot go (a mount point still mounted) is left.
fn remove_left_run_dirs(
    paths: &Paths,
    run_dirs: &std::collections::HashSet<std::ffi::OsString>,
    recorded: &std::collections::HashSet<&str>,
) {
    for name in run_dirs {
        let Some(id) = name.to_str().filter(|id| is_container_id(id)) else {
            continue;
        };
        if recorded.contains(id) || paths.container_dir(id).symlink_metadata().is_ok() {
            continue;
        }
        let _ = crate::fs::remove_own(&paths.container_run_dir(id), crate::paths::RUN_DIR_LAYOUT);
    }
}

fn is_container_id(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Repair one container if it needs it (checked again under the store's lock).
pub(super) fn repair_one(
    paths: &Paths,
    store: &ContainerStore,
    seen: &ContainerRecord,
) -> Result<(), ContainerError> {
    if damage(paths, seen).is_none() {
        return Ok(());
    }
    let lock = store.lock()?;
    let mut rec = match store.load(&seen.id) {
        Ok(r) => r,
        Err(StateError::NotFound(_)) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let Some(damage) = damage(paths, &rec) else {
        return Ok(());
    };
    let killed = kill_leftovers(&rec);
    monitor::release(paths, &rec);
    if rec.config.host.auto_remove {
        store.remove(&lock, &rec.id)?;
        drop(lock);
        monitor::remove_anonymous_volumes(paths, &rec.config.host.mounts);
        return Ok(());
    }
    let monitor_pid = rec.state.monitor_pid;
    let st = &mut rec.state;
    match damage {
        Damage::MonitorDied => {
            st.status = Status::Exited;
            st.exit_code = if killed { EXIT_KILLED } else { EXIT_UNKNOWN };
            st.finished_at = Some(crate::image::now_rfc3339());
            st.error = format!(
                "the container's monitor (pid {monitor_pid}) ended before it could record the exit"
            );
        }
        Damage::StartInterrupted => {
            st.error = "the start was interrupted: kiste was killed while starting it".into();
        }
    }
    st.pid = 0;
    st.pid_start_time = 0;
    st.monitor_pid = 0;
    st.monitor_start_time = 0;
    st.ports.clear();
    store.save(&lock, &rec)?;
    Ok(())
}

/// Kill the container's process if it still runs (its pdeathsig was lost, e.g. by a
/// setuid exec) and wait for it; the rest of its cgroup goes with `monitor::release`.
/// Whether it was still running.
fn kill_leftovers(rec: &ContainerRecord) -> bool {
    let Some(process) = PidFd::open(rec.state.pid, rec.state.pid_start_time) else {
        return false;
    };
    if process.exited() {
        return false;
    }
    // SAFETY: kill(2) on the pid the pidfd pins.
    unsafe { libc::kill(rec.state.pid, libc::SIGKILL) };
    process.wait(Some(Duration::from_secs(10)));
    true
}
