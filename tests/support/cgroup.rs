//! The one place the tests know where a cgroup setting lives, in both layouts: v1 (one
//! hierarchy per controller, hybrid hosts such as this one) and v2 (one unified tree, as
//! in the qemu test). Tests name a setting (`Knob`) and get the file to read inside the
//! container, the directory of a cgroup on the host, and docker's value written the way
//! that file shows it. Plain std + nix, so `examples/runtime_probe` can include it by path.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The cgroup file system mounted at /sys/fs/cgroup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    V1,
    V2,
}

impl Layout {
    /// This host's layout, by the file system magic of /sys/fs/cgroup (a hybrid host has a
    /// tmpfs there, with v1 hierarchies below).
    pub fn host() -> Layout {
        let unified = nix::sys::statfs::statfs("/sys/fs/cgroup")
            .is_ok_and(|s| s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC);
        if unified {
            Layout::V2
        } else {
            Layout::V1
        }
    }

    /// The host directory of cgroup `parent/name` for `controller` (v2 has one tree for all;
    /// an empty `name` gives the parent).
    pub fn dir(self, controller: &str, parent: &str, name: &str) -> PathBuf {
        let base = Path::new("/sys/fs/cgroup");
        match self {
            Layout::V1 => base.join(controller).join(parent).join(name),
            Layout::V2 => base.join(parent).join(name),
        }
    }

    /// File `file` of cgroup `parent/name` for `controller` on the host, trimmed; panics
    /// naming the path when it cannot be read.
    pub fn file(self, controller: &str, parent: &str, name: &str, file: &str) -> String {
        let p = self.dir(controller, parent, name).join(file);
        std::fs::read_to_string(&p)
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
            .trim()
            .to_string()
    }

    /// Whether the kernel's I/O scheduler gives cgroup `parent` a weight file for
    /// `--blkio-weight` (CFQ/BFQ on v1, io.weight/io.bfq.weight on v2).
    pub fn has_io_weight(self, parent: &str) -> bool {
        weight_files(self)
            .iter()
            .any(|f| self.dir("blkio", parent, f).exists())
    }

    /// Every directory named `name` in any hierarchy: what a container left behind.
    pub fn leftovers(self, name: &str) -> Vec<PathBuf> {
        let mut left = Vec::new();
        let mut stack = vec![(PathBuf::from("/sys/fs/cgroup"), 0)];
        while let Some((dir, depth)) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in entries.flatten() {
                if !e.file_type().is_ok_and(|t| t.is_dir()) {
                    continue;
                }
                if e.file_name().to_string_lossy() == name {
                    left.push(e.path());
                } else if depth < 3 {
                    stack.push((e.path(), depth + 1));
                }
            }
        }
        left
    }
}

/// A cgroup setting a test reads from inside a container (whose cgroup namespace makes its
/// own cgroup the root of /sys/fs/cgroup).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Knob {
    /// `--memory`, bytes.
    MemoryLimit,
    /// `--memory-reservation`, bytes.
    MemorySoftLimit,
    /// `--pids-limit`.
    PidsMax,
    /// `--cpus`: "QUOTA PERIOD" in microseconds.
    CpuMax,
    /// `--cpu-shares` (v2 shows the weight converted as runc and crun do).
    CpuShares,
    /// How many periods the CPU quota has throttled the cgroup so far.
    CpuThrottled,
    /// `--cpuset-cpus`.
    Cpuset,
    /// `--device-write-bps`: "MAJ:MIN BYTES".
    IoWriteBps,
    /// `--device-read-iops`: "MAJ:MIN IOPS".
    IoReadIops,
    /// `--blkio-weight`, from whichever weight file the kernel's I/O scheduler has.
    IoWeight,
    /// `--oom-kill-disable`: 1 or 0 (v1 only: cgroup v2 has no such switch).
    OomKillDisable,
}

impl Knob {
    /// A shell command that prints this setting on one line inside the container, in the
    /// units `expect` uses; `None` where the layout has no such setting.
    pub fn read(self, layout: Layout) -> Option<String> {
        if (self, layout) == (Knob::OomKillDisable, Layout::V2) {
            return None;
        }
        Some(self.read_file(layout))
    }

    fn read_file(self, layout: Layout) -> String {
        let cat = |f: &str| format!("cat /sys/fs/cgroup/{f}");
        match (self, layout) {
            (Knob::MemoryLimit, Layout::V1) => cat("memory/memory.limit_in_bytes"),
            (Knob::MemoryLimit, Layout::V2) => cat("memory.max"),
            (Knob::MemorySoftLimit, Layout::V1) => cat("memory/memory.soft_limit_in_bytes"),
            (Knob::MemorySoftLimit, Layout::V2) => cat("memory.low"),
            (Knob::PidsMax, Layout::V1) => cat("pids/pids.max"),
            (Knob::PidsMax, Layout::V2) => cat("pids.max"),
            (Knob::CpuMax, Layout::V1) => "echo $(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)".into(),
            (Knob::CpuMax, Layout::V2) => cat("cpu.max"),
            (Knob::CpuShares, Layout::V1) => cat("cpu/cpu.shares"),
            (Knob::CpuShares, Layout::V2) => cat("cpu.weight"),
            (Knob::CpuThrottled, Layout::V1) => {
                "sed -n 's/^nr_throttled //p' /sys/fs/cgroup/cpu/cpu.stat".into()
            }
            (Knob::CpuThrottled, Layout::V2) => {
                "sed -n 's/^nr_throttled //p' /sys/fs/cgroup/cpu.stat".into()
            }
            (Knob::Cpuset, Layout::V1) => cat("cpuset/cpuset.cpus"),
            (Knob::Cpuset, Layout::V2) => cat("cpuset.cpus"),
            (Knob::IoWriteBps, Layout::V1) => cat("blkio/blkio.throttle.write_bps_device"),
            (Knob::IoReadIops, Layout::V1) => cat("blkio/blkio.throttle.read_iops_device"),
            (Knob::IoWriteBps, Layout::V2) => {
                r"sed -nE 's/^([0-9:]+) .*wbps=([0-9]+).*/\1 \2/p' /sys/fs/cgroup/io.max".into()
            }
            (Knob::IoReadIops, Layout::V2) => {
                r"sed -nE 's/^([0-9:]+) .*riops=([0-9]+).*/\1 \2/p' /sys/fs/cgroup/io.max".into()
            }
            (Knob::IoWeight, layout) => {
                let files = weight_files(layout).map(|f| layout.dir("blkio", "", f));
                let files: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
                format!("cat {} 2>/dev/null | sed 's/^default //'", files.join(" "))
            }
            (Knob::OomKillDisable, _) => {
                "sed -n 's/^oom_kill_disable //p' /sys/fs/cgroup/memory/memory.oom_control".into()
            }
        }
    }

    /// What `read` prints when docker's flag set `value` (in docker's units: bytes, a
    /// count, "QUOTA PERIOD", shares, a cpu list).
    pub fn expect(self, layout: Layout, value: &str) -> String {
        match (self, layout) {
            (Knob::CpuShares, Layout::V2) => {
                let shares: u64 = value.parse().expect("shares are a number");
                (1 + ((shares - 2) * 9999) / 262_142).to_string()
            }
            (Knob::CpuMax, Layout::V2) if value.starts_with("-1 ") => {
                value.replacen("-1", "max", 1)
            }
            _ => value.to_string(),
        }
    }
}

/// The files that may hold `--blkio-weight`.
fn weight_files(layout: Layout) -> [&'static str; 2] {
    match layout {
        Layout::V1 => ["blkio.weight", "blkio.bfq.weight"],
        Layout::V2 => ["io.weight", "io.bfq.weight"],
    }
}

/// A script printing each knob on its own line, and the lines it must print for docker's
/// `values`, on this host's layout (a knob the layout lacks is left out of both).
pub fn probe(knobs: &[(Knob, &str)]) -> (String, String) {
    probe_on(Layout::host(), knobs)
}

/// `probe` for a given layout.
pub fn probe_on(layout: Layout, knobs: &[(Knob, &str)]) -> (String, String) {
    let present: Vec<(String, &str, Knob)> = knobs
        .iter()
        .filter_map(|&(k, v)| k.read(layout).map(|r| (r, v, k)))
        .collect();
    let script = present
        .iter()
        .map(|(r, _, _)| r.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    let want = present
        .iter()
        .map(|(_, v, k)| k.expect(layout, v) + "\n")
        .collect();
    (script, want)
}
