//! Control groups for containers: detection of the host's layout (v1/hybrid or v2),
//! creation of a container's cgroup under kiste's own subtree, resource limits, the
//! device allowlist, joining, OOM and process queries, and removal. It never touches a
//! cgroup outside `<hierarchy>/<parent>/…`, and it knows nothing about namespaces or
//! the container's filesystem.

mod bpf;
pub mod delegated;
pub mod freeze;
mod resources;
mod rt;
pub mod stats;
mod v1;
mod v1_choice;
mod v1_hier;
mod v2;

pub use resources::{
    CgroupRole, CgroupSpec, Device, DeviceRate, DeviceRule, HugepageLimit, Resources, WeightDevice,
};

use std::fs;
use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Where every cgroup hierarchy is mounted on a normal host.
pub const CGROUP_ROOT: &str = "/sys/fs/cgroup";

const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;
const TMPFS_MAGIC: i64 = 0x0102_1994;

#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    /// A limit this host's cgroups cannot apply: the flag and why.
    #[error("cannot apply {what}: {reason}")]
    Unsupported { what: String, reason: &'static str },
    /// v2: the controller file a limit needs is not in the cgroup (not delegated).
    #[error("cannot apply {what}: {file} is missing in {} (controller not delegated)", .dir.display())]
    NotDelegated {
        what: String,
        file: String,
        dir: PathBuf,
    },
    /// v1: the hierarchy of the controller a limit needs is not mounted.
    #[error("cannot apply {what}: the {controller} cgroup controller is not mounted")]
    NotMounted { what: String, controller: String },
    /// The kernel refused the device eBPF program: the cause, and the verifier's last lines.
    #[error("cannot load the device eBPF program: {source}{}", if .verifier.is_empty() { String::new() } else { format!(": {}", .verifier) })]
    BpfLoad {
        #[source]
        source: io::Error,
        verifier: String,
    },
    /// A cgroup name or parent that would leave kiste's subtree.
    #[error("invalid cgroup path {parent:?}/{name:?}")]
    InvalidPath { parent: String, name: String },
}

impl CgroupError {
    pub(crate) fn io(action: &'static str, path: &Path, source: io::Error) -> Self {
        CgroupError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// How the host mounts its cgroups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupLayout {
    /// One hierarchy per controller (including the hybrid layout, whose unified
    /// hierarchy holds no controllers and is not used).
    V1,
    /// The unified hierarchy only.
    V2,
}

/// Detects the layout by the filesystem magic of `/sys/fs/cgroup` (cgroup2 there means
/// v2; a tmpfs there means v1, with or without an empty `unified` cgroup2 beside it).
pub fn detect() -> CgroupLayout {
    // Once per process: `run` asks on every step (create, spec, mounts, remove).
    static LAYOUT: std::sync::OnceLock<CgroupLayout> = std::sync::OnceLock::new();
    *LAYOUT.get_or_init(|| detect_at(Path::new(CGROUP_ROOT)))
}

// The magic's integer type differs between glibc and musl.
#[allow(clippy::unnecessary_cast)]
fn fs_magic(path: &Path) -> Option<i64> {
    nix::sys::statfs::statfs(path)
        .ok()
        .map(|s| s.filesystem_type().0 as i64)
}

/// The v1 hierarchies mounted under /sys/fs/cgroup: see `v1_hier::mounted`.
pub(crate) fn v1_mounted() -> Option<&'static [(String, String)]> {
    v1_hier::mounted()
}

pub(crate) fn detect_at(root: &Path) -> CgroupLayout {
    match fs_magic(root) {
        Some(CGROUP2_SUPER_MAGIC) => CgroupLayout::V2,
        Some(TMPFS_MAGIC) => CgroupLayout::V1,
        // Anything else (no /sys/fs/cgroup at all): v1 code paths skip absent controllers.
        _ => CgroupLayout::V1,
    }
}

/// A created container cgroup, ready to be joined.
#[derive(Debug)]
pub struct Cgroup {
    pub layout: CgroupLayout,
    /// v1: one directory per controller hierarchy; v2: exactly one directory.
    pub dirs: Vec<PathBuf>,
    /// v2: the attached device program, kept open until the process is in the cgroup.
    #[allow(dead_code)]
    device_prog: Option<OwnedFd>,
}

/// Moves the calling thread into every cgroup whose `tasks` file is in `files` (from
/// `v1::task_files`). For the child between clone and execve: one write per hierarchy.
pub(crate) fn join_self(files: &[std::os::fd::OwnedFd]) -> std::io::Result<()> {
    for f in files {
        // SAFETY: writing one byte from a static buffer to an open descriptor.
        let n = unsafe { libc::write(std::os::fd::AsRawFd::as_raw_fd(f), b"0".as_ptr().cast(), 1) };
        if n != 1 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Whether the child joins its cgroup itself through `tasks` files (`self_join_files`),
/// so that the parent can make the cgroup after the clone, while the child creates its
/// namespaces and starts its mounts, instead of before it: cgroup v1 as root. Not on v2
/// (clone3 places the child into a cgroup that exists before it) or rootless v1 (no
/// cgroup).
pub(crate) fn made_after_clone() -> bool {
    detect() == CgroupLayout::V1 && !crate::rootless::active()
}

impl Cgroup {
    /// Moves `pid` into the cgroup (every hierarchy on v1).
    pub fn join(&self, pid: i32) -> Result<(), CgroupError> {
        let line = pid.to_string();
        for dir in &self.dirs {
            let procs = dir.join("cgroup.procs");
            fs::write(&procs, &line).map_err(|e| CgroupError::io("join", &procs, e))?;
        }
        Ok(())
    }

    /// v1: each hierarchy's `tasks` file, open for the child to join itself with
    /// (`v1::join_self`, no RCU grace period); empty on v2, where clone3 places the child.
    pub fn self_join_files(&self) -> Result<Vec<OwnedFd>, CgroupError> {
        match self.layout {
            CgroupLayout::V1 => v1::task_files(&self.dirs),
            CgroupLayout::V2 => Ok(Vec::new()),
        }
    }

    /// v2: an O_PATH directory fd for clone3's CLONE_INTO_CGROUP.
    pub fn dir_fd(&self) -> Option<OwnedFd> {
        if self.layout != CgroupLayout::V2 {
            return None;
        }
        let dir = fs::File::open(&self.dirs[0]).ok()?;
        Some(OwnedFd::from(dir))
    }
}

/// The cgroup of a running container, to join (`exec`): its directories as `create`
/// made them, and any a later `pause` or `update` added (v1).
pub fn existing(spec: &CgroupSpec) -> Cgroup {
    let layout = detect();
    let mut dirs = dirs_of(spec);
    if layout == CgroupLayout::V1 {
        dirs.retain(|d| d.is_dir());
    }
    Cgroup {
        layout,
        dirs,
        device_prog: None,
    }
}

/// Creates the container's cgroup with its limits and device rules applied. On error
/// whatever was created is removed again. The limits were checked when the user gave
/// them (`config`); what can fail here is the host: a controller or file it lacks.
pub fn create(spec: &CgroupSpec) -> Result<Cgroup, CgroupError> {
    check_names(spec)?;
    let layout = detect();
    let rootless = crate::rootless::active();
    // Rootless without a cgroup of its own (v1, or no delegated v2 subtree): limits were
    // refused before the container was made; it stays in the caller's cgroup.
    let outside = Cgroup {
        layout,
        dirs: Vec::new(),
        device_prog: None,
    };
    let result = match layout {
        CgroupLayout::V2 => {
            let Some(base) = v2_base() else {
                return Ok(outside);
            };
            let made = if rootless {
                delegated::make_room(&base)
            } else {
                Ok(())
            };
            // The device eBPF program needs CAP_SYS_ADMIN in the host's namespace; a
            // rootless container cannot open host devices beyond the user's anyway.
            let made = made.and_then(|()| v2::create(&base, spec, !rootless));
            match made {
                // Rootless with no limit asked for: a subtree kiste cannot use (a process
                // it may not move, a full subtree) costs only the cgroup's extras (stats,
                // pause), so the container runs in the caller's cgroup instead.
                Err(_) if rootless && spec.resources == Resources::default() => {
                    let _ = remove(spec);
                    return Ok(outside);
                }
                made => made.map(|(dir, prog)| Cgroup {
                    layout,
                    dirs: vec![dir],
                    device_prog: prog,
                }),
            }
        }
        CgroupLayout::V1 if rootless => return Ok(outside),
        CgroupLayout::V1 => v1::create(spec).map(|dirs| Cgroup {
            layout,
            dirs,
            device_prog: None,
        }),
    };
    if result.is_err() {
        let _ = remove(spec);
    }
    result
}

/// Changes the limits of a running container's cgroup to `spec.resources` (`update`):
/// each limit that is set is written, raising or lowering it; the kernel's refusal (a
/// memory limit below what the container uses) comes back naming the file. Rootless
/// without a cgroup of its own there is nothing to write: the limits were refused before.
pub fn update(spec: &CgroupSpec) -> Result<(), CgroupError> {
    check_names(spec)?;
    match detect() {
        CgroupLayout::V1 if crate::rootless::active() => Ok(()),
        CgroupLayout::V1 => v1::update(spec),
        CgroupLayout::V2 => match v2_dir(spec) {
            Some(dir) => v2::update(&dir, &spec.resources),
            None => Ok(()),
        },
    }
}

fn check_names(spec: &CgroupSpec) -> Result<(), CgroupError> {
    let bad = |s: &str| s.split('/').any(|c| c == ".." || c == ".");
    if spec.name.is_empty() || spec.name.contains('/') || bad(&spec.name) || bad(&spec.parent) {
        return Err(CgroupError::InvalidPath {
            parent: spec.parent.clone(),
            name: spec.name.clone(),
        });
    }
    Ok(())
}

/// Every directory the container may have for the host's layout (v1: one per mounted
/// hierarchy, made or not: `v1_choice` makes only some, `pause`/`update` may add others).
pub(crate) fn dirs_of(spec: &CgroupSpec) -> Vec<PathBuf> {
    let rel = relative_path(spec);
    match detect() {
        CgroupLayout::V1 if crate::rootless::active() => Vec::new(),
        CgroupLayout::V1 => v1_hier::hierarchies()
            .into_iter()
            .map(|h| h.join(&rel))
            .collect(),
        CgroupLayout::V2 => v2_base().map(|b| b.join(&rel)).into_iter().collect(),
    }
}

/// Where kiste's v2 cgroups are made: the root of the unified hierarchy, or rootless the
/// user's delegated subtree (None when there is none).
pub(crate) fn v2_base() -> Option<PathBuf> {
    if crate::rootless::active() {
        delegated::subtree().map(Path::to_path_buf)
    } else {
        Some(PathBuf::from(CGROUP_ROOT))
    }
}

/// The container's v2 directory (None on v1, or rootless without a delegated subtree).
pub(crate) fn v2_dir(spec: &CgroupSpec) -> Option<PathBuf> {
    match detect() {
        CgroupLayout::V1 => None,
        CgroupLayout::V2 => v2_base().map(|b| b.join(relative_path(spec))),
    }
}

pub(crate) fn relative_path(spec: &CgroupSpec) -> PathBuf {
    let parent = spec.parent.trim_matches('/');
    let parent = if parent.is_empty() { "kiste" } else { parent };
    Path::new(parent).join(&spec.name)
}

/// Removes the container's cgroup after its process is gone. Any process still in it is
/// killed first; removing a cgroup that does not exist is not an error.
pub fn remove(spec: &CgroupSpec) -> Result<(), CgroupError> {
    if check_names(spec).is_err() {
        return Ok(());
    }
    // The usual case, a cgroup left empty by its exited process, goes with one rmdir per
    // hierarchy; one that is busy (a process, or a cgroup below it) takes the long way.
    let busy: Vec<PathBuf> = dirs_of(spec)
        .into_iter()
        .filter(|d| match fs::remove_dir(d) {
            Ok(()) => false,
            Err(e) => e.kind() != io::ErrorKind::NotFound,
        })
        .collect();
    if busy.iter().any(|d| !read_procs(d).is_empty()) {
        kill_all(&busy);
    }
    for dir in busy {
        remove_tree(&dir)?;
    }
    Ok(())
}

/// Kills every process in the cgroup without racing its forks: v2's cgroup.kill, or on
/// v1 freeze, kill, thaw.
fn kill_all(dirs: &[PathBuf]) {
    if let Some(d) = dirs.iter().find(|d| d.join("cgroup.kill").exists()) {
        let _ = fs::write(d.join("cgroup.kill"), "1");
        return;
    }
    let freezer = dirs.iter().find(|d| d.join("freezer.state").exists());
    if let Some(f) = freezer {
        let _ = fs::write(f.join("freezer.state"), "FROZEN");
        let deadline = Instant::now() + Duration::from_millis(200);
        while fs::read_to_string(f.join("freezer.state")).is_ok_and(|s| s.trim() == "FREEZING")
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    for dir in dirs {
        for pid in read_procs(dir) {
            // SAFETY: plain kill(2); the pids are the container's own processes.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
    if let Some(f) = freezer {
        let _ = fs::write(f.join("freezer.state"), "THAWED");
    }
}

/// rmdir of the cgroup and any cgroups below it, retrying while killed processes drain.
fn remove_tree(dir: &Path) -> Result<(), CgroupError> {
    if let Ok(entries) = fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                remove_tree(&e.path())?;
            }
        }
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && Instant::now() < deadline => {
                for pid in read_procs(dir) {
                    // SAFETY: as above.
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(e) => return Err(CgroupError::io("remove cgroup", dir, e)),
        }
    }
}

pub(crate) fn read_procs(dir: &Path) -> Vec<i32> {
    fs::read_to_string(dir.join("cgroup.procs"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// Whether the kernel's OOM killer killed a process in the cgroup.
pub fn oom_killed(spec: &CgroupSpec) -> bool {
    let rel = relative_path(spec);
    let (file, key) = match detect() {
        CgroupLayout::V1 => (
            Path::new(CGROUP_ROOT)
                .join("memory")
                .join(&rel)
                .join("memory.oom_control"),
            "oom_kill",
        ),
        CgroupLayout::V2 => match v2_dir(spec) {
            Some(dir) => (dir.join("memory.events"), "oom_kill"),
            None => return false,
        },
    };
    counter(&file, key).is_some_and(|n| n > 0)
}

pub(crate) fn counter(file: &Path, key: &str) -> Option<u64> {
    // A cgroup file reports size 0: `read_to_string`'s stat for a size hint buys nothing
    // and its 32-byte first reads take three calls for memory.oom_control.
    let text = crate::process::read_proc(file).ok()?;
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(' ')?;
        (k == key).then(|| v.trim().parse().ok()).flatten()
    })
}

/// The processes in the cgroup.
pub fn pids(spec: &CgroupSpec) -> Vec<i32> {
    let dirs = match detect() {
        CgroupLayout::V1 => v1_choice::member_dirs(spec),
        _ => dirs_of(spec),
    };
    let mut all: Vec<i32> = dirs.iter().flat_map(|d| read_procs(d)).collect();
    all.sort_unstable();
    all.dedup();
    all
}

/// The device rules of a container, in order (the last that matches decides): the
/// standard nodes, mknod of anything, the spec's devices, then the extra rules
/// (`--device-cgroup-rule`, the OCI spec's linux.resources.devices).
pub(crate) fn device_rules(devices: &[Device], extra: &[DeviceRule]) -> Vec<DeviceRule> {
    let allow = |kind, major, minor, access: &str| DeviceRule {
        allow: true,
        kind,
        major,
        minor,
        access: access.to_string(),
    };
    let mut rules = vec![
        allow('c', None, None, "m"),
        allow('b', None, None, "m"),
        allow('c', Some(1), Some(3), "rwm"),
        allow('c', Some(1), Some(5), "rwm"),
        allow('c', Some(1), Some(7), "rwm"),
        allow('c', Some(1), Some(8), "rwm"),
        allow('c', Some(1), Some(9), "rwm"),
        allow('c', Some(5), Some(0), "rwm"),
        allow('c', Some(5), Some(1), "rwm"),
        allow('c', Some(5), Some(2), "rwm"),
        allow('c', Some(136), None, "rwm"),
    ];
    for d in devices {
        let access = if d.permissions.is_empty() {
            "rwm"
        } else {
            d.permissions.as_str()
        };
        rules.push(allow(d.kind, Some(d.major), Some(d.minor), access));
    }
    rules.extend(extra.iter().cloned());
    rules
}

pub(crate) fn write_file(dir: &Path, name: &str, value: &str) -> Result<(), CgroupError> {
    let path = dir.join(name);
    fs::write(&path, value).map_err(|e| CgroupError::io("write", &path, e))
}

/// Writes one device's I/O weight; a device whose I/O scheduler does not weigh cgroups
/// (anything but BFQ/CFQ) makes the kernel answer EOPNOTSUPP, said as such.
pub(crate) fn write_weight_device(
    dir: &Path,
    file: &str,
    w: &WeightDevice,
    value: u64,
) -> Result<(), CgroupError> {
    let path = dir.join(file);
    match fs::write(&path, format!("{}:{} {value}", w.major, w.minor)) {
        Err(e) if e.raw_os_error() == Some(libc::EOPNOTSUPP) => Err(CgroupError::Unsupported {
            what: format!("--blkio-weight-device {}:{}", w.major, w.minor),
            reason: "the device's I/O scheduler does not weigh cgroups (BFQ in \
                     /sys/block/DEVICE/queue/scheduler does; on cgroup v2 so does the I/O cost \
                     controller once enabled for the device in io.cost.qos)",
        }),
        r => r.map_err(|e| CgroupError::io("write", &path, e)),
    }
}

/// Writes a period and its quota (or runtime). The kernel checks each write against the
/// other's current value, so when the first write is refused the second goes first.
pub(crate) fn write_pair(
    dir: &Path,
    period: (&str, Option<u64>),
    quota: (&str, Option<i64>),
) -> Result<(), CgroupError> {
    let write_quota = || match quota.1 {
        Some(q) => write_file(dir, quota.0, &q.to_string()),
        None => Ok(()),
    };
    if let Some(p) = period.1 {
        if let Err(e) = write_file(dir, period.0, &p.to_string()) {
            write_quota().map_err(|_| e)?;
            return write_file(dir, period.0, &p.to_string());
        }
    }
    write_quota()
}
