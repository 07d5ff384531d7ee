//! The compiled seccomp filter, cached: compiling docker's default profile (parse ~400
//! rules, look up every name, build the search tree) costs more than the rest of the
//! parent's preparation, and every start would repeat it. The program is stored under
//! the directory given to [`cache_in`] (kiste's private runroot), keyed by a sha256 of
//! the profile, the capability mask and the kernel release (rules depend on both), and
//! written atomically. An unreadable or malformed entry is compiled again; without a
//! cache directory every start compiles.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use sha2::{Digest, Sha256};

use super::error::RuntimeError;
use super::seccomp;

/// Bumped whenever the compiler's output for the same input changes.
const VERSION: &str = "kiste-seccomp-v1";

static DIR: OnceLock<PathBuf> = OnceLock::new();

/// Where compiled filters are kept for this process (set once, by the command layer).
pub fn cache_in(dir: &Path) {
    let _ = DIR.set(dir.join("seccomp"));
}

/// The filter for `profile` (docker-format JSON) with the capability mask `caps`, from
/// the cache when it is there.
pub(crate) fn program(profile: &str, caps: u64) -> Result<Vec<libc::sock_filter>, RuntimeError> {
    let Some(dir) = DIR.get() else {
        return seccomp::program_from_json(profile, caps);
    };
    let path = dir.join(key(profile, caps));
    if let Some(prog) = read_entry(&path).and_then(|b| decode(&b)) {
        return Ok(prog);
    }
    let prog = seccomp::program_from_json(profile, caps)?;
    // A cache that cannot be written only costs the next start a compile.
    let _ = store(dir, &path, &prog);
    Ok(prog)
}

fn key(profile: &str, caps: u64) -> String {
    let release = nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut h = Sha256::new();
    for part in [VERSION.as_bytes(), release.as_bytes(), profile.as_bytes()] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    h.update(caps.to_le_bytes());
    format!("{:x}.bpf", h.finalize())
}

/// Each instruction as 8 little-endian bytes: code (2), jt, jf, k (4).
fn encode(prog: &[libc::sock_filter]) -> Vec<u8> {
    let mut out = Vec::with_capacity(prog.len() * 8);
    for i in prog {
        out.extend_from_slice(&i.code.to_le_bytes());
        out.extend_from_slice(&[i.jt, i.jf]);
        out.extend_from_slice(&i.k.to_le_bytes());
    }
    out
}

/// The largest program the kernel takes (BPF_MAXINSNS), in bytes.
const MAX_BYTES: usize = 4096 * 8;

/// A cache entry's bytes, read into a buffer the size of the largest program: no stat
/// for a size hint (`std::fs::read` makes one), and a longer file is not read whole.
fn read_entry(path: &Path) -> Option<Vec<u8>> {
    use std::io::Read;
    let mut buf = Vec::with_capacity(MAX_BYTES + 1);
    std::fs::File::open(path)
        .ok()?
        .take(MAX_BYTES as u64 + 1)
        .read_to_end(&mut buf)
        .ok()?;
    Some(buf)
}

fn decode(bytes: &[u8]) -> Option<Vec<libc::sock_filter>> {
    if bytes.is_empty() || !bytes.len().is_multiple_of(8) || bytes.len() > MAX_BYTES {
        return None;
    }
    let prog = bytes
        .chunks_exact(8)
        .map(|c| libc::sock_filter {
            code: u16::from_le_bytes([c[0], c[1]]),
            jt: c[2],
            jf: c[3],
            k: u32::from_le_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect();
    Some(prog)
}

fn store(dir: &Path, path: &Path, prog: &[libc::sock_filter]) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    // A cache: a lost entry is compiled again, so the directory is not synced.
    let how = crate::paths::Atomic {
        mode: 0o600,
        sync_dir: false,
        ..Default::default()
    };
    crate::paths::write_atomic(path, &encode(prog), &how)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_round_trip_through_the_cache_encoding() {
        let prog = seccomp::default_program(0).unwrap();
        let back = decode(&encode(&prog)).unwrap();
        assert_eq!(back.len(), prog.len());
        for (a, b) in prog.iter().zip(&back) {
            assert_eq!((a.code, a.jt, a.jf, a.k), (b.code, b.jt, b.jf, b.k));
        }
        assert!(decode(&[1, 2, 3]).is_none());
        assert!(decode(&[]).is_none());
    }

    #[test]
    fn the_key_changes_with_profile_and_capabilities() {
        assert_ne!(key("{}", 0), key("{}", 1));
        assert_ne!(key("{}", 0), key("{ }", 0));
        assert_eq!(key("{}", 7), key("{}", 7));
    }
}
