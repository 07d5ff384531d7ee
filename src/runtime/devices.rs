//! The container's /dev: a small tmpfs holding only the standard nodes (null, zero,
//! full, random, urandom, tty), the usual symlinks, devpts, shm and mqueue, plus the
//! spec's `--device` nodes. Where mknod is not allowed (a user namespace) the host's
//! node is bind-mounted instead.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use nix::mount::MsFlags;
use nix::sys::stat::{makedev, SFlag};

use super::error::{ChildError, Ctx};
use super::mounter::{bind, ensure, mnt, Mounter};
use super::spec::ContainerSpec;

/// (name, major, minor) of the character devices every container gets, mode 0666.
pub(crate) const STANDARD: &[(&str, u64, u64)] = &[
    ("null", 1, 3),
    ("zero", 1, 5),
    ("full", 1, 7),
    ("random", 1, 8),
    ("urandom", 1, 9),
    ("tty", 5, 0),
];

/// Makes a device node, or binds the host's node over an empty file when mknod fails.
#[allow(clippy::too_many_arguments)]
pub(crate) fn make_node(
    m: &mut impl Mounter,
    target: &Path,
    host: &Path,
    kind: char,
    major: u64,
    minor: u64,
    mode: u32,
    uid: u32,
    gid: u32,
) -> Result<(), ChildError> {
    let sflag = if kind == 'b' {
        SFlag::S_IFBLK
    } else {
        SFlag::S_IFCHR
    };
    if let Some(parent) = target.parent() {
        ensure(parent, false)?;
    }
    make_node_in_dir(
        m,
        target,
        host,
        sflag,
        makedev(major, minor),
        mode,
        uid,
        gid,
    )
}

/// `make_node` in a directory that exists (the caller ensured it).
#[allow(clippy::too_many_arguments)]
pub(crate) fn make_node_in_dir(
    m: &mut impl Mounter,
    target: &Path,
    host: &Path,
    sflag: SFlag,
    dev: u64,
    mode: u32,
    uid: u32,
    gid: u32,
) -> Result<(), ChildError> {
    let _ = std::fs::remove_file(target);
    match m.mknod(target, sflag, mode, dev) {
        Ok(()) => nix::unistd::chown(target, Some(uid.into()), Some(gid.into()))
            .ctx(|| format!("cannot chown {}", target.display())),
        Err(nix::errno::Errno::EPERM) => {
            ensure(target, true)?;
            bind(m, host, target, false)
        }
        Err(e) => Err(e).ctx(|| format!("cannot create device {}", target.display())),
    }
}

pub(crate) fn setup_dev(
    m: &mut impl Mounter,
    root: &Path,
    spec: &ContainerSpec,
    resolve_in_root: fn(&Path, &str) -> Result<PathBuf, ChildError>,
) -> Result<(), ChildError> {
    let dev = resolve_in_root(root, "/dev")?;
    ensure(&dev, false)?;
    let devfs = MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME;
    mnt(
        m,
        Some("tmpfs"),
        &dev,
        Some("tmpfs"),
        devfs,
        Some("mode=755,size=65536k"),
    )?;
    for (name, major, minor) in STANDARD {
        let host = Path::new("/dev").join(name);
        let target = dev.join(name);
        // The tmpfs just mounted is empty: the node is made straight away (no parent to
        // make, nothing to unlink first), else as make_node makes it.
        match m.mknod(&target, SFlag::S_IFCHR, 0o666, makedev(*major, *minor)) {
            Ok(()) => nix::unistd::chown(&target, Some(0.into()), Some(0.into()))
                .ctx(|| format!("cannot chown {}", target.display()))?,
            // A user namespace cannot mknod: the host's node is bound over an empty file.
            Err(nix::errno::Errno::EPERM) => {
                ensure(&target, true)?;
                bind(m, &host, &target, false)?;
            }
            Err(_) => make_node(m, &target, &host, 'c', *major, *minor, 0o666, 0, 0)?,
        }
    }
    let links: [(&str, &str); 5] = [
        ("/proc/self/fd", "fd"),
        ("/proc/self/fd/0", "stdin"),
        ("/proc/self/fd/1", "stdout"),
        ("/proc/self/fd/2", "stderr"),
        ("pts/ptmx", "ptmx"),
    ];
    for (target, name) in links {
        symlink(target, dev.join(name)).ctx(|| format!("cannot create /dev/{name}"))?;
    }
    if root.join("proc/kcore").exists() {
        symlink("/proc/kcore", dev.join("core")).ctx(|| "cannot create /dev/core".into())?;
    }
    let pts = dev.join("pts");
    ensure(&pts, false)?;
    // gid 5 (tty) exists only where it is mapped (not in a single-id rootless namespace).
    let ptsopts = if crate::rootless::gid_mapped(5) {
        "newinstance,ptmxmode=0666,mode=0620,gid=5"
    } else {
        "newinstance,ptmxmode=0666,mode=0620"
    };
    let ptsfs = MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC;
    mnt(
        m,
        Some("devpts"),
        &pts,
        Some("devpts"),
        ptsfs,
        Some(ptsopts),
    )?;
    let shm = dev.join("shm");
    ensure(&shm, false)?;
    let locked = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    // docker's 64 MiB unless the container asks for another size (`--shm-size`).
    let sized = spec
        .tuning
        .as_ref()
        .and_then(|t| t.shm_size)
        .map(|n| format!("mode=1777,size={n}"));
    let shm_opts = sized.as_deref().unwrap_or("mode=1777,size=65536k");
    mnt(m, Some("shm"), &shm, Some("tmpfs"), locked, Some(shm_opts))?;
    let mq = dev.join("mqueue");
    ensure(&mq, false)?;
    mnt(m, Some("mqueue"), &mq, Some("mqueue"), locked, None)?;

    if spec.security.privileged {
        copy_host_devices(m, Path::new("/dev"), &dev)?;
    }
    for d in &spec.devices {
        let target = resolve_in_root(root, &d.container_path)?;
        let mode = if d.mode & 0o7777 == 0 {
            0o660
        } else {
            d.mode & 0o7777
        };
        make_node(
            m,
            &target,
            &d.host_path,
            d.kind,
            d.major as u64,
            d.minor as u64,
            mode,
            d.uid,
            d.gid,
        )?;
    }
    Ok(())
}

/// --privileged: every device node of the host's /dev (but its pts, shm and mqueue
/// mounts), recreated at the same path.
fn copy_host_devices(m: &mut impl Mounter, host: &Path, dev: &Path) -> Result<(), ChildError> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let Ok(entries) = std::fs::read_dir(host) else {
        return Ok(());
    };
    for e in entries.flatten() {
        let name = e.file_name();
        if host == Path::new("/dev")
            && matches!(name.to_str(), Some("pts" | "shm" | "mqueue" | "fd"))
        {
            continue;
        }
        let Ok(meta) = e.path().symlink_metadata() else {
            continue;
        };
        let ft = meta.file_type();
        let target = dev.join(&name);
        if ft.is_dir() {
            copy_host_devices(m, &e.path(), &target)?;
        } else if (ft.is_char_device() || ft.is_block_device())
            && target.symlink_metadata().is_err()
        {
            let kind = if ft.is_block_device() { 'b' } else { 'c' };
            let rdev = meta.rdev();
            let (major, minor) = (nix::sys::stat::major(rdev), nix::sys::stat::minor(rdev));
            make_node(
                m,
                &target,
                &e.path(),
                kind,
                major,
                minor,
                meta.mode() & 0o7777,
                meta.uid(),
                meta.gid(),
            )?;
        }
    }
    Ok(())
}
