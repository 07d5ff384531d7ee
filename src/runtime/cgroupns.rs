//! /sys/fs/cgroup for a container without a cgroup namespace of its own (`--cgroupns
//! host`, docker's default on cgroup v1): a fresh cgroup mount would show each
//! hierarchy's root, the host's whole tree, so the container's own cgroup directory is
//! bound from the host's hierarchies instead, as runc does (one bind per hierarchy, and a
//! read-only remount unless privileged).

use std::path::Path;

use nix::mount::MsFlags;

use super::error::{ChildError, Ctx};
use super::mounter::{bind, ensure, mnt, remount_ro, Mounter};
use super::plan::CgroupMounts;
use super::spec::CgroupSpec;

/// Where the host mounts its hierarchies (the child still sees the host's mounts).
const HOST_CGROUPS: &str = "/sys/fs/cgroup";

/// Mounts the container's cgroup view at `target`, whose hierarchies are `plan`.
pub(crate) fn bind_own(
    m: &mut impl Mounter,
    target: &Path,
    plan: &CgroupMounts,
    cgroup: &CgroupSpec,
    ro: MsFlags,
) -> Result<(), ChildError> {
    let rel = crate::cgroups::relative_path(cgroup);
    let host = Path::new(HOST_CGROUPS);
    let own = |m: &mut _, from: &Path, to: &Path| -> Result<(), ChildError> {
        bind(m, from, to, false)?;
        if !ro.is_empty() {
            remount_ro(m, to)?;
        }
        Ok(())
    };
    match plan {
        CgroupMounts::V2 => own(m, &host.join(&rel), target),
        CgroupMounts::V1(list) => {
            let base = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
            mnt(
                m,
                Some("tmpfs"),
                target,
                Some("tmpfs"),
                base,
                Some("mode=755"),
            )?;
            for (name, _) in list {
                let dir = target.join(name);
                ensure(&dir, false)?;
                let from = host.join(name).join(&rel);
                // A hierarchy kiste made no cgroup in (name=systemd) shows its root's
                // empty stand-in: nothing of the host's tree.
                if from.is_dir() {
                    own(m, &from, &dir)?;
                }
                if name.contains(',') {
                    for part in name.split(',') {
                        let _ = std::os::unix::fs::symlink(name, target.join(part));
                    }
                }
            }
            let flags = MsFlags::MS_REMOUNT | ro | base;
            m.mount(None, target, None, flags, Some("mode=755"))
                .ctx(|| "cannot remount /sys/fs/cgroup read-only".into())
        }
    }
}
