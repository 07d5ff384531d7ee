//! Image archives: `save` writes images from the store as a docker-archive (the layout
//! `docker save` of docker 20.10 writes: per-layer `<id>/layer.tar` directories,
//! `<config>.json`, `manifest.json`, `repositories`) or as an OCI image layout
//! (`oci-layout`, `index.json`, `blobs/sha256/…`); `load` reads either back, treating
//! the archive as hostile (see `stage`); `export` writes a directory tree (a
//! container's merged root) as a tar, and `change` applies `import --change` lines to
//! an image config. This module reads and writes archives; it does not mount anything
//! or know about containers.

mod change;
mod docker;
mod export;
mod load;
mod oci;
mod stage;

pub use change::apply_changes;
pub use export::write_tree;
pub use load::{load, Loaded};

use crate::image::layer::Compression;
use crate::image::{short_digest, Image, ImageError, ImageStore, LayerInfo};
use flate2::read::MultiGzDecoder;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, Write};

/// Everything that can go wrong while saving, loading or exporting an archive.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// One member of an archive being loaded is unsafe, malformed or does not match.
    #[error("invalid archive {archive}: member {member}: {reason}")]
    Member {
        archive: String,
        member: String,
        reason: String,
    },
    /// The archive as a whole is unusable (not a tar, no manifest, truncated…).
    #[error("invalid archive {archive}: {reason}")]
    Archive { archive: String, reason: String },
    /// Writing the archive failed.
    #[error("cannot write archive {target}")]
    Write {
        target: String,
        #[source]
        source: io::Error,
    },
    /// An `import --change` line is not one docker accepts.
    #[error("invalid --change {line:?}: {reason}")]
    Change { line: String, reason: String },
    #[error(transparent)]
    Image(#[from] ImageError),
}

/// The two archive formats `save` writes and `load` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `docker save`'s layout: uncompressed layer tars, `manifest.json`.
    DockerArchive,
    /// An OCI image layout in a tar: the stored blobs as they are, `index.json`.
    OciArchive,
}

/// One image to save, with the tags to record for it (empty for an image named by id).
pub struct SaveItem {
    pub image: Image,
    pub tags: Vec<String>,
}

/// Writes `items` as one archive of `format` to `out`, streaming each blob from the
/// store; `target` names the destination in errors.
pub fn save<W: Write>(
    store: &ImageStore,
    items: &[SaveItem],
    format: Format,
    out: W,
    target: &str,
) -> Result<W, ArchiveError> {
    let mut builder = tar::Builder::new(out);
    builder.mode(tar::HeaderMode::Deterministic);
    match format {
        Format::DockerArchive => docker::write(store, items, &mut builder, target)?,
        Format::OciArchive => oci::write(store, items, &mut builder, target)?,
    }
    builder.into_inner().map_err(|source| ArchiveError::Write {
        target: target.to_string(),
        source,
    })
}

/// A reader of the uncompressed tar of a stored layer blob (gzip, zstd or plain).
pub(crate) fn open_layer_tar(
    store: &ImageStore,
    layer: &LayerInfo,
) -> Result<Box<dyn Read>, ImageError> {
    let path = store.blob_path(&layer.digest)?;
    let read_ctx = || format!("read layer blob {}", short_digest(&layer.digest));
    let file = File::open(&path).map_err(crate::image::io_ctx(read_ctx))?;
    decompressing(file).map_err(crate::image::io_ctx(read_ctx))
}

/// Wraps `file` in the decompressor its first bytes call for.
fn decompressing(mut file: File) -> io::Result<Box<dyn Read>> {
    let mut magic = [0u8; 6];
    let mut n = 0;
    while n < magic.len() {
        match file.read(&mut magic[n..])? {
            0 => break,
            k => n += k,
        }
    }
    file.rewind()?;
    let reader = BufReader::with_capacity(256 * 1024, file);
    Ok(match Compression::detect(&magic[..n]) {
        Compression::None => Box::new(reader),
        Compression::Gzip => Box::new(MultiGzDecoder::new(reader)),
        Compression::Zstd => Box::new(crate::image::ZstdFrames::new(reader)),
        other => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{other:?} compression is not supported").to_lowercase(),
            ))
        }
    })
}

/// `sha256:<hex>` of the uncompressed content of a layer blob and its length.
pub(crate) fn layer_diff_id(mut reader: impl Read) -> io::Result<(String, u64)> {
    hashed_copy(&mut reader, &mut io::sink())
}

/// Copies `reader` to `out`, returning the bytes' `sha256:<hex>` and length.
pub(crate) fn hashed_copy(
    reader: &mut impl Read,
    out: &mut impl Write,
) -> io::Result<(String, u64)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0u64;
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n])?;
        total += n as u64;
    }
    Ok((
        format!("sha256:{}", crate::image::hex(&hasher.finalize())),
        total,
    ))
}

/// The chain ids of `diff_ids` (OCI image spec): the first is the first diff id, each
/// next one `sha256(previous + " " + diff_id)`.
pub(crate) fn chain_ids(diff_ids: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(diff_ids.len());
    for d in diff_ids {
        let next = match out.last() {
            None => d.clone(),
            Some(prev) => format!(
                "sha256:{}",
                crate::image::hex(&Sha256::digest(format!("{prev} {d}").as_bytes()))
            ),
        };
        out.push(next);
    }
    out
}

/// Reads exactly `len` bytes from `inner` and fails if it holds more or fewer, so a tar
/// entry written from it always matches its header.
pub(crate) struct ExactReader<R> {
    inner: R,
    remaining: u64,
    what: String,
}

impl<R: Read> ExactReader<R> {
    pub(crate) fn new(inner: R, len: u64, what: String) -> Self {
        ExactReader {
            inner,
            remaining: len,
            what,
        }
    }
}

impl<R: Read> Read for ExactReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 {
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{} is longer than recorded", self.what),
                )),
            };
        }
        let want = buf
            .len()
            .min(self.remaining.min(usize::MAX as u64) as usize);
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{} is shorter than recorded", self.what),
            ));
        }
        self.remaining -= n as u64;
        Ok(n)
    }
}

/// A tar header for a regular file or directory member of a saved archive.
fn member_header(kind: tar::EntryType, size: u64, mtime: u64) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(if kind == tar::EntryType::Directory {
        0o755
    } else {
        0o644
    });
    h.set_mtime(mtime);
    h.set_uid(0);
    h.set_gid(0);
    h
}

/// Appends a small in-memory file to `builder`.
fn append_bytes<W: Write>(
    builder: &mut tar::Builder<W>,
    path: &str,
    bytes: &[u8],
    mtime: u64,
    target: &str,
) -> Result<(), ArchiveError> {
    let mut h = member_header(tar::EntryType::Regular, bytes.len() as u64, mtime);
    builder
        .append_data(&mut h, path, bytes)
        .map_err(|source| write_err(target, source))
}

fn write_err(target: &str, source: io::Error) -> ArchiveError {
    ArchiveError::Write {
        target: target.to_string(),
        source,
    }
}
