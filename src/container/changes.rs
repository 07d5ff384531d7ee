//! What a container changed in its image: the entries of its overlay upper dir, read
//! as `docker diff` shows them — `A` added, `C` changed (it exists in the image), `D`
//! deleted (an overlay whiteout). The mount points kiste makes for a container (/proc,
//! /sys, /dev, the /etc files, its volumes' targets) are not the user's changes and are
//! left out when the image lacks them, with directories that hold nothing else. The
//! upper dir holds what the container wrote, so it is read through `crate::fs`.

use crate::fs::{confined::name_cstring, Dir, Root};
use std::collections::BTreeSet;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Added,
    Changed,
    Deleted,
}

impl ChangeKind {
    pub fn letter(self) -> char {
        match self {
            ChangeKind::Added => 'A',
            ChangeKind::Changed => 'C',
            ChangeKind::Deleted => 'D',
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub kind: ChangeKind,
    /// Absolute in the container.
    pub path: String,
}

/// The paths kiste itself makes in a container with these mount targets.
pub fn made_by_kiste(mount_targets: &[String]) -> Vec<String> {
    let mut v: Vec<String> = [
        "/proc",
        "/sys",
        "/dev",
        "/etc/hosts",
        "/etc/hostname",
        "/etc/resolv.conf",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.extend(mount_targets.iter().cloned());
    v
}

/// The changes in `upper` over the image layers `lowers` (bottom first), sorted by path,
/// without the `hidden` paths the image lacks; and the set of paths left out.
pub fn changes(
    upper: &std::path::Path,
    lowers: &[PathBuf],
    hidden: &[String],
) -> io::Result<(Vec<Change>, BTreeSet<String>)> {
    let lower_roots: Vec<Root> = lowers
        .iter()
        .rev()
        .filter_map(|l| Root::open(l).ok())
        .collect();
    // docker keeps its mount points in an init layer under the container's: the
    // directories holding them count as the image's (`C /etc`, not `A /etc`).
    let init_parent = |p: &str| hidden.iter().any(|h| h.starts_with(&format!("{p}/")));
    let in_image = |p: &str| init_parent(p) || lower_roots.iter().any(|r| r.exists(p));
    let mut all = Vec::new();
    let root = Root::open(upper)?;
    walk(&root.dir("")?, "", &mut all)?;
    let mut dropped = BTreeSet::new();
    for h in hidden {
        if !lower_roots.iter().any(|r| r.exists(h)) {
            for (path, _) in &all {
                if path == h || path.starts_with(&format!("{h}/")) {
                    dropped.insert(path.clone());
                }
            }
        }
    }
    // A directory whose whole content was left out was only made to hold it.
    for (path, is_dir) in all.iter().rev() {
        if !*is_dir || dropped.contains(path) {
            continue;
        }
        let prefix = format!("{path}/");
        let mut under = all
            .iter()
            .filter(|(p, _)| p.starts_with(&prefix))
            .peekable();
        if under.peek().is_some() && under.all(|(p, _)| dropped.contains(p)) {
            dropped.insert(path.clone());
        }
    }
    let mut out = Vec::new();
    for (path, _) in &all {
        if dropped.contains(path) {
            continue;
        }
        let kind = if whiteouts(&root, path) {
            ChangeKind::Deleted
        } else if in_image(path) {
            ChangeKind::Changed
        } else {
            ChangeKind::Added
        };
        out.push(Change {
            kind,
            path: path.clone(),
        });
    }
    crate::sort::sort_by(&mut out, |a, b| a.path.cmp(&b.path));
    Ok((out, dropped))
}

/// Overlay's whiteout: a character device 0:0.
fn whiteouts(root: &Root, path: &str) -> bool {
    root.lstat(path)
        .is_ok_and(|st| st.is_char_device() && st.rdev() == 0)
}

/// Every path below `dir` (depth first), with whether it is a directory.
fn walk(dir: &Dir, prefix: &str, out: &mut Vec<(String, bool)>) -> io::Result<()> {
    for name in dir.names()? {
        let path = format!("{prefix}/{}", String::from_utf8_lossy(name.as_bytes()));
        let c = name_cstring(&name)?;
        let st = dir.lstat(&c)?;
        out.push((path.clone(), st.is_dir()));
        if st.is_dir() {
            walk(&dir.subdir(&c)?, &path, out)?;
        }
    }
    Ok(())
}
