//! Layer tars in and out of overlay-format directories: `pack` turns a directory (an
//! overlay upper dir or a freshly populated one) into a deterministic OCI layer tar, and
//! `unpack` extracts an untrusted layer tar into an empty directory without ever
//! letting a path, symlink or hardlink reach outside it. This module knows nothing
//! about blobs, digests of record, or image metadata; the store drives it.

pub(crate) mod pack;
pub(crate) mod unpack;

use sha2::{Digest, Sha256};
use std::ffi::{CStr, CString};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// The xattr namespace overlayfs keeps its markers in: `trusted.overlay.*` as root,
/// `user.overlay.*` when mounted with `userxattr` (rootless).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverlayXattrs {
    Trusted,
    User,
}

impl OverlayXattrs {
    /// `user.` in rootless kiste's user namespace (overlay is mounted with `userxattr`
    /// there), else `trusted.`.
    pub fn for_current_user() -> OverlayXattrs {
        if !crate::rootless::active() {
            OverlayXattrs::Trusted
        } else {
            OverlayXattrs::User
        }
    }

    /// The prefix of every overlay-private xattr name, e.g. `trusted.overlay.`.
    pub fn prefix(self) -> &'static str {
        match self {
            OverlayXattrs::Trusted => "trusted.overlay.",
            OverlayXattrs::User => "user.overlay.",
        }
    }

    /// The xattr marking an opaque directory (value `y`).
    pub fn opaque(self) -> &'static CStr {
        match self {
            OverlayXattrs::Trusted => c"trusted.overlay.opaque",
            OverlayXattrs::User => c"user.overlay.opaque",
        }
    }

    /// The xattr marking a regular file as a whiteout (kernel ≥ 6.7 "xwhiteouts").
    pub(crate) fn whiteout(self) -> &'static [u8] {
        match self {
            OverlayXattrs::Trusted => b"trusted.overlay.whiteout",
            OverlayXattrs::User => b"user.overlay.whiteout",
        }
    }
}

/// Writes through to `inner` while hashing (sha256) and counting every byte.
pub(crate) struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    count: u64,
}

impl<W: Write> HashingWriter<W> {
    pub(crate) fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }

    /// Returns `sha256:<hex>`, the byte count, and the inner writer.
    pub(crate) fn finish(self) -> (String, u64, W) {
        let digest = format!("sha256:{}", super::hex(&self.hasher.finalize()));
        (digest, self.count, self.inner)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Reads from `inner` while hashing and counting every byte and copying it to `tee`.
pub(crate) struct HashingReader<R, T> {
    inner: R,
    tee: Option<T>,
    hasher: Sha256,
    count: u64,
}

impl<R: Read, T: Write> HashingReader<R, T> {
    pub(crate) fn new(inner: R, tee: Option<T>) -> Self {
        HashingReader {
            inner,
            tee,
            hasher: Sha256::new(),
            count: 0,
        }
    }

    /// Reads the rest of the stream so that the digest covers all of it.
    pub(crate) fn drain(&mut self) -> io::Result<()> {
        io::copy(self, &mut io::sink()).map(|_| ())
    }

    /// Returns `sha256:<hex>`, the byte count, the inner reader and the tee.
    pub(crate) fn finish(self) -> (String, u64, R, Option<T>) {
        let digest = format!("sha256:{}", super::hex(&self.hasher.finalize()));
        (digest, self.count, self.inner, self.tee)
    }
}

impl<R: Read, T: Write> Read for HashingReader<R, T> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        if let Some(tee) = &mut self.tee {
            tee.write_all(&buf[..n])?;
        }
        Ok(n)
    }
}

/// How a layer file is compressed, detected from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Bzip2,
    Xz,
    Zstd,
}

impl Compression {
    pub fn detect(magic: &[u8]) -> Compression {
        match magic {
            [0x1f, 0x8b, ..] => Compression::Gzip,
            [b'B', b'Z', b'h', ..] => Compression::Bzip2,
            [0xfd, b'7', b'z', b'X', b'Z', 0, ..] => Compression::Xz,
            [0x28, 0xb5, 0x2f, 0xfd, ..] => Compression::Zstd,
            _ => Compression::None,
        }
    }
}

pub(crate) fn cstring(bytes: &[u8]) -> io::Result<CString> {
    CString::new(bytes)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))
}

pub(crate) fn path_cstring(path: &Path) -> io::Result<CString> {
    cstring(path.as_os_str().as_bytes())
}

pub(crate) use crate::fs::xattr::list_xattrs;
