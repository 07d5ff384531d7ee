//! Namespaces: the clone flags for private ones, setns(2) for ones joined by path, and
//! the user namespace's uid/gid maps (written by the parent).

use std::fs;
use std::os::fd::AsRawFd;
use std::path::Path;

use super::error::RuntimeError;
use super::error::{ChildError, Ctx};
use super::spec::{IdMap, Namespaces, NsMode};

/// Flags for the single clone. The cgroup namespace is left out on purpose: the child
/// unshares it after the parent has moved it into its cgroup, so that the container sees
/// its own cgroup as `/`.
pub(crate) fn clone_flags(ns: &Namespaces) -> u64 {
    let mut flags = 0u64;
    let pairs = [
        (&ns.pid, libc::CLONE_NEWPID),
        (&ns.mnt, libc::CLONE_NEWNS),
        (&ns.uts, libc::CLONE_NEWUTS),
        (&ns.ipc, libc::CLONE_NEWIPC),
        (&ns.net, libc::CLONE_NEWNET),
    ];
    for (mode, flag) in pairs {
        if *mode == NsMode::Private {
            flags |= flag as u64;
        }
    }
    if ns.user.is_some() {
        flags |= libc::CLONE_NEWUSER as u64;
    }
    flags
}

/// In the child: joins every namespace given by path except pid (joined by the parent
/// before the clone, since setns on a pid namespace only affects children).
pub(crate) fn join_paths(ns: &Namespaces) -> Result<(), ChildError> {
    // Mount last: after it, the other paths would be resolved in the joined mount ns.
    let order = [
        (&ns.net, libc::CLONE_NEWNET, "net"),
        (&ns.ipc, libc::CLONE_NEWIPC, "ipc"),
        (&ns.uts, libc::CLONE_NEWUTS, "uts"),
        (&ns.cgroup, libc::CLONE_NEWCGROUP, "cgroup"),
        (&ns.mnt, libc::CLONE_NEWNS, "mnt"),
    ];
    for (mode, flag, name) in order {
        if let NsMode::Path(p) = mode {
            setns_path(p, flag).ctx(|| format!("cannot join {name} namespace {}", p.display()))?;
        }
    }
    Ok(())
}

pub(crate) fn setns_path(path: &Path, flag: libc::c_int) -> std::io::Result<()> {
    let f = fs::File::open(path)?;
    // SAFETY: setns on an fd we own.
    if unsafe { libc::setns(f.as_raw_fd(), flag) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Parent side: writes the child's uid and gid maps.
pub(crate) fn write_id_maps(pid: i32, uid: &[IdMap], gid: &[IdMap]) -> Result<(), RuntimeError> {
    let fmt = |maps: &[IdMap]| {
        maps.iter()
            .map(|m| format!("{} {} {}\n", m.container_id, m.host_id, m.size))
            .collect::<String>()
    };
    // Unprivileged writers must deny setgroups before writing a gid map.
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        let _ = fs::write(format!("/proc/{pid}/setgroups"), "deny");
    }
    for (file, maps) in [("uid_map", uid), ("gid_map", gid)] {
        let path = format!("/proc/{pid}/{file}");
        fs::write(&path, fmt(maps))
            .map_err(|e| RuntimeError::io(format!("cannot write {path}"), e))?;
    }
    Ok(())
}
