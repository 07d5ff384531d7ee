//! The container's root filesystem: make the mount tree private, bind the rootfs onto
//! itself, mount /proc, /dev (see `devices`), /sys and /sys/fs/cgroup, the spec's
//! mounts, mask and write-protect paths, then pivot_root into it and detach the old
//! root. Destinations are resolved inside the rootfs so that image symlinks cannot point
//! a mount at the host.

use std::fs;
use std::path::{Path, PathBuf};

use nix::mount::MsFlags;

use super::devices;
use super::error::{ChildError, Ctx};
use super::mounter::{bind, ensure, mnt, remount_ro, Mounter};
use super::plan::{CgroupMounts, Plan};
use super::spec::{ContainerSpec, MountKind, NsMode};

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
    m.mount(
        None,
        Path::new("/"),
        None,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None,
    )
    .ctx(|| "cannot make mounts private".into())?;
    m.mount(
        Some(root),
        root,
        None,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None,
    )
    .ctx(|| format!("cannot bind rootfs {} onto itself", root.display()))?;

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
    if spec.namespaces.net == NsMode::Private {
        mnt(
            m,
            Some("sysfs"),
            &sys,
            Some("sysfs"),
            NOSUID_NODEV_NOEXEC | ro,
            None,
        )?;
    } else {
        // sysfs shows the mounter's net namespace; with the host's, bind it like runc.
        bind(m, Path::new("/sys"), &sys, true)?;
        if !privileged {
            remount_ro(m, &sys)?;
        }
    }
    in_cgroup()?;
    mount_cgroups(m, &sys.join("fs/cgroup"), &plan.cgroup_mounts, ro)?;

    for mount in &spec.mounts {
        let dest = resolve_in_root(root, &mount.destination)?;
        match &mount.kind {
            MountKind::Bind => {
                let is_dir = fs::metadata(&mount.source)
                    .ctx(|| format!("cannot bind {}", mount.source.display()))?
                    .is_dir();
                ensure(&dest, !is_dir)?;
                bind(m, &mount.source, &dest, true)?;
                if mount.readonly {
                    remount_ro(m, &dest)?;
                }
            }
            MountKind::Tmpfs { options } => {
                ensure(&dest, false)?;
                let (mut flags, data) = tmpfs_options(options);
                if mount.readonly {
                    flags |= MsFlags::MS_RDONLY;
                }
                mnt(m, Some("tmpfs"), &dest, Some("tmpfs"), flags, Some(&data))?;
            }
        }
    }

    for p in &spec.security.masked_paths {
        let target = resolve_in_root(root, p)?;
        let Ok(meta) = fs::symlink_metadata(&target) else {
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
            bind(m, &root.join("dev/null"), &target, false)?;
        }
    }
    for p in &spec.security.readonly_paths {
        let target = resolve_in_root(root, p)?;
        if fs::symlink_metadata(&target).is_ok() {
            bind(m, &target, &target, true)?;
            remount_ro(m, &target)?;
        }
    }

    m.pivot_root(root)
        .ctx(|| format!("cannot pivot_root into {}", root.display()))?;
    if spec.security.readonly_rootfs {
        remount_ro(m, Path::new("/"))?;
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

fn mount_cgroups(
    m: &mut impl Mounter,
    target: &Path,
    plan: &CgroupMounts,
    ro: MsFlags,
) -> Result<(), ChildError> {
    let flags = NOSUID_NODEV_NOEXEC | ro;
    match plan {
        CgroupMounts::V2 => mnt(m, Some("cgroup"), target, Some("cgroup2"), flags, None),
        CgroupMounts::V1(list) => {
            let tmpfs = NOSUID_NODEV_NOEXEC;
            mnt(
                m,
                Some("tmpfs"),
                target,
                Some("tmpfs"),
                tmpfs,
                Some("mode=755"),
            )?;
            for (name, opts) in list {
                let dir = target.join(name);
                ensure(&dir, false)?;
                mnt(m, Some("cgroup"), &dir, Some("cgroup"), flags, Some(opts))?;
                // "cpu,cpuacct" is also reachable as "cpu" and "cpuacct".
                if name.contains(',') {
                    for part in name.split(',') {
                        let _ = std::os::unix::fs::symlink(name, target.join(part));
                    }
                }
            }
            let flags = MsFlags::MS_REMOUNT | ro | tmpfs;
            m.mount(None, target, None, flags, Some("mode=755"))
                .ctx(|| "cannot remount /sys/fs/cgroup read-only".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::mounter::Recorder;
    use crate::runtime::spec::{Mount, Namespaces, Stdio};
    use std::cell::RefCell;
    use std::rc::Rc;

    fn spec(root: &Path) -> ContainerSpec {
        ContainerSpec {
            id: "t".into(),
            rootfs: root.to_path_buf(),
            args: vec!["true".into()],
            env: vec![],
            cwd: "/".into(),
            user: String::new(),
            hostname: "h".into(),
            namespaces: Namespaces::default(),
            mounts: vec![],
            devices: vec![],
            rlimits: vec![],
            security: crate::runtime::default_security(),
            cgroup: None,
            stdio: Stdio {
                stdin: 0,
                stdout: 1,
                stderr: 2,
            },
            init: false,
        }
    }

    /// Runs `setup` against a recorder in a temp rootfs with /proc/keys, /proc/acpi
    /// and /proc/sys present (so that masking and read-only binds have targets).
    fn record(
        edit: impl FnOnce(&mut ContainerSpec, &Path),
        deny_mknod: bool,
    ) -> (Vec<String>, tempfile::TempDir) {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().canonicalize().unwrap();
        fs::create_dir_all(root.join("proc/acpi")).unwrap();
        fs::create_dir_all(root.join("proc/sys")).unwrap();
        fs::write(root.join("proc/keys"), "").unwrap();
        let mut s = spec(&root);
        edit(&mut s, &root);
        let calls = Rc::new(RefCell::new(Vec::new()));
        let mut rec = Recorder {
            root: root.clone(),
            calls: calls.clone(),
            deny_mknod,
        };
        let plan = Plan::for_test(
            root,
            CgroupMounts::V1(vec![("memory".into(), "memory".into())]),
        );
        let marker = calls.clone();
        setup(&mut rec, &s, &plan, || {
            marker.borrow_mut().push("in-cgroup".into());
            Ok(())
        })
        .unwrap();
        let out = calls.borrow().clone();
        (out, t)
    }

    #[test]
    fn default_sequence_mounts_masks_and_pivots_in_order() {
        let (calls, _t) = record(|_, _| {}, false);
        let want = [
            "mount - / - rec,private -",
            "mount $ROOT $ROOT - bind,rec -",
            "mount proc $ROOT/proc proc nosuid,nodev,noexec -",
            "mount tmpfs $ROOT/dev tmpfs nosuid,strictatime mode=755,size=65536k",
            "mknod $ROOT/dev/null 1:3",
            "mknod $ROOT/dev/zero 1:5",
            "mknod $ROOT/dev/full 1:7",
            "mknod $ROOT/dev/random 1:8",
            "mknod $ROOT/dev/urandom 1:9",
            "mknod $ROOT/dev/tty 5:0",
            "mount devpts $ROOT/dev/pts devpts nosuid,noexec newinstance,ptmxmode=0666,mode=0620,gid=5",
            "mount shm $ROOT/dev/shm tmpfs nosuid,nodev,noexec mode=1777,size=65536k",
            "mount mqueue $ROOT/dev/mqueue mqueue nosuid,nodev,noexec -",
            "mount sysfs $ROOT/sys sysfs ro,nosuid,nodev,noexec -",
            "in-cgroup",
            "mount tmpfs $ROOT/sys/fs/cgroup tmpfs nosuid,nodev,noexec mode=755",
            "mount cgroup $ROOT/sys/fs/cgroup/memory cgroup ro,nosuid,nodev,noexec memory",
            "mount - $ROOT/sys/fs/cgroup - ro,nosuid,nodev,noexec,remount mode=755",
            "mount tmpfs $ROOT/proc/acpi tmpfs ro -",
            "mount $ROOT/dev/null $ROOT/proc/keys - bind -",
            "mount $ROOT/proc/sys $ROOT/proc/sys - bind,rec -",
            "remount-ro $ROOT/proc/sys",
            "pivot_root $ROOT",
        ];
        assert_eq!(calls, want);
    }

    #[test]
    fn host_network_binds_sys_and_read_only_root_is_remounted_last() {
        let (calls, _t) = record(
            |s, _| {
                s.namespaces.net = NsMode::Host;
                s.security.readonly_rootfs = true;
            },
            false,
        );
        assert!(calls.contains(&"mount /sys $ROOT/sys - bind,rec -".to_string()));
        assert!(calls.contains(&"remount-ro $ROOT/sys".to_string()));
        assert_eq!(
            calls[calls.len() - 2..],
            ["pivot_root $ROOT", "remount-ro /"]
        );
    }

    #[test]
    fn privileged_keeps_sys_writable() {
        let (calls, _t) = record(|s, _| s.security.privileged = true, false);
        assert!(calls.contains(&"mount sysfs $ROOT/sys sysfs nosuid,nodev,noexec -".to_string()));
        assert!(calls.contains(
            &"mount cgroup $ROOT/sys/fs/cgroup/memory cgroup nosuid,nodev,noexec memory"
                .to_string()
        ));
    }

    #[test]
    fn without_mknod_the_host_nodes_are_bound() {
        let (calls, t) = record(|_, _| {}, true);
        assert!(
            calls.contains(&"mount /dev/null $ROOT/dev/null - bind -".to_string()),
            "{calls:?}"
        );
        assert!(calls.contains(&"mount /dev/tty $ROOT/dev/tty - bind -".to_string()));
        assert!(t.path().join("dev/null").is_file());
    }

    #[test]
    fn mount_destinations_stay_inside_the_rootfs() {
        let host = tempfile::tempdir().unwrap();
        let (calls, t) = record(
            |s, root| {
                // An image symlink pointing out of the rootfs must land inside it.
                std::os::unix::fs::symlink("/../../../etc", root.join("data")).unwrap();
                s.mounts = vec![Mount {
                    source: host.path().to_path_buf(),
                    destination: "/data/app".into(),
                    kind: crate::runtime::spec::MountKind::Bind,
                    readonly: true,
                }];
            },
            false,
        );
        let src = host.path().display().to_string();
        assert!(
            calls.contains(&format!("mount {src} $ROOT/etc/app - bind,rec -")),
            "{calls:?}"
        );
        assert!(calls.contains(&"remount-ro $ROOT/etc/app".to_string()));
        assert!(t.path().join("etc/app").is_dir());
    }

    #[test]
    fn symlinks_resolve_inside_the_root() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        fs::create_dir_all(root.join("real")).unwrap();
        std::os::unix::fs::symlink("/real", root.join("abs")).unwrap();
        std::os::unix::fs::symlink("../../../../etc", root.join("escape")).unwrap();
        assert_eq!(
            resolve_in_root(root, "/abs/x").unwrap(),
            root.join("real/x")
        );
        assert_eq!(
            resolve_in_root(root, "/escape/passwd").unwrap(),
            root.join("etc/passwd")
        );
        assert_eq!(resolve_in_root(root, "/../..").unwrap(), root.to_path_buf());
    }

    #[test]
    fn tmpfs_options_split_flags_from_data() {
        let (f, d) = tmpfs_options("size=64m,exec,mode=1777");
        assert!(!f.contains(MsFlags::MS_NOEXEC) && f.contains(MsFlags::MS_NOSUID));
        assert_eq!(d, "size=64m,mode=1777");
    }
}
