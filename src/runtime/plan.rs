//! What the parent computes before the clone (the capability mask, the compiled
//! seccomp filter, the resolved rootfs, the cgroup mounts), so that the child only makes
//! syscalls between clone and execve.

use super::caps;
use super::error::RuntimeError;
use super::fault::Fault;
use super::seccomp_cache;
use super::seccomp_default::DEFAULT_PROFILE;
use super::spec::{ContainerSpec, Seccomp};
use crate::cgroups::{self, CgroupLayout};

/// What the parent computes before the clone, so the child only makes syscalls.
pub(crate) struct Plan {
    /// The rootfs, absolute and with symlinks resolved.
    pub(crate) root: std::path::PathBuf,
    pub(crate) caps: u64,
    pub(crate) last_cap: u32,
    pub(crate) seccomp: Option<Vec<libc::sock_filter>>,
    pub(crate) cgroup_mounts: CgroupMounts,
    pub(crate) fault: Fault,
    /// An OCI process's effective, permitted, inheritable and ambient sets.
    pub(crate) oci_caps: Option<super::oci_steps::OciCaps>,
    /// The namespaces the child creates itself (unshare, first thing after "go") instead
    /// of the clone: while it does, the parent makes the cgroup (`cgroups::made_after_clone`).
    pub(crate) unshare: u64,
    /// The CPUs the parent may run on, when the parent moved the child to another CPU for
    /// the time they work side by side (`process::move_to_other_cpu`): the child takes
    /// this set back once told "go", so the container runs where its caller could.
    pub(crate) affinity: Option<libc::cpu_set_t>,
    /// The child waits before its execve for `Message::Release`, sent once the parent's
    /// `on_clone` work (the container's network) is done (`spawn_held`).
    pub(crate) hold_exec: bool,
}

impl Plan {
    pub(crate) fn prepare(spec: &ContainerSpec) -> Result<Plan, RuntimeError> {
        let caps = caps::effective_mask(&spec.security.capabilities, spec.security.privileged)?;
        let seccomp = seccomp_program(&spec.security.seccomp, caps)?;
        let root = canonical_dir(&spec.rootfs).ok_or_else(|| RuntimeError::RootfsNotDir {
            id: spec.id.clone(),
            rootfs: spec.rootfs.clone(),
        })?;
        Ok(Plan {
            root,
            caps,
            last_cap: caps::last_cap(),
            seccomp,
            cgroup_mounts: CgroupMounts::for_host(),
            fault: Fault::from_env(),
            oci_caps: match &spec.oci {
                Some(x) => Some(super::oci_steps::OciCaps::of(x)?),
                None => None,
            },
            unshare: 0,
            affinity: None,
            hold_exec: false,
        })
    }
}

/// The path of directory `path` with every symlink resolved, None when it is no directory:
/// the kernel's name for an open of it (three system calls; musl's realpath reads a link
/// per component).
fn canonical_dir(path: &std::path::Path) -> Option<std::path::PathBuf> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    let dir = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY)
        .open(path)
        .ok()?;
    std::fs::read_link(format!("/proc/self/fd/{}", dir.as_raw_fd())).ok()
}

/// The compiled filter for `seccomp` given the capability mask (None: unconfined).
pub(crate) fn seccomp_program(
    seccomp: &Seccomp,
    caps: u64,
) -> Result<Option<Vec<libc::sock_filter>>, RuntimeError> {
    Ok(match seccomp {
        Seccomp::Unconfined => None,
        Seccomp::Default => Some(seccomp_cache::program(DEFAULT_PROFILE, caps)?),
        Seccomp::Profile(json) => Some(seccomp_cache::program(json, caps)?),
    })
}

#[cfg(test)]
impl Plan {
    pub(crate) fn for_test(root: std::path::PathBuf, cgroup_mounts: CgroupMounts) -> Plan {
        Plan {
            root,
            caps: 0,
            last_cap: 40,
            seccomp: None,
            cgroup_mounts,
            fault: Fault::default(),
            oci_caps: None,
            unshare: 0,
            affinity: None,
            hold_exec: false,
        }
    }
}

/// How /sys/fs/cgroup looks inside the container, decided once in the parent.
pub(crate) enum CgroupMounts {
    V2,
    /// (directory name, mount options) for each v1 hierarchy, e.g. ("memory", "memory").
    V1(Vec<(String, String)>),
}

impl CgroupMounts {
    pub(crate) fn for_host() -> CgroupMounts {
        if cgroups::detect() == CgroupLayout::V2 {
            return CgroupMounts::V2;
        }
        let out = cgroups::v1_mounted().unwrap_or_default().to_vec();
        CgroupMounts::V1(out)
    }
}
