//! The per-build scratch directory under `$root/build/<id>`: it holds step work dirs,
//! overlay mounts and the names of the cgroups RUN steps used, next to an `owner` file
//! (pid and process start time). A build killed with SIGKILL leaves it behind; the next
//! build finds it (owner dead), kills what is left in its cgroups, unmounts everything
//! mounted below it and removes it. It does not touch the image store.

use crate::paths::{SCRATCH_CGROUPS as CGROUPS, SCRATCH_OWNER as OWNER};
use crate::runtime::CgroupSpec;
use std::fs;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

pub struct Scratch {
    pub dir: PathBuf,
    /// The build's RUN cgroup on cgroup v1, once the first RUN step has recorded it.
    run_cgroup: Option<String>,
}

impl Scratch {
    /// Clean up after dead builds, then make this build's directory.
    pub fn create(build_root: &Path) -> std::io::Result<Scratch> {
        crate::paths::make_dir(build_root, crate::paths::PRIVATE)?;
        clean_stale(build_root);
        let dir = build_root.join(&crate::state::new_id()[..16]);
        crate::paths::make_dir(&dir, crate::paths::PRIVATE)?;
        let pid = std::process::id() as i32;
        let start = crate::runtime::process_start_time(pid).unwrap_or(0);
        fs::write(dir.join(OWNER), format!("{pid} {start}\n"))?;
        Ok(Scratch {
            dir,
            run_cgroup: None,
        })
    }

    /// The cgroup (`PARENT/NAME`) of the next RUN step below `parent`, recorded before it
    /// is made, and whether it is the build's own, shared with its other RUN steps. On
    /// cgroup v1 it is: each RUN step joins it in turn, and it goes with this scratch dir.
    /// A step's processes are all gone once the init of its pid namespace is reaped, so
    /// the next step finds it empty; and a step spares the mkdir and rmdir in each
    /// hierarchy (and the failed rmdir in every other one). On v2 each step gets its own:
    /// the device allowlist is an eBPF program attached at each create, which a reused
    /// cgroup would stack.
    pub fn run_cgroup(&mut self, parent: &str) -> (String, bool) {
        let shared = crate::cgroups::detect() == crate::cgroups::CgroupLayout::V1;
        if let Some(name) = self.run_cgroup.as_ref().filter(|_| shared) {
            return (name.clone(), true);
        }
        let name = format!("{parent}/build-{}", &crate::state::new_id()[..16]);
        self.record_cgroup(&name);
        if shared {
            self.run_cgroup = Some(name.clone());
        }
        (name, shared)
    }

    /// Note a cgroup before it is created, so a killed build's leftovers can be found.
    pub fn record_cgroup(&self, name: &str) {
        if let Ok(mut f) = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(CGROUPS))
        {
            let _ = writeln!(f, "{name}");
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        remove(&self.dir);
    }
}

/// The cgroup of a RUN step named `PARENT/NAME` (as recorded), or `NAME` below kiste's.
pub fn build_cgroup(name: &str) -> CgroupSpec {
    let (parent, name) = name.rsplit_once('/').unwrap_or(("kiste", name));
    CgroupSpec {
        parent: parent.into(),
        name: name.to_string(),
        resources: Default::default(),
        devices: Vec::new(),
        allow_all_devices: false,
        role: crate::cgroups::CgroupRole::BuildStep,
    }
}

fn owner_alive(dir: &Path) -> bool {
    let Ok(text) = fs::read_to_string(dir.join(OWNER)) else {
        // Being created right now, or a leftover without an owner: judge by age.
        return fs::metadata(dir)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age.as_secs() < 60);
    };
    let mut it = text.split_whitespace().map(|w| w.parse::<u64>().ok());
    match (it.next().flatten(), it.next().flatten()) {
        (Some(pid), Some(start)) => crate::runtime::process_start_time(pid as i32) == Some(start),
        _ => false,
    }
}

/// Remove the scratch dirs of builds whose process is gone.
pub(crate) fn clean_stale(build_root: &Path) {
    // Every command comes here: a directory's link count (2 + its subdirectories where
    // the file system counts them) says with one stat that no build left a scratch dir,
    // instead of reading the directory.
    use std::os::unix::fs::MetadataExt;
    if fs::metadata(build_root).is_ok_and(|m| m.nlink() == 2) {
        return;
    }
    let Ok(rd) = fs::read_dir(build_root) else {
        return;
    };
    for e in rd.flatten() {
        let dir = e.path();
        if dir.is_dir() && !owner_alive(&dir) {
            remove(&dir);
        }
    }
}

/// Kill leftovers in the recorded cgroups, unmount everything below `dir` (deepest
/// first), then delete it.
fn remove(dir: &Path) {
    if let Ok(text) = fs::read_to_string(dir.join(CGROUPS)) {
        for name in text.lines().filter(|l| !l.is_empty()) {
            let _ = crate::cgroups::remove(&build_cgroup(name));
        }
    }
    let mut mounts = mounts_below(dir);
    crate::sort::sort_by_key(&mut mounts, |m| std::cmp::Reverse(m.as_os_str().len()));
    for m in mounts {
        let _ = crate::storage::unmount(&m);
    }
    let _ = crate::fs::remove_tree(dir);
}

fn mounts_below(dir: &Path) -> Vec<PathBuf> {
    let Ok(dir) = fs::canonicalize(dir) else {
        return Vec::new();
    };
    let prefix = dir.as_os_str().as_bytes().to_vec();
    let info = fs::read("/proc/self/mountinfo").unwrap_or_default();
    info.split(|&b| b == b'\n')
        .filter_map(|line| line.split(|&b| b == b' ').nth(4))
        .map(unescape)
        .filter(|p| p.starts_with(&prefix) && (p.len() == prefix.len() || p[prefix.len()] == b'/'))
        .map(|p| PathBuf::from(std::ffi::OsStr::from_bytes(&p)))
        .collect()
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'\\'
            && i + 3 < s.len()
            && s[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (s[i + 1] - b'0') * 64 + (s[i + 2] - b'0') * 8 + (s[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    out
}
