//! Untrusted layer tar → overlay-format directory. Never `tar::Archive::unpack`: every
//! entry's parent is opened with `openat2(RESOLVE_IN_ROOT)` so `..`, absolute paths and
//! symlinks (planted earlier in the same tar) all resolve inside the layer root, and the
//! final component is created with `*at` calls that do not follow it. Paths with a `..`
//! component are rejected outright. `.wh.NAME` becomes an overlay whiteout (a 0:0
//! character device) and `.wh..wh..opq` the opaque xattr on its directory; overlay's
//! own xattrs in the tar are dropped so a layer cannot forge redirects or origins.
//!
//! Every file-system call goes through `crate::fs::confined`.

use super::{cstring, OverlayXattrs};
use crate::fs::{Dir, Root};
use crate::image::ImageError;
use std::ffi::{CStr, OsStr};
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
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
    let root = Root::open(dest).map_err(|e| fail(b"", e))?;
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
    root: Root,
    xattrs: OverlayXattrs,
    /// Directory mtimes, applied last because creating children changes them.
    dir_times: Vec<(Vec<u8>, i64)>,
    /// The parent directory of the previous entry; most entries share it. An entry only
    /// ever replaces children of its own parent, so the cached fd never goes stale.
    parent_cache: Option<(Vec<u8>, Dir)>,
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
            self.parent(parent)?;
            let parent_dir = self.cached_parent();
            if last == OPAQUE_MARKER {
                return parent_dir.set_own_xattr(self.xattrs.opaque(), b"y");
            }
            if hidden.starts_with(WHITEOUT_PREFIX)
                || hidden.is_empty()
                || hidden == b"."
                || hidden == b".."
            {
                return Ok(()); // other aufs metadata (.wh..wh.plnk etc.) has no overlay meaning
            }
            let name = cstring(hidden)?;
            clear(parent_dir, &name, false)?;
            parent_dir.mknod(&name, libc::S_IFCHR | meta.mode, 0)?;
            return self.apply_meta(&name, path, EntryType::Char, &meta, &[]);
        }

        let attrs = self.pax_xattrs(entry)?;
        self.parent(parent)?;
        let dir = self.cached_parent();
        let name = cstring(last)?;
        let is_dir = kind == EntryType::Directory;
        clear(dir, &name, is_dir)?;
        match kind {
            EntryType::Directory => match dir.mkdir(&name, 0o700) {
                Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
                other => other?,
            },
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
                let mut file = dir.create_file(&name, 0o600)?;
                io::copy(entry, &mut file)?;
            }
            EntryType::Symlink => {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| invalid("symlink without a target"))?;
                dir.symlink(OsStr::from_bytes(&target), &name)?;
            }
            EntryType::Link => {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| invalid("hardlink without a target"))?;
                let target = components(&target)?.join(&b'/');
                // Both ends resolve inside the root; a symlink target is linked itself.
                let (tdir, tname) = self.root.parent(OsStr::from_bytes(&target))?;
                let src = tdir.open_path_nofollow(&tname)?;
                return self.cached_parent().link_fd(&src, &name);
            }
            EntryType::Char => dir.mknod(&name, libc::S_IFCHR | meta.mode, makedev(dev))?,
            EntryType::Block => dir.mknod(&name, libc::S_IFBLK | meta.mode, makedev(dev))?,
            EntryType::Fifo => dir.mknod(&name, libc::S_IFIFO | meta.mode, 0)?,
            _ => unreachable!("filtered above"),
        }
        self.apply_meta(&name, path, kind, &meta, &attrs)
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
    /// `comps` inside the root, resolving any symlinks on the way inside the root, and
    /// leaves it in the cache.
    fn parent(&mut self, comps: &[&[u8]]) -> io::Result<()> {
        let key = comps.join(&b'/');
        if self.parent_cache.as_ref().is_some_and(|(k, _)| *k == key) {
            return Ok(());
        }
        let rel = OsStr::from_bytes(&key);
        let dir = match self.root.dir(rel) {
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                self.root.mkdir_all(rel, 0o755, |_, _, _| Ok(()))?;
                self.root.dir(rel)?
            }
            other => other?,
        };
        self.parent_cache = Some((key, dir));
        Ok(())
    }

    fn cached_parent(&self) -> &Dir {
        &self
            .parent_cache
            .as_ref()
            .expect("parent() filled the cache")
            .1
    }

    /// Ownership first (chown clears setuid bits and file capabilities), then mode,
    /// then xattrs, then the mtime (deferred for directories).
    fn apply_meta(
        &mut self,
        name: &CStr,
        path: &[u8],
        kind: EntryType,
        meta: &Meta,
        attrs: &[(Vec<u8>, Vec<u8>)],
    ) -> io::Result<()> {
        let dir = self.cached_parent();
        dir.lchown(name, meta.uid, meta.gid)?;
        if kind != EntryType::Symlink {
            dir.chmod(name, meta.mode)?;
        }
        for (key, value) in attrs {
            match dir.set_xattr(name, &cstring(key)?, value) {
                // A file system without xattr support cannot hold them; not the layer's fault.
                Err(e) if e.raw_os_error() == Some(libc::ENOTSUP) => {}
                other => other?,
            }
        }
        if kind == EntryType::Directory {
            self.dir_times
                .push((components(path)?.join(&b'/'), meta.mtime));
            return Ok(());
        }
        dir.set_times(name, (meta.mtime, 0), (meta.mtime, 0))
    }

    fn apply_root_meta(&mut self, meta: &Meta, attrs: &[(Vec<u8>, Vec<u8>)]) -> io::Result<()> {
        let root = self.root.dir("")?;
        root.fchown(meta.uid, meta.gid)?;
        root.fchmod(meta.mode)?;
        for (key, value) in attrs {
            match root.set_own_xattr(&cstring(key)?, value) {
                Err(e) if e.raw_os_error() == Some(libc::ENOTSUP) => {}
                other => other?,
            }
        }
        self.dir_times.push((Vec::new(), meta.mtime));
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.parent_cache = None;
        let times = std::mem::take(&mut self.dir_times);
        for (rel, mtime) in times.iter().rev() {
            // A later entry may have replaced the directory (perhaps with a symlink): then
            // there is nothing to do.
            match self.root.lstat(OsStr::from_bytes(rel)) {
                Ok(st) if st.is_dir() => {}
                Ok(_) => continue,
                Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::ENOTDIR)) => {
                    continue
                }
                Err(e) => return Err(e),
            };
            self.root
                .set_times(OsStr::from_bytes(rel), (*mtime, 0), (*mtime, 0))?;
        }
        Ok(())
    }
}

/// Removes whatever is at `name` unless both it and the new entry are directories.
fn clear(parent: &Dir, name: &CStr, new_is_dir: bool) -> io::Result<()> {
    match parent.lstat(name) {
        Ok(st) if st.is_dir() && new_is_dir => Ok(()),
        Ok(_) => parent.remove(name),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(()),
        Err(e) => Err(e),
    }
}

fn makedev((major, minor): (u32, u32)) -> u64 {
    libc::makedev(major, minor)
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
pub(crate) fn lenient<T: Default>(value: io::Result<T>, field: &[u8]) -> io::Result<T> {
    match value {
        Err(_) if field.iter().all(|&b| b == 0 || b == b' ') => Ok(T::default()),
        other => other,
    }
}

fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_string())
}
