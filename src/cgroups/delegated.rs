//! Rootless cgroup v2: the subtree that root delegated to the user. systemd's
//! `user@UID.service` (Delegate=yes), or an admin by hand, chowns a cgroup directory and
//! its `cgroup.procs`, `cgroup.subtree_control` and `cgroup.threads` to the user; the
//! user may then make cgroups below it, enable the controllers it was given and move its
//! own processes between them. kiste finds that subtree by walking up from its own cgroup
//! (`/proc/self/cgroup`) to the highest ancestor the user still owns, so every kiste
//! process of the user (the caller, a monitor, an `exec` inside a container's cgroup)
//! finds the same one. Containers go to `<subtree>/<parent>/<id>`; processes found in the
//! subtree itself are moved into the leaf `<subtree>/kiste-leaf` first, because a cgroup
//! that hands controllers to its children may hold no processes ("no internal processes").
//! Nothing here runs for root, and nothing touches a cgroup outside the subtree.

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::{read_procs, CgroupError, CGROUP_ROOT};

/// The leaf that takes the processes found in the delegated subtree's own directory.
pub const LEAF: &str = "kiste-leaf";

/// The user's delegated subtree, found once per process (None: there is none).
pub fn subtree() -> Option<&'static Path> {
    static SUBTREE: OnceLock<Option<PathBuf>> = OnceLock::new();
    SUBTREE
        .get_or_init(|| {
            let own = fs::read_to_string("/proc/self/cgroup").ok()?;
            find(Path::new(CGROUP_ROOT), &own)
        })
        .as_deref()
}

/// The current cgroup's directory (from a `/proc/PID/cgroup` text) under `root`.
pub fn current(root: &Path, proc_cgroup: &str) -> Option<PathBuf> {
    let rel = proc_cgroup.lines().find_map(|l| l.strip_prefix("0::"))?;
    let rel = rel.trim().trim_start_matches('/');
    if rel.split('/').any(|c| c == ".." || c == ".") {
        return None;
    }
    Some(root.join(rel))
}

/// The highest ancestor of the current cgroup (itself included, the root never) that is
/// delegated to this process's user.
pub fn find(root: &Path, proc_cgroup: &str) -> Option<PathBuf> {
    let mut dir = current(root, proc_cgroup)?;
    let mut found = None;
    while dir != root && dir.starts_with(root) && is_delegated(&dir) {
        found = Some(dir.clone());
        dir.pop();
    }
    found
}

/// Whether the user owns `dir` and may write the files that delegation hands over.
/// Rootless kiste runs as uid 0 of its user namespace, where the user's own files show
/// as owned by 0 and root's as the overflow id; write access is checked by the kernel's
/// own rules (capabilities of a user namespace never cover unmapped owners).
fn is_delegated(dir: &Path) -> bool {
    let me = nix::unistd::geteuid().as_raw();
    let mine = |p: &Path| fs::metadata(p).is_ok_and(|m| m.uid() == me);
    let writable =
        |p: &Path| nix::unistd::access(p, nix::unistd::AccessFlags::W_OK).is_ok() && mine(p);
    mine(dir)
        && writable(&dir.join("cgroup.procs"))
        && writable(&dir.join("cgroup.subtree_control"))
}

/// The controllers the subtree was given (its `cgroup.controllers`).
pub fn controllers(subtree: &Path) -> Vec<String> {
    fs::read_to_string(subtree.join("cgroup.controllers"))
        .unwrap_or_default()
        .split_whitespace()
        .map(String::from)
        .collect()
}

/// Empties the subtree's own directory into its leaf, so that controllers can be enabled
/// for its children. Processes that exit meanwhile are skipped; new ones forked while
/// moving are moved too, until the directory is empty or a deadline passes.
pub fn make_room(subtree: &Path) -> Result<(), CgroupError> {
    if read_procs(subtree).is_empty() {
        return Ok(());
    }
    let leaf = subtree.join(LEAF);
    match fs::create_dir(&leaf) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(CgroupError::io("create cgroup", &leaf, e)),
    }
    let procs = leaf.join("cgroup.procs");
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let left = read_procs(subtree);
        if left.is_empty() {
            return Ok(());
        }
        let mut refused = None;
        for pid in left {
            match fs::write(&procs, pid.to_string()) {
                // Gone meanwhile: nothing to move.
                Err(e) if e.raw_os_error() == Some(libc::ESRCH) => {}
                Err(e) => refused = Some(e),
                Ok(()) => {}
            }
        }
        if Instant::now() >= deadline {
            let e = refused.unwrap_or_else(|| io::Error::from_raw_os_error(libc::EBUSY));
            return Err(CgroupError::io("move the processes of", subtree, e));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_current_cgroup_is_read_from_the_unified_line() {
        let text = "12:memory:/x\n0::/user.slice/user-1000.slice/user@1000.service/app.slice\n";
        assert_eq!(
            current(Path::new("/sys/fs/cgroup"), text).unwrap(),
            Path::new("/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/app.slice")
        );
        assert!(current(Path::new("/sys/fs/cgroup"), "0::/a/../b\n").is_none());
        assert!(current(Path::new("/sys/fs/cgroup"), "1:name=systemd:/\n").is_none());
    }

    #[test]
    fn a_subtree_owned_by_someone_else_is_not_delegated() {
        // The walk starts at the current cgroup and stops at the first directory that is
        // not the user's: a temp dir owned by root is "delegated" to root only.
        let dir = tempfile::tempdir().unwrap();
        let me = nix::unistd::geteuid().as_raw();
        let a = dir.path().join("a");
        let b = a.join("b");
        fs::create_dir_all(&b).unwrap();
        for d in [&a, &b] {
            for f in ["cgroup.procs", "cgroup.subtree_control"] {
                fs::write(d.join(f), "").unwrap();
            }
        }
        // The walk never climbs past the given root, so "a" is the highest.
        assert_eq!(find(dir.path(), "0::/a/b\n").as_deref(), Some(a.as_path()));
        if me == 0 {
            // Given away, "a" ends the walk and "b" is the highest of the user's.
            std::os::unix::fs::chown(&a, Some(1), None).unwrap();
            assert_eq!(find(dir.path(), "0::/a/b\n").as_deref(), Some(b.as_path()));
        }
        assert!(find(dir.path(), "0::/\n").is_none());
    }
}
