//! A read-only view of an image's layer directories (overlay format) without mounting:
//! finds the top-most version of a path, honouring whiteouts and opaque directories.

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

pub struct LowerView {
    /// Bottom to top.
    dirs: Vec<PathBuf>,
}

fn is_whiteout(m: &fs::Metadata) -> bool {
    m.file_type().is_char_device() && m.rdev() == 0
}

fn is_opaque(dir: &Path) -> bool {
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()) else {
        return false;
    };
    // The store writes `user.overlay.opaque` when rootless: ask it for the name.
    let name = crate::image::layer::OverlayXattrs::for_current_user().opaque();
    let mut buf = [0u8; 4];
    let n = unsafe {
        libc::lgetxattr(
            c.as_ptr(),
            name.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    n == 1 && buf[0] == b'y'
}

impl LowerView {
    pub fn new(dirs: Vec<PathBuf>) -> LowerView {
        LowerView { dirs }
    }

    /// The layer file that `rel` (relative to /) resolves to, if the image has it.
    pub fn locate(&self, rel: &str) -> Option<PathBuf> {
        let rel = rel.trim_start_matches('/');
        let parts: Vec<&str> = rel.split('/').filter(|p| !p.is_empty()).collect();
        if parts.is_empty() {
            return None;
        }
        'layers: for dir in self.dirs.iter().rev() {
            let mut cur = dir.clone();
            for (i, part) in parts.iter().enumerate() {
                cur.push(part);
                match fs::symlink_metadata(&cur) {
                    Ok(m) if is_whiteout(&m) => return None,
                    Ok(_) if i + 1 == parts.len() => return Some(cur),
                    Ok(m) if m.is_dir() => {
                        if is_opaque(&cur) {
                            // Lower layers are hidden below this directory.
                            let rest: PathBuf = parts[i + 1..].iter().collect();
                            let p = cur.join(rest);
                            return fs::symlink_metadata(&p)
                                .ok()
                                .filter(|m| !is_whiteout(m))
                                .map(|_| p);
                        }
                    }
                    _ => continue 'layers,
                }
            }
        }
        None
    }

    pub fn metadata(&self, rel: &str) -> Option<fs::Metadata> {
        self.locate(rel).and_then(|p| fs::symlink_metadata(p).ok())
    }

    pub fn read(&self, rel: &str) -> Option<String> {
        self.locate(rel).and_then(|p| fs::read_to_string(p).ok())
    }

    pub fn is_dir(&self, rel: &str) -> bool {
        self.metadata(rel).is_some_and(|m| m.is_dir())
    }
}

/// Resolve a `--chown`/`USER` spec ("name", "uid", "name:group", "uid:gid") against the
/// image's /etc/passwd and /etc/group.
pub fn resolve_owner(view: &LowerView, spec: &str) -> Result<(u32, u32), String> {
    let (user, group) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let passwd = view.read("etc/passwd").unwrap_or_default();
    let groups = view.read("etc/group").unwrap_or_default();
    let find = |text: &str, name: &str, field: usize| -> Option<u32> {
        text.lines()
            .map(|l| l.split(':').collect::<Vec<_>>())
            .find(|f| f.first() == Some(&name))
            .and_then(|f| f.get(field)?.parse().ok())
    };
    let uid = match user.parse::<u32>() {
        Ok(u) => u,
        Err(_) => find(&passwd, user, 2).ok_or_else(|| {
            format!("unable to find user {user}: no matching entries in passwd file")
        })?,
    };
    // docker: a user without a group gets the same number as its gid.
    let gid = match group {
        None => uid,
        Some(g) => match g.parse::<u32>() {
            Ok(g) => g,
            Err(_) => find(&groups, g, 2).ok_or_else(|| {
                format!("unable to find group {g}: no matching entries in group file")
            })?,
        },
    };
    Ok((uid, gid))
}
