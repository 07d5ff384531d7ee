//! A read-only view of an image's layer directories (overlay format) without mounting:
//! finds the top-most version of a path as overlayfs would (whiteouts, opaque
//! directories, a non-directory hiding what is below it) and follows symlinks across
//! layers with `/` meaning the image's root. Every access goes through
//! `crate::fs::Root`, so a symlink in a layer can never reach the host; a COPY step puts
//! its new layer on top with `with_top` to resolve destinations in the merged tree.

use crate::fs::{Root, Stat};
use std::collections::VecDeque;
use std::ffi::CString;
use std::io;
use std::path::PathBuf;

/// Symlinks followed in one resolution, as the kernel allows.
const MAX_LINKS: usize = 40;
/// The largest /etc/passwd or /etc/group `--chown` reads.
const MAX_ACCOUNT_FILE: u64 = 16 << 20;

pub struct LowerView {
    /// Bottom to top; `None` for a layer directory that could not be opened (it then
    /// shows nothing, as an empty layer would).
    layers: Vec<Option<Root>>,
}

/// Where a resolved path lives: the layer index and its path there.
pub struct Found {
    pub layer: usize,
    pub rel: String,
    pub stat: Stat,
}

fn is_whiteout(st: &Stat) -> bool {
    st.is_char_device() && st.rdev() == 0
}

impl LowerView {
    pub fn new(dirs: Vec<PathBuf>) -> LowerView {
        LowerView {
            layers: dirs.iter().map(|d| Root::open(d).ok()).collect(),
        }
    }

    /// This view with `top` (a new layer being written) above every layer.
    pub fn with_top(&self, top: &std::path::Path) -> io::Result<LowerView> {
        let mut layers: Vec<Option<Root>> = Vec::new();
        for l in &self.layers {
            layers.push(match l {
                Some(r) => Some(Root::open(r.path())?),
                None => None,
            });
        }
        layers.push(Some(Root::open(top)?));
        Ok(LowerView { layers })
    }

    fn is_opaque(&self, layer: usize, rel: &str) -> bool {
        let Some(root) = &self.layers[layer] else {
            return false;
        };
        let name = crate::image::layer::OverlayXattrs::for_current_user().opaque();
        root.get_xattr(rel, name).ok().flatten().as_deref() == Some(b"y")
    }

    /// The top-most version of `rel` without following a final symlink; symlinks on the
    /// way are not followed either (see `resolve`).
    pub fn lookup(&self, rel: &str) -> Option<Found> {
        let parts: Vec<&str> = rel
            .split('/')
            .filter(|p| !p.is_empty() && *p != ".")
            .collect();
        if parts.is_empty() || parts.contains(&"..") {
            return None;
        }
        // Layers in which the prefix walked so far is a directory, top first.
        let mut dirs: Vec<usize> = (0..self.layers.len()).rev().collect();
        let mut top = None;
        for i in 0..parts.len() {
            let prefix = parts[..=i].join("/");
            let mut next = Vec::new();
            top = None;
            for &idx in &dirs {
                let Some(root) = &self.layers[idx] else {
                    continue;
                };
                let Ok(st) = root.lstat(&prefix) else {
                    continue;
                };
                if is_whiteout(&st) {
                    break;
                }
                if top.is_none() {
                    top = Some((idx, st));
                }
                if !st.is_dir() {
                    break; // a non-directory hides everything below it
                }
                next.push(idx);
                if self.is_opaque(idx, &prefix) {
                    break;
                }
            }
            top?;
            dirs = next;
        }
        let (layer, stat) = top?;
        Some(Found {
            layer,
            rel: parts.join("/"),
            stat,
        })
    }

    /// Follows `rel` through symlinks in the merged tree (each resolved with `/` as the
    /// image root, `..` stopping there). Returns the resolved existing part and the
    /// missing rest, which is empty when the whole path exists.
    pub fn resolve(&self, rel: &str) -> io::Result<(String, Vec<String>)> {
        let mut queue: VecDeque<String> = rel.split('/').map(String::from).collect();
        let mut cur: Vec<String> = Vec::new();
        let mut links = 0;
        while let Some(c) = queue.pop_front() {
            match c.as_str() {
                "" | "." => continue,
                ".." => {
                    cur.pop();
                    continue;
                }
                _ => {}
            }
            let mut candidate = cur.clone();
            candidate.push(c.clone());
            let joined = candidate.join("/");
            match self.lookup(&joined) {
                None => {
                    queue.push_front(c);
                    let rest = queue.into_iter().filter(|p| !p.is_empty() && p != ".");
                    return Ok((cur.join("/"), rest.collect()));
                }
                Some(f) if f.stat.is_symlink() => {
                    links += 1;
                    if links > MAX_LINKS {
                        return Err(io::Error::from_raw_os_error(libc::ELOOP));
                    }
                    let root = self.layers[f.layer]
                        .as_ref()
                        .expect("found in an open layer");
                    let target = root.readlink(&f.rel)?;
                    let target = target.to_string_lossy();
                    if target.starts_with('/') {
                        cur.clear();
                    }
                    for part in target.split('/').rev() {
                        queue.push_front(part.to_string());
                    }
                }
                Some(f) if !f.stat.is_dir() && !queue.iter().all(|p| p.is_empty() || p == ".") => {
                    return Err(io::Error::from_raw_os_error(libc::ENOTDIR));
                }
                Some(_) => cur = candidate,
            }
        }
        Ok((cur.join("/"), Vec::new()))
    }

    /// The top-most version of `rel` (a final symlink not followed).
    pub fn metadata(&self, rel: &str) -> Option<Stat> {
        self.lookup(rel).map(|f| f.stat)
    }

    /// The content of the regular file `rel`, symlinks followed inside the image. A
    /// device, FIFO or anything larger than 16 MiB is refused.
    pub fn read(&self, rel: &str) -> io::Result<Option<String>> {
        let (path, rest) = self.resolve(rel)?;
        if !rest.is_empty() {
            return Ok(None);
        }
        let Some(f) = self.lookup(&path) else {
            return Ok(None);
        };
        let root = self.layers[f.layer]
            .as_ref()
            .expect("found in an open layer");
        let file = root.open_file_nofollow(&f.rel)?;
        let mut out = Vec::new();
        io::Read::read_to_end(&mut io::Read::take(file, MAX_ACCOUNT_FILE + 1), &mut out)?;
        if out.len() as u64 > MAX_ACCOUNT_FILE {
            return Err(io::Error::other(format!(
                "/{rel} is larger than {MAX_ACCOUNT_FILE} bytes"
            )));
        }
        Ok(Some(String::from_utf8_lossy(&out).into_owned()))
    }

    /// Whether `rel` is a directory (a final symlink is followed, as docker's COPY
    /// follows it to decide).
    pub fn is_dir(&self, rel: &str) -> bool {
        match self.resolve(rel) {
            Ok((path, rest)) if rest.is_empty() => {
                path.is_empty() || self.lookup(&path).is_some_and(|f| f.stat.is_dir())
            }
            _ => false,
        }
    }
}

/// Resolve a `--chown`/`USER` spec ("name", "uid", "name:group", "uid:gid") against the
/// image's /etc/passwd and /etc/group.
pub fn resolve_owner(view: &LowerView, spec: &str) -> Result<(u32, u32), String> {
    let (user, group) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let read = |rel: &str| -> Result<String, String> {
        view.read(rel)
            .map(Option::unwrap_or_default)
            .map_err(|e| format!("cannot read /{rel} of the image: {e}"))
    };
    let find = |text: &str, name: &str, field: usize| -> Option<u32> {
        text.lines()
            .map(|l| l.split(':').collect::<Vec<_>>())
            .find(|f| f.first() == Some(&name))
            .and_then(|f| f.get(field)?.parse().ok())
    };
    let uid = match user.parse::<u32>() {
        Ok(u) => u,
        Err(_) => find(&read("etc/passwd")?, user, 2).ok_or_else(|| {
            format!("unable to find user {user}: no matching entries in passwd file")
        })?,
    };
    // docker: a user without a group gets the same number as its gid.
    let gid = match group {
        None => uid,
        Some(g) => match g.parse::<u32>() {
            Ok(g) => g,
            Err(_) => find(&read("etc/group")?, g, 2).ok_or_else(|| {
                format!("unable to find group {g}: no matching entries in group file")
            })?,
        },
    };
    Ok((uid, gid))
}

/// `name` as a C string for the confined calls (names from a tree never hold NUL).
pub fn cname(name: &str) -> io::Result<CString> {
    CString::new(name).map_err(|_| io::Error::other("name contains a NUL byte"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn layers(n: usize) -> (tempfile::TempDir, Vec<PathBuf>) {
        let tmp = tempfile::tempdir().unwrap();
        let dirs: Vec<PathBuf> = (0..n).map(|i| tmp.path().join(i.to_string())).collect();
        for d in &dirs {
            std::fs::create_dir(d).unwrap();
        }
        (tmp, dirs)
    }

    #[test]
    fn lookup_follows_overlay_rules() {
        let (_tmp, d) = layers(3);
        std::fs::create_dir_all(d[0].join("a/b")).unwrap();
        std::fs::write(d[0].join("a/b/low"), "low").unwrap();
        std::fs::write(d[0].join("gone"), "x").unwrap();
        std::fs::create_dir_all(d[0].join("hidden/x")).unwrap();
        // Layer 1: a file hides the directory below; a whiteout hides "gone".
        std::fs::write(d[1].join("hidden"), "file").unwrap();
        nix::sys::stat::mknod(
            &d[1].join("gone"),
            nix::sys::stat::SFlag::S_IFCHR,
            nix::sys::stat::Mode::empty(),
            0,
        )
        .unwrap();
        std::fs::create_dir_all(d[2].join("a/b")).unwrap();
        std::fs::write(d[2].join("a/b/top"), "top").unwrap();
        let v = LowerView::new(d);
        assert_eq!(v.lookup("a/b/low").unwrap().layer, 0);
        assert_eq!(v.lookup("a/b/top").unwrap().layer, 2);
        assert_eq!(v.lookup("a/b").unwrap().layer, 2);
        assert!(v.lookup("gone").is_none());
        assert!(v.lookup("hidden/x").is_none());
        assert!(v.lookup("hidden").unwrap().stat.is_file());
    }

    #[test]
    fn symlinks_resolve_across_layers_inside_the_image() {
        let (tmp, d) = layers(2);
        std::fs::create_dir_all(d[0].join("usr/share")).unwrap();
        std::fs::write(d[0].join("usr/share/passwd"), "root:x:0:0::/:/bin/sh\n").unwrap();
        std::fs::create_dir(d[1].join("etc")).unwrap();
        symlink("/usr/share/passwd", d[1].join("etc/passwd")).unwrap();
        // An absolute link to a host path: inside the image it leads nowhere.
        let host = tmp.path().join("host-passwd");
        std::fs::write(&host, "evil:x:4242:4242::/:/bin/sh\n").unwrap();
        symlink(&host, d[1].join("etc/group")).unwrap();
        symlink("/dev/zero", d[1].join("etc/zero")).unwrap();
        // The image's own /dev/zero: a device is refused, never read.
        std::fs::create_dir(d[0].join("dev")).unwrap();
        nix::sys::stat::mknod(
            &d[0].join("dev/zero"),
            nix::sys::stat::SFlag::S_IFCHR,
            nix::sys::stat::Mode::from_bits_truncate(0o666),
            libc::makedev(1, 5),
        )
        .unwrap();
        let v = LowerView::new(d);
        assert_eq!(v.resolve("etc/passwd").unwrap().0, "usr/share/passwd");
        assert!(v.read("etc/passwd").unwrap().unwrap().starts_with("root:"));
        assert_eq!(v.read("etc/group").unwrap(), None);
        assert!(v.read("etc/zero").is_err());
        assert!(v.is_dir("usr") && !v.is_dir("etc/passwd"));
        assert_eq!(resolve_owner(&v, "root").unwrap(), (0, 0));
        assert!(resolve_owner(&v, "evil:evil").is_err());
    }
}
