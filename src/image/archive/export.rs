//! `export`: a directory tree (a container's merged root, seen through its overlay
//! mount) written as a tar, as `docker export` writes it: every entry relative to the
//! root, directories with a trailing `/`, hard links kept as links, sockets left out.
//! The tree may belong to a running container, so it is walked with `crate::fs::Dir`
//! (`O_NOFOLLOW` opens, `AT_SYMLINK_NOFOLLOW` stats, regular files only): a symlink swapped in
//! mid-walk is archived as a link, never followed out of the root, and a file that
//! changes size while it is read is cut or zero-padded to the size first seen.

use super::{write_err, ArchiveError};
use crate::fs::{Dir, Root};
use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Writes the tree under `root` to `out` as a tar; `target` names `out` in errors.
pub fn write_tree<W: Write>(root: &Path, out: W, target: &str) -> Result<W, ArchiveError> {
    let read_err = |path: &[u8], e: io::Error| ArchiveError::Archive {
        archive: root.display().to_string(),
        reason: format!("cannot read {}: {e}", String::from_utf8_lossy(path)),
    };
    let top = Root::open(root)
        .and_then(|r| r.dir(""))
        .map_err(|e| read_err(b"/", e))?;
    let mut walker = Walker {
        builder: tar::Builder::new(out),
        links: HashMap::new(),
        target: target.to_string(),
    };
    walker.builder.follow_symlinks(false);
    walker.dir(&top, b"", &read_err)?;
    walker
        .builder
        .into_inner()
        .map_err(|e| write_err(target, e))
}

struct Walker<W: Write> {
    builder: tar::Builder<W>,
    /// (dev, inode) of files with several links → the path archived first.
    links: HashMap<(u64, u64), Vec<u8>>,
    target: String,
}

type ReadErr<'a> = dyn Fn(&[u8], io::Error) -> ArchiveError + 'a;

impl<W: Write> Walker<W> {
    fn dir(&mut self, dir: &Dir, prefix: &[u8], read_err: &ReadErr) -> Result<(), ArchiveError> {
        let names = dir.names().map_err(|e| read_err(prefix, e))?;
        for name in names {
            let path = [prefix, name.as_bytes()].concat();
            let cname = crate::fs::confined::name_cstring(&name).map_err(|e| read_err(&path, e))?;
            let st = match dir.lstat(&cname) {
                Ok(st) => st.0,
                // Removed since the directory was listed (a running container).
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue,
                Err(e) => return Err(read_err(&path, e)),
            };
            let mut h = tar::Header::new_gnu();
            h.set_mode(st.st_mode & 0o7777);
            h.set_uid(st.st_uid as u64);
            h.set_gid(st.st_gid as u64);
            h.set_mtime(st.st_mtime.max(0) as u64);
            h.set_size(0);
            let fmt = st.st_mode & libc::S_IFMT;
            let p = Path::new(OsStr::from_bytes(&path));
            let werr = |e| write_err(&self.target, e);
            match fmt {
                libc::S_IFDIR => {
                    h.set_entry_type(tar::EntryType::Directory);
                    let mut with_slash = path.clone();
                    with_slash.push(b'/');
                    self.builder
                        .append_data(
                            &mut h,
                            Path::new(OsStr::from_bytes(&with_slash)),
                            io::empty(),
                        )
                        .map_err(werr)?;
                    let sub = match dir.subdir(&cname) {
                        Ok(d) => d,
                        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue,
                        Err(e) => return Err(read_err(&path, e)),
                    };
                    self.dir(&sub, &with_slash, read_err)?;
                }
                libc::S_IFREG => {
                    let key = (st.st_dev, st.st_ino);
                    if st.st_nlink > 1 {
                        if let Some(first) = self.links.get(&key) {
                            h.set_entry_type(tar::EntryType::Link);
                            let first = Path::new(OsStr::from_bytes(first)).to_path_buf();
                            self.builder.append_link(&mut h, p, first).map_err(werr)?;
                            continue;
                        }
                        self.links.insert(key, path.clone());
                    }
                    let file = match dir.open_file(&cname) {
                        Ok(f) => f,
                        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue,
                        Err(e) => return Err(read_err(&path, e)),
                    };
                    let size = file.metadata().map_err(|e| read_err(&path, e))?.len();
                    if let Some(caps) = file_capability(&file) {
                        let records = pax_record(b"SCHILY.xattr.security.capability", &caps);
                        let mut x = tar::Header::new_ustar();
                        x.set_entry_type(tar::EntryType::XHeader);
                        x.set_size(records.len() as u64);
                        x.set_mode(0o644);
                        self.builder
                            .append_data(&mut x, "PaxHeaders/capability", &records[..])
                            .map_err(werr)?;
                    }
                    h.set_entry_type(tar::EntryType::Regular);
                    h.set_size(size);
                    let data = Padded {
                        inner: file.take(size),
                        remaining: size,
                    };
                    self.builder.append_data(&mut h, p, data).map_err(werr)?;
                }
                libc::S_IFLNK => {
                    let target = dir.readlink(&cname).map_err(|e| read_err(&path, e))?;
                    h.set_entry_type(tar::EntryType::Symlink);
                    self.builder
                        .append_link(&mut h, p, Path::new(&target))
                        .map_err(werr)?;
                }
                libc::S_IFCHR | libc::S_IFBLK => {
                    h.set_entry_type(if fmt == libc::S_IFCHR {
                        tar::EntryType::Char
                    } else {
                        tar::EntryType::Block
                    });
                    let (major, minor) = (libc::major(st.st_rdev), libc::minor(st.st_rdev));
                    h.set_device_major(major).map_err(werr)?;
                    h.set_device_minor(minor).map_err(werr)?;
                    self.builder
                        .append_data(&mut h, p, io::empty())
                        .map_err(werr)?;
                }
                libc::S_IFIFO => {
                    h.set_entry_type(tar::EntryType::Fifo);
                    self.builder
                        .append_data(&mut h, p, io::empty())
                        .map_err(werr)?;
                }
                _ => {} // sockets: docker export leaves them out too
            }
        }
        Ok(())
    }
}

/// The `security.capability` xattr of an open file, which `docker export` keeps (as a
/// PAX `SCHILY.xattr` record); other xattrs are left out as docker leaves them.
fn file_capability(file: &File) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; 64];
    // SAFETY: the buffer is valid for its length; the fd is open.
    let n = unsafe {
        libc::fgetxattr(
            file.as_raw_fd(),
            c"security.capability".as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    (n > 0).then(|| {
        buf.truncate(n as usize);
        buf
    })
}

/// One PAX extended-header record: `<len> <key>=<value>\n`, where `len` counts itself.
fn pax_record(key: &[u8], value: &[u8]) -> Vec<u8> {
    let rest = key.len() + value.len() + 3; // ' ', '=', '\n'
    let mut len = rest + 1;
    while len != rest + len.to_string().len() {
        len = rest + len.to_string().len();
    }
    let mut out = format!("{len} ").into_bytes();
    out.extend_from_slice(key);
    out.push(b'=');
    out.extend_from_slice(value);
    out.push(b'\n');
    out
}

/// Reads `remaining` bytes: the inner (size-limited) reader's, then zeros if it ends
/// early, so the tar entry always matches its header.
struct Padded<R> {
    inner: R,
    remaining: u64,
}

impl<R: Read> Read for Padded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 {
            return Ok(0);
        }
        let want = buf
            .len()
            .min(self.remaining.min(usize::MAX as u64) as usize);
        let mut n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            buf[..want].fill(0);
            n = want;
        }
        self.remaining -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::pax_record;

    #[test]
    fn a_pax_record_counts_its_own_length() {
        let r = pax_record(b"k", b"v");
        assert_eq!(r, b"6 k=v\n");
        let long = pax_record(b"SCHILY.xattr.security.capability", &[0u8; 20]);
        let len: usize = std::str::from_utf8(&long[..2]).unwrap().parse().unwrap();
        assert_eq!(len, long.len());
    }
}
