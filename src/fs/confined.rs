//! A directory tree that a user controls, opened as a `Root`: every path given to it is
//! resolved by the kernel inside the root (`openat2` with `RESOLVE_IN_ROOT |
//! RESOLVE_NO_MAGICLINKS`), as if the root were `/`. A `Dir` is a directory inside a root;
//! its operations act on one name in it with `*at` calls that never follow that name
//! (`O_NOFOLLOW`, `AT_SYMLINK_NOFOLLOW`), so a symlink planted in the tree can redirect a
//! write only to another place inside the same tree. Reading content refuses anything
//! but a regular file (a symlink to `/dev/zero` or a FIFO must not hang a build) and
//! never opens a device node.
//!
//! This module does no policy (ownership rules, whiteouts, docker's COPY semantics):
//! its callers do. The `unsafe` blocks are libc calls on fds this module owns and on
//! NUL-terminated strings that outlive the call.

use super::dir::{fstatat, open_regular};
pub use super::dir::{Dir, Stat};
use super::sys::{self, check, cstring, invalid, os_cstring, proc_fd_path};
use std::ffi::{CStr, CString, OsStr, OsString};
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

const RESOLVE: u64 = libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS;
/// Symlinks followed by `mkdir_all` before it gives up, as the kernel's own limit.
const MAX_LINKS: usize = 40;

/// The root of a confined tree.
pub struct Root {
    fd: OwnedFd,
    path: PathBuf,
}

impl Root {
    /// Opens `path` (a path kiste trusts, such as a directory of its own store) as a root.
    pub fn open(path: &Path) -> io::Result<Root> {
        let c = os_cstring(path.as_os_str())?;
        let fd = sys::openat(libc::AT_FDCWD, &c, libc::O_PATH | libc::O_DIRECTORY)?;
        Ok(Root {
            fd,
            path: path.to_path_buf(),
        })
    }

    /// The directory `rel` inside this root as a root of its own: absolute symlinks below
    /// it then resolve against it (as in a chroot there, the way docker unpacks ADD).
    pub fn sub(&self, rel: impl AsRef<OsStr>) -> io::Result<Root> {
        let fd = self.resolve(bytes(&rel), libc::O_PATH | libc::O_DIRECTORY)?;
        Ok(Root {
            fd,
            path: self.path.join(OsStr::from_bytes(trim(bytes(&rel)))),
        })
    }

    /// The host path the root was opened at (for messages).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens `rel` inside the root with `flags`, following symlinks inside the root.
    fn resolve(&self, rel: &[u8], flags: libc::c_int) -> io::Result<OwnedFd> {
        let rel = trim(rel);
        let c = if rel.is_empty() {
            c".".to_owned()
        } else {
            cstring(rel)?
        };
        sys::openat2(self.fd.as_raw_fd(), &c, flags, RESOLVE)
    }

    /// The directory `rel` (following symlinks inside the root); `""` or `/` is the root.
    pub fn dir(&self, rel: impl AsRef<OsStr>) -> io::Result<Dir> {
        let fd = self.resolve(bytes(&rel), libc::O_PATH | libc::O_DIRECTORY)?;
        Ok(Dir { fd })
    }

    /// The parent directory of `rel` and its last component, which must be a plain name.
    pub fn parent(&self, rel: impl AsRef<OsStr>) -> io::Result<(Dir, CString)> {
        let (parent, name) = split(bytes(&rel))?;
        Ok((self.dir(OsStr::from_bytes(parent))?, cstring(name)?))
    }

    /// `lstat` of `rel`: its parents are followed inside the root, the last component is not.
    pub fn lstat(&self, rel: impl AsRef<OsStr>) -> io::Result<Stat> {
        if trim(bytes(&rel)).is_empty() {
            return self.dir("")?.fstat();
        }
        let (dir, name) = self.parent(rel)?;
        dir.lstat(&name)
    }

    /// `stat` of `rel`, following every symlink inside the root.
    pub fn stat(&self, rel: impl AsRef<OsStr>) -> io::Result<Stat> {
        let fd = self.resolve(bytes(&rel), libc::O_PATH)?;
        fstatat(fd.as_raw_fd(), c"", libc::AT_EMPTY_PATH)
    }

    /// Whether anything (even a dangling symlink) is at `rel`.
    pub fn exists(&self, rel: impl AsRef<OsStr>) -> bool {
        self.lstat(rel).is_ok()
    }

    /// Opens the regular file `rel` for reading, following symlinks inside the root.
    /// Anything else (device, FIFO, socket, directory) is refused before it is opened.
    pub fn open_file(&self, rel: impl AsRef<OsStr>) -> io::Result<File> {
        open_regular(self.resolve(bytes(&rel), libc::O_PATH)?)
    }

    /// Like `open_file`, but a symlink as the last component is refused (ELOOP).
    pub fn open_file_nofollow(&self, rel: impl AsRef<OsStr>) -> io::Result<File> {
        open_regular(self.resolve(bytes(&rel), libc::O_PATH | libc::O_NOFOLLOW)?)
    }

    /// The content of the regular file `rel` (symlinks followed inside the root), refused
    /// when longer than `limit` bytes.
    pub fn read(&self, rel: impl AsRef<OsStr>, limit: u64) -> io::Result<Vec<u8>> {
        let file = self.open_file(rel)?;
        let mut out = Vec::new();
        file.take(limit + 1).read_to_end(&mut out)?;
        if out.len() as u64 > limit {
            return Err(invalid(format!("file is larger than {limit} bytes")));
        }
        Ok(out)
    }

    /// Creates the regular file `rel` (which must not exist) with `mode`, for writing.
    pub fn create_file(&self, rel: impl AsRef<OsStr>, mode: u32) -> io::Result<File> {
        let (dir, name) = self.parent(rel)?;
        dir.create_file(&name, mode)
    }

    pub fn mkdir(&self, rel: impl AsRef<OsStr>, mode: u32) -> io::Result<()> {
        let (dir, name) = self.parent(rel)?;
        dir.mkdir(&name, mode)
    }

    /// `mkdir -p` inside the root. Symlinks on the way are followed inside the root, and a
    /// dangling one gets its target created (as a write through it would in docker's
    /// merged rootfs). `made` is called with the new directory's parent, its name and its
    /// root-relative path, before anything is created below it. Returns the
    /// root-relative path `rel` resolved to.
    pub fn mkdir_all(
        &self,
        rel: impl AsRef<OsStr>,
        mode: u32,
        mut made: impl FnMut(&Dir, &CStr, &str) -> io::Result<()>,
    ) -> io::Result<String> {
        let (cur, _) = self.walk(bytes(&rel), Some((mode, &mut made)))?;
        Ok(String::from_utf8_lossy(&cur.join(&b'/')).into_owned())
    }

    /// Follows `rel` component by component as the kernel would inside the root, reading
    /// each symlink with `readlinkat`; every directory is opened with `openat2` inside the
    /// root, so a wrong step here can only err inside the root, never leave it. Without
    /// `create` it stops at the first missing component and returns the rest unresolved.
    #[allow(clippy::type_complexity)]
    fn walk(
        &self,
        rel: &[u8],
        mut create: Option<(u32, &mut dyn FnMut(&Dir, &CStr, &str) -> io::Result<()>)>,
    ) -> io::Result<(Vec<Vec<u8>>, Vec<Vec<u8>>)> {
        let mut queue: std::collections::VecDeque<Vec<u8>> =
            rel.split(|&b| b == b'/').map(<[u8]>::to_vec).collect();
        let mut cur: Vec<Vec<u8>> = Vec::new();
        let mut links = 0;
        let mut at_file = false;
        while let Some(c) = queue.pop_front() {
            match c.as_slice() {
                b"" | b"." => continue,
                b".." => {
                    cur.pop();
                    at_file = false;
                    continue;
                }
                _ if at_file => return Err(io::Error::from_raw_os_error(libc::ENOTDIR)),
                _ => {}
            }
            let dir = self.dir(OsStr::from_bytes(&cur.join(&b'/')))?;
            let name = cstring(&c)?;
            match dir.lstat(&name) {
                Ok(st) if st.is_dir() => cur.push(c),
                Ok(st) if st.is_symlink() => {
                    links += 1;
                    if links > MAX_LINKS {
                        return Err(io::Error::from_raw_os_error(libc::ELOOP));
                    }
                    let target = dir.readlink(&name)?.into_vec();
                    if target.starts_with(b"/") {
                        cur.clear();
                    }
                    for part in target.split(|&b| b == b'/').rev() {
                        queue.push_front(part.to_vec());
                    }
                }
                Ok(_) if create.is_none() => {
                    cur.push(c);
                    at_file = true;
                }
                Ok(_) => return Err(io::Error::from_raw_os_error(libc::ENOTDIR)),
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => match create.as_mut() {
                    Some((mode, made)) => {
                        dir.mkdir(&name, *mode)?;
                        cur.push(c);
                        let path = String::from_utf8_lossy(&cur.join(&b'/')).into_owned();
                        made(&dir, &name, &path)?;
                    }
                    None => {
                        queue.push_front(c);
                        return Ok((cur, queue.into()));
                    }
                },
                Err(e) => return Err(e),
            }
        }
        Ok((cur, Vec::new()))
    }

    pub fn symlink(&self, target: impl AsRef<OsStr>, rel: impl AsRef<OsStr>) -> io::Result<()> {
        let (dir, name) = self.parent(rel)?;
        dir.symlink(target.as_ref(), &name)
    }

    /// Makes `new` a hard link to `existing`; both resolve inside the root, and a symlink
    /// at `existing` is linked itself, not followed.
    pub fn hardlink(&self, existing: impl AsRef<OsStr>, new: impl AsRef<OsStr>) -> io::Result<()> {
        let src = self.resolve(bytes(&existing), libc::O_PATH | libc::O_NOFOLLOW)?;
        let (dir, name) = self.parent(new)?;
        dir.link_fd(&src, &name)
    }

    pub fn mknod(&self, rel: impl AsRef<OsStr>, mode: u32, dev: u64) -> io::Result<()> {
        let (dir, name) = self.parent(rel)?;
        dir.mknod(&name, mode, dev)
    }

    pub fn lchown(&self, rel: impl AsRef<OsStr>, uid: u32, gid: u32) -> io::Result<()> {
        if trim(bytes(&rel)).is_empty() {
            return self.dir("")?.fchown(uid, gid);
        }
        let (dir, name) = self.parent(rel)?;
        dir.lchown(&name, uid, gid)
    }

    /// `chmod` of `rel`; refused (EOPNOTSUPP) when it is a symlink.
    pub fn chmod(&self, rel: impl AsRef<OsStr>, mode: u32) -> io::Result<()> {
        if trim(bytes(&rel)).is_empty() {
            return self.dir("")?.fchmod(mode);
        }
        let (dir, name) = self.parent(rel)?;
        dir.chmod(&name, mode)
    }

    pub fn set_times(
        &self,
        rel: impl AsRef<OsStr>,
        atime: (i64, i64),
        mtime: (i64, i64),
    ) -> io::Result<()> {
        if trim(bytes(&rel)).is_empty() {
            return self.dir("")?.set_own_times(atime, mtime);
        }
        let (dir, name) = self.parent(rel)?;
        dir.set_times(&name, atime, mtime)
    }

    pub fn set_xattr(&self, rel: impl AsRef<OsStr>, name: &CStr, value: &[u8]) -> io::Result<()> {
        if trim(bytes(&rel)).is_empty() {
            return self.dir("")?.set_own_xattr(name, value);
        }
        let (dir, file) = self.parent(rel)?;
        dir.set_xattr(&file, name, value)
    }

    /// One xattr of `rel` (not following a last symlink), `None` when absent.
    pub fn get_xattr(&self, rel: impl AsRef<OsStr>, name: &CStr) -> io::Result<Option<Vec<u8>>> {
        if trim(bytes(&rel)).is_empty() {
            return Ok(None);
        }
        let (dir, file) = self.parent(rel)?;
        super::xattr::get_xattr(&proc_fd_path(dir.raw(), Some(&file))?, name)
    }

    /// All xattrs of `rel` (not following a last symlink), sorted by name.
    pub fn xattrs(&self, rel: impl AsRef<OsStr>) -> io::Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let (dir, name) = self.parent(rel)?;
        dir.xattrs(&name)
    }

    pub fn rename(&self, from: impl AsRef<OsStr>, to: impl AsRef<OsStr>) -> io::Result<()> {
        let (fdir, fname) = self.parent(from)?;
        let (tdir, tname) = self.parent(to)?;
        // SAFETY: valid fds and C strings.
        check(unsafe {
            libc::renameat(
                fdir.fd.as_raw_fd(),
                fname.as_ptr(),
                tdir.fd.as_raw_fd(),
                tname.as_ptr(),
            )
        })
        .map(drop)
    }

    /// Removes `rel` whatever it is (a directory with everything below it); a missing
    /// `rel` is not an error.
    pub fn remove(&self, rel: impl AsRef<OsStr>) -> io::Result<()> {
        match self.parent(rel) {
            Ok((dir, name)) => dir.remove(&name),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(()),
            Err(e) => Err(e),
        }
    }

    pub fn readlink(&self, rel: impl AsRef<OsStr>) -> io::Result<OsString> {
        let (dir, name) = self.parent(rel)?;
        dir.readlink(&name)
    }

    /// The names in directory `rel` (symlinks followed inside the root), sorted.
    pub fn read_dir(&self, rel: impl AsRef<OsStr>) -> io::Result<Vec<OsString>> {
        self.dir(rel)?.names()
    }

    /// The host path that `rel` names, for calls that only take paths (mount(2)). The
    /// longest existing prefix is resolved inside the root and checked by the kernel; the
    /// missing rest is appended lexically (it holds no symlinks, as it does not exist).
    /// The host path and `lstat` of `rel` when something is there (its parents followed
    /// inside the root, the last component not): one `openat2`, where `host_path` and an
    /// `lstat` walk each component. `NotFound` when nothing is there.
    pub fn existing(&self, rel: impl AsRef<OsStr>) -> io::Result<(PathBuf, Stat)> {
        let fd = self.resolve(bytes(&rel), libc::O_PATH | libc::O_NOFOLLOW)?;
        let path = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))?;
        Ok((path, fstatat(fd.as_raw_fd(), c"", libc::AT_EMPTY_PATH)?))
    }

    pub fn host_path(&self, rel: impl AsRef<OsStr>) -> io::Result<PathBuf> {
        let (cur, rest) = self.walk(bytes(&rel), None)?;
        let fd = self.resolve(&cur.join(&b'/'), libc::O_PATH | libc::O_NOFOLLOW)?;
        let mut path = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))?;
        let mut depth = 0usize;
        let mut above = cur.len();
        for c in &rest {
            match c.as_slice() {
                b"" | b"." => {}
                // Lexical: nothing below here exists, and the root is never left.
                b".." => {
                    if depth > 0 {
                        path.pop();
                        depth -= 1;
                    } else if above > 0 {
                        // `cur` holds only real directories: its parent is lexical too.
                        path.pop();
                        above -= 1;
                    }
                }
                c => {
                    path.push(OsStr::from_bytes(c));
                    depth += 1;
                }
            }
        }
        Ok(path)
    }
}

/// A directory entry's name as a C string for the `Dir` calls.
pub fn name_cstring(name: &OsStr) -> io::Result<CString> {
    os_cstring(name)
}

fn bytes(rel: &impl AsRef<OsStr>) -> &[u8] {
    rel.as_ref().as_bytes()
}

/// `rel` without leading and trailing slashes.
fn trim(rel: &[u8]) -> &[u8] {
    let start = rel.iter().position(|&b| b != b'/').unwrap_or(rel.len());
    let end = rel
        .iter()
        .rposition(|&b| b != b'/')
        .map_or(start, |i| i + 1);
    &rel[start..end.max(start)]
}

/// Splits `rel` into its parent and a last component that must be a plain name.
fn split(rel: &[u8]) -> io::Result<(&[u8], &[u8])> {
    let rel = trim(rel);
    let (parent, name) = match rel.iter().rposition(|&b| b == b'/') {
        Some(i) => (&rel[..i], &rel[i + 1..]),
        None => (&rel[..0], rel),
    };
    if name.is_empty() || name == b"." || name == b".." {
        return Err(invalid(format!(
            "{:?}: the last component must be a name",
            String::from_utf8_lossy(rel)
        )));
    }
    Ok((parent, name))
}
