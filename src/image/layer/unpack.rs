//! Untrusted layer tar → overlay-format directory. Never `tar::Archive::unpack`: every
//! entry's parent is opened with `openat2(RESOLVE_IN_ROOT)` so `..`, absolute paths and
//! symlinks (planted earlier in the same tar) all resolve inside the layer root, and the
//! final component is created with `*at` calls that do not follow it. Paths with a `..`
//! component are rejected outright. `.wh.NAME` becomes an overlay whiteout (a 0:0
//! character device) and `.wh..wh..opq` the opaque xattr on its directory; overlay's
//! own xattrs in the tar are dropped so a layer cannot forge redirects or origins.
//!
//! The `unsafe` blocks here are direct libc calls on NUL-terminated `CString`s and fds
//! this module owns for the duration of the call; none keeps a pointer past it.

use super::{cstring, set_xattr, OverlayXattrs};
use crate::image::ImageError;
use std::ffi::CStr;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;
use tar::EntryType;

const WHITEOUT_PREFIX: &[u8] = b".wh.";
const OPAQUE_MARKER: &[u8] = b".wh..wh..opq";

/// Extracts the tar read from `reader` into the existing, empty directory `dest` and
/// returns the reader (positioned after the end-of-archive marker).
pub(crate) fn unpack_layer<R: Read>(
    reader: R,
    dest: &Path,
    layer: &str,
    xattrs: OverlayXattrs,
) -> Result<R, ImageError> {
    let fail = |path: &[u8], err: io::Error| ImageError::Extract {
        layer: layer.to_string(),
        reason: if path.is_empty() {
            err.to_string()
        } else {
            format!("{}: {err}", String::from_utf8_lossy(path))
        },
    };
    let root = open_path(
        libc::AT_FDCWD,
        &super::path_cstring(dest).map_err(|e| fail(b"", e))?,
        0,
    )
    .map_err(|e| fail(b"", e))?;
    let mut unpacker = Unpacker {
        root,
        xattrs,
        dir_times: Vec::new(),
        parent_cache: None,
    };
    let mut archive = tar::Archive::new(reader);
    for entry in archive.entries().map_err(|e| fail(b"", e))? {
        let mut entry = entry.map_err(|e| fail(b"", e))?;
        let path = entry.path_bytes().into_owned();
        unpacker
            .entry(&mut entry, &path)
            .map_err(|e| fail(&path, e))?;
    }
    unpacker.finish().map_err(|e| fail(b"", e))?;
    Ok(archive.into_inner())
}

struct Unpacker {
    root: OwnedFd,
    xattrs: OverlayXattrs,
    /// Directory mtimes, applied last because creating children changes them.
    dir_times: Vec<(Vec<u8>, i64)>,
    /// The parent directory of the previous entry; most entries share it. An entry only
    /// ever replaces children of its own parent, so the cached fd never goes stale.
    parent_cache: Option<(Vec<u8>, OwnedFd)>,
}

struct Meta {
    mode: u32,
    uid: u32,
    gid: u32,
    mtime: i64,
}

impl Unpacker {
    fn entry<R: Read>(&mut self, entry: &mut tar::Entry<'_, R>, path: &[u8]) -> io::Result<()> {
        let header = entry.header();
        let kind = header.entry_type();
        let creates_file = matches!(
            kind,
            EntryType::Directory
                | EntryType::Regular
                | EntryType::Continuous
                | EntryType::GNUSparse
                | EntryType::Symlink
                | EntryType::Link
                | EntryType::Char
                | EntryType::Block
                | EntryType::Fifo
        );
        if !creates_file {
            return Ok(()); // global PAX headers, unknown types: nothing to create or replace
        }
        let raw = header.as_old();
        let meta = Meta {
            mode: lenient(header.mode(), &raw.mode)? & 0o7777,
            uid: u32::try_from(lenient(header.uid(), &raw.uid)?)
                .map_err(|_| invalid("uid out of range"))?,
            gid: u32::try_from(lenient(header.gid(), &raw.gid)?)
                .map_err(|_| invalid("gid out of range"))?,
            mtime: lenient(header.mtime(), &raw.mtime)? as i64,
        };
        let dev = if matches!(kind, EntryType::Char | EntryType::Block) {
            (
                header.device_major()?.unwrap_or(0),
                header.device_minor()?.unwrap_or(0),
            )
        } else {
            (0, 0)
        };
        let comps = components(path)?;
        let Some((&last, parent)) = comps.split_last() else {
            // The archive root ("./"): only a directory entry makes sense there.
            if kind == EntryType::Directory {
                let attrs = self.pax_xattrs(entry)?;
                return self.apply_root_meta(&meta, &attrs);
            }
            return Err(invalid("non-directory entry for the layer root"));
        };

        if let Some(hidden) = last.strip_prefix(WHITEOUT_PREFIX) {
            let parent_fd = self.parent(parent)?;
            if last == OPAQUE_MARKER {
                let dir = proc_fd_path(parent_fd, None)?;
                return set_xattr(&dir, self.xattrs.opaque(), b"y", true);
            }
            if hidden.starts_with(WHITEOUT_PREFIX)
                || hidden.is_empty()
                || hidden == b"."
                || hidden == b".."
            {
                return Ok(()); // other aufs metadata (.wh..wh.plnk etc.) has no overlay meaning
            }
            let name = cstring(hidden)?;
            self.clear(parent_fd, &name, false)?;
            mknod(parent_fd, &name, libc::S_IFCHR | meta.mode, 0, 0)?;
            return self.apply_meta(parent_fd, &name, path, EntryType::Char, &meta, &[]);
        }

        let attrs = self.pax_xattrs(entry)?;
        let parent_fd = self.parent(parent)?;
        let name = cstring(last)?;
        let is_dir = kind == EntryType::Directory;
        self.clear(parent_fd, &name, is_dir)?;
        match kind {
            EntryType::Directory => {
                match nix_ok(unsafe { libc::mkdirat(parent_fd, name.as_ptr(), 0o700) }) {
                    Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
                    other => drop(other?),
                }
            }
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
                let flags = libc::O_WRONLY
                    | libc::O_CREAT
                    | libc::O_EXCL
                    | libc::O_NOFOLLOW
                    | libc::O_CLOEXEC;
                // SAFETY: valid C strings; the fd is owned by `file` afterwards.
                let fd = nix_ok(unsafe { libc::openat(parent_fd, name.as_ptr(), flags, 0o600) })?;
                let mut file = unsafe { File::from_raw_fd(fd) };
                io::copy(entry, &mut file)?;
            }
            EntryType::Symlink => {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| invalid("symlink without a target"))?;
                let target = cstring(&target)?;
                nix_ok(unsafe { libc::symlinkat(target.as_ptr(), parent_fd, name.as_ptr()) })?;
            }
            EntryType::Link => {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| invalid("hardlink without a target"))?;
                return self.hardlink(parent_fd, &name, &target);
            }
            EntryType::Char => mknod(parent_fd, &name, libc::S_IFCHR | meta.mode, dev.0, dev.1)?,
            EntryType::Block => mknod(parent_fd, &name, libc::S_IFBLK | meta.mode, dev.0, dev.1)?,
            EntryType::Fifo => mknod(parent_fd, &name, libc::S_IFIFO | meta.mode, 0, 0)?,
            _ => unreachable!("filtered above"),
        }
        self.apply_meta(parent_fd, &name, path, kind, &meta, &attrs)
    }

    fn pax_xattrs<R: Read>(
        &self,
        entry: &mut tar::Entry<'_, R>,
    ) -> io::Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut attrs = Vec::new();
        if let Some(exts) = entry.pax_extensions()? {
            for ext in exts {
                let ext = ext?;
                let Some(name) = ext.key_bytes().strip_prefix(b"SCHILY.xattr.") else {
                    continue;
                };
                if name.starts_with(b"trusted.overlay.") || name.starts_with(b"user.overlay.") {
                    continue;
                }
                attrs.push((name.to_vec(), ext.value_bytes().to_vec()));
            }
        }
        Ok(attrs)
    }

    /// Opens (creating if missing, as tars may omit directory entries) the directory
    /// `comps` inside the root, resolving any symlinks on the way inside the root.
    fn parent(&mut self, comps: &[&[u8]]) -> io::Result<RawFd> {
        let key = comps.join(&b'/');
        if let Some((cached, fd)) = &self.parent_cache {
            if *cached == key {
                return Ok(fd.as_raw_fd());
            }
        }
        let fd = match self.open_in_root(&key, libc::O_DIRECTORY) {
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                for i in 0..comps.len() {
                    let dir = self.open_in_root(&comps[..i].join(&b'/'), libc::O_DIRECTORY)?;
                    let name = cstring(comps[i])?;
                    match nix_ok(unsafe { libc::mkdirat(dir.as_raw_fd(), name.as_ptr(), 0o755) }) {
                        Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
                        other => drop(other?),
                    }
                }
                self.open_in_root(&key, libc::O_DIRECTORY)?
            }
            other => other?,
        };
        let raw = fd.as_raw_fd();
        self.parent_cache = Some((key, fd));
        Ok(raw)
    }

    fn open_in_root(&self, rel: &[u8], extra: libc::c_int) -> io::Result<OwnedFd> {
        let rel = if rel.is_empty() {
            c".".to_owned()
        } else {
            cstring(rel)?
        };
        let resolve = libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS;
        openat2(
            self.root.as_raw_fd(),
            &rel,
            libc::O_PATH | libc::O_CLOEXEC | extra,
            resolve,
        )
    }

    /// Removes whatever is at `name` unless both it and the new entry are directories.
    fn clear(&self, parent: RawFd, name: &CStr, new_is_dir: bool) -> io::Result<()> {
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: valid C string and stat buffer.
        let rc =
            unsafe { libc::fstatat(parent, name.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) };
        if rc != 0 {
            let err = io::Error::last_os_error();
            return if err.raw_os_error() == Some(libc::ENOENT) {
                Ok(())
            } else {
                Err(err)
            };
        }
        let old_is_dir = st.st_mode & libc::S_IFMT == libc::S_IFDIR;
        if old_is_dir && new_is_dir {
            return Ok(());
        }
        if old_is_dir {
            // std's remove_dir_all never follows symlinks below the named directory.
            std::fs::remove_dir_all(bytes_path(&proc_fd_path(parent, Some(name))?))
        } else {
            nix_ok(unsafe { libc::unlinkat(parent, name.as_ptr(), 0) }).map(|_| ())
        }
    }

    fn hardlink(&mut self, parent: RawFd, name: &CStr, target: &[u8]) -> io::Result<()> {
        let target = components(target)?.join(&b'/');
        let src = self.open_in_root(&target, libc::O_NOFOLLOW)?;
        let rc = unsafe {
            libc::linkat(
                src.as_raw_fd(),
                c"".as_ptr(),
                parent,
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
        // Without CAP_DAC_READ_SEARCH, AT_EMPTY_PATH is refused; /proc's link works.
        let via_proc = proc_fd_path(src.as_raw_fd(), None)?;
        nix_ok(unsafe {
            libc::linkat(
                libc::AT_FDCWD,
                via_proc.as_ptr(),
                parent,
                name.as_ptr(),
                libc::AT_SYMLINK_FOLLOW,
            )
        })
        .map(|_| ())
    }

    /// Ownership first (chown clears setuid bits and file capabilities), then mode,
    /// then xattrs, then the mtime (deferred for directories).
    fn apply_meta(
        &mut self,
        parent: RawFd,
        name: &CStr,
        path: &[u8],
        kind: EntryType,
        meta: &Meta,
        attrs: &[(Vec<u8>, Vec<u8>)],
    ) -> io::Result<()> {
        nix_ok(unsafe {
            libc::fchownat(
                parent,
                name.as_ptr(),
                meta.uid,
                meta.gid,
                libc::AT_SYMLINK_NOFOLLOW,
            )
        })?;
        if kind != EntryType::Symlink {
            nix_ok(unsafe { libc::fchmodat(parent, name.as_ptr(), meta.mode, 0) })?;
        }
        if !attrs.is_empty() {
            let full = proc_fd_path(parent, Some(name))?;
            set_xattrs(&full, attrs, false)?;
        }
        if kind == EntryType::Directory {
            self.dir_times
                .push((components(path)?.join(&b'/'), meta.mtime));
            return Ok(());
        }
        let times = [timespec(meta.mtime), timespec(meta.mtime)];
        nix_ok(unsafe {
            libc::utimensat(
                parent,
                name.as_ptr(),
                times.as_ptr(),
                libc::AT_SYMLINK_NOFOLLOW,
            )
        })
        .map(|_| ())
    }

    fn apply_root_meta(&mut self, meta: &Meta, attrs: &[(Vec<u8>, Vec<u8>)]) -> io::Result<()> {
        let root = proc_fd_path(self.root.as_raw_fd(), None)?;
        nix_ok(unsafe { libc::chown(root.as_ptr(), meta.uid, meta.gid) })?;
        nix_ok(unsafe { libc::chmod(root.as_ptr(), meta.mode) })?;
        set_xattrs(&root, attrs, true)?;
        self.dir_times.push((Vec::new(), meta.mtime));
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.parent_cache = None;
        let times = std::mem::take(&mut self.dir_times);
        for (rel, mtime) in times.iter().rev() {
            // A later entry may have replaced the directory; then there is nothing to do.
            let dir = match self.open_in_root(rel, libc::O_DIRECTORY | libc::O_NOFOLLOW) {
                Ok(fd) => fd,
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::ENOENT) | Some(libc::ENOTDIR) | Some(libc::ELOOP)
                    ) =>
                {
                    continue
                }
                Err(e) => return Err(e),
            };
            let ts = [timespec(*mtime), timespec(*mtime)];
            nix_ok(unsafe {
                libc::utimensat(
                    dir.as_raw_fd(),
                    c"".as_ptr(),
                    ts.as_ptr(),
                    libc::AT_EMPTY_PATH,
                )
            })?;
        }
        Ok(())
    }
}

fn set_xattrs(path: &CStr, attrs: &[(Vec<u8>, Vec<u8>)], follow: bool) -> io::Result<()> {
    for (name, value) in attrs {
        match set_xattr(path, &cstring(name)?, value, follow) {
            // A file system without xattr support cannot hold them; that is not the layer's fault.
            Err(e) if e.raw_os_error() == Some(libc::ENOTSUP) => {}
            other => other?,
        }
    }
    Ok(())
}

/// Splits an archive path into components; `.` and empty ones (leading `/`) vanish,
/// `..` is refused rather than interpreted.
fn components(path: &[u8]) -> io::Result<Vec<&[u8]>> {
    let mut out = Vec::new();
    for c in path.split(|&b| b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => return Err(invalid("path contains a '..' component")),
            c => out.push(c),
        }
    }
    Ok(out)
}

/// An all-blank numeric field means 0 (as Go's archive/tar reads it); the tar crate
/// would reject it.
fn lenient<T: Default>(value: io::Result<T>, field: &[u8]) -> io::Result<T> {
    match value {
        Err(_) if field.iter().all(|&b| b == 0 || b == b' ') => Ok(T::default()),
        other => other,
    }
}

fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_string())
}

fn nix_ok(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

fn timespec(secs: i64) -> libc::timespec {
    libc::timespec {
        tv_sec: secs as _,
        tv_nsec: 0,
    }
}

fn mknod(parent: RawFd, name: &CStr, mode: u32, major: u32, minor: u32) -> io::Result<()> {
    let dev = libc::makedev(major, minor);
    nix_ok(unsafe { libc::mknodat(parent, name.as_ptr(), mode as libc::mode_t, dev) }).map(|_| ())
}

/// `/proc/self/fd/N[/name]`: names a file relative to an fd for path-only syscalls
/// (xattrs, recursive removal) without re-resolving any component of the layer path.
fn proc_fd_path(fd: RawFd, name: Option<&CStr>) -> io::Result<std::ffi::CString> {
    let mut p = format!("/proc/self/fd/{fd}").into_bytes();
    if let Some(name) = name {
        p.push(b'/');
        p.extend_from_slice(name.to_bytes());
    }
    cstring(&p)
}

fn bytes_path(c: &CStr) -> &Path {
    use std::os::unix::ffi::OsStrExt;
    Path::new(std::ffi::OsStr::from_bytes(c.to_bytes()))
}

fn open_path(dirfd: RawFd, path: &CStr, extra: libc::c_int) -> io::Result<OwnedFd> {
    let flags = libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC | extra;
    let fd = nix_ok(unsafe { libc::openat(dirfd, path.as_ptr(), flags) })?;
    // SAFETY: `fd` was just returned by openat and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn openat2(dirfd: RawFd, path: &CStr, flags: libc::c_int, resolve: u64) -> io::Result<OwnedFd> {
    // SAFETY: open_how is plain data; all-zero is its documented default.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = flags as u64;
    how.resolve = resolve;
    loop {
        // SAFETY: valid pointers; the size matches the struct passed.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                dirfd,
                path.as_ptr(),
                &how as *const libc::open_how,
                std::mem::size_of::<libc::open_how>(),
            )
        };
        if rc >= 0 {
            // SAFETY: a fresh fd owned by nobody else.
            return Ok(unsafe { OwnedFd::from_raw_fd(rc as RawFd) });
        }
        let err = io::Error::last_os_error();
        // RESOLVE_IN_ROOT lookups return EAGAIN when a concurrent rename raced them.
        if err.raw_os_error() != Some(libc::EAGAIN) {
            return Err(err);
        }
    }
}
