//! The seam between the rootfs plan and the kernel: every change to the mount table
//! (mount, read-only remount, mknod, pivot_root) goes through [`Mounter`]. [`Kernel`]
//! makes the calls; the unit tests use a recorder that writes each call down, so the
//! rootfs sequence is tested without root. `mnt`, `bind`, `remount_ro` and `ensure` wrap
//! the calls with the action and the object in their errors.

use std::fs;
use std::path::Path;

use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sys::stat::{mknod, Mode, SFlag};

use super::error::{ChildError, Ctx};

pub(crate) trait Mounter {
    fn mount(
        &mut self,
        src: Option<&Path>,
        target: &Path,
        fstype: Option<&str>,
        flags: MsFlags,
        data: Option<&str>,
    ) -> nix::Result<()>;

    /// Remounts a bind mount read-only, keeping the flags the kernel locks.
    fn remount_ro(&mut self, target: &Path) -> nix::Result<()>;

    fn mknod(&mut self, path: &Path, kind: SFlag, mode: u32, dev: u64) -> nix::Result<()>;

    /// Attaches the detached mount `tree` (from `open_tree`) at `target` (`move_mount`).
    fn attach(&mut self, tree: std::os::fd::RawFd, target: &Path) -> nix::Result<()>;

    /// Makes `root` the root and detaches the old one.
    fn pivot_root(&mut self, root: &Path) -> nix::Result<()>;
}

/// The real system calls.
pub(crate) struct Kernel;

impl Mounter for Kernel {
    fn mount(
        &mut self,
        src: Option<&Path>,
        target: &Path,
        fstype: Option<&str>,
        flags: MsFlags,
        data: Option<&str>,
    ) -> nix::Result<()> {
        mount(src, target, fstype, flags, data)
    }

    fn remount_ro(&mut self, target: &Path) -> nix::Result<()> {
        use nix::sys::statvfs::FsFlags;
        let mut keep = MsFlags::empty();
        if let Ok(s) = nix::sys::statvfs::statvfs(target) {
            for (a, b) in [
                (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
                (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
                (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
                (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
                (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
            ] {
                if s.flags().contains(a) {
                    keep |= b;
                }
            }
        }
        let flags = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | keep;
        mount(None::<&str>, target, None::<&str>, flags, None::<&str>)
    }

    fn mknod(&mut self, path: &Path, kind: SFlag, mode: u32, dev: u64) -> nix::Result<()> {
        mknod(path, kind, Mode::from_bits_truncate(mode), dev)
    }

    fn attach(&mut self, tree: std::os::fd::RawFd, target: &Path) -> nix::Result<()> {
        use std::os::unix::ffi::OsStrExt;
        const SYS_MOVE_MOUNT: libc::c_long = 429;
        const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;
        let t = std::ffi::CString::new(target.as_os_str().as_bytes())
            .map_err(|_| nix::errno::Errno::EINVAL)?;
        // SAFETY: move_mount(2) with a descriptor we were given and two C strings.
        let rc = unsafe {
            libc::syscall(
                SYS_MOVE_MOUNT,
                tree,
                c"".as_ptr(),
                libc::AT_FDCWD,
                t.as_ptr(),
                MOVE_MOUNT_F_EMPTY_PATH,
            )
        };
        nix::errno::Errno::result(rc).map(drop)
    }

    /// pivot_root(".", ".") stacks the old root on the new one; from the old root's
    /// directory, detaching "." then leaves nothing of the host reachable.
    fn pivot_root(&mut self, root: &Path) -> nix::Result<()> {
        let old = fs::File::open("/")
            .map_err(|e| nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(0)))?;
        nix::unistd::chdir(root)?;
        nix::unistd::pivot_root(".", ".")?;
        nix::unistd::fchdir(&old)?;
        mount(
            None::<&str>,
            ".",
            None::<&str>,
            MsFlags::MS_SLAVE | MsFlags::MS_REC,
            None::<&str>,
        )?;
        umount2(".", MntFlags::MNT_DETACH)?;
        nix::unistd::chdir("/")
    }
}

/// Writes every call down as one line, with `root` shown as `$ROOT`.
/// A mount with the action and object in its error.
pub(crate) fn mnt(
    m: &mut impl Mounter,
    src: Option<&str>,
    target: &Path,
    fstype: Option<&str>,
    flags: MsFlags,
    data: Option<&str>,
) -> Result<(), ChildError> {
    m.mount(src.map(Path::new), target, fstype, flags, data)
        .ctx(|| {
            format!(
                "cannot mount {} on {}",
                fstype.or(src).unwrap_or("(none)"),
                target.display()
            )
        })
}

/// A bind mount (recursive when `rec`) with its error context.
pub(crate) fn bind(
    m: &mut impl Mounter,
    src: &Path,
    target: &Path,
    rec: bool,
) -> Result<(), ChildError> {
    let flags = if rec {
        MsFlags::MS_BIND | MsFlags::MS_REC
    } else {
        MsFlags::MS_BIND
    };
    m.mount(Some(src), target, None, flags, None)
        .ctx(|| format!("cannot bind {} on {}", src.display(), target.display()))
}

pub(crate) fn remount_ro(m: &mut impl Mounter, target: &Path) -> Result<(), ChildError> {
    m.remount_ro(target)
        .ctx(|| format!("cannot remount {} read-only", target.display()))
}

/// Creates `path` as a directory, or as an empty file when `file`, with its missing
/// parents. Modes are explicit (directories 0755, files 0644, as docker makes them): the
/// child runs rootfs setup under umask 0, which would leave them writable by everyone.
pub(crate) fn ensure(path: &Path, file: bool) -> Result<(), ChildError> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    if fs::symlink_metadata(path).is_ok() {
        return Ok(());
    }
    let dirs = |p: &Path| {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(p)
            .ctx(|| format!("cannot create {}", p.display()))
    };
    if !file {
        return dirs(path);
    }
    if let Some(parent) = path.parent() {
        dirs(parent)?;
    }
    fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o644)
        .open(path)
        .map(drop)
        .ctx(|| format!("cannot create {}", path.display()))
}

#[cfg(test)]
pub(crate) struct Recorder {
    pub(crate) root: std::path::PathBuf,
    /// Shared so that a test's own callbacks can mark their place in the sequence.
    pub(crate) calls: std::rc::Rc<std::cell::RefCell<Vec<String>>>,
    /// Answer mknod with EPERM, as in a user namespace.
    pub(crate) deny_mknod: bool,
}

#[cfg(test)]
impl Recorder {
    fn show(&self, p: &Path) -> String {
        match p.strip_prefix(&self.root) {
            Ok(rest) => format!("$ROOT/{}", rest.display())
                .trim_end_matches('/')
                .to_string(),
            Err(_) => p.display().to_string(),
        }
    }
}

#[cfg(test)]
pub(crate) fn flag_names(flags: MsFlags) -> String {
    let names = [
        (MsFlags::MS_RDONLY, "ro"),
        (MsFlags::MS_NOSUID, "nosuid"),
        (MsFlags::MS_NODEV, "nodev"),
        (MsFlags::MS_NOEXEC, "noexec"),
        (MsFlags::MS_REMOUNT, "remount"),
        (MsFlags::MS_BIND, "bind"),
        (MsFlags::MS_REC, "rec"),
        (MsFlags::MS_PRIVATE, "private"),
        (MsFlags::MS_SHARED, "shared"),
        (MsFlags::MS_SLAVE, "slave"),
        (MsFlags::MS_STRICTATIME, "strictatime"),
    ];
    let v: Vec<&str> = names
        .iter()
        .filter(|(f, _)| flags.contains(*f))
        .map(|(_, n)| *n)
        .collect();
    v.join(",")
}

#[cfg(test)]
impl Mounter for Recorder {
    fn mount(
        &mut self,
        src: Option<&Path>,
        target: &Path,
        fstype: Option<&str>,
        flags: MsFlags,
        data: Option<&str>,
    ) -> nix::Result<()> {
        let line = format!(
            "mount {} {} {} {} {}",
            src.map_or("-".into(), |s| self.show(s)),
            self.show(target),
            fstype.unwrap_or("-"),
            flag_names(flags),
            data.unwrap_or("-")
        );
        self.calls.borrow_mut().push(line);
        Ok(())
    }

    fn attach(&mut self, _tree: std::os::fd::RawFd, target: &Path) -> nix::Result<()> {
        let line = format!("attach {}", self.show(target));
        self.calls.borrow_mut().push(line);
        Ok(())
    }

    fn remount_ro(&mut self, target: &Path) -> nix::Result<()> {
        let line = format!("remount-ro {}", self.show(target));
        self.calls.borrow_mut().push(line);
        Ok(())
    }

    fn mknod(&mut self, path: &Path, _kind: SFlag, _mode: u32, dev: u64) -> nix::Result<()> {
        let line = format!(
            "mknod {} {}:{}",
            self.show(path),
            nix::sys::stat::major(dev),
            nix::sys::stat::minor(dev)
        );
        self.calls.borrow_mut().push(line);
        if self.deny_mknod {
            return Err(nix::errno::Errno::EPERM);
        }
        fs::write(path, b"").map_err(|_| nix::errno::Errno::EIO)
    }

    fn pivot_root(&mut self, root: &Path) -> nix::Result<()> {
        let line = format!("pivot_root {}", self.show(root));
        self.calls.borrow_mut().push(line);
        Ok(())
    }
}
