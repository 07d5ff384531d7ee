//! cgroup v1: which hierarchies a container's cgroup is made in, and adding one later.
//! Each hierarchy costs a mkdir, an open and a `tasks` write in the child, and an rmdir,
//! so kiste's own containers get only the hierarchies that enforce or observe them (see
//! `CgroupRole`) plus those their limits name; `kiste oci` gets every one, as runc does.
//! A hierarchy needed later (`pause`: freezer; `update` of a limit whose controller the
//! container lacks) is made then, and the container's processes, read from the
//! membership hierarchy (pids), are moved into it until a pass finds none left behind.

use std::path::{Path, PathBuf};

use super::resources::{CgroupRole, CgroupSpec, Resources};
use super::{read_procs, relative_path, CgroupError};

/// What a container of kiste's own always gets: devices enforces the device allowlist;
/// memory, cpuacct and blkio are what `stats` reads (and memory the OOM kill); pids is
/// the membership every process query reads (`top`, `kill`, `stop`, `rm -f`, stragglers).
const CONTAINER: &[&str] = &["devices", "memory", "cpuacct", "pids", "blkio"];

/// What a RUN step always gets: nobody reads a step's stats or OOM kill.
const BUILD_STEP: &[&str] = &["devices", "pids"];

/// The hierarchy whose directory lists every process of a container.
const MEMBERSHIP: &str = "pids";

/// The controllers that `r`'s limits write to (the predicates `v1::apply` writes by).
pub(super) fn limited(r: &Resources) -> Vec<&'static str> {
    let named = [
        ("memory", r.limits_memory() || r.memory_swappiness.is_some()),
        ("cpu", r.limits_cpu()),
        ("cpuset", r.cpuset_cpus.is_some() || r.cpuset_mems.is_some()),
        ("pids", r.pids_limit.is_some()),
        ("blkio", r.limits_blkio()),
        ("hugetlb", !r.hugepage_limits.is_empty()),
    ];
    named
        .into_iter()
        .filter_map(|(c, limited)| limited.then_some(c))
        .collect()
}

/// The hierarchy roots a cgroup of `spec` is made in, in the host's mount order.
pub(super) fn wanted(spec: &CgroupSpec) -> Vec<PathBuf> {
    let all = super::v1_hier::hierarchies();
    let always = match spec.role {
        CgroupRole::Oci => return all,
        CgroupRole::Container => CONTAINER,
        CgroupRole::BuildStep => BUILD_STEP,
    };
    let limited = limited(&spec.resources);
    let roots: Vec<&Path> = always
        .iter()
        .chain(limited.iter())
        .filter_map(|c| super::v1_hier::controller_root(c))
        .collect();
    all.into_iter()
        .filter(|h| roots.contains(&h.as_path()))
        .collect()
}

/// The directory listing every process of the container: pids (or, on a host without
/// it, the first hierarchy the container is in).
fn membership(spec: &CgroupSpec) -> Option<PathBuf> {
    let rel = relative_path(spec);
    super::v1_hier::controller_root(MEMBERSHIP)
        .map(Path::to_path_buf)
        .or_else(|| wanted(spec).into_iter().next())
        .map(|root| root.join(rel))
}

/// The directories whose processes are the container's: its membership directory, or
/// for `kiste oci` (whose cgroup a client may have shaped) every hierarchy's.
pub(super) fn member_dirs(spec: &CgroupSpec) -> Vec<PathBuf> {
    match (spec.role, membership(spec)) {
        (CgroupRole::Oci, _) | (_, None) => super::dirs_of(spec),
        (_, Some(dir)) => vec![dir],
    }
}

/// Makes the container's directory in the hierarchies of `controllers` where it has
/// none yet (a controller the host does not mount is left to the caller's check).
/// Returns the directories made, whose processes are still to be moved (`move_into`).
pub(super) fn add(spec: &CgroupSpec, controllers: &[&str]) -> Result<Vec<PathBuf>, CgroupError> {
    let rel = relative_path(spec);
    let mut made: Vec<PathBuf> = Vec::new();
    for c in controllers {
        let Some(root) = super::v1_hier::controller_root(c) else {
            continue;
        };
        let dir = root.join(&rel);
        if made.contains(&dir) || dir.is_dir() {
            continue;
        }
        super::v1_hier::make_dirs(root, &rel, own_parent(spec))?;
        made.push(dir);
    }
    Ok(made)
}

/// Whether the container's parent cgroup is kiste's own (not a `--cgroup-parent`), where
/// kiste may set flags such as cpuset's `cgroup.clone_children`.
pub(super) fn own_parent(spec: &CgroupSpec) -> bool {
    spec.role != CgroupRole::Oci && spec.parent.trim_matches('/') == "kiste"
}

/// Moves every process of the container into each of `dirs`, reading its members again
/// until a pass finds none outside (a process may fork while the others are moved; the
/// child of a moved one is born inside). A process that exited meanwhile is skipped.
pub(super) fn move_into(spec: &CgroupSpec, dirs: &[PathBuf]) -> Result<(), CgroupError> {
    let Some(from) = membership(spec) else {
        return Ok(());
    };
    for dir in dirs {
        loop {
            let inside = read_procs(dir);
            let outside: Vec<i32> = read_procs(&from)
                .into_iter()
                .filter(|p| !inside.contains(p))
                .collect();
            if outside.is_empty() {
                break;
            }
            let procs = dir.join("cgroup.procs");
            for pid in outside {
                match std::fs::write(&procs, pid.to_string()) {
                    Ok(()) => {}
                    Err(e) if e.raw_os_error() == Some(libc::ESRCH) => {}
                    Err(e) => return Err(CgroupError::io("join", &procs, e)),
                }
            }
        }
    }
    Ok(())
}

/// `pause` on v1: a container started without a freezer directory gets one, with every
/// process moved in (one a client shaped, `kiste oci`, is left as it is).
pub(super) fn join_freezer(spec: &CgroupSpec) -> Result<(), CgroupError> {
    let Some(root) = super::v1_hier::controller_root("freezer") else {
        return Ok(());
    };
    if spec.role == CgroupRole::Oci {
        return Ok(());
    }
    add(spec, &["freezer"])?;
    move_into(spec, &[root.join(relative_path(spec))])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_name_the_controllers_they_write_to() {
        assert!(limited(&Resources::default()).is_empty());
        let r = Resources {
            cpuset_cpus: Some("0".into()),
            blkio_weight: Some(300),
            memory_swappiness: Some(10),
            ..Resources::default()
        };
        assert_eq!(limited(&r), vec!["memory", "cpuset", "blkio"]);
        let zero_weight = Resources {
            blkio_weight: Some(0),
            cpu_shares: Some(512),
            ..Resources::default()
        };
        assert_eq!(limited(&zero_weight), vec!["cpu"]);
    }
}
