//! ADD's special sources: local tar archives (plain, gzip, bzip2 or xz, recognised by
//! their content, not their name) are unpacked into the destination, and http(s) URLs
//! are downloaded (checked against `--checksum` when given).
//!
//! Unpacking works as docker's (a chroot at the destination): member paths and symlink
//! and hardlink targets all resolve inside the destination directory, through
//! `crate::fs::Root`. A member with a `..` component is an error naming the member.
//! Modes (setuid included), owners (or `--chown`), mtimes, dangling symlinks, devices
//! and xattrs (`user.*` too, as BuildKit keeps them) are kept; overlay's own xattrs are
//! dropped so an archive cannot forge them.

use super::copy::{ensure_dir, Target};
use crate::fs::{Root, Stat};
use crate::image::layer::unpack::lenient;
use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Read, Seek};
use std::os::unix::ffi::OsStrExt;
use tar::EntryType;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Compression {
    None,
    Gzip,
    Bzip2,
    Xz,
}

fn decoder<'a>(c: Compression, r: Box<dyn Read + 'a>) -> io::Result<Box<dyn Read + 'a>> {
    Ok(match c {
        Compression::None => r,
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(r)),
        Compression::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(r)),
        Compression::Xz => {
            // lzma-rs decodes whole streams; the archives ADD sees are small enough.
            let mut input = io::BufReader::new(r);
            let mut out = Vec::new();
            lzma_rs::xz_decompress(&mut input, &mut out)
                .map_err(|e| io::Error::other(format!("xz: {e:?}")))?;
            Box::new(io::Cursor::new(out))
        }
    })
}

/// The compression of `file` if it holds a tar archive, else None; `file` is rewound.
fn archive_kind(file: &mut File) -> Option<Compression> {
    let mut head = [0u8; 6];
    let n = file.read(&mut head).ok()?;
    let c = match &head[..n] {
        [0x1f, 0x8b, ..] => Compression::Gzip,
        [b'B', b'Z', b'h', ..] => Compression::Bzip2,
        [0xfd, b'7', b'z', b'X', b'Z', 0] => Compression::Xz,
        _ => Compression::None,
    };
    file.rewind().ok()?;
    let mut r = decoder(c, Box::new(&mut *file)).ok()?;
    let mut block = vec![0u8; 512];
    let ok = r.read_exact(&mut block).is_ok() && &block[257..262] == b"ustar";
    drop(r);
    file.rewind().ok()?;
    ok.then_some(c)
}

/// Whether `path` in `root` is a regular file holding a tar archive.
pub fn is_archive(root: &Root, path: &str) -> bool {
    root.open_file(path)
        .is_ok_and(|mut f| archive_kind(&mut f).is_some())
}

/// Unpack the archive `path` of `src` into `dest_rel` of the layer.
pub fn unpack(
    src: &Root,
    path: &str,
    t: &Target,
    dest_rel: &str,
    owner: Option<(u32, u32)>,
) -> io::Result<()> {
    let mut file = src.open_file(path)?;
    let kind = archive_kind(&mut file).ok_or_else(|| io::Error::other("not a tar archive"))?;
    let dest = ensure_dir(t, dest_rel, owner)?;
    let root = t.layer.sub(&dest)?;
    let mut archive = tar::Archive::new(decoder(kind, Box::new(file))?);
    let mut dir_times = Vec::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        let member = entry.path_bytes().into_owned();
        let shown = String::from_utf8_lossy(&member).into_owned();
        let fail = |e: io::Error| io::Error::new(e.kind(), format!("member \"{shown}\": {e}"));
        let Some(rel) = member_path(&member).map_err(fail)? else {
            continue;
        };
        let meta = unpack_entry(t, &root, &dest, &mut entry, &rel, owner).map_err(fail)?;
        if let Some(mtime) = meta {
            dir_times.push((rel, mtime));
        }
    }
    // Directory mtimes last: creating their children changed them.
    for (rel, mtime) in dir_times.iter().rev() {
        if root.lstat(rel).is_ok_and(|st| st.is_dir()) {
            root.set_times(rel, (*mtime, 0), (*mtime, 0))?;
        }
    }
    Ok(())
}

/// The member's path inside the destination: leading `/` and `.` dropped, `..` refused.
/// `None` for the archive root and aufs metadata (`.wh..wh.*`), which docker skips.
fn member_path(member: &[u8]) -> io::Result<Option<String>> {
    let mut parts = Vec::new();
    for c in member.split(|&b| b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => return Err(io::Error::other("path has a '..' component")),
            c => parts.push(String::from_utf8_lossy(c).into_owned()),
        }
    }
    if parts.is_empty() || parts.iter().any(|p| p.starts_with(".wh..wh.")) {
        return Ok(None);
    }
    Ok(Some(parts.join("/")))
}

/// Creates one member; returns the mtime to set later for a directory.
fn unpack_entry<R: Read>(
    t: &Target,
    root: &Root,
    dest: &str,
    entry: &mut tar::Entry<'_, R>,
    rel: &str,
    owner: Option<(u32, u32)>,
) -> io::Result<Option<i64>> {
    let header = entry.header();
    let kind = header.entry_type();
    // A blank numeric field reads as 0, as Go's archive/tar (docker) reads it.
    let raw = header.as_old();
    let mode = lenient(header.mode(), &raw.mode)? & 0o7777;
    let (uid, gid) = match owner {
        Some(o) => o,
        None => {
            let id =
                |v: u64| u32::try_from(v).map_err(|_| io::Error::other("uid/gid out of range"));
            (
                id(lenient(header.uid(), &raw.uid)?)?,
                id(lenient(header.gid(), &raw.gid)?)?,
            )
        }
    };
    let mtime = lenient(header.mtime(), &raw.mtime)? as i64;
    let dev = if matches!(kind, EntryType::Char | EntryType::Block) {
        libc::makedev(
            header.device_major()?.unwrap_or(0),
            header.device_minor()?.unwrap_or(0),
        )
    } else {
        0
    };
    let link = entry.link_name_bytes().map(|l| l.into_owned());
    let mut xattrs = Vec::new();
    if let Some(exts) = entry.pax_extensions()? {
        for ext in exts {
            let ext = ext?;
            if let Some(name) = ext.key_bytes().strip_prefix(b"SCHILY.xattr.") {
                if !name.starts_with(b"trusted.overlay.") && !name.starts_with(b"user.overlay.") {
                    xattrs.push((name.to_vec(), ext.value_bytes().to_vec()));
                }
            }
        }
    }
    // Parents the archive does not list: the image's attributes where it has the
    // directory (copied up), else 0755 and owned by --chown or root.
    let parent = rel.rsplit_once('/').map_or("", |(p, _)| p);
    root.mkdir_all(parent, 0o700, |dir, name, made| {
        let full = if dest.is_empty() {
            made.to_string()
        } else {
            format!("{dest}/{made}")
        };
        match t.lower.lookup(&full) {
            Some(f) if f.stat.is_dir() => copy_up(dir, name, &f.stat),
            _ => {
                let (u, g) = owner.unwrap_or((0, 0));
                dir.lchown(name, u, g)?;
                dir.chmod(name, 0o755)
            }
        }
    })?;
    let (dir, name) = root.parent(rel)?;
    let existing = dir.lstat(&name).ok();
    let is_dir = kind == EntryType::Directory;
    if existing.is_some_and(|st| !(st.is_dir() && is_dir)) {
        dir.remove(&name)?;
    }
    match kind {
        EntryType::Directory => {
            if !existing.is_some_and(|st| st.is_dir()) {
                dir.mkdir(&name, 0o700)?;
            }
        }
        EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
            let mut file = dir.create_file(&name, 0o600)?;
            io::copy(entry, &mut file)?;
        }
        EntryType::Symlink => {
            let target = link.ok_or_else(|| io::Error::other("symlink without a target"))?;
            dir.symlink(OsStr::from_bytes(&target), &name)?;
        }
        EntryType::Link => {
            let target = link.ok_or_else(|| io::Error::other("hardlink without a target"))?;
            let target = member_path(&target)?
                .ok_or_else(|| io::Error::other("hardlink to the archive root"))?;
            // Both ends resolve inside the destination; a symlink is linked itself.
            let (tdir, tname) = root.parent(&target)?;
            return dir
                .link_fd(&tdir.open_path_nofollow(&tname)?, &name)
                .map(|_| None);
        }
        EntryType::Char => dir.mknod(&name, libc::S_IFCHR | mode, dev)?,
        EntryType::Block => dir.mknod(&name, libc::S_IFBLK | mode, dev)?,
        EntryType::Fifo => dir.mknod(&name, libc::S_IFIFO | mode, 0)?,
        _ => return Ok(None), // PAX globals and unknown types create nothing
    }
    dir.lchown(&name, uid, gid)?;
    if kind != EntryType::Symlink {
        dir.chmod(&name, mode)?;
    }
    for (key, value) in &xattrs {
        match dir.set_xattr(
            &name,
            &crate::fs::confined::name_cstring(OsStr::from_bytes(key))?,
            value,
        ) {
            // A file system without xattrs (or a name space we may not write) cannot keep
            // them; docker ignores these errors too.
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOTSUP) | Some(libc::EPERM)) => {}
            other => other?,
        }
    }
    if is_dir {
        return Ok(Some(mtime));
    }
    dir.set_times(&name, (mtime, 0), (mtime, 0))?;
    Ok(None)
}

fn copy_up(dir: &crate::fs::Dir, name: &std::ffi::CStr, st: &Stat) -> io::Result<()> {
    dir.lchown(name, st.uid(), st.gid())?;
    dir.chmod(name, st.perm())?;
    dir.set_times(name, st.mtime(), st.mtime())
}

/// The file name docker gives a downloaded URL: the last path segment.
pub fn url_file_name(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let name = path.trim_end_matches('/').rsplit('/').next().unwrap_or("");
    if name.is_empty() || name.contains(':') {
        "index.html".into()
    } else {
        name.to_string()
    }
}
