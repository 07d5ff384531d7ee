//! The container's root filesystem: make the mount tree private, bind the rootfs onto
//! itself (or attach the detached overlay the parent made for it), mount /proc, /dev
//! (see `devices`), /sys and /sys/fs/cgroup, the spec's mounts, mask and write-protect
//! paths, then pivot_root into it and detach the old root. Destinations are resolved
//! inside the rootfs so that image symlinks cannot point a mount at the host.

use std::fs;
use std::path::{Path, PathBuf};

use nix::mount::MsFlags;

use super::devices;
use super::error::{ChildError, Ctx};
use super::mounter::{bind, ensure, mnt, remount_ro, Mounter};
use super::plan::{CgroupMounts, Plan};
use super::spec::{ContainerSpec, MountKind, NsMode, Propagation};

/// The path `inside` (absolute, container view) resolved within `root`, following
/// symlinks as if `root` were `/`; the kernel confines the resolution
/// (`crate::fs::Root::host_path`), so no symlink in the image can name a host path.
pub(crate) fn resolve_in_root(root: &Path, inside: &str) -> Result<PathBuf, ChildError> {
    crate::fs::Root::open(root)
        .and_then(|r| r.host_path(inside))
        .ctx(|| format!("cannot resolve {inside} inside {}", root.display()))
}

const NOSUID_NODEV_NOEXEC: MsFlags = MsFlags::MS_NOSUID
    .union(MsFlags::MS_NODEV)
    .union(MsFlags::MS_NOEXEC);

/// Builds the container's mount table under `plan.root` and pivots into it.
/// `in_cgroup` is called once the filesystems that do not depend on the cgroup are
/// mounted; it returns when the process is in its cgroup (and cgroup namespace).
pub(crate) fn setup(
    m: &mut impl Mounter,
    spec: &ContainerSpec,
    plan: &Plan,
    in_cgroup: impl FnOnce() -> Result<(), ChildError>,
) -> Result<(), ChildError> {
    let root = plan.root.as_path();
    // A bind that is to receive (or share) the host's mount events needs the tree to
    // stay a slave of the host's; otherwise everything is made private, docker's default.
    let follow_host = spec.mounts.iter().any(|m| {
        matches!(
            m.kind,
            MountKind::UserBind {
                propagation: Propagation::Slave
                    | Propagation::Rslave
                    | Propagation::Shared
                    | Propagation::Rshared,
                ..
            }
        )
    });
    let tree = if follow_host {
        MsFlags::MS_SLAVE
    } else {
        MsFlags::MS_PRIVATE
    };
    m.mount(None, Path::new("/"), None, MsFlags::MS_REC | tree, None)
        .ctx(|| "cannot make mounts private".into())?;
    match &spec.rootfs_tree {
        // The overlay made for this container alone: attached here, never on the host.
        Some(t) => m
            .attach(t.raw(), root)
            .ctx(|| format!("cannot attach the rootfs at {}", root.display()))?,
        None => m
            .mount(
                Some(root),
                root,
                None,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None,
            )
            .ctx(|| format!("cannot bind rootfs {} onto itself", root.display()))?,
    }

    let proc_dir = resolve_in_root(root, "/proc")?;
    ensure(&proc_dir, false)?;
    mnt(
        m,
        Some("proc"),
        &proc_dir,
        Some("proc"),
        NOSUID_NODEV_NOEXEC,
        None,
    )?;

    devices::setup_dev(m, root, spec, resolve_in_root)?;

    let sys = resolve_in_root(root, "/sys")?;
    ensure(&sys, false)?;
    // --privileged gets /sys and its cgroup mounts writable, as in docker.
    let privileged = spec.security.privileged;
    let ro = if privileged {
        MsFlags::empty()
    } else {
        MsFlags::MS_RDONLY
    };
    let sysfs = |m: &mut _| {
        mnt(
            m,
            Some("sysfs"),
            &sys,
            Some("sysfs"),
            NOSUID_NODEV_NOEXEC | ro,
            None,
        )
    };
    // A joined namespace (a bridge network's, another container's) is the container's
    // own too: its sysfs shows its eth0, not the host's. Where the kernel refuses that
    // mount (a namespace another user namespace owns), the host's is bound as before.
    let fresh = match &spec.namespaces.net {
        NsMode::Private => {
            sysfs(m)?;
            true
        }
        NsMode::Path(_) => sysfs(m).is_ok(),
        NsMode::Host => false,
    };
    if !fresh {
        // sysfs shows the mounter's net namespace; with the host's, bind it like runc.
        bind(m, Path::new("/sys"), &sys, true)?;
        if !privileged {
            remount_ro(m, &sys)?;
        }
    }
    in_cgroup()?;
    match (&spec.namespaces.cgroup, &spec.cgroup) {
        // `--cgroupns host`: each hierarchy shows the container's own cgroup, as runc's.
        (NsMode::Host, Some(c)) => {
            super::cgroupns::bind_own(m, &sys.join("fs/cgroup"), &plan.cgroup_mounts, c, ro)?
        }
        _ => mount_cgroups(m, &sys.join("fs/cgroup"), &plan.cgroup_mounts, ro)?,
    }

    // Parents before children (/data before /data/sub), as docker orders them.
    let mut mounts: Vec<_> = spec.mounts.iter().collect();
    crate::sort::sort_by_key(&mut mounts, |m| {
        m.destination.split('/').filter(|c| !c.is_empty()).count()
    });
    for mount in mounts {
        match &mount.kind {
            MountKind::Bind | MountKind::UserBind { .. } => {
                let tree = match &mount.kind {
                    MountKind::UserBind { tree: Some(t), .. } => Some(t.raw()),
                    _ => None,
                };
                let probe = match tree {
                    Some(fd) => PathBuf::from(format!("/proc/self/fd/{fd}")),
                    None => mount.source.clone(),
                };
                let is_dir = fs::metadata(&probe)
                    .ctx(|| format!("cannot bind {}", mount.source.display()))?
                    .is_dir();
                let dest = make_target(root, &mount.destination, !is_dir)?;
                match tree {
                    Some(fd) => m.attach(fd, &dest).ctx(|| {
                        format!(
                            "cannot attach {} on {}",
                            mount.source.display(),
                            dest.display()
                        )
                    })?,
                    None => bind(m, &mount.source, &dest, true)?,
                }
                if let MountKind::UserBind { propagation, .. } = mount.kind {
                    propagate(m, &dest, propagation, follow_host)?;
                }
                if mount.readonly {
                    remount_ro(m, &dest)?;
                }
            }
            MountKind::Tmpfs { options } => {
                let dest = make_target(root, &mount.destination, false)?;
                let (mut flags, data) = tmpfs_options(options);
                if mount.readonly {
                    flags |= MsFlags::MS_RDONLY;
                }
                mnt(m, Some("tmpfs"), &dest, Some("tmpfs"), flags, Some(&data))?;
            }
        }
    }

    // Each path is looked up once, from one open of the root; a path the image lacks
    // (or whose parent is not a directory) is skipped.
    let confined =
        crate::fs::Root::open(root).ctx(|| format!("cannot open the root {}", root.display()))?;
    let existing = |p: &str| match confined.existing(p) {
        Ok(found) => Ok(Some(found)),
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ENOTDIR)) => Ok(None),
        Err(e) => Err(e).ctx(|| format!("cannot resolve {p} inside {}", root.display())),
    };
    // The /dev/null a masked file is covered with, resolved inside the root like the
    // /dev tmpfs it is on: ROOT/dev/null as a host path would follow an image's /dev
    // symlink out of the rootfs and bind a host file over the masked one.
    let mut dev_null = None;
    for p in &spec.security.masked_paths {
        let Some((target, meta)) = existing(p)? else {
            continue;
        };
        if meta.is_dir() {
            mnt(
                m,
                Some("tmpfs"),
                &target,
                Some("tmpfs"),
                MsFlags::MS_RDONLY,
                None,
            )?;
        } else {
            let null = match &dev_null {
                Some(n) => n,
                None => dev_null.insert(
                    confined
                        .host_path("/dev/null")
                        .ctx(|| format!("cannot resolve /dev/null inside {}", root.display()))?,
                ),
            };
            bind(m, null, &target, false)?;
        }
    }
    for p in &spec.security.readonly_paths {
        if let Some((target, _)) = existing(p)? {
            bind(m, &target, &target, true)?;
            remount_ro(m, &target)?;
        }
    }
    drop(confined);

    m.pivot_root(root)
        .ctx(|| format!("cannot pivot_root into {}", root.display()))?;
    if spec.security.readonly_rootfs {
        remount_ro(m, Path::new("/"))?;
    }
    Ok(())
}

/// The mount point for `dest` (a container path) made inside the rootfs: missing
/// directories are created with `crate::fs` (a symlink on the way resolves inside the
/// rootfs, never on the host), and a file target gets an empty file. Its host path.
pub(crate) fn make_target(root: &Path, dest: &str, file: bool) -> Result<PathBuf, ChildError> {
    let ctx = || {
        format!(
            "cannot create the mount point {dest} inside {}",
            root.display()
        )
    };
    let r = crate::fs::Root::open(root).ctx(ctx)?;
    let rel = if file {
        let (parent, name) = dest
            .trim_end_matches('/')
            .rsplit_once('/')
            .unwrap_or(("", dest));
        let parent = r.mkdir_all(parent, 0o755, |_, _, _| Ok(())).ctx(ctx)?;
        let rel = format!("{parent}/{name}");
        // O_EXCL without following a symlink: whatever is there already (a file, a
        // directory, a symlink) is kept, as a separate existence check would keep it.
        match r.create_file(&rel, 0o644) {
            Err(e) if e.raw_os_error() != Some(libc::EEXIST) => return Err(e).ctx(ctx),
            _ => {}
        }
        rel
    } else {
        r.mkdir_all(dest, 0o755, |_, _, _| Ok(())).ctx(ctx)?
    };
    r.host_path(&rel).ctx(ctx)
}

/// Sets a user bind's propagation; rprivate, the default, is what a bind has already
/// unless the tree was left a slave of the host's (`slave_tree`).
fn propagate(
    m: &mut impl Mounter,
    dest: &Path,
    p: Propagation,
    slave_tree: bool,
) -> Result<(), ChildError> {
    let flags = match p {
        Propagation::Rprivate if !slave_tree => return Ok(()),
        Propagation::Rprivate => MsFlags::MS_PRIVATE | MsFlags::MS_REC,
        Propagation::Private => MsFlags::MS_PRIVATE,
        Propagation::Shared => MsFlags::MS_SHARED,
        Propagation::Rshared => MsFlags::MS_SHARED | MsFlags::MS_REC,
        Propagation::Slave => MsFlags::MS_SLAVE,
        Propagation::Rslave => MsFlags::MS_SLAVE | MsFlags::MS_REC,
    };
    m.mount(None, dest, None, flags, None)
        .ctx(|| format!("cannot set the propagation of {}", dest.display()))
}

/// docker's tmpfs defaults (nosuid, nodev, noexec) unless the options say otherwise;
/// flag words become mount flags, the rest is passed to tmpfs.
fn tmpfs_options(options: &str) -> (MsFlags, String) {
    let mut flags = NOSUID_NODEV_NOEXEC;
    let mut data = Vec::new();
    for o in options.split(',').filter(|o| !o.is_empty()) {
        match o {
            "ro" => flags |= MsFlags::MS_RDONLY,
            "rw" => flags.remove(MsFlags::MS_RDONLY),
            "exec" => flags.remove(MsFlags::MS_NOEXEC),
            "noexec" => flags |= MsFlags::MS_NOEXEC,
            "suid" => flags.remove(MsFlags::MS_NOSUID),
            "nosuid" => flags |= MsFlags::MS_NOSUID,
            "dev" => flags.remove(MsFlags::MS_NODEV),
            "nodev" => flags |= MsFlags::MS_NODEV,
            "noatime" => flags |= MsFlags::MS_NOATIME,
            "relatime" => flags |= MsFlags::MS_RELATIME,
            "strictatime" => flags |= MsFlags::MS_STRICTATIME,
            other => data.push(other),
        }
    }
    (flags, data.join(","))
}

pub(crate) fn mount_cgroups(
    m: &mut impl Mounter,
    target: &Path,
    plan: &CgroupMounts,
    ro: MsFlags,
) -> Result<(), ChildError> {
    let flags = NOSUID_NODEV_NOEXEC | ro;
    match plan {
        CgroupMounts::V2 => mnt(m, Some("cgroup"), target, Some("cgroup2"), flags, None),
        CgroupMounts::V1(list) => v1_tree(m, target, list, ro, |m, dir, _, opts| {
            mnt(m, Some("cgroup"), dir, Some("cgroup"), flags, Some(opts))
        }),
    }
}

/// A v1 /sys/fs/cgroup at `target`: a tmpfs with a directory per host hierarchy of `list`
/// (name, options), which `each` mounts something on, then the tmpfs remounted (`ro`).
pub(crate) fn v1_tree<M: Mounter>(
    m: &mut M,
    target: &Path,
    list: &[(String, String)],
    ro: MsFlags,
    mut each: impl FnMut(&mut M, &Path, &str, &str) -> Result<(), ChildError>,
) -> Result<(), ChildError> {
    let tmpfs = NOSUID_NODEV_NOEXEC;
    let mode = Some("mode=755");
    mnt(m, Some("tmpfs"), target, Some("tmpfs"), tmpfs, mode)?;
    for (name, opts) in list {
        let dir = target.join(name);
        ensure(&dir, false)?;
        each(m, &dir, name, opts)?;
        // "cpu,cpuacct" is also reachable as "cpu" and "cpuacct".
        if name.contains(',') {
            for part in name.split(',') {
                let _ = std::os::unix::fs::symlink(name, target.join(part));
            }
        }
    }
    m.mount(None, target, None, MsFlags::MS_REMOUNT | ro | tmpfs, mode)
        .ctx(|| "cannot remount /sys/fs/cgroup read-only".into())
}

#[cfg(test)]
#[path = "rootfs_tests.rs"]
mod tests;
