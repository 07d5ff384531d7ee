//! Directory → deterministic OCI layer tar. Entries come in byte-sorted depth-first
//! order with the directory before its contents; overlay whiteouts (0:0 character
//! devices) become `.wh.NAME` files and opaque directories get a `.wh..wh..opq` marker;
//! hardlinks, devices, fifos and xattrs (minus overlay's own) are kept; ownership and
//! modes are exact; mtimes are whole seconds, optionally clamped (SOURCE_DATE_EPOCH).
//! User and group names are left empty so the bytes depend only on the tree.

use super::{list_xattrs, path_cstring, OverlayXattrs};
use crate::image::{io_ctx, ImageError};
use std::collections::HashMap;
use std::fs::{self, Metadata};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;
use tar::{Builder, EntryType, Header};

const OPAQUE_MARKER: &str = ".wh..wh..opq";

/// Writes the layer tar of `dir` into `out` and returns `out` once the archive is complete.
pub(crate) fn write_layer_tar<W: Write>(
    dir: &Path,
    out: W,
    clamp_mtime: Option<i64>,
    xattrs: OverlayXattrs,
) -> Result<W, ImageError> {
    let mut packer = Packer {
        builder: Builder::new(out),
        clamp_mtime,
        xattrs,
        hardlinks: HashMap::new(),
    };
    let walk = walkdir::WalkDir::new(dir)
        .min_depth(1)
        .follow_links(false)
        .sort_by_file_name();
    for entry in walk {
        let entry = entry.map_err(|e| ImageError::Io {
            action: format!("walk layer directory {}", dir.display()),
            source: e.into(),
        })?;
        let rel = entry
            .path()
            .strip_prefix(dir)
            .expect("walkdir stays under its root");
        packer
            .add(entry.path(), rel.as_os_str().as_bytes())
            .map_err(io_ctx(|| {
                format!("pack {} into a layer", entry.path().display())
            }))?;
    }
    packer.builder.into_inner().map_err(io_ctx(|| {
        format!("finish the layer tar of {}", dir.display())
    }))
}

struct Packer<W: Write> {
    builder: Builder<W>,
    clamp_mtime: Option<i64>,
    xattrs: OverlayXattrs,
    /// (dev, inode) → archive path of the first entry seen for a multiply-linked file.
    hardlinks: HashMap<(u64, u64), Vec<u8>>,
}

impl<W: Write> Packer<W> {
    fn add(&mut self, path: &Path, rel: &[u8]) -> io::Result<()> {
        let md = fs::symlink_metadata(path)?;
        let ft = md.file_type();
        let cpath = path_cstring(path)?;
        let prefix = self.xattrs.prefix().as_bytes();
        let mut attrs = list_xattrs(&cpath)?;
        let xwhiteout = ft.is_file()
            && md.len() == 0
            && attrs
                .iter()
                .any(|(n, _)| n.as_slice() == self.xattrs.whiteout());
        let opaque = ft.is_dir()
            && attrs.iter().any(|(n, v)| {
                n.as_slice() == self.xattrs.opaque().to_bytes() && v.as_slice() == b"y"
            });
        attrs.retain(|(name, _)| !name.starts_with(prefix));

        if (ft.is_char_device() && md.rdev() == 0) || xwhiteout {
            let (parent, name) = split_last(rel);
            let wh = [parent, b".wh.", name].concat();
            return self.append(&wh, EntryType::Regular, &md, None, &[], 0, io::empty());
        }
        if ft.is_dir() {
            let dir = [rel, b"/"].concat();
            self.append(
                &dir,
                EntryType::Directory,
                &md,
                None,
                &attrs,
                0,
                io::empty(),
            )?;
            if opaque {
                let marker = [rel, b"/", OPAQUE_MARKER.as_bytes()].concat();
                return self.append_plain(&marker, &md, 0o644);
            }
            return Ok(());
        }
        if !ft.is_dir() && md.nlink() > 1 {
            let key = (md.dev(), md.ino());
            if let Some(first) = self.hardlinks.get(&key) {
                let first = first.clone();
                return self.append(rel, EntryType::Link, &md, Some(&first), &[], 0, io::empty());
            }
            self.hardlinks.insert(key, rel.to_vec());
        }
        if ft.is_file() {
            let file = fs::File::open(path)?;
            let data = ExactReader {
                inner: file.take(md.len()),
                left: md.len(),
            };
            self.append(rel, EntryType::Regular, &md, None, &attrs, md.len(), data)
        } else if ft.is_symlink() {
            let target = fs::read_link(path)?;
            let target = target.as_os_str().as_bytes();
            self.append(
                rel,
                EntryType::Symlink,
                &md,
                Some(target),
                &attrs,
                0,
                io::empty(),
            )
        } else if ft.is_char_device() {
            self.append(rel, EntryType::Char, &md, None, &attrs, 0, io::empty())
        } else if ft.is_block_device() {
            self.append(rel, EntryType::Block, &md, None, &attrs, 0, io::empty())
        } else if ft.is_fifo() {
            self.append(rel, EntryType::Fifo, &md, None, &attrs, 0, io::empty())
        } else {
            Ok(()) // sockets do not belong in images (docker skips them too)
        }
    }

    /// The `.wh..wh..opq` marker: an empty file owned like its directory.
    fn append_plain(&mut self, rel: &[u8], dir_md: &Metadata, mode: u32) -> io::Result<()> {
        let mut header = Header::new_ustar();
        header.set_entry_type(EntryType::Regular);
        header.set_mode(mode);
        header.set_size(0);
        header.set_device_major(0)?;
        header.set_device_minor(0)?;
        self.fill_common(&mut header, dir_md);
        self.finish_entry(header, rel, None, &[], io::empty())
    }

    #[allow(clippy::too_many_arguments)]
    fn append(
        &mut self,
        rel: &[u8],
        kind: EntryType,
        md: &Metadata,
        link: Option<&[u8]>,
        attrs: &[(Vec<u8>, Vec<u8>)],
        size: u64,
        data: impl Read,
    ) -> io::Result<()> {
        let mut header = Header::new_ustar();
        header.set_entry_type(kind);
        header.set_mode(md.mode() & 0o7777);
        header.set_size(size);
        let (major, minor) = if matches!(kind, EntryType::Char | EntryType::Block) {
            (libc::major(md.rdev()), libc::minor(md.rdev()))
        } else {
            (0, 0)
        };
        header.set_device_major(major)?;
        header.set_device_minor(minor)?;
        self.fill_common(&mut header, md);
        self.finish_entry(header, rel, link, attrs, data)
    }

    fn fill_common(&self, header: &mut Header, md: &Metadata) {
        header.set_uid(md.uid() as u64);
        header.set_gid(md.gid() as u64);
        let mtime = match self.clamp_mtime {
            Some(clamp) => md.mtime().min(clamp),
            None => md.mtime(),
        };
        header.set_mtime(mtime.max(0) as u64);
    }

    /// Stores name and link name (in PAX records when they do not fit the ustar
    /// fields), xattrs as `SCHILY.xattr.*` PAX records, then the header and data.
    fn finish_entry(
        &mut self,
        mut header: Header,
        rel: &[u8],
        link: Option<&[u8]>,
        attrs: &[(Vec<u8>, Vec<u8>)],
        data: impl Read,
    ) -> io::Result<()> {
        let mut pax: Vec<(String, &[u8])> = Vec::new();
        if !set_ustar_name(&mut header, rel) {
            pax.push(("path".to_string(), rel));
        }
        if let Some(link) = link {
            let field = &mut header.as_old_mut().linkname;
            if link.len() <= field.len() {
                field[..link.len()].copy_from_slice(link);
            } else {
                let n = field.len();
                field.copy_from_slice(&link[..n]);
                pax.push(("linkpath".to_string(), link));
            }
        }
        for (name, value) in attrs {
            let name = std::str::from_utf8(name).map_err(|_| {
                io::Error::new(io::ErrorKind::InvalidData, "xattr name is not UTF-8")
            })?;
            pax.push((format!("SCHILY.xattr.{name}"), value));
        }
        if !pax.is_empty() {
            self.builder
                .append_pax_extensions(pax.iter().map(|(k, v)| (k.as_str(), *v)))?;
        }
        header.set_cksum();
        self.builder.append(&header, data)
    }
}

/// Puts `rel` into the ustar name (and prefix) fields; false when it does not fit, in
/// which case a truncated name is stored and the caller adds a PAX `path` record.
fn set_ustar_name(header: &mut Header, rel: &[u8]) -> bool {
    let ustar = header.as_ustar_mut().expect("header is ustar");
    if rel.len() <= ustar.name.len() {
        ustar.name[..rel.len()].copy_from_slice(rel);
        return true;
    }
    // Split at a '/' so that the prefix takes ≤ 155 bytes and the name ≤ 100.
    let body = rel.strip_suffix(b"/").unwrap_or(rel);
    let split = body
        .iter()
        .enumerate()
        .filter(|&(i, &b)| {
            b == b'/' && i <= ustar.prefix.len() && rel.len() - i - 1 <= ustar.name.len()
        })
        .map(|(i, _)| i)
        .next();
    match split {
        Some(i) if i > 0 => {
            ustar.prefix[..i].copy_from_slice(&rel[..i]);
            ustar.name[..rel.len() - i - 1].copy_from_slice(&rel[i + 1..]);
            true
        }
        _ => {
            let n = ustar.name.len();
            ustar.name.copy_from_slice(&rel[rel.len() - n..]);
            false
        }
    }
}

fn split_last(rel: &[u8]) -> (&[u8], &[u8]) {
    match rel.iter().rposition(|&b| b == b'/') {
        Some(i) => (&rel[..i + 1], &rel[i + 1..]),
        None => (&[], rel),
    }
}

/// Yields exactly `left` bytes or fails: a file that shrinks while it is being packed
/// must not produce a tar whose header size disagrees with its data.
struct ExactReader<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for ExactReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && self.left > 0 && !buf.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "file shrank while being packed",
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}
