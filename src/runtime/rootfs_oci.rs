//! The root filesystem of an OCI bundle's container (`ContainerSpec::oci`): the
//! config's mounts in its order instead of kiste's /proc, /dev, /sys set, each with its
//! flags, data and propagation; the standard device nodes and the config's devices in
//! /dev; the hooks (see `hooks`); pivot_root; then, inside, the sysctls, the read-only
//! and masked paths, and the read-only root, in runc's order. Destinations resolve inside
//! the rootfs (`Targets`: the kernel's RESOLVE_IN_ROOT, else `rootfs::make_target`), so
//! no symlink of the image points a mount at the host.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use nix::mount::MsFlags;
use nix::sys::stat::{makedev, SFlag};

use super::devices::{make_node, make_node_in_dir, STANDARD};
use super::error::{ChildError, Ctx};
use super::mounter::{bind, ensure, mnt, remount_ro, Mounter};
use super::plan::{CgroupMounts, Plan};
use super::rootfs::{make_target, mount_cgroups, resolve_in_root, v1_tree};
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
    let targets = Targets::open(root);
    // Without a cgroup namespace a cgroup mount shows each hierarchy's root: the
    // container's own cgroup is bound over it instead, as runc does.
    let own_cgroup = match spec.namespaces.cgroup {
        NsMode::Private => None,
        _ => spec.cgroup.as_ref().map(crate::cgroups::relative_path),
    };
    for mount in &extras.mounts {
        mount_one(m, &targets, plan, mount, own_cgroup.as_deref())?;
    }
    make_devices(m, root, &targets, spec)?;
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
    let targets = Targets::open(inside);
    for p in &spec.security.readonly_paths {
        if let Some((target, _)) = targets.existing(p)? {
            bind(m, &target, &target, true)?;
            remount_ro(m, &target)?;
        }
    }
    for p in &spec.security.masked_paths {
        let Some((target, is_dir)) = targets.existing(p)? else {
            continue;
        };
        if is_dir {
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
    targets: &Targets,
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
        let dest = targets.target(&mount.destination, !is_dir)?;
        bind(m, src, &dest, mount.recursive)?;
        remount_bind(m, &dest, flags)?;
        return propagate(m, &dest, mount.propagation);
    }
    let dest = targets.target(&mount.destination, false)?;
    if mount.fstype == "cgroup" || mount.fstype == "cgroup2" {
        let ro = flags & MsFlags::MS_RDONLY;
        if let (Some(rel), CgroupMounts::V1(list)) = (own_cgroup, &plan.cgroup_mounts) {
            bind_own_v1(m, &dest, list, rel, flags)?;
            return propagate(m, &dest, mount.propagation);
        }
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

/// The flags of a config's mount that a bind takes with a second, remounting call.
const BIND_FLAGS: MsFlags = MsFlags::MS_RDONLY
    .union(MsFlags::MS_NOSUID)
    .union(MsFlags::MS_NODEV)
    .union(MsFlags::MS_NOEXEC)
    .union(MsFlags::MS_NOATIME)
    .union(MsFlags::MS_RELATIME)
    .union(MsFlags::MS_STRICTATIME)
    .union(MsFlags::MS_NODIRATIME);

/// A bind's second call: the config's flags that a bind takes only by remounting.
fn remount_bind(m: &mut impl Mounter, dest: &Path, flags: MsFlags) -> Result<(), ChildError> {
    if !flags.intersects(BIND_FLAGS) {
        return Ok(());
    }
    let again = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | (flags & BIND_FLAGS);
    m.mount(None, dest, None, again, None)
        .ctx(|| format!("cannot remount {} with its options", dest.display()))
}

/// cgroup v1 without a cgroup namespace, as runc mounts it: a tmpfs with, for each host
/// hierarchy, the container's own directory of it bound from the host's mount (still
/// visible before pivot_root), or the hierarchy's root where the container has none,
/// each remounted with the config's flags (read-only, nosuid...). No cgroup file system
/// is mounted: a bind is one call where a v1 mount takes the cgroup lock and looks the
/// hierarchy up by its options.
fn bind_own_v1(
    m: &mut impl Mounter,
    dest: &Path,
    list: &[(String, String)],
    rel: &Path,
    flags: MsFlags,
) -> Result<(), ChildError> {
    let ro = flags & MsFlags::MS_RDONLY;
    v1_tree(m, dest, list, ro, |m, dir, name, _| {
        let host = Path::new(crate::cgroups::CGROUP_ROOT).join(name);
        let own = host.join(rel);
        match m.mount(Some(&own), dir, None, MsFlags::MS_BIND, None) {
            Ok(()) => {}
            Err(nix::errno::Errno::ENOENT) => bind(m, &host, dir, false)?,
            Err(e) => return Err(e).ctx(|| format!("cannot bind {}", own.display())),
        }
        remount_bind(m, dir, flags)
    })
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
fn make_devices(
    m: &mut impl Mounter,
    root: &Path,
    targets: &Targets,
    spec: &ContainerSpec,
) -> Result<(), ChildError> {
    let dev = match targets.existing("/dev")? {
        Some((dev, true)) => dev,
        _ => resolve_in_root(root, "/dev")?,
    };
    ensure(&dev, false)?;
    for (name, major, minor) in STANDARD {
        let host = Path::new("/dev").join(name);
        let node = makedev(*major, *minor);
        make_node_in_dir(m, &dev.join(name), &host, SFlag::S_IFCHR, node, 0o666, 0, 0)?;
    }
    let links: [(&str, &str); 5] = [
        ("/proc/self/fd", "fd"),
        ("/proc/self/fd/0", "stdin"),
        ("/proc/self/fd/1", "stdout"),
        ("/proc/self/fd/2", "stderr"),
        ("pts/ptmx", "ptmx"),
    ];
    for (target, name) in links {
        // Whatever the config's /dev has there already is kept.
        match symlink(target, dev.join(name)) {
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            made => made.ctx(|| format!("cannot create /dev/{name}"))?,
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

/// Paths inside a container's root, each resolved by the kernel with one `openat2`
/// (RESOLVE_IN_ROOT) from one descriptor of the root: about four system calls a path
/// instead of the fifteen of `rootfs::make_target`'s component-by-component walk. A path
/// that does not exist yet, or any error, takes the walk (which creates what is missing
/// and words the error), so the outcome is the walk's.
struct Targets {
    root: PathBuf,
    fd: Option<OwnedFd>,
}

impl Targets {
    fn open(root: &Path) -> Targets {
        let fd = CString::new(root.as_os_str().as_bytes())
            .ok()
            .and_then(|c| {
                // SAFETY: open with a valid C string; the fd is owned below.
                let fd = unsafe {
                    libc::open(
                        c.as_ptr(),
                        libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
                    )
                };
                // SAFETY: a fresh fd.
                (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd) })
            });
        Targets {
            root: root.to_path_buf(),
            fd,
        }
    }

    /// The host path of `inside` and whether it is a directory; None when it does not
    /// exist (a dangling symlink included: runc skips those masked and read-only paths
    /// too). Other failures fall back to `resolve_in_root`, whose error is the old one.
    fn existing(&self, inside: &str) -> Result<Option<(PathBuf, bool)>, ChildError> {
        match self.resolve(inside) {
            Ok((path, is_dir, _)) => Ok(Some((path, is_dir))),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
            Err(_) => {
                let target = resolve_in_root(&self.root, inside)?;
                Ok(std::fs::symlink_metadata(&target)
                    .ok()
                    .map(|meta| (target, meta.is_dir())))
            }
        }
    }

    /// `make_target`'s answer: an existing directory (or, for `file`, non-directory)
    /// straight from the kernel, anything else through `make_target`.
    fn target(&self, dest: &str, file: bool) -> Result<PathBuf, ChildError> {
        match self.resolve(dest) {
            Ok((path, is_dir, _)) if is_dir != file => return Ok(path),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) && !file => {
                if let Some(path) = self.make_dir(dest) {
                    return Ok(path);
                }
            }
            _ => {}
        }
        make_target(&self.root, dest, file)
    }

    /// A missing directory whose parent exists (a mount point in a tmpfs the config just
    /// mounted, such as /dev/pts): one mkdirat in the parent, resolved inside the root.
    /// None sends the caller to `make_target` (a missing parent, a dangling symlink).
    fn make_dir(&self, dest: &str) -> Option<PathBuf> {
        let (parent, name) = dest.trim_end_matches('/').rsplit_once('/')?;
        if name.is_empty() || name == "." || name == ".." {
            return None;
        }
        let (_, parent_is_dir, fd) = self.resolve(parent).ok()?;
        let name = CString::new(name).ok()?;
        // SAFETY: mkdirat in a directory fd we own with a valid C string.
        if !parent_is_dir || unsafe { libc::mkdirat(fd.as_raw_fd(), name.as_ptr(), 0o755) } != 0 {
            return None;
        }
        match self.resolve(dest) {
            Ok((path, true, _)) => Some(path),
            _ => None,
        }
    }

    /// The host path of `inside`, whether it is a directory, and its O_PATH descriptor.
    fn resolve(&self, inside: &str) -> std::io::Result<(PathBuf, bool, OwnedFd)> {
        let no_fd = || std::io::Error::from_raw_os_error(libc::EBADF);
        let root = self.fd.as_ref().ok_or_else(no_fd)?;
        let rel = inside.trim_start_matches('/');
        let c = CString::new(if rel.is_empty() { "." } else { rel })
            .map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))?;
        // SAFETY: open_how is plain data; zeroed is its empty value.
        let mut how: libc::open_how = unsafe { std::mem::zeroed() };
        how.flags = (libc::O_PATH | libc::O_CLOEXEC) as u64;
        how.resolve = libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS;
        // SAFETY: openat2 with a valid dirfd, C string and open_how of the given size.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                root.as_raw_fd(),
                c.as_ptr(),
                &how as *const libc::open_how,
                std::mem::size_of::<libc::open_how>(),
            )
        };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: a fresh fd.
        let fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
        // SAFETY: stat is plain data; zeroed is a valid value to fill.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: fstat of an fd we own into that buffer.
        if unsafe { libc::fstat(fd.as_raw_fd(), &mut st) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let path = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))?;
        Ok((path, st.st_mode & libc::S_IFMT == libc::S_IFDIR, fd))
    }
}
