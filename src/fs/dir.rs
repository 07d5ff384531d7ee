//! `Dir`, a directory inside a confined root, and `Stat`: the single-name, fd-relative
//! operations under `Root`. Every call takes one name in the directory and never follows
//! it (`O_NOFOLLOW`, `AT_SYMLINK_NOFOLLOW`); content is read only from regular files,
//! checked through an `O_PATH` fd before anything opens them.
//!
//! The `unsafe` blocks are libc calls on fds this module owns and on NUL-terminated
//! strings that outlive the call.

use super::sys::{self, check, invalid, os_cstring, proc_fd_path, timespec};
use std::ffi::{CStr, OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStringExt;

/// `lstat`/`fstat` results of a file inside a root.
#[derive(Clone, Copy)]
pub struct Stat(pub libc::stat);

impl Stat {
    fn kind(&self) -> u32 {
        self.0.st_mode & libc::S_IFMT
    }
    pub fn is_dir(&self) -> bool {
        self.kind() == libc::S_IFDIR
    }
    pub fn is_file(&self) -> bool {
        self.kind() == libc::S_IFREG
    }
    pub fn is_symlink(&self) -> bool {
        self.kind() == libc::S_IFLNK
    }
    pub fn is_char_device(&self) -> bool {
        self.kind() == libc::S_IFCHR
    }
    /// The file type bits (`S_IFMT`) and the permission bits.
    pub fn mode(&self) -> u32 {
        self.0.st_mode
    }
    /// The permission bits with setuid, setgid and sticky.
    pub fn perm(&self) -> u32 {
        self.0.st_mode & 0o7777
    }
    pub fn uid(&self) -> u32 {
        self.0.st_uid
    }
    pub fn gid(&self) -> u32 {
        self.0.st_gid
    }
    pub fn size(&self) -> u64 {
        self.0.st_size as u64
    }
    pub fn rdev(&self) -> u64 {
        self.0.st_rdev
    }
    pub fn ino(&self) -> (u64, u64) {
        (self.0.st_dev, self.0.st_ino)
    }
    pub fn nlink(&self) -> u64 {
        self.0.st_nlink
    }
    pub fn mtime(&self) -> (i64, i64) {
        (self.0.st_mtime, self.0.st_mtime_nsec)
    }
    pub fn atime(&self) -> (i64, i64) {
        (self.0.st_atime, self.0.st_atime_nsec)
    }
}

pub(super) fn fstatat(dirfd: RawFd, name: &CStr, flags: libc::c_int) -> io::Result<Stat> {
    // SAFETY: stat is plain data; all-zero is a valid buffer for the kernel to fill.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: valid fd, C string and buffer.
    check(unsafe { libc::fstatat(dirfd, name.as_ptr(), &mut st, flags) })?;
    Ok(Stat(st))
}

/// A directory inside a root; its operations take a single name (no `/`).
pub struct Dir {
    pub(super) fd: OwnedFd,
}

impl Dir {
    pub(super) fn raw(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    pub fn fstat(&self) -> io::Result<Stat> {
        fstatat(self.raw(), c"", libc::AT_EMPTY_PATH)
    }

    pub fn lstat(&self, name: &CStr) -> io::Result<Stat> {
        fstatat(self.raw(), name, libc::AT_SYMLINK_NOFOLLOW)
    }

    pub fn create_file(&self, name: &CStr, mode: u32) -> io::Result<File> {
        let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW;
        // SAFETY: valid fd and C string; the fd is owned by the File afterwards.
        let fd = check(unsafe {
            libc::openat(self.raw(), name.as_ptr(), flags | libc::O_CLOEXEC, mode)
        })?;
        Ok(unsafe { File::from_raw_fd(fd) })
    }

    /// Opens the regular file `name` for reading; a symlink or non-regular file is refused.
    pub fn open_file(&self, name: &CStr) -> io::Result<File> {
        open_regular(sys::openat(
            self.raw(),
            name,
            libc::O_PATH | libc::O_NOFOLLOW,
        )?)
    }

    /// An `O_PATH` fd of `name` itself (a symlink is not followed), e.g. for `link_fd`.
    pub fn open_path_nofollow(&self, name: &CStr) -> io::Result<OwnedFd> {
        sys::openat(self.raw(), name, libc::O_PATH | libc::O_NOFOLLOW)
    }

    pub fn mkdir(&self, name: &CStr, mode: u32) -> io::Result<()> {
        // SAFETY: valid fd and C string.
        check(unsafe { libc::mkdirat(self.raw(), name.as_ptr(), mode) }).map(drop)
    }

    /// The directory `name` below this one; a symlink is refused.
    pub fn subdir(&self, name: &CStr) -> io::Result<Dir> {
        let fd = sys::openat(
            self.raw(),
            name,
            libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW,
        )?;
        Ok(Dir { fd })
    }

    pub fn symlink(&self, target: &OsStr, name: &CStr) -> io::Result<()> {
        let target = os_cstring(target)?;
        // SAFETY: valid fd and C strings.
        check(unsafe { libc::symlinkat(target.as_ptr(), self.raw(), name.as_ptr()) }).map(drop)
    }

    /// Links the file open as `src` (an `O_PATH` fd from the same root) as `name`.
    pub fn link_fd(&self, src: &OwnedFd, name: &CStr) -> io::Result<()> {
        // SAFETY: valid fds and C strings.
        let rc = unsafe {
            libc::linkat(
                src.as_raw_fd(),
                c"".as_ptr(),
                self.raw(),
                name.as_ptr(),
                libc::AT_EMPTY_PATH,
            )
        };
        if rc == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        if !matches!(err.raw_os_error(), Some(libc::EPERM) | Some(libc::ENOENT)) {
            return Err(err);
        }
        // Without CAP_DAC_READ_SEARCH AT_EMPTY_PATH is refused; the fd's /proc name works.
        let via_proc = proc_fd_path(src.as_raw_fd(), None)?;
        // SAFETY: valid fd and C strings.
        check(unsafe {
            libc::linkat(
                libc::AT_FDCWD,
                via_proc.as_ptr(),
                self.raw(),
                name.as_ptr(),
                libc::AT_SYMLINK_FOLLOW,
            )
        })
        .map(drop)
    }

    pub fn mknod(&self, name: &CStr, mode: u32, dev: u64) -> io::Result<()> {
        // SAFETY: valid fd and C string.
        check(unsafe { libc::mknodat(self.raw(), name.as_ptr(), mode as libc::mode_t, dev) })
            .map(drop)
    }

    pub fn lchown(&self, name: &CStr, uid: u32, gid: u32) -> io::Result<()> {
        // SAFETY: valid fd and C string.
        check(unsafe {
            libc::fchownat(
                self.raw(),
                name.as_ptr(),
                uid,
                gid,
                libc::AT_SYMLINK_NOFOLLOW,
            )
        })
        .map(drop)
    }

    /// `chown` of this directory itself.
    pub fn fchown(&self, uid: u32, gid: u32) -> io::Result<()> {
        // SAFETY: valid fd.
        check(unsafe { libc::fchownat(self.raw(), c"".as_ptr(), uid, gid, libc::AT_EMPTY_PATH) })
            .map(drop)
    }

    /// `chmod` of `name`; refused (EOPNOTSUPP) for a symlink, which has no mode of its own.
    pub fn chmod(&self, name: &CStr, mode: u32) -> io::Result<()> {
        if self.lstat(name)?.is_symlink() {
            return Err(io::Error::from_raw_os_error(libc::EOPNOTSUPP));
        }
        // A race may swap in a symlink after the check: then the path through this fd's
        // /proc name still only reaches inside the root, as the symlink is not followed by
        // opening it O_PATH|O_NOFOLLOW first.
        let fd = sys::openat(self.raw(), name, libc::O_PATH | libc::O_NOFOLLOW)?;
        chmod_fd(&fd, mode)
    }

    /// `chmod` of this directory itself.
    pub fn fchmod(&self, mode: u32) -> io::Result<()> {
        chmod_fd(&self.fd, mode)
    }

    pub fn set_times(&self, name: &CStr, atime: (i64, i64), mtime: (i64, i64)) -> io::Result<()> {
        let ts = [timespec(atime.0, atime.1), timespec(mtime.0, mtime.1)];
        // SAFETY: valid fd, C string and two timespecs.
        check(unsafe {
            libc::utimensat(
                self.raw(),
                name.as_ptr(),
                ts.as_ptr(),
                libc::AT_SYMLINK_NOFOLLOW,
            )
        })
        .map(drop)
    }

    pub fn set_own_times(&self, atime: (i64, i64), mtime: (i64, i64)) -> io::Result<()> {
        let ts = [timespec(atime.0, atime.1), timespec(mtime.0, mtime.1)];
        // SAFETY: valid fd and two timespecs.
        check(unsafe {
            libc::utimensat(self.raw(), c"".as_ptr(), ts.as_ptr(), libc::AT_EMPTY_PATH)
        })
        .map(drop)
    }

    /// Sets an xattr on `name` (a symlink itself, not its target).
    pub fn set_xattr(&self, file: &CStr, name: &CStr, value: &[u8]) -> io::Result<()> {
        let p = proc_fd_path(self.raw(), Some(file))?;
        super::xattr::set_xattr(&p, name, value, false)
    }

    pub fn set_own_xattr(&self, name: &CStr, value: &[u8]) -> io::Result<()> {
        let p = proc_fd_path(self.raw(), None)?;
        super::xattr::set_xattr(&p, name, value, true)
    }

    /// The xattrs of `file` (not following it), sorted by name.
    pub fn xattrs(&self, file: &CStr) -> io::Result<Vec<(Vec<u8>, Vec<u8>)>> {
        super::xattr::list_xattrs(&proc_fd_path(self.raw(), Some(file))?)
    }

    /// Removes `name` whatever it is; a missing `name` is not an error.
    pub fn remove(&self, name: &CStr) -> io::Result<()> {
        let st = match self.lstat(name) {
            Ok(st) => st,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(()),
            Err(e) => return Err(e),
        };
        if st.is_dir() {
            let sub = self.subdir(name)?;
            for child in sub.names()? {
                sub.remove(&os_cstring(&child)?)?;
            }
            // SAFETY: valid fd and C string.
            check(unsafe { libc::unlinkat(self.raw(), name.as_ptr(), libc::AT_REMOVEDIR) })
                .map(drop)
        } else {
            // SAFETY: valid fd and C string.
            check(unsafe { libc::unlinkat(self.raw(), name.as_ptr(), 0) }).map(drop)
        }
    }

    /// Removes the directory `name` if it is empty (`rmdir`).
    pub fn remove_empty_dir(&self, name: &CStr) -> io::Result<()> {
        // SAFETY: valid fd and C string.
        check(unsafe { libc::unlinkat(self.raw(), name.as_ptr(), libc::AT_REMOVEDIR) }).map(drop)
    }

    pub fn readlink(&self, name: &CStr) -> io::Result<OsString> {
        let mut buf = vec![0u8; 256];
        loop {
            // SAFETY: the buffer is valid for its length.
            let n = unsafe {
                libc::readlinkat(
                    self.raw(),
                    name.as_ptr(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                )
            };
            if n < 0 {
                return Err(io::Error::last_os_error());
            }
            if (n as usize) < buf.len() {
                buf.truncate(n as usize);
                return Ok(OsString::from_vec(buf));
            }
            buf.resize(buf.len() * 4, 0);
        }
    }

    /// The names in this directory, sorted, without `.` and `..`.
    pub fn names(&self) -> io::Result<Vec<OsString>> {
        let fd = sys::openat(self.raw(), c".", libc::O_RDONLY | libc::O_DIRECTORY)?;
        let mut dir = nix::dir::Dir::from_fd(fd).map_err(io::Error::from)?;
        let mut out = Vec::new();
        for entry in dir.iter() {
            let entry = entry.map_err(io::Error::from)?;
            let name = entry.file_name().to_bytes();
            if name != b"." && name != b".." {
                out.push(OsString::from_vec(name.to_vec()));
            }
        }
        crate::sort::sort(&mut out);
        Ok(out)
    }

    /// Apparent size of the regular files and other non-directories below this directory,
    /// walked fd-relative without following links; what cannot be read counts nothing.
    pub fn tree_size(&self) -> u64 {
        let mut total = 0;
        for name in self.names().unwrap_or_default() {
            let Ok(c) = os_cstring(&name) else {
                continue;
            };
            let Ok(st) = self.lstat(&c) else { continue };
            if st.is_dir() {
                if let Ok(sub) = self.subdir(&c) {
                    total += sub.tree_size();
                }
            } else {
                total += st.size();
            }
        }
        total
    }
}

fn chmod_fd(fd: &OwnedFd, mode: u32) -> io::Result<()> {
    // fchmod refuses O_PATH fds; the fd's /proc name reaches the same inode.
    let p = proc_fd_path(fd.as_raw_fd(), None)?;
    // SAFETY: valid C string.
    check(unsafe { libc::chmod(p.as_ptr(), mode as libc::mode_t) }).map(drop)
}

/// Reopens the `O_PATH` fd `fd` for reading if it is a regular file. The inode is checked
/// before anything opens it, so no device driver or FIFO ever sees an open.
pub(super) fn open_regular(fd: OwnedFd) -> io::Result<File> {
    let st = fstatat(fd.as_raw_fd(), c"", libc::AT_EMPTY_PATH)?;
    if !st.is_file() {
        return Err(invalid(if st.is_dir() {
            "is a directory, not a regular file"
        } else {
            "not a regular file"
        }));
    }
    let p = proc_fd_path(fd.as_raw_fd(), None)?;
    let file = sys::openat(libc::AT_FDCWD, &p, libc::O_RDONLY | libc::O_NOCTTY)?;
    Ok(File::from(file))
}
