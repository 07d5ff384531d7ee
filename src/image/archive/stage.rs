//! The first pass of `load`: an untrusted archive (a stream: stdin or a file) read
//! entry by entry into a private scratch directory of the store. Nothing is ever
//! created at a path the archive names: each regular member goes to a file named by
//! its position (`0`, `1`, …) while it is hashed, and the archive's own paths live
//! only in a map. Paths with `..` or a leading `/`, absolute symlinks, symlinks that
//! leave the archive, members under a symlink, devices and fifos are refused, and
//! the member count and the size of JSON members are bounded.

use super::{hashed_copy, ArchiveError};
use crate::image::{ImageStore, ScratchDir};
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::PathBuf;

/// More members than any real archive of images holds (one per layer and three
/// files per layer directory).
const MAX_MEMBERS: usize = 200_000;
/// Symlinks followed to resolve one member name.
const MAX_LINK_HOPS: usize = 16;
/// manifest.json, index.json, configs and manifests are read into memory: bounded.
pub(super) const MAX_JSON: u64 = 32 << 20;

/// Space left free on the store's file system while staging (the layers are stored
/// again after staging).
const FREE_MARGIN: u64 = 64 << 20;

/// A regular member as staged: where it is and what it hashes to.
#[derive(Debug, Clone)]
pub(super) struct StagedFile {
    pub path: PathBuf,
    /// `sha256:<hex>` of the member's bytes.
    pub digest: String,
    pub size: u64,
}

/// An archive read into a scratch directory, looked up by its member names.
pub(super) struct Staged {
    /// How the user named the archive (a path or `stdin`), for messages.
    pub archive: String,
    pub dir: ScratchDir,
    files: HashMap<String, StagedFile>,
    links: HashMap<String, String>,
}

impl Staged {
    pub(super) fn member_error(&self, member: &str, reason: impl Into<String>) -> ArchiveError {
        ArchiveError::Member {
            archive: self.archive.clone(),
            member: member.to_string(),
            reason: reason.into(),
        }
    }

    pub(super) fn has(&self, name: &str) -> bool {
        self.files.contains_key(name)
    }

    /// The regular file `name` (after the archive's own symlinks) names.
    pub(super) fn file(&self, name: &str) -> Result<&StagedFile, ArchiveError> {
        let mut current =
            normalize(name.as_bytes()).map_err(|reason| self.member_error(name, reason))?;
        for _ in 0..MAX_LINK_HOPS {
            if let Some(f) = self.files.get(&current) {
                return Ok(f);
            }
            match self.links.get(&current) {
                Some(target) => current = target.clone(),
                None => return Err(self.member_error(name, "not in the archive")),
            }
        }
        Err(self.member_error(name, "too many levels of symbolic links"))
    }

    /// The content of the (small) member `name`.
    pub(super) fn read_small(&self, name: &str) -> Result<Vec<u8>, ArchiveError> {
        let f = self.file(name)?;
        if f.size > MAX_JSON {
            return Err(self.member_error(
                name,
                format!("{} bytes is too large for a metadata file", f.size),
            ));
        }
        std::fs::read(&f.path).map_err(|e| self.member_error(name, e.to_string()))
    }

    /// The member `name` parsed as JSON.
    pub(super) fn json<T: serde::de::DeserializeOwned>(
        &self,
        name: &str,
    ) -> Result<T, ArchiveError> {
        let bytes = self.read_small(name)?;
        serde_json::from_slice(&bytes)
            .map_err(|e| self.member_error(name, format!("invalid JSON: {e}")))
    }
}

/// Reads the whole archive from `reader` into a scratch directory of `store`.
pub(super) fn stage(
    store: &ImageStore,
    reader: impl Read,
    archive: &str,
) -> Result<Staged, ArchiveError> {
    let mut staged = Staged {
        archive: archive.to_string(),
        dir: store.scratch_dir("load")?,
        files: HashMap::new(),
        links: HashMap::new(),
    };
    let whole = |reason: String| ArchiveError::Archive {
        archive: archive.to_string(),
        reason,
    };
    let mut tar = tar::Archive::new(reader);
    let entries = tar
        .entries()
        .map_err(|e| whole(format!("not a tar archive: {e}")))?;
    let mut count = 0usize;
    let mut previous = String::from("(start of archive)");
    for entry in entries {
        let mut entry = entry.map_err(|e| {
            whole(format!(
                "cannot read the member after {previous}: {}",
                describe(&e)
            ))
        })?;
        count += 1;
        if count > MAX_MEMBERS {
            return Err(whole(format!("more than {MAX_MEMBERS} members")));
        }
        let raw = entry.path_bytes().into_owned();
        let shown = String::from_utf8_lossy(&raw).into_owned();
        let fail = |reason: String| ArchiveError::Member {
            archive: archive.to_string(),
            member: shown.clone(),
            reason,
        };
        let name = normalize(&raw).map_err(|r| fail(r.to_string()))?;
        previous = shown.clone();
        if name.is_empty() {
            continue; // "./" itself
        }
        if let Some(link) = staged.through_link(&name) {
            return Err(fail(format!("it lies under the symbolic link {link}")));
        }
        if staged.files.contains_key(&name) || staged.links.contains_key(&name) {
            return Err(fail("it appears twice".to_string()));
        }
        match entry.header().entry_type() {
            tar::EntryType::Directory => {}
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let path = staged.dir.path().join(count.to_string());
                let declared = entry.size();
                let free = free_bytes(staged.dir.path()).unwrap_or(u64::MAX);
                if declared.saturating_add(FREE_MARGIN) > free {
                    return Err(fail(format!(
                        "it needs {declared} bytes but the store has {free} free"
                    )));
                }
                let (digest, size) =
                    copy_hashed(&mut entry, &path).map_err(|e| fail(describe(&e)))?;
                if size != declared {
                    return Err(fail(format!(
                        "the archive ends inside this member ({size} of {declared} bytes): it is truncated"
                    )));
                }
                staged.files.insert(name, StagedFile { path, digest, size });
            }
            tar::EntryType::Symlink => {
                let target = link_target(&entry).map_err(fail)?;
                if target.starts_with('/') {
                    return Err(fail(format!(
                        "symbolic link to the absolute path {target} is not allowed"
                    )));
                }
                let parent = name.rsplit_once('/').map_or("", |(p, _)| p);
                let joined = if parent.is_empty() {
                    target.clone()
                } else {
                    format!("{parent}/{target}")
                };
                let resolved = resolve_lexically(&joined)
                    .ok_or_else(|| fail(format!("symbolic link to {target} leaves the archive")))?;
                staged.links.insert(name, resolved);
            }
            tar::EntryType::Link => {
                let target = link_target(&entry).map_err(fail)?;
                let target = normalize(target.as_bytes()).map_err(|r| fail(r.to_string()))?;
                let file = staged.files.get(&target).cloned().ok_or_else(|| {
                    fail(format!(
                        "hard link to {target}, which is not an earlier file"
                    ))
                })?;
                staged.files.insert(name, file);
            }
            other => {
                return Err(fail(format!(
                    "{other:?} members are not allowed in an image archive"
                )))
            }
        }
    }
    Ok(staged)
}

impl Staged {
    /// The first proper prefix of `name` that is a symlink member, if any.
    fn through_link<'a>(&self, name: &'a str) -> Option<&'a str> {
        name.match_indices('/')
            .map(|(i, _)| &name[..i])
            .find(|prefix| self.links.contains_key(*prefix))
    }
}

fn link_target<R: Read>(entry: &tar::Entry<R>) -> Result<String, String> {
    let target = entry
        .link_name_bytes()
        .ok_or_else(|| "link without a target".to_string())?;
    String::from_utf8(target.into_owned()).map_err(|_| "link target is not UTF-8".to_string())
}

/// A member name made canonical: `./a//b/` → `a/b`. Absolute paths and `..`
/// components are refused; names must be UTF-8 (image archives use ASCII).
pub(super) fn normalize(raw: &[u8]) -> Result<String, &'static str> {
    let s = std::str::from_utf8(raw).map_err(|_| "the name is not UTF-8")?;
    if s.starts_with('/') {
        return Err("absolute paths are not allowed");
    }
    let mut parts = Vec::new();
    for part in s.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err("a path with '..' is not allowed"),
            p => parts.push(p),
        }
    }
    Ok(parts.join("/"))
}

/// `a/b/../c` → `a/c`; `None` if `..` climbs above the root.
fn resolve_lexically(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

/// Copies `reader` to a new file at `path`, returning its sha256 and length.
fn copy_hashed(reader: &mut impl Read, path: &PathBuf) -> io::Result<(String, u64)> {
    let mut out = BufWriter::with_capacity(256 * 1024, File::create_new(path)?);
    let hashed = hashed_copy(reader, &mut out)?;
    out.flush()?;
    Ok(hashed)
}

/// Bytes available to this user on the file system holding `dir`.
fn free_bytes(dir: &std::path::Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    // SAFETY: a zeroed statvfs is a valid out-buffer; `c` is a valid C string.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // The field types differ between targets (u32 on 32-bit ones).
    #[allow(clippy::useless_conversion)]
    (unsafe { libc::statvfs(c.as_ptr(), &mut st) } == 0)
        .then(|| u64::from(st.f_bavail).saturating_mul(u64::from(st.f_frsize)))
}

fn describe(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::UnexpectedEof => "the archive is truncated".to_string(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_refuses_parent_and_absolute_paths() {
        assert_eq!(normalize(b"./a//b/").unwrap(), "a/b");
        assert!(normalize(b"a/../../etc").is_err());
        assert!(normalize(b"/etc/passwd").is_err());
    }

    #[test]
    fn lexical_resolution_stays_inside_the_archive() {
        assert_eq!(
            resolve_lexically("a/../b/layer.tar").as_deref(),
            Some("b/layer.tar")
        );
        assert_eq!(resolve_lexically("a/../../x"), None);
    }
}
