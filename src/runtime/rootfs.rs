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
    mounts.sort_by_key(|m| m.destination.split('/').filter(|c| !c.is_empty()).count());
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
            rootfs_tree: None,
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
            oci: None,
            tuning: None,
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
    fn masked_files_are_covered_with_the_dev_null_inside_the_root() {
        // An image whose /dev is a symlink to a host directory holding a `null`: the
        // masked file must be covered with the node on the container's /dev tmpfs
        // (made where /dev resolves inside the root), never with the host's file.
        let host = tempfile::tempdir().unwrap();
        let host_dir = host.path().canonicalize().unwrap();
        fs::write(host_dir.join("null"), "host secret").unwrap();
        let (calls, _t) = record(
            |_, root| std::os::unix::fs::symlink(&host_dir, root.join("dev")).unwrap(),
            true,
        );
        let inside = format!("$ROOT{}", host_dir.display());
        let masked: Vec<_> = calls
            .iter()
            .filter(|c| c.ends_with("$ROOT/proc/keys - bind -"))
            .collect();
        assert_eq!(
            masked,
            [&format!("mount {inside}/null $ROOT/proc/keys - bind -")],
            "{calls:?}"
        );
        assert_eq!(
            fs::read_to_string(host_dir.join("null")).unwrap(),
            "host secret"
        );
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
    fn user_binds_are_ordered_by_depth_and_get_their_propagation() {
        let host = tempfile::tempdir().unwrap();
        let bind = |dest: &str, propagation| Mount {
            source: host.path().to_path_buf(),
            destination: dest.into(),
            kind: MountKind::UserBind {
                propagation,
                tree: None,
            },
            readonly: false,
        };
        let (calls, _t) = record(
            |s, _| {
                s.mounts = vec![
                    bind("/a/b", Propagation::Rprivate),
                    bind("/a", Propagation::Rslave),
                ];
            },
            false,
        );
        let src = host.path().display().to_string();
        assert_eq!(calls[0], "mount - / - rec,slave -");
        let at = |c: &str| {
            calls
                .iter()
                .position(|x| x == c)
                .unwrap_or_else(|| panic!("{c} not in {calls:?}"))
        };
        let a = at(&format!("mount {src} $ROOT/a - bind,rec -"));
        let b = at(&format!("mount {src} $ROOT/a/b - bind,rec -"));
        assert!(a < b);
        assert_eq!(calls[a + 1], "mount - $ROOT/a - rec,slave -");
        assert_eq!(calls[b + 1], "mount - $ROOT/a/b - rec,private -");
    }

    #[test]
    fn a_cloned_source_is_attached_not_bound() {
        let host = tempfile::tempdir().unwrap();
        let fd: std::os::fd::OwnedFd = std::fs::File::open(host.path()).unwrap().into();
        let (calls, _t) = record(
            |s, _| {
                s.mounts = vec![Mount {
                    source: host.path().to_path_buf(),
                    destination: "/vol".into(),
                    kind: MountKind::UserBind {
                        propagation: Propagation::Rprivate,
                        tree: Some(crate::runtime::MountTree(std::sync::Arc::new(fd))),
                    },
                    readonly: true,
                }];
            },
            false,
        );
        let i = calls
            .iter()
            .position(|c| c == "attach $ROOT/vol")
            .expect("attached");
        assert_eq!(calls[i + 1], "remount-ro $ROOT/vol");
        assert!(!calls
            .iter()
            .any(|c| c.contains("bind,rec") && c.contains("/vol")));
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
