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
        &"mount cgroup $ROOT/sys/fs/cgroup/memory cgroup nosuid,nodev,noexec memory".to_string()
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
