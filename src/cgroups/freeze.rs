//! `pause`/`unpause`: the freezer of a container's cgroup. v1 writes `freezer.state` in
//! the freezer hierarchy, v2 `cgroup.freeze`; both wait (with a deadline) until the
//! kernel reports every task frozen or thawed. On v1 a container of kiste's own gets its
//! freezer directory at its first `pause` (see `v1_choice`).

use super::resources::CgroupSpec;
use super::{relative_path, CgroupError, CgroupLayout};
use std::fs;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How long a freeze may take before it is reported as failed.
const SETTLE: Duration = Duration::from_secs(5);

/// The file that freezes the cgroup and the value each state reads back as.
fn freezer(spec: &CgroupSpec) -> Result<(CgroupLayout, PathBuf), CgroupError> {
    let rel = relative_path(spec);
    match super::detect() {
        CgroupLayout::V1 => {
            let root = super::v1_hier::controller_root("freezer").ok_or_else(|| {
                CgroupError::NotMounted {
                    what: "pause".into(),
                    controller: "freezer".into(),
                }
            })?;
            Ok((CgroupLayout::V1, root.join(rel)))
        }
        CgroupLayout::V2 => super::v2_dir(spec)
            .map(|dir| (CgroupLayout::V2, dir))
            .ok_or_else(|| CgroupError::Unsupported {
                what: "pause".into(),
                reason: "rootless kiste has no delegated cgroup v2 subtree to freeze",
            }),
    }
}

/// Whether the cgroup is frozen now.
pub fn is_frozen(spec: &CgroupSpec) -> bool {
    let Ok((layout, dir)) = freezer(spec) else {
        return false;
    };
    match layout {
        CgroupLayout::V1 => {
            fs::read_to_string(dir.join("freezer.state")).is_ok_and(|s| s.trim() == "FROZEN")
        }
        CgroupLayout::V2 => super::counter(&dir.join("cgroup.events"), "frozen") == Some(1),
    }
}

/// Freeze (`true`) or thaw every process of the container's cgroup, and wait until the
/// kernel says it is done.
pub fn set_frozen(spec: &CgroupSpec, frozen: bool) -> Result<(), CgroupError> {
    let (layout, dir) = freezer(spec)?;
    if layout == CgroupLayout::V1 && frozen {
        // A container started without a freezer directory gets one now, with every
        // process moved in (`v1_choice`).
        super::v1_choice::join_freezer(spec)?;
    } else if layout == CgroupLayout::V1 && !dir.is_dir() {
        // Never frozen: nothing to thaw.
        return Ok(());
    }
    let (file, value) = match (layout, frozen) {
        (CgroupLayout::V1, true) => ("freezer.state", "FROZEN"),
        (CgroupLayout::V1, false) => ("freezer.state", "THAWED"),
        (CgroupLayout::V2, true) => ("cgroup.freeze", "1"),
        (CgroupLayout::V2, false) => ("cgroup.freeze", "0"),
    };
    super::write_file(&dir, file, value)?;
    if layout == CgroupLayout::V1 && frozen && spec.role != super::CgroupRole::Oci {
        // A process forked outside while the others were moved: moved into a frozen
        // cgroup, the kernel freezes it too.
        super::v1_choice::move_into(spec, std::slice::from_ref(&dir))?;
    }
    let deadline = Instant::now() + SETTLE;
    while is_frozen(spec) != frozen {
        if Instant::now() > deadline {
            return Err(CgroupError::io(
                "settle the freezer of",
                &dir,
                std::io::Error::from(std::io::ErrorKind::TimedOut),
            ));
        }
        // v1 may stay FREEZING while a task is in an uninterruptible sleep: write again.
        if layout == CgroupLayout::V1 && frozen {
            let _ = super::write_file(&dir, file, value);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(())
}
