//! What `stats` reads from a container's cgroup: CPU time, memory use and limit, block
//! I/O bytes and the number of processes, on v1 (one hierarchy per controller) and v2.
//! Missing files read as zero: a container without a limit or a controller still shows.

use super::resources::CgroupSpec;
use super::{relative_path, CgroupLayout, CGROUP_ROOT};
use std::fs;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CgroupStats {
    /// CPU time used by every process of the cgroup, in nanoseconds.
    pub cpu_ns: u64,
    /// Memory in use, without the inactive file cache (as docker counts it).
    pub memory: u64,
    /// The memory limit; None when there is none.
    pub memory_limit: Option<u64>,
    pub read_bytes: u64,
    pub write_bytes: u64,
    pub pids: u64,
}

fn read_u64(path: &Path) -> Option<u64> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn v1_dir(controller: &str, rel: &Path) -> PathBuf {
    match super::v1_hier::controller_root(controller) {
        Some(root) => root.join(rel),
        None => Path::new(CGROUP_ROOT).join(controller).join(rel),
    }
}

/// `Read`/`Write` totals of v1's blkio.throttle.io_service_bytes ("8:0 Read 4096").
fn v1_blkio(text: &str) -> (u64, u64) {
    let (mut r, mut w) = (0, 0);
    for l in text.lines() {
        let mut f = l.split_whitespace();
        match (
            f.next(),
            f.next(),
            f.next().and_then(|v| v.parse::<u64>().ok()),
        ) {
            (Some(_), Some("Read"), Some(v)) => r += v,
            (Some(_), Some("Write"), Some(v)) => w += v,
            _ => {}
        }
    }
    (r, w)
}

/// `rbytes`/`wbytes` totals of v2's io.stat ("8:0 rbytes=4096 wbytes=0 …").
fn v2_io(text: &str) -> (u64, u64) {
    let (mut r, mut w) = (0, 0);
    for field in text.split_whitespace() {
        if let Some(v) = field
            .strip_prefix("rbytes=")
            .and_then(|v| v.parse::<u64>().ok())
        {
            r += v;
        } else if let Some(v) = field
            .strip_prefix("wbytes=")
            .and_then(|v| v.parse::<u64>().ok())
        {
            w += v;
        }
    }
    (r, w)
}

/// A v1 limit this large means none (the kernel's "unlimited" rounded to a page).
const V1_UNLIMITED: u64 = 1 << 62;

/// The container's counters now.
pub fn stats(spec: &CgroupSpec) -> CgroupStats {
    let rel = relative_path(spec);
    match super::detect() {
        CgroupLayout::V1 => {
            let mem = v1_dir("memory", &rel);
            let usage = read_u64(&mem.join("memory.usage_in_bytes")).unwrap_or(0);
            let inactive =
                super::counter(&mem.join("memory.stat"), "total_inactive_file").unwrap_or(0);
            let (read_bytes, write_bytes) =
                fs::read_to_string(v1_dir("blkio", &rel).join("blkio.throttle.io_service_bytes"))
                    .map(|t| v1_blkio(&t))
                    .unwrap_or((0, 0));
            CgroupStats {
                cpu_ns: read_u64(&v1_dir("cpuacct", &rel).join("cpuacct.usage")).unwrap_or(0),
                memory: usage.saturating_sub(inactive),
                memory_limit: read_u64(&mem.join("memory.limit_in_bytes"))
                    .filter(|l| *l < V1_UNLIMITED),
                read_bytes,
                write_bytes,
                pids: read_u64(&v1_dir("pids", &rel).join("pids.current")).unwrap_or(0),
            }
        }
        CgroupLayout::V2 => {
            let Some(dir) = super::v2_dir(spec) else {
                return CgroupStats::default();
            };
            let usage = read_u64(&dir.join("memory.current")).unwrap_or(0);
            let inactive = super::counter(&dir.join("memory.stat"), "inactive_file").unwrap_or(0);
            let (read_bytes, write_bytes) = fs::read_to_string(dir.join("io.stat"))
                .map(|t| v2_io(&t))
                .unwrap_or((0, 0));
            CgroupStats {
                cpu_ns: super::counter(&dir.join("cpu.stat"), "usage_usec").unwrap_or(0) * 1000,
                memory: usage.saturating_sub(inactive),
                memory_limit: read_u64(&dir.join("memory.max")),
                read_bytes,
                write_bytes,
                pids: read_u64(&dir.join("pids.current")).unwrap_or(0),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_io_totals_in_both_layouts() {
        let v1 =
            "8:0 Read 4096\n8:0 Write 512\n8:0 Sync 0\n8:0 Total 4608\n8:16 Read 4\nTotal 4612\n";
        assert_eq!(v1_blkio(v1), (4100, 512));
        let v2 =
            "8:0 rbytes=4096 wbytes=512 rios=1 wios=1 dbytes=0 dios=0\n8:16 rbytes=4 wbytes=0\n";
        assert_eq!(v2_io(v2), (4100, 512));
    }
}
