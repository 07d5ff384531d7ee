//! The end of a container's run: what it held on the host (network, cgroup, mount, run
//! dir) is released and the exit recorded (or, under a restart policy, marked as
//! restarting); a failed start is undone; and `release` frees what a dead monitor left.

use super::{MonitorError, Running};
use crate::paths::Paths;
use crate::state::{ContainerRecord, ContainerStore, Status};
use crate::storage;

/// The container ended: release what it held and record how it ended.
pub(super) fn finish(
    paths: &Paths,
    store: &ContainerStore,
    running: &Running,
    rec: &ContainerRecord,
    code: i32,
    tree: Option<crate::runtime::MountTree>,
) {
    let oom = crate::cgroups::oom_killed(&running.cgroup);
    crate::events::died(paths, rec, code, oom);
    // Only a container started on bridge networks (or rootless with its own network)
    // holds addresses, veths or a helper: `network connect` takes bridge containers only.
    if running.bridged.is_some() || running.rootless_net {
        release_network(paths, &running.id);
    }
    crate::events::volumes(paths, rec, "unmount");
    let _ = crate::cgroups::remove(&running.cgroup);
    if running.host_mount {
        let _ = storage::unmount(&running.rootfs);
    }
    if running.auto_remove {
        // The run dir and the container's dir are removed side by side: on a file system
        // that discards each freed block before the call returns (ext4 mounted with
        // `discard`, no journal), every rmdir waits on the disk, and the two trees'
        // waits overlap. Both are gone before this returns, as docker's `--rm` leaves
        // nothing behind. The detached overlay goes the same way: its last close frees
        // the overlay and waits on the file systems under it. No process is spawned
        // while the thread lives.
        std::thread::scope(|s| {
            // One thread for both: each one spawned costs ~8 calls on this path.
            s.spawn(move || {
                drop(tree);
                remove_run_dir(paths, &running.id)
            });
            crate::volume::release_devices(paths, &running.id, &running.mounts);
            // A `wait` that saw the container running answers with this code (docker's too).
            crate::state::write_exit(&paths.exits(), &running.id, code);
            if let Ok(lock) = store.lock() {
                let _ = store.remove(&lock, &running.id);
            }
        });
        crate::events::container(paths, rec, "destroy");
        remove_anonymous_volumes(paths, &running.mounts);
        return;
    }
    drop(tree);
    remove_run_dir(paths, &running.id);
    crate::volume::release_devices(paths, &running.id, &running.mounts);
    let _ = store.update(&running.id, |r| {
        let st = &r.state;
        // The monitor stays (it is named in the record) when it will start it again.
        let again =
            r.config
                .host
                .restart
                .should_restart(code, st.restart_count, st.stopped_by_user);
        r.state.status = Status::Exited;
        r.state.exit_code = code;
        r.state.oom_killed = oom;
        r.state.pid = 0;
        r.state.pid_start_time = 0;
        r.state.paused = false;
        r.state.restarting = again;
        if !again {
            r.state.monitor_pid = 0;
            r.state.monitor_start_time = 0;
        }
        r.state.finished_at = Some(crate::image::now_rfc3339());
        r.state.ports.clear();
    });
}

/// The container's run dir: its rootfs mount point and the files bound into it.
fn remove_run_dir(paths: &Paths, id: &str) {
    let _ = crate::fs::remove_own(&paths.container_run_dir(id), crate::paths::RUN_DIR_LAYOUT);
}

/// A start that failed before the container ran: undo the mount and keep the error.
pub(super) fn finish_failed_start(
    paths: &Paths,
    store: &ContainerStore,
    running: &Running,
    e: &MonitorError,
) {
    release_network(paths, &running.id);
    let _ = crate::cgroups::remove(&running.cgroup);
    if running.host_mount {
        let _ = storage::unmount(&running.rootfs);
    }
    let _ = std::fs::remove_dir_all(paths.container_run_dir(&running.id));
    crate::volume::release_devices(paths, &running.id, &running.mounts);
    let _ = store.update(&running.id, |r| {
        r.state.error = e.to_string();
        if r.state.status == Status::Running {
            r.state.status = Status::Exited;
        }
        r.state.exit_code = e.exit_code();
        // The start is over: nobody supervises it now, and nothing is left to repair.
        r.state.monitor_pid = 0;
        r.state.monitor_start_time = 0;
    });
}

/// Release what a container whose monitor is gone may still hold (mount, cgroup).
/// Safe to call on a container that holds nothing.
pub fn release(paths: &Paths, rec: &ContainerRecord) {
    let rootfs = paths.container_rootfs(&rec.id);
    if storage::is_mounted(&rootfs) {
        let _ = storage::unmount(&rootfs);
    }
    let _ = crate::cgroups::remove(&super::cgroup_of(rec));
    let _ = std::fs::remove_dir_all(paths.container_run_dir(&rec.id));
    release_network(paths, &rec.id);
    crate::volume::release_devices(paths, &rec.id, &rec.config.host.mounts);
}

/// Give back the container's address, rules and veth (nothing when it holds none).
fn release_network(paths: &Paths, id: &str) {
    crate::network::rootless::release(&paths.container_run_dir(id));
    if let Err(e) = crate::network::release(paths, id) {
        eprintln!("WARNING: {e}");
    }
}

/// `--rm`: the container's anonymous volumes go with it, as in docker.
pub fn remove_anonymous_volumes(paths: &Paths, mounts: &[crate::config::MountConfig]) {
    if mounts.is_empty() {
        return;
    }
    match crate::volume::VolumeStore::open(paths) {
        Ok(v) => v.remove_anonymous(mounts),
        Err(e) => eprintln!("WARNING: {e}"),
    }
}
