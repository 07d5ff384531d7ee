//! The root filesystem of an OCI bundle's container (`ContainerSpec::oci`): the
//! config's mounts in its order instead of kiste's /proc, /dev, /sys set, each with its
//! flags, data and propagation; the standard device nodes and the config's devices in
//! /dev; the hooks (see `hooks`); pivot_root; then, inside, the sysctls, the read-only
//! and masked paths, and the read-only root, in runc's order. Destinations resolve inside
//! the rootfs (`rootfs::make_target`), so no symlink of the image points a mount at the host.

use std::os::unix::fs::symlink;
use std::path::Path;

use nix::mount::MsFlags;

use super::devices::{make_node, STANDARD};
use super::error::{ChildError, Ctx};
use super::mounter::{bind, ensure, mnt, remount_ro, Mounter};
use super::plan::{CgroupMounts, Plan};
use super::rootfs::{make_target, mount_cgroups, resolve_in_root};
use super::spec::{ContainerSpec, NsMode, OciExtras, SpecMount};

/// Builds the mount table of an OCI container under `plan.root` and pivots into it.
pub(crate) fn setup(
    m: &mut impl Mounter,
    spec: &ContainerSpec,
    extras: &OciExtras,
    plan: &Plan,
    in_cgroup: impl FnOnce() -> Result<(), ChildError>,
    before_pivot: impl FnOnce() -> Result<(), ChildError>,
) -> Result<(), ChildError> {
    let root = plan.root.as_path();
    let tree = if extras.rootfs_propagation == 0 {
        MsFlags::MS_REC | MsFlags::MS_PRIVATE
    } else {
        MsFlags::from_bits_truncate(extras.rootfs_propagation as _)
    };
    // Slave first, as runc does, so nothing this container mounts reaches the host.
    m.mount(
        None,
        Path::new("/"),
        None,
        MsFlags::MS_REC | MsFlags::MS_SLAVE,
        None,
    )
    .ctx(|| "cannot make mounts slaves".into())?;
    m.mount(
        Some(root),
        root,
        None,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None,
    )
    .ctx(|| format!("cannot bind rootfs {} onto itself", root.display()))?;
    in_cgroup()?;
    // Without a cgroup namespace a cgroup mount shows each hierarchy's root: the
    // container's own cgroup is bound over it instead, as runc does.
    let own_cgroup = match spec.namespaces.cgroup {
        NsMode::Private => None,
        _ => spec.cgroup.as_ref().map(crate::cgroups::relative_path),
    };
    for mount in &extras.mounts {
        mount_one(m, root, plan, mount, own_cgroup.as_deref())?;
    }
    make_devices(m, root, spec)?;
    if extras.rootfs_propagation != 0 {
        m.mount(None, root, None, tree, None)
            .ctx(|| "cannot set the rootfs propagation".into())?;
    }
    // The runtime's hooks, then the createContainer hooks (`hooks::sync_before_pivot`).
    before_pivot()?;
    m.pivot_root(root)
        .ctx(|| format!("cannot pivot_root into {}", root.display()))?;
    if let Some(t) = spec.tuning.as_deref() {
        super::tuning::write_sysctls(&t.sysctl)?;
    }
    let inside = Path::new("/");
    for p in &spec.security.readonly_paths {
        let target = resolve_in_root(inside, p)?;
        if std::fs::symlink_metadata(&target).is_ok() {
            bind(m, &target, &target, true)?;
            remount_ro(m, &target)?;
        }
    }
    for p in &spec.security.masked_paths {
        let target = resolve_in_root(inside, p)?;
        let Ok(meta) = std::fs::symlink_metadata(&target) else {
            continue;
        };
        if meta.is_dir() {
            let ro = MsFlags::MS_RDONLY;
            mnt(m, Some("tmpfs"), &target, Some("tmpfs"), ro, None)?;
        } else {
            bind(m, Path::new("/dev/null"), &target, false)?;
        }
    }
    if spec.security.readonly_rootfs {
        remount_ro(m, inside)?;
    }
    Ok(())
}

fn mount_one(
    m: &mut impl Mounter,
    root: &Path,
    plan: &Plan,
    mount: &SpecMount,
    own_cgroup: Option<&Path>,
) -> Result<(), ChildError> {
    let flags = MsFlags::from_bits_truncate(mount.flags as _);
    if mount.fstype == "bind" {
        let src = Path::new(&mount.source);
        let is_dir = std::fs::metadata(src)
            .ctx(|| format!("cannot bind {}", mount.source))?
            .is_dir();
        let dest = make_target(root, &mount.destination, !is_dir)?;
        bind(m, src, &dest, mount.recursive)?;
        let lock = MsFlags::MS_RDONLY
            | MsFlags::MS_NOSUID
            | MsFlags::MS_NODEV
            | MsFlags::MS_NOEXEC
            | MsFlags::MS_NOATIME
            | MsFlags::MS_RELATIME
            | MsFlags::MS_STRICTATIME
            | MsFlags::MS_NODIRATIME;
        if flags.intersects(lock) {
            let again = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | (flags & lock);
            m.mount(None, &dest, None, again, None)
                .ctx(|| format!("cannot remount {} with its options", dest.display()))?;
        }
        return propagate(m, &dest, mount.propagation);
    }
    let dest = make_target(root, &mount.destination, false)?;
    if mount.fstype == "cgroup" || mount.fstype == "cgroup2" {
        let ro = flags & MsFlags::MS_RDONLY;
        mount_cgroups(m, &dest, &plan.cgroup_mounts, ro)?;
        if let Some(rel) = own_cgroup {
            let dirs = match &plan.cgroup_mounts {
                CgroupMounts::V2 => vec![dest.clone()],
                CgroupMounts::V1(list) => list.iter().map(|(n, _)| dest.join(n)).collect(),
            };
            for dir in dirs {
                let sub = dir.join(rel);
                if sub.is_dir() {
                    bind(m, &sub, &dir, false)?;
                    if !ro.is_empty() {
                        remount_ro(m, &dir)?;
                    }
                }
            }
        }
        return propagate(m, &dest, mount.propagation);
    }
    let data = (!mount.data.is_empty()).then_some(mount.data.as_str());
    let src = if mount.source.is_empty() {
        mount.fstype.as_str()
    } else {
        mount.source.as_str()
    };
    let done = m.mount(
        Some(Path::new(src)),
        &dest,
        Some(&mount.fstype),
        flags,
        data,
    );
    match done {
        Ok(()) => {}
        // sysfs of a network namespace this user namespace does not own: the host's, as runc.
        Err(nix::errno::Errno::EPERM) if mount.fstype == "sysfs" => {
            bind(m, Path::new("/sys"), &dest, true)?;
            if flags.contains(MsFlags::MS_RDONLY) {
                remount_ro(m, &dest)?;
            }
        }
        Err(e) => {
            return Err(e).ctx(|| format!("cannot mount {} on {}", mount.fstype, mount.destination))
        }
    }
    propagate(m, &dest, mount.propagation)
}

fn propagate(m: &mut impl Mounter, dest: &Path, propagation: u64) -> Result<(), ChildError> {
    if propagation == 0 {
        return Ok(());
    }
    let flags = MsFlags::from_bits_truncate(propagation as _);
    m.mount(None, dest, None, flags, None)
        .ctx(|| format!("cannot set the propagation of {}", dest.display()))
}

/// The standard nodes and symlinks in the rootfs' /dev (on whatever the config mounted
/// there), and the config's devices.
fn make_devices(m: &mut impl Mounter, root: &Path, spec: &ContainerSpec) -> Result<(), ChildError> {
    let dev = resolve_in_root(root, "/dev")?;
    ensure(&dev, false)?;
    for (name, major, minor) in STANDARD {
        let host = Path::new("/dev").join(name);
        make_node(m, &dev.join(name), &host, 'c', *major, *minor, 0o666, 0, 0)?;
    }
    let links: [(&str, &str); 5] = [
        ("/proc/self/fd", "fd"),
        ("/proc/self/fd/0", "stdin"),
        ("/proc/self/fd/1", "stdout"),
        ("/proc/self/fd/2", "stderr"),
        ("pts/ptmx", "ptmx"),
    ];
    for (target, name) in links {
        let path = dev.join(name);
        if std::fs::symlink_metadata(&path).is_err() {
            symlink(target, &path).ctx(|| format!("cannot create /dev/{name}"))?;
        }
    }
    for d in &spec.devices {
        let target = resolve_in_root(root, &d.container_path)?;
        let mode = if d.mode & 0o7777 == 0 {
            0o660
        } else {
            d.mode & 0o7777
        };
        let (major, minor) = (d.major as u64, d.minor as u64);
        make_node(
            m,
            &target,
            &d.host_path,
            d.kind,
            major,
            minor,
            mode,
            d.uid,
            d.gid,
        )?;
    }
    Ok(())
}
