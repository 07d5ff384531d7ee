//! cgroup v1 real-time CPU bandwidth (`cpu.rt_period_us`/`cpu.rt_runtime_us`, kernels
//! with CONFIG_RT_GROUP_SCHED). The kernel lets a cgroup reserve only what its parent
//! reserved for its children, and new cgroups reserve nothing, so before a container's
//! runtime is written each of kiste's own ancestors (never the hierarchy's root or
//! anything outside kiste's subtree) is raised to cover its children's share.

use std::fs;
use std::path::{Path, PathBuf};

use super::v1::{controller_root, write_pair};
use super::{write_file, CgroupError};

fn read_num(dir: &Path, file: &str) -> Option<i64> {
    fs::read_to_string(dir.join(file)).ok()?.trim().parse().ok()
}

/// The share of a CPU a cgroup's real-time tasks may use.
fn ratio(dir: &Path) -> f64 {
    match (
        read_num(dir, "cpu.rt_runtime_us"),
        read_num(dir, "cpu.rt_period_us"),
    ) {
        (Some(rt), Some(p)) if rt > 0 && p > 0 => rt as f64 / p as f64,
        _ => 0.0,
    }
}

/// What the other children of `parent` (all but `skip`) reserve together.
fn siblings_ratio(parent: &Path, skip: &Path) -> f64 {
    fs::read_dir(parent)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir() && p != skip)
        .map(|p| ratio(&p))
        .sum()
}

/// Writes the container's real-time period and runtime into `dir` (the cgroup at `rel`
/// below the cpu hierarchy's root), first raising kiste's ancestors as far as needed.
pub(super) fn apply(
    dir: &Path,
    rel: &Path,
    period: Option<u64>,
    runtime: Option<i64>,
) -> Result<(), CgroupError> {
    if !dir.join("cpu.rt_runtime_us").exists() {
        return Err(CgroupError::Unsupported {
            what: "--cpu-rt-period/--cpu-rt-runtime".into(),
            reason: "this kernel has no real-time group scheduling (CONFIG_RT_GROUP_SCHED)",
        });
    }
    if let (Some(rt), Some(root)) = (runtime.filter(|r| *r > 0), controller_root("cpu")) {
        let own_period = period
            .map(|p| p as i64)
            .or_else(|| read_num(dir, "cpu.rt_period_us"))
            .unwrap_or(1_000_000)
            .max(1);
        let mut chain: Vec<PathBuf> = Vec::new();
        let mut cur = root.to_path_buf();
        let comps: Vec<_> = rel.components().collect();
        for c in &comps[..comps.len().saturating_sub(1)] {
            cur.push(c);
            chain.push(cur.clone());
        }
        // Bottom-up: the share each ancestor must grant its children.
        let mut need = rt as f64 / own_period as f64;
        let mut child = dir.to_path_buf();
        let mut wanted: Vec<(PathBuf, i64)> = Vec::new();
        for anc in chain.iter().rev() {
            need += siblings_ratio(anc, &child);
            let p = read_num(anc, "cpu.rt_period_us").unwrap_or(1_000_000);
            wanted.push((anc.clone(), (need * p as f64).ceil() as i64 + 1));
            child = anc.clone();
            need = need.max(ratio(anc));
        }
        for (anc, runtime) in wanted.into_iter().rev() {
            if read_num(&anc, "cpu.rt_runtime_us").unwrap_or(0) < runtime {
                write_file(&anc, "cpu.rt_runtime_us", &runtime.to_string())?;
            }
        }
    }
    write_pair(
        dir,
        ("cpu.rt_period_us", period),
        ("cpu.rt_runtime_us", runtime),
    )
}
