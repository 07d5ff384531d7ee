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

const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;

impl Layout {
    /// This host's layout, by the file system magic of /sys/fs/cgroup (a hybrid host has a
    /// tmpfs there, with v1 hierarchies below).
    pub fn host() -> Layout {
        let magic = nix::sys::statfs::statfs("/sys/fs/cgroup")
            .map(|s| s.filesystem_type().0 as i64)
            .unwrap_or(0);
        if magic == CGROUP2_SUPER_MAGIC {
            Layout::V2
        } else {
            Layout::V1
        }
    }

    /// The host directory of cgroup `parent/name` for `controller` (v2 has one tree for all).
    pub fn dir(self, controller: &str, parent: &str, name: &str) -> PathBuf {
        let base = Path::new("/sys/fs/cgroup");
        match self {
            Layout::V1 => base.join(controller).join(parent).join(name),
            Layout::V2 => base.join(parent).join(name),
        }
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
    /// CPU time used so far, in nanoseconds.
    CpuUsage,
    /// `--cpuset-cpus`.
    Cpuset,
}

impl Knob {
    /// A shell command that prints this setting on one line inside the container, in the
    /// units `expect` uses.
    pub fn read(self, layout: Layout) -> String {
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
            (Knob::CpuUsage, Layout::V1) => cat("cpuacct/cpuacct.usage"),
            (Knob::CpuUsage, Layout::V2) => {
                "echo $(( $(sed -n 's/^usage_usec //p' /sys/fs/cgroup/cpu.stat) * 1000 ))".into()
            }
            (Knob::Cpuset, Layout::V1) => cat("cpuset/cpuset.cpus"),
            (Knob::Cpuset, Layout::V2) => cat("cpuset.cpus"),
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

/// A script printing each knob on its own line, and the lines it must print for docker's
/// `values`, on this host's layout.
pub fn probe(knobs: &[(Knob, &str)]) -> (String, String) {
    let layout = Layout::host();
    let script = knobs
        .iter()
        .map(|(k, _)| k.read(layout))
        .collect::<Vec<_>>()
        .join("; ");
    let want = knobs
        .iter()
        .map(|(k, v)| k.expect(layout, v) + "\n")
        .collect();
    (script, want)
}
