//! ADD's special sources: local tar archives (plain, gzip, bzip2 or xz, recognised by
//! their content, not their name) are unpacked into the destination, and http(s) URLs
//! are downloaded (checked against `--checksum` when given). Unpacking refuses entries
//! that would land outside the destination. HTTPS needs a TLS stack kiste does not ship yet.

use std::fs;
use std::io::{self, Read};
use std::path::Path;

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

/// The compression of `path` if it holds a tar archive, else None.
fn archive_kind(path: &Path) -> Option<Compression> {
    let mut head = [0u8; 6];
    let n = fs::File::open(path).ok()?.read(&mut head).ok()?;
    let c = match &head[..n] {
        [0x1f, 0x8b, ..] => Compression::Gzip,
        [b'B', b'Z', b'h', ..] => Compression::Bzip2,
        [0xfd, b'7', b'z', b'X', b'Z', 0] => Compression::Xz,
        _ => Compression::None,
    };
    let file = fs::File::open(path).ok()?;
    let mut r = decoder(c, Box::new(file)).ok()?;
    let mut block = vec![0u8; 512];
    r.read_exact(&mut block).ok()?;
    (&block[257..262] == b"ustar").then_some(c)
}

pub fn is_archive(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file()) && archive_kind(path).is_some()
}

/// Unpack the archive at `path` into `dest` (a directory in the new layer), keeping
/// modes, owners (unless `owner` is set) and mtimes.
pub fn unpack(path: &Path, dest: &Path, owner: Option<(u32, u32)>) -> io::Result<()> {
    let kind = archive_kind(path).ok_or_else(|| io::Error::other("not a tar archive"))?;
    fs::create_dir_all(dest)?;
    let mut archive = tar::Archive::new(decoder(kind, Box::new(fs::File::open(path)?))?);
    archive.set_preserve_permissions(true);
    archive.set_preserve_mtime(true);
    archive.set_preserve_ownerships(true);
    archive.set_unpack_xattrs(true);
    for entry in archive.entries()? {
        let mut entry = entry?;
        let rel = entry.path()?.into_owned();
        // unpack_in refuses `..` and absolute paths, and parents that are symlinks out.
        if !entry.unpack_in(dest)? {
            continue;
        }
        if let Some((u, g)) = owner {
            let _ = std::os::unix::fs::lchown(dest.join(&rel), Some(u), Some(g));
        }
    }
    Ok(())
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
