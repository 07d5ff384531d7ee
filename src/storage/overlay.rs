//! Overlay mounts. On kernels with the new mount API and overlay's `lowerdir+` (6.8+)
//! each layer is passed as its own `fsconfig` call, so the number of layers is not
//! limited by the one-page option string of mount(2). Older kernels get a classic
//! mount(2); when the option string would exceed a page the lower dirs are given as
//! short relative symlink names after a temporary `chdir` (the caller must be
//! single-threaded then, as kiste is when it mounts). `index=off` (as podman uses)
//! avoids overlay's inode index, which would pin each lower layer to one upper dir;
//! rootless mounts add `userxattr`.

use super::StorageError;
use std::ffi::{CStr, CString};
use std::fs;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

const PAGE_LIMIT: usize = 4096 - 1;

// From linux/mount.h; not in the libc crate for every target.
const FSOPEN_CLOEXEC: libc::c_uint = 1;
const FSCONFIG_SET_FLAG: libc::c_uint = 0;
const FSCONFIG_SET_STRING: libc::c_uint = 1;
const FSCONFIG_CMD_CREATE: libc::c_uint = 6;
const FSMOUNT_CLOEXEC: libc::c_uint = 1;
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 4;

/// Mounts an overlay of `lowers` (bottom to top, as `ImageStore::layer_dirs` returns
/// them) under `upper` at `target`, creating `upper`, `work` and `target` if missing.
/// With no lowers, `upper` is bind-mounted: overlay needs a lower layer, and a bind
/// behaves the same for a container started from `scratch`. A layer that repeats (two
/// steps that made the same change) is kept only at its top-most place: overlayfs
/// refuses a lower dir given twice, and the top copy hides the lower one entirely.
pub fn mount_overlay(
    lowers: &[PathBuf],
    upper: &Path,
    work: &Path,
    target: &Path,
    rootless: bool,
) -> Result<(), StorageError> {
    mount(lowers, upper, work, target, rootless, false)
}

/// `mount_overlay` for an upper dir that no crash needs to find intact (a build step's
/// scratch: packed into a blob that is synced on its own, or thrown away). It adds
/// overlay's `volatile` option where the new mount API is used, so that unmounting does
/// not `syncfs` the whole file system under the upper dir: measured 1 to 116 ms per RUN
/// step here while other processes were writing to the same disk.
pub fn mount_overlay_scratch(
    lowers: &[PathBuf],
    upper: &Path,
    work: &Path,
    target: &Path,
    rootless: bool,
) -> Result<(), StorageError> {
    mount(lowers, upper, work, target, rootless, true)
}

/// A volatile overlay (see `mount_overlay_scratch`) made with the new mount API but
/// attached nowhere: the descriptor of the detached mount, for a child in a mount
/// namespace of its own to `move_mount` onto `target` (made here, empty, as its mount
/// point). The host's mount table never holds it, so nothing is left to unmount: the
/// overlay goes with the last namespace or descriptor that holds it. None where this
/// cannot be done (no lowers, rootless, a kernel without `lowerdir+`): the caller
/// mounts at `target` with `mount_overlay_scratch` instead.
pub fn mount_overlay_detached(
    lowers: &[PathBuf],
    upper: &Path,
    work: &Path,
    target: &Path,
) -> Result<Option<OwnedFd>, StorageError> {
    if lowers.is_empty() {
        return Ok(None);
    }
    make_dirs(upper, work, target)?;
    match fsconfig_overlay(&unique_lowers(lowers), upper, work, false, true) {
        Ok(fd) => Ok(Some(fd)),
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOSYS) | Some(libc::EINVAL)) => Ok(None),
        Err(e) => Err(StorageError::Mount {
            target: target.to_path_buf(),
            reason: e.to_string(),
        }),
    }
}

fn make_dirs(upper: &Path, work: &Path, target: &Path) -> Result<(), StorageError> {
    for dir in [upper, work, target] {
        fs::create_dir_all(dir).map_err(|source| StorageError::CreateDir {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    Ok(())
}

/// `lowers` with a layer that repeats kept only at its top-most place (see
/// `mount_overlay`).
fn unique_lowers(lowers: &[PathBuf]) -> std::borrow::Cow<'_, [PathBuf]> {
    if !lowers
        .iter()
        .enumerate()
        .any(|(i, d)| lowers[i + 1..].contains(d))
    {
        return lowers.into();
    }
    lowers
        .iter()
        .enumerate()
        .filter(|(i, d)| !lowers[i + 1..].contains(d))
        .map(|(_, d)| d.clone())
        .collect::<Vec<_>>()
        .into()
}

fn mount(
    lowers: &[PathBuf],
    upper: &Path,
    work: &Path,
    target: &Path,
    rootless: bool,
    volatile: bool,
) -> Result<(), StorageError> {
    make_dirs(upper, work, target)?;
    let fail = |reason: String| StorageError::Mount {
        target: target.to_path_buf(),
        reason,
    };
    let unique = unique_lowers(lowers);
    let lowers = &unique[..];
    if lowers.is_empty() {
        let (src, dst) = (cpath(upper)?, cpath(target)?);
        // SAFETY: valid C strings; null fstype/data are allowed for a bind mount.
        let rc = unsafe {
            libc::mount(
                src.as_ptr(),
                dst.as_ptr(),
                std::ptr::null(),
                libc::MS_BIND,
                std::ptr::null(),
            )
        };
        return check(rc).map_err(|e| fail(format!("bind mount of {}: {e}", upper.display())));
    }
    if rootless && super::fuse::chosen() {
        return super::fuse::mount(lowers, upper, work, target).map_err(|e| fail(e.to_string()));
    }
    let native = match mount_with_fsconfig(lowers, upper, work, target, rootless, volatile) {
        Ok(()) => Ok(()),
        // ENOSYS: no new mount API; EINVAL: no `lowerdir+` (kernel < 6.8).
        Err(e)
            if matches!(e.raw_os_error(), Some(libc::ENOSYS) | Some(libc::EINVAL))
                && !is_mounted(target) =>
        {
            mount_legacy(lowers, upper, work, target, rootless)
        }
        Err(e) => Err(e),
    };
    match native {
        Ok(()) => Ok(()),
        // A kernel without overlay in user namespaces: fuse-overlayfs, where installed.
        Err(e) if rootless && !is_mounted(target) => {
            super::fuse::mount(lowers, upper, work, target)
                .map_err(|f| fail(format!("{e}; the fuse-overlayfs fallback failed too: {f}")))
        }
        Err(e) => Err(fail(e.to_string())),
    }
}

/// The classic mount(2) path, public (hidden) so tests can exercise it on new kernels.
#[doc(hidden)]
pub fn mount_legacy(
    lowers: &[PathBuf],
    upper: &Path,
    work: &Path,
    target: &Path,
    rootless: bool,
) -> io::Result<()> {
    let (upper, work) = (fs::canonicalize(upper)?, fs::canonicalize(work)?);
    let tail = format!(
        ",upperdir={},workdir={},index=off{}",
        escape(upper.as_os_str().as_bytes()),
        escape(work.as_os_str().as_bytes()),
        if rootless { ",userxattr" } else { "" }
    );
    let joined = |dirs: &mut dyn Iterator<Item = &[u8]>| {
        let parts: Vec<String> = dirs.map(escape).collect();
        format!("lowerdir={}{tail}", parts.join(":"))
    };
    // overlay's lowerdir= lists the top layer first.
    let absolute = joined(&mut lowers.iter().rev().map(|p| p.as_os_str().as_bytes()));
    if absolute.len() <= PAGE_LIMIT {
        return mount_overlay_data(target, &absolute);
    }
    // Too long: give each layer a short symlink name in a scratch dir beside `work`
    // and mount from inside it. Overlay resolves the links at mount time, so the dir
    // is removed right after.
    let links = work.with_file_name(format!(".lowers-{}", std::process::id()));
    let _ = fs::remove_dir_all(&links);
    fs::create_dir(&links)?;
    let result = (|| {
        let mut names = Vec::with_capacity(lowers.len());
        for (i, lower) in lowers.iter().enumerate() {
            let name = format!("{i:x}");
            std::os::unix::fs::symlink(fs::canonicalize(lower)?, links.join(&name))?;
            names.push(name);
        }
        let relative = joined(&mut names.iter().rev().map(|n| n.as_bytes()));
        if relative.len() > PAGE_LIMIT {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "too many layers for one mount",
            ));
        }
        let target = fs::canonicalize(target)?;
        let cwd = std::env::current_dir()?;
        std::env::set_current_dir(&links)?;
        let mounted = mount_overlay_data(&target, &relative);
        std::env::set_current_dir(&cwd)?;
        mounted
    })();
    let _ = fs::remove_dir_all(&links);
    result
}

fn mount_overlay_data(target: &Path, data: &str) -> io::Result<()> {
    let dst = cpath_io(target)?;
    let data = CString::new(data)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in a path"))?;
    // SAFETY: valid C strings for the duration of the call.
    let rc = unsafe {
        libc::mount(
            c"overlay".as_ptr(),
            dst.as_ptr(),
            c"overlay".as_ptr(),
            0,
            data.as_ptr().cast(),
        )
    };
    check(rc)
}

fn mount_with_fsconfig(
    lowers: &[PathBuf],
    upper: &Path,
    work: &Path,
    target: &Path,
    rootless: bool,
    volatile: bool,
) -> io::Result<()> {
    let mnt = fsconfig_overlay(lowers, upper, work, rootless, volatile)?;
    let dst = cpath_io(target)?;
    // SAFETY: move_mount(2) with the descriptor just made and two C strings.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            mnt.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_FDCWD,
            dst.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH,
        )
    };
    check_fd(rc).map(|_| ())
}

/// The overlay as a detached mount (`fsopen`, one `fsconfig` per option, `fsmount`).
fn fsconfig_overlay(
    lowers: &[PathBuf],
    upper: &Path,
    work: &Path,
    rootless: bool,
    volatile: bool,
) -> io::Result<OwnedFd> {
    // SAFETY: plain syscalls on valid C strings; returned fds are owned right away.
    let fs_fd = unsafe { libc::syscall(libc::SYS_fsopen, c"overlay".as_ptr(), FSOPEN_CLOEXEC) };
    let fs_fd = unsafe { OwnedFd::from_raw_fd(check_fd(fs_fd)?) };
    let set = |key: &CStr, value: Option<&CStr>| -> io::Result<()> {
        let (cmd, val) = match value {
            Some(v) => (FSCONFIG_SET_STRING, v.as_ptr()),
            None => (FSCONFIG_SET_FLAG, std::ptr::null()),
        };
        let rc = unsafe {
            libc::syscall(
                libc::SYS_fsconfig,
                fs_fd.as_raw_fd(),
                cmd,
                key.as_ptr(),
                val,
                0,
            )
        };
        check_fd(rc).map(|_| ()).map_err(|e| with_fs_log(&fs_fd, e))
    };
    set(c"source", Some(c"overlay"))?;
    for lower in lowers.iter().rev() {
        set(c"lowerdir+", Some(&cpath_io(lower)?))?;
    }
    set(c"upperdir", Some(&cpath_io(upper)?))?;
    set(c"workdir", Some(&cpath_io(work)?))?;
    set(c"index", Some(c"off"))?;
    if rootless {
        set(c"userxattr", None)?;
    }
    if volatile {
        set(c"volatile", None)?;
    }
    let rc = unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fs_fd.as_raw_fd(),
            FSCONFIG_CMD_CREATE,
            std::ptr::null::<libc::c_char>(),
            std::ptr::null::<libc::c_char>(),
            0,
        )
    };
    check_fd(rc).map_err(|e| with_fs_log(&fs_fd, e))?;
    let mnt = unsafe { libc::syscall(libc::SYS_fsmount, fs_fd.as_raw_fd(), FSMOUNT_CLOEXEC, 0) };
    Ok(unsafe { OwnedFd::from_raw_fd(check_fd(mnt)?) })
}

/// Appends the kernel's own explanation (read from the fs context fd) to an error.
fn with_fs_log(fs_fd: &OwnedFd, err: io::Error) -> io::Error {
    let mut msgs = Vec::new();
    let mut buf = [0u8; 512];
    loop {
        // SAFETY: reading into a valid buffer.
        let n = unsafe { libc::read(fs_fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            break;
        }
        msgs.push(
            String::from_utf8_lossy(&buf[..n as usize])
                .trim()
                .to_string(),
        );
    }
    if msgs.is_empty() {
        err
    } else {
        io::Error::new(err.kind(), format!("{err} ({})", msgs.join("; ")))
    }
}

/// Unmounts `target`; a busy mount is detached lazily. Not mounted is not an error.
pub fn unmount(target: &Path) -> Result<(), StorageError> {
    let fail = |source| StorageError::Unmount {
        target: target.to_path_buf(),
        source,
    };
    let dst = cpath_io(target).map_err(fail)?;
    // In rootless kiste's user namespace a plain unmount waits ~150 ms for the kernel (an
    // RCU grace period); detaching returns at once and the overlay goes with its last user.
    let flags = if crate::rootless::active() {
        libc::MNT_DETACH
    } else {
        0
    };
    // SAFETY: valid C string.
    match check(unsafe { libc::umount2(dst.as_ptr(), flags) }) {
        Ok(()) => Ok(()),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL) | Some(libc::ENOENT)) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
            check(unsafe { libc::umount2(dst.as_ptr(), libc::MNT_DETACH) }).map_err(fail)
        }
        Err(e) => Err(fail(e)),
    }
}

/// Whether something is mounted exactly at `target`, per `/proc/self/mountinfo`.
pub fn is_mounted(target: &Path) -> bool {
    let Ok(target) = fs::canonicalize(target) else {
        return false;
    };
    let Ok(info) = fs::read("/proc/self/mountinfo") else {
        return false;
    };
    let want = target.as_os_str().as_bytes();
    info.split(|&b| b == b'\n')
        .filter_map(|line| line.split(|&b| b == b' ').nth(4))
        .any(|mount_point| unescape_mountinfo(mount_point) == want)
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape_mountinfo(field: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        if field[i] == b'\\'
            && i + 3 < field.len()
            && field[i + 1..i + 4]
                .iter()
                .all(|b| (b'0'..=b'7').contains(b))
        {
            out.push(
                (field[i + 1] - b'0') * 64 + (field[i + 2] - b'0') * 8 + (field[i + 3] - b'0'),
            );
            i += 4;
        } else {
            out.push(field[i]);
            i += 1;
        }
    }
    out
}

/// Escapes the characters overlay's option parser treats specially.
fn escape(path: &[u8]) -> String {
    let mut s = String::with_capacity(path.len());
    for ch in String::from_utf8_lossy(path).chars() {
        if matches!(ch, ',' | ':' | '\\') {
            s.push('\\');
        }
        s.push(ch);
    }
    s
}

fn cpath(p: &Path) -> Result<CString, StorageError> {
    cpath_io(p).map_err(|e| StorageError::Mount {
        target: p.to_path_buf(),
        reason: e.to_string(),
    })
}

fn cpath_io(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in a path"))
}

fn check(rc: libc::c_int) -> io::Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn check_fd(rc: libc::c_long) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc as libc::c_int)
    }
}
