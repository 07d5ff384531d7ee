//! The container's root filesystem: make the mount tree private, bind the rootfs onto
//! itself, mount /proc, /dev (see `devices`), /sys and /sys/fs/cgroup, the spec's
//! mounts, mask and write-protect paths, then pivot_root into it and detach the old
//! root. Destinations are resolved inside the rootfs so that image symlinks cannot point
//! a mount at the host.

use std::collections::VecDeque;
use std::fs;
use std::path::{Path, PathBuf};

use nix::mount::{mount, umount2, MntFlags, MsFlags};

use super::child::{ChildError, Ctx, Plan};
use super::devices;
use super::spec::{ContainerSpec, MountKind, NsMode};
use crate::cgroups::{self, CgroupLayout};

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
        let info = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let mut out = Vec::new();
        for line in info.lines() {
            // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS
            let Some((left, right)) = line.split_once(" - ") else {
                continue;
            };
            let mut r = right.split(' ');
            if r.next() != Some("cgroup") {
                continue;
            }
            let superopts = r.nth(1).unwrap_or("");
            let Some(point) = left.split(' ').nth(4) else {
                continue;
            };
            let Some(name) = point.strip_prefix("/sys/fs/cgroup/") else {
                continue;
            };
            let opts: Vec<&str> = superopts
                .split(',')
                .filter(|o| {
                    !matches!(*o, "rw" | "ro" | "clone_children" | "xattr" | "noprefix")
                        && !o.starts_with("release_agent=")
                })
                .collect();
            if !name.contains('/') && !opts.is_empty() {
                out.push((name.to_string(), opts.join(",")));
            }
        }
        CgroupMounts::V1(out)
    }
}

fn mnt(
    src: Option<&str>,
    target: &Path,
    fstype: Option<&str>,
    flags: MsFlags,
    data: Option<&str>,
) -> Result<(), ChildError> {
    mount(src, target, fstype, flags, data).ctx(|| {
        format!(
            "cannot mount {} on {}",
            fstype.or(src).unwrap_or("(none)"),
            target.display()
        )
    })
}

/// The path `inside` (absolute, container view) resolved within `root`, following
/// symlinks as if `root` were `/`.
pub(crate) fn resolve_in_root(root: &Path, inside: &str) -> PathBuf {
    let mut out = PathBuf::new();
    let mut queue: VecDeque<String> = inside.split('/').map(String::from).collect();
    let mut links = 0;
    while let Some(c) = queue.pop_front() {
        match c.as_str() {
            "" | "." => continue,
            ".." => {
                out.pop();
                continue;
            }
            _ => {}
        }
        let candidate = out.join(&c);
        match fs::read_link(root.join(&candidate)) {
            Ok(target) if links < 40 => {
                links += 1;
                let t = target.to_string_lossy().into_owned();
                if t.starts_with('/') {
                    out = PathBuf::new();
                }
                for part in t.split('/').rev() {
                    queue.push_front(part.to_string());
                }
            }
            _ => out = candidate,
        }
    }
    root.join(out)
}

/// Creates `path` as a directory, or as an empty file when `file`.
pub(crate) fn ensure(path: &Path, file: bool) -> Result<(), ChildError> {
    if fs::symlink_metadata(path).is_ok() {
        return Ok(());
    }
    if file {
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).ctx(|| format!("cannot create {}", parent.display()))?;
        }
        fs::File::create(path)
            .map(drop)
            .ctx(|| format!("cannot create {}", path.display()))
    } else {
        fs::create_dir_all(path).ctx(|| format!("cannot create {}", path.display()))
    }
}

/// Remounts a bind mount read-only, keeping the flags the kernel locks in a user ns.
pub(crate) fn remount_ro(target: &Path) -> Result<(), ChildError> {
    let keep = nix::sys::statvfs::statvfs(target)
        .map(|s| {
            let f = s.flags();
            let mut m = MsFlags::empty();
            use nix::sys::statvfs::FsFlags;
            for (a, b) in [
                (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
                (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
                (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
                (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
                (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
            ] {
                if f.contains(a) {
                    m |= b;
                }
            }
            m
        })
        .unwrap_or(MsFlags::empty());
    mount(
        None::<&str>,
        target,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | keep,
        None::<&str>,
    )
    .ctx(|| format!("cannot remount {} read-only", target.display()))
}

const NOSUID_NODEV_NOEXEC: MsFlags = MsFlags::MS_NOSUID
    .union(MsFlags::MS_NODEV)
    .union(MsFlags::MS_NOEXEC);

/// `in_cgroup` is called once the filesystems that do not depend on the cgroup are
/// mounted; it returns when the process is in its cgroup (and cgroup namespace).
pub(crate) fn setup(
    spec: &ContainerSpec,
    plan: &Plan,
    in_cgroup: impl FnOnce() -> Result<(), ChildError>,
) -> Result<(), ChildError> {
    let root = plan.root.as_path();
    mnt(
        None,
        Path::new("/"),
        None,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None,
    )
    .map_err(|e| ChildError::setup(format!("cannot make mounts private: {}", e.text)))?;
    mount(
        Some(root),
        root,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .ctx(|| format!("cannot bind rootfs {} onto itself", root.display()))?;

    let proc_dir = resolve_in_root(root, "/proc");
    ensure(&proc_dir, false)?;
    mnt(
        Some("proc"),
        &proc_dir,
        Some("proc"),
        NOSUID_NODEV_NOEXEC,
        None,
    )?;

    devices::setup_dev(root, spec)?;

    let sys = resolve_in_root(root, "/sys");
    ensure(&sys, false)?;
    // --privileged gets /sys and its cgroup mounts writable, as in docker.
    let privileged = spec.security.privileged;
    let ro = if privileged {
        MsFlags::empty()
    } else {
        MsFlags::MS_RDONLY
    };
    if spec.namespaces.net == NsMode::Private {
        mnt(
            Some("sysfs"),
            &sys,
            Some("sysfs"),
            NOSUID_NODEV_NOEXEC | ro,
            None,
        )?;
    } else {
        // sysfs shows the mounter's net namespace; with the host's, bind it like runc.
        mnt(
            Some("/sys"),
            &sys,
            None,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None,
        )?;
        if !privileged {
            remount_ro(&sys)?;
        }
    }
    in_cgroup()?;
    mount_cgroups(&sys.join("fs/cgroup"), &plan.cgroup_mounts, ro)?;

    for m in &spec.mounts {
        let dest = resolve_in_root(root, &m.destination);
        match &m.kind {
            MountKind::Bind => {
                let is_dir = fs::metadata(&m.source)
                    .ctx(|| format!("cannot bind {}", m.source.display()))?
                    .is_dir();
                ensure(&dest, !is_dir)?;
                mount(
                    Some(&m.source),
                    &dest,
                    None::<&str>,
                    MsFlags::MS_BIND | MsFlags::MS_REC,
                    None::<&str>,
                )
                .ctx(|| format!("cannot bind {} on {}", m.source.display(), m.destination))?;
                if m.readonly {
                    remount_ro(&dest)?;
                }
            }
            MountKind::Tmpfs { options } => {
                ensure(&dest, false)?;
                let (mut flags, data) = tmpfs_options(options);
                if m.readonly {
                    flags |= MsFlags::MS_RDONLY;
                }
                mnt(Some("tmpfs"), &dest, Some("tmpfs"), flags, Some(&data))?;
            }
        }
    }

    for p in &spec.security.masked_paths {
        let target = resolve_in_root(root, p);
        let Ok(meta) = fs::symlink_metadata(&target) else {
            continue;
        };
        if meta.is_dir() {
            mnt(
                Some("tmpfs"),
                &target,
                Some("tmpfs"),
                MsFlags::MS_RDONLY,
                None,
            )?;
        } else {
            let null = root.join("dev/null");
            mount(
                Some(&null),
                &target,
                None::<&str>,
                MsFlags::MS_BIND,
                None::<&str>,
            )
            .ctx(|| format!("cannot mask {p}"))?;
        }
    }
    for p in &spec.security.readonly_paths {
        let target = resolve_in_root(root, p);
        if fs::symlink_metadata(&target).is_err() {
            continue;
        }
        mount(
            Some(&target),
            &target,
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None::<&str>,
        )
        .ctx(|| format!("cannot make {p} read-only"))?;
        remount_ro(&target)?;
    }

    pivot_into(root)?;
    if spec.security.readonly_rootfs {
        remount_ro(Path::new("/"))?;
    }
    Ok(())
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

fn mount_cgroups(target: &Path, plan: &CgroupMounts, ro: MsFlags) -> Result<(), ChildError> {
    let flags = NOSUID_NODEV_NOEXEC | ro;
    match plan {
        CgroupMounts::V2 => mnt(Some("cgroup"), target, Some("cgroup2"), flags, None),
        CgroupMounts::V1(list) => {
            mnt(
                Some("tmpfs"),
                target,
                Some("tmpfs"),
                NOSUID_NODEV_NOEXEC,
                Some("mode=755"),
            )?;
            for (name, opts) in list {
                let dir = target.join(name);
                ensure(&dir, false)?;
                mnt(Some("cgroup"), &dir, Some("cgroup"), flags, Some(opts))?;
                // "cpu,cpuacct" is also reachable as "cpu" and "cpuacct".
                if name.contains(',') {
                    for part in name.split(',') {
                        let _ = std::os::unix::fs::symlink(name, target.join(part));
                    }
                }
            }
            mount(
                None::<&str>,
                target,
                None::<&str>,
                MsFlags::MS_REMOUNT | ro | NOSUID_NODEV_NOEXEC,
                Some("mode=755"),
            )
            .ctx(|| "cannot remount /sys/fs/cgroup read-only".into())
        }
    }
}

/// pivot_root(".", ".") stacks the old root on the new one; detaching it from there
/// leaves nothing of the host reachable.
fn pivot_into(root: &Path) -> Result<(), ChildError> {
    let old = fs::File::open("/").ctx(|| "cannot open /".into())?;
    nix::unistd::chdir(root).ctx(|| format!("cannot chdir into {}", root.display()))?;
    nix::unistd::pivot_root(".", ".")
        .ctx(|| format!("cannot pivot_root into {}", root.display()))?;
    nix::unistd::fchdir(&old).ctx(|| "cannot return to the old root".into())?;
    mount(
        None::<&str>,
        ".",
        None::<&str>,
        MsFlags::MS_SLAVE | MsFlags::MS_REC,
        None::<&str>,
    )
    .ctx(|| "cannot make the old root a slave".into())?;
    umount2(".", MntFlags::MNT_DETACH).ctx(|| "cannot detach the old root".into())?;
    nix::unistd::chdir("/").ctx(|| "cannot chdir to /".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlinks_resolve_inside_the_root() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        fs::create_dir_all(root.join("real")).unwrap();
        std::os::unix::fs::symlink("/real", root.join("abs")).unwrap();
        std::os::unix::fs::symlink("../../../../etc", root.join("escape")).unwrap();
        assert_eq!(resolve_in_root(root, "/abs/x"), root.join("real/x"));
        assert_eq!(
            resolve_in_root(root, "/escape/passwd"),
            root.join("etc/passwd")
        );
        assert_eq!(resolve_in_root(root, "/../.."), root.to_path_buf());
    }

    #[test]
    fn tmpfs_options_split_flags_from_data() {
        let (f, d) = tmpfs_options("size=64m,exec,mode=1777");
        assert!(!f.contains(MsFlags::MS_NOEXEC) && f.contains(MsFlags::MS_NOSUID));
        assert_eq!(d, "size=64m,mode=1777");
    }
}
