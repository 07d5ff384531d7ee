//! cgroup v1 (and hybrid): one directory per controller hierarchy, each limit written
//! to its controller's files. Controllers the host does not mount are skipped; a limit
//! whose controller or file is missing is an error, never silently dropped.
//!
//! Which hierarchies a cgroup is made in (`v1_choice`): every directory costs a mkdir, a
//! `tasks` open and write in the child and an rmdir on each start, so a container of
//! kiste's own (run/create/start, its `exec`s) is made only in devices (the device
//! allowlist is always enforced), memory, cpuacct and blkio (what `stats` reads; memory
//! also tells an OOM kill) and pids (the membership that `top`, `kill`, `stop`, `rm -f`
//! and the straggler kill read), plus the hierarchy of every limit it has (cpu for CPU
//! limits, cpuset, hugetlb…). A build's RUN step gets devices and pids plus its limits.
//! A hierarchy needed later is made then: `pause` makes freezer, `update` the one of a
//! new limit, and the container's processes (read from pids) are moved in until a pass
//! finds none left. `kiste oci` keeps runc's behaviour, every mounted hierarchy, as its
//! clients (containerd, podman) read them. Removal tries every hierarchy, so a directory
//! a later `pause` or `update` made is never left behind. cgroup v2 is one directory.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::resources::{CgroupSpec, Resources};
use super::v1_hier::{controller_root, make_dirs};
use super::{device_rules, relative_path, write_file, write_pair, CgroupError};

/// Each hierarchy's `tasks` file of the container's cgroup, opened for writing by the
/// parent, which sends them to the child with `Joined`. The child writes "0" to each: moving the calling thread (the single thread of
/// a just-cloned process, so the whole process) is the one v1 migration the kernel does
/// without write-locking the global threadgroup semaphore, whose first writer after a
/// quiet spell waits for an RCU grace period (6-40 ms here). Writing the child's pid to
/// `cgroup.procs` from the parent took that wait on every start. The files are opened by
/// root, whose credentials the kernel checks for the write, even from a user namespace.
pub(crate) fn task_files(dirs: &[PathBuf]) -> Result<Vec<std::os::fd::OwnedFd>, CgroupError> {
    dirs.iter()
        .map(|dir| {
            let tasks = dir.join("tasks");
            fs::OpenOptions::new()
                .write(true)
                .open(&tasks)
                .map(std::os::fd::OwnedFd::from)
                .map_err(|e| CgroupError::io("open", &tasks, e))
        })
        .collect()
}

fn controller_dir(ctrl: &str, rel: &Path) -> Option<PathBuf> {
    controller_root(ctrl).map(|root| root.join(rel))
}

pub(crate) fn create(spec: &CgroupSpec) -> Result<Vec<PathBuf>, CgroupError> {
    let rel = relative_path(spec);
    let mut dirs = Vec::new();
    for root in super::v1_choice::wanted(spec) {
        let dir = root.join(&rel);
        make_dirs(&root, &rel, super::v1_choice::own_parent(spec))?;
        dirs.push(dir);
    }
    apply(&rel, &spec.resources)?;
    // Every role makes a devices directory when the host mounts the hierarchy.
    if let Some(dev) = controller_dir("devices", &rel).filter(|d| dirs.contains(d)) {
        apply_devices(&dev, spec)?;
    }
    Ok(dirs)
}

fn need(ctrl: &str, rel: &Path, what: &str) -> Result<PathBuf, CgroupError> {
    controller_dir(ctrl, rel)
        .filter(|d| d.exists())
        .ok_or_else(|| CgroupError::NotMounted {
            what: what.to_string(),
            controller: ctrl.to_string(),
        })
}

fn apply(rel: &Path, r: &Resources) -> Result<(), CgroupError> {
    if r.limits_memory() {
        let dir = need("memory", rel, "memory limits")?;
        apply_memory(&dir, r)?;
    }
    if r.limits_cpu() {
        let dir = need("cpu", rel, "cpu limits")?;
        if let Some((period, quota)) = cfs_of(r) {
            write_pair(
                &dir,
                ("cpu.cfs_period_us", period),
                ("cpu.cfs_quota_us", quota),
            )?;
        }
        if let Some(shares) = r.cpu_shares.filter(|s| *s > 0) {
            write_file(&dir, "cpu.shares", &shares.to_string())?;
        }
        if r.cpu_rt_period.is_some() || r.cpu_rt_runtime.is_some() {
            super::rt::apply(
                &dir,
                controller_root("cpu"),
                rel,
                r.cpu_rt_period,
                r.cpu_rt_runtime,
            )?;
        }
    }
    if let Some(set) = &r.cpuset_cpus {
        let dir = need("cpuset", rel, "--cpuset-cpus")?;
        write_file(&dir, "cpuset.cpus", set)?;
    }
    if let Some(set) = &r.cpuset_mems {
        let dir = need("cpuset", rel, "--cpuset-mems")?;
        write_file(&dir, "cpuset.mems", set)?;
    }
    if let Some(s) = r.memory_swappiness {
        let dir = need("memory", rel, "--memory-swappiness")?;
        write_file(&dir, "memory.swappiness", &s.to_string())?;
    }
    if !r.hugepage_limits.is_empty() {
        let dir = need("hugetlb", rel, "hugepage limits")?;
        for h in &r.hugepage_limits {
            let file = format!("hugetlb.{}.limit_in_bytes", h.page_size);
            if !dir.join(&file).exists() {
                return Err(CgroupError::NotDelegated {
                    what: format!("the {} hugepage limit", h.page_size),
                    file,
                    dir,
                });
            }
            write_file(&dir, &file, &h.limit.to_string())?;
        }
    }
    if let Some(p) = r.pids_limit {
        let dir = need("pids", rel, "--pids-limit")?;
        let v = if p <= 0 {
            "max".to_string()
        } else {
            p.to_string()
        };
        write_file(&dir, "pids.max", &v)?;
    }
    if r.limits_blkio() {
        let dir = need("blkio", rel, "block I/O limits")?;
        if let Some(w) = r.blkio_weight.filter(|w| *w > 0) {
            let file = ["blkio.weight", "blkio.bfq.weight"]
                .into_iter()
                .find(|f| dir.join(f).exists())
                .ok_or_else(|| CgroupError::Unsupported {
                    what: "--blkio-weight".into(),
                    reason: "this kernel has neither blkio.weight nor blkio.bfq.weight \
                             (no CFQ/BFQ I/O scheduler)",
                })?;
            write_file(&dir, file, &w.to_string())?;
        }
        if !r.blkio_weight_device.is_empty() {
            let file = ["blkio.weight_device", "blkio.bfq.weight_device"]
                .into_iter()
                .find(|f| dir.join(f).exists())
                .ok_or_else(|| CgroupError::Unsupported {
                    what: "--blkio-weight-device".into(),
                    reason: "this kernel has neither blkio.weight_device nor \
                             blkio.bfq.weight_device (no CFQ/BFQ I/O scheduler)",
                })?;
            for w in &r.blkio_weight_device {
                super::write_weight_device(&dir, file, w, u64::from(w.weight))?;
            }
        }
        for (rates, file) in r.throttles() {
            for d in rates {
                write_file(&dir, file, &format!("{}:{} {}", d.major, d.minor, d.rate))?;
            }
        }
    }
    Ok(())
}

/// Changes the limits of an existing cgroup: the memory limits in the order the kernel
/// accepts (memory.limit_in_bytes may never exceed memory.memsw.limit_in_bytes: raising,
/// memsw goes first; lowering, memory goes first), then the others as `create` writes them.
pub(crate) fn update(spec: &CgroupSpec) -> Result<(), CgroupError> {
    let rel = relative_path(spec);
    let r = &spec.resources;
    // A limit whose hierarchy the container was started without: its directory first,
    // the limit written, then the processes moved in.
    let made = super::v1_choice::add(spec, &super::v1_choice::limited(r))?;
    let memory_set =
        r.memory.is_some() || r.memory_swap.is_some() || r.memory_reservation.is_some();
    if memory_set {
        let dir = need("memory", &rel, "memory limits")?;
        let memsw_file = "memory.memsw.limit_in_bytes";
        let current_memsw = fs::read_to_string(dir.join(memsw_file))
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok());
        let new_memory = r.memory.filter(|m| *m > 0).map(|m| m as u64);
        let raising = matches!((new_memory, current_memsw), (Some(m), Some(sw)) if m > sw);
        if raising {
            let swap = match r.memory_swap {
                Some(-1) => "-1".to_string(),
                Some(s) if s > 0 => s.to_string(),
                _ => (2 * new_memory.unwrap_or_default()).to_string(),
            };
            write_file(&dir, memsw_file, &swap)?;
        }
        apply_memory(&dir, r)?;
    }
    let rest = Resources {
        memory: None,
        memory_swap: None,
        memory_reservation: None,
        oom_kill_disable: false,
        ..r.clone()
    };
    apply(&rel, &rest)?;
    super::v1_choice::move_into(spec, &made)
}

/// The CFS period and quota to write: `--cpus` as docker converts it (a 100 ms period),
/// else the period and quota given (-1: no quota).
fn cfs_of(r: &Resources) -> Option<(Option<u64>, Option<i64>)> {
    if let Some(cpus) = r.cpus {
        let period: u64 = 100_000;
        return Some((Some(period), Some((cpus * period as f64).round() as i64)));
    }
    (r.cpu_period.is_some() || r.cpu_quota.is_some())
        .then_some((r.cpu_period, r.cpu_quota.map(|q| q.max(-1))))
}

fn apply_memory(dir: &Path, r: &Resources) -> Result<(), CgroupError> {
    let has_memsw = dir.join("memory.memsw.limit_in_bytes").exists();
    if let Some(m) = r.memory.filter(|m| *m != 0) {
        write_file(dir, "memory.limit_in_bytes", &m.to_string())?;
        // docker: without --memory-swap the container may use as much swap as memory.
        if r.memory_swap.is_none() && has_memsw && m > 0 {
            write_file(dir, "memory.memsw.limit_in_bytes", &(2 * m).to_string())?;
        }
    }
    if let Some(s) = r.memory_swap.filter(|s| *s != 0) {
        if !has_memsw {
            return Err(CgroupError::Unsupported {
                what: "--memory-swap".into(),
                reason: "swap accounting is disabled in this kernel \
                         (no memory.memsw.limit_in_bytes; boot with swapaccount=1)",
            });
        }
        write_file(dir, "memory.memsw.limit_in_bytes", &s.to_string())?;
    }
    if let Some(res) = r.memory_reservation.filter(|v| *v != 0) {
        write_file(dir, "memory.soft_limit_in_bytes", &res.to_string())?;
    }
    if r.oom_kill_disable {
        write_file(dir, "memory.oom_control", "1")?;
    }
    Ok(())
}

fn apply_devices(dir: &Path, spec: &CgroupSpec) -> Result<(), CgroupError> {
    if spec.allow_all_devices {
        return write_file(dir, "devices.allow", "a");
    }
    write_file(dir, "devices.deny", "a")?;
    // The kernel takes one rule per write(2), but the writes may share one open file:
    // one open and close instead of one per rule (11 for the default devices).
    let path = dir.join("devices.allow");
    let mut allow = fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .map_err(|e| CgroupError::io("write", &path, e))?;
    let num = |n: Option<u32>| n.map_or("*".to_string(), |n| n.to_string());
    for r in device_rules(&spec.devices, &spec.resources.device_rules) {
        // The kernel reads a rule of type "a" as every device, whatever follows.
        let line = if r.kind == 'a' && r.major.is_none() && r.minor.is_none() {
            "a".to_string()
        } else {
            format!("{} {}:{} {}", r.kind, num(r.major), num(r.minor), r.access)
        };
        if r.allow {
            allow
                .write_all(line.as_bytes())
                .map_err(|e| CgroupError::io("write", &path, e))?;
        } else {
            write_file(dir, "devices.deny", &line)?;
        }
    }
    Ok(())
}
