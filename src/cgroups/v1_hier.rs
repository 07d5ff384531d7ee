//! cgroup v1 hierarchies: which are mounted (found once per process from mountinfo) and
//! where each controller's root is, and making a container's directory in one (mkdir -p,
//! with cpuset's cpus and mems filled in). What goes into which hierarchy is `v1_choice`'s
//! and `v1`'s business; this module only knows the mounts and the directories.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::{write_file, CgroupError, CGROUP_ROOT};

/// The controllers kiste knows, when the host mounts them: `kiste oci` makes a directory
/// in each one's hierarchy, kiste's own containers in those `v1_choice` picks.
const CONTROLLERS: &[&str] = &[
    "memory",
    "cpu",
    "cpuacct",
    "cpuset",
    "pids",
    "blkio",
    "devices",
    "freezer",
    "hugetlb",
    "net_cls",
    "net_prio",
    "perf_event",
];

/// Each mounted controller and its hierarchy root (`cpu` may be a link to `cpu,cpuacct`),
/// found once per process from the hierarchies mounted under /sys/fs/cgroup (one read
/// of mountinfo, which the container's /sys/fs/cgroup needs anyway), else with a
/// readlink per controller.
fn roots() -> &'static [(&'static str, PathBuf)] {
    static ROOTS: OnceLock<Vec<(&'static str, PathBuf)>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let base = Path::new(CGROUP_ROOT);
        if let Some(mounted) = mounted() {
            return CONTROLLERS
                .iter()
                .filter_map(|c| {
                    let (dir, _) = mounted
                        .iter()
                        .find(|(_, opts)| opts.split(',').any(|o| o == *c))?;
                    Some((*c, base.join(dir)))
                })
                .collect();
        }
        let mut out = Vec::new();
        for c in CONTROLLERS {
            let p = base.join(c);
            let root = match fs::read_link(&p) {
                Ok(target) => base.join(target),
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => p,
                Err(_) => continue,
            };
            if root.join("cgroup.procs").exists() {
                out.push((*c, root));
            }
        }
        out
    })
}

/// The v1 hierarchies mounted directly under /sys/fs/cgroup: (directory name, the
/// controllers and name= of its mount options), e.g. ("cpu,cpuacct", "cpu,cpuacct");
/// read once per process. None when mountinfo cannot be read.
pub(crate) fn mounted() -> Option<&'static [(String, String)]> {
    static MOUNTED: OnceLock<Option<Vec<(String, String)>>> = OnceLock::new();
    MOUNTED
        .get_or_init(|| {
            let info = crate::process::read_proc("/proc/self/mountinfo").ok()?;
            Some(parse_mounted(&info))
        })
        .as_deref()
}

fn parse_mounted(info: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in info.lines() {
        // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let mut r = right.split(' ');
        if r.next() != Some("cgroup") {
            continue;
        }
        let superopts = r.nth(1).unwrap_or("");
        let Some(point) = left.split(' ').nth(4) else {
            continue;
        };
        let Some(name) = point.strip_prefix("/sys/fs/cgroup/") else {
            continue;
        };
        let opts: Vec<&str> = superopts
            .split(',')
            .filter(|o| {
                !matches!(*o, "rw" | "ro" | "clone_children" | "xattr" | "noprefix")
                    && !o.starts_with("release_agent=")
            })
            .collect();
        if !name.contains('/') && !opts.is_empty() {
            out.push((name.to_string(), opts.join(",")));
        }
    }
    out
}

/// The hierarchy root of one controller, None when the host does not mount it.
pub(crate) fn controller_root(ctrl: &str) -> Option<&'static Path> {
    roots()
        .iter()
        .find(|(c, _)| *c == ctrl)
        .map(|(_, r)| r.as_path())
}

/// The distinct hierarchy roots (e.g. `cpu` and `cpuacct` may be one `cpu,cpuacct`).
pub(crate) fn hierarchies() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    for (_, root) in roots() {
        if !out.contains(root) {
            out.push(root.clone());
        }
    }
    out
}

/// mkdir -p below a hierarchy root. cpuset directories start empty and refuse tasks, so
/// each new level copies cpus and mems from its parent (an existing level too, when a
/// process died before it could copy them). Below kiste's own cgroup (`own_parent`) the
/// kernel does that copy: its `cgroup.clone_children` is set once, and a new container's
/// directory is born with the parent's cpus and mems.
pub(super) fn make_dirs(root: &Path, rel: &Path, own_parent: bool) -> Result<(), CgroupError> {
    let cpuset = controller_root("cpuset") == Some(root);
    // The parent (kiste's own cgroup) usually exists: one mkdir, and in cpuset the
    // parent's cpus and mems copied when it has them.
    let dir = root.join(rel);
    if fs::create_dir(&dir).is_ok() {
        if !cpuset {
            return Ok(());
        }
        let parent = dir.parent().unwrap_or(&dir);
        if own_parent && clones_children(parent) {
            return Ok(());
        }
        if copy_cpuset(&dir).is_ok() {
            if own_parent {
                let _ = write_file(parent, "cgroup.clone_children", "1");
            }
            return Ok(());
        }
    }
    let mut cur = root.to_path_buf();
    for comp in rel.components() {
        let parent = cur.clone();
        cur.push(comp);
        let created = match fs::create_dir(&cur) {
            Ok(()) => true,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => false,
            Err(e) => return Err(CgroupError::io("create cgroup", &cur, e)),
        };
        if cpuset && !(created && own_parent && cur == dir && clones_children(&parent)) {
            for f in ["cpuset.cpus", "cpuset.mems"] {
                let empty = created
                    || fs::read_to_string(cur.join(f))
                        .unwrap_or_default()
                        .trim()
                        .is_empty();
                if empty {
                    let theirs = fs::read_to_string(parent.join(f))
                        .map_err(|e| CgroupError::io("read", &parent.join(f), e))?;
                    write_file(&cur, f, theirs.trim())?;
                }
            }
            if own_parent && cur.as_path() == dir.parent().unwrap_or(&dir) {
                let _ = write_file(&cur, "cgroup.clone_children", "1");
            }
        }
    }
    Ok(())
}

/// Whether the kernel copies cpus and mems into a new child of `dir` (cpuset only).
fn clones_children(dir: &Path) -> bool {
    fs::read(dir.join("cgroup.clone_children")).is_ok_and(|v| v.first() == Some(&b'1'))
}

/// A new cpuset directory gets its parent's cpus and mems (an error when the parent has
/// none: it was made by a process that died before it could copy them).
fn copy_cpuset(dir: &Path) -> Result<(), CgroupError> {
    let parent = dir.parent().unwrap_or(dir);
    for f in ["cpuset.cpus", "cpuset.mems"] {
        let theirs = fs::read_to_string(parent.join(f))
            .map_err(|e| CgroupError::io("read", &parent.join(f), e))?;
        if theirs.trim().is_empty() {
            return Err(CgroupError::io(
                "read",
                &parent.join(f),
                io::ErrorKind::InvalidData.into(),
            ));
        }
        write_file(dir, f, theirs.trim())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hierarchies_come_from_the_cgroup_mounts_under_sys_fs_cgroup() {
        let info = "\
25 30 0:22 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755
26 25 0:23 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw,nsdelegate
27 25 0:24 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd
28 25 0:25 / /sys/fs/cgroup/cpu,cpuacct rw shared:9 - cgroup cgroup rw,cpu,cpuacct
29 25 0:26 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory,clone_children
30 25 0:27 / /srv/elsewhere/pids rw - cgroup cgroup rw,pids
";
        assert_eq!(
            parse_mounted(info),
            vec![
                ("systemd".to_string(), "name=systemd".to_string()),
                ("cpu,cpuacct".to_string(), "cpu,cpuacct".to_string()),
                ("memory".to_string(), "memory".to_string()),
            ]
        );
    }
}
