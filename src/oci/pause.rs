//! `kiste oci pause ID` and `resume ID`: the freezer of the container's cgroup
//! (`cgroups::freeze`), so `state` then reports "paused" (read from the freezer, never
//! stored). As runc: pause needs a created or running container, resume a paused one.

use super::state::{cgroup_spec, StateRoot, Status};
use super::OciError;

/// Freezes (`pause`) or thaws (`resume`) container `id`.
pub fn set_paused(root: &StateRoot, id: &str, paused: bool) -> Result<i32, OciError> {
    let _lock = root.lock(id)?;
    let rec = root.load(id)?;
    let status = rec.status(root);
    let allowed = if paused {
        matches!(status, Status::Running | Status::Created)
    } else {
        status == Status::Paused
    };
    if !allowed {
        return Err(OciError::Invalid {
            what: format!("container {id}"),
            reason: if paused {
                "container not running".into()
            } else {
                "container not paused".into()
            },
        });
    }
    let Some(path) = &rec.cgroup else {
        return Err(OciError::Invalid {
            what: format!("container {id}"),
            reason: "it has no cgroup of its own to freeze".into(),
        });
    };
    crate::cgroups::freeze::set_frozen(&cgroup_spec(path), paused).map_err(|e| {
        OciError::Invalid {
            what: format!(
                "cannot {} container {id}",
                if paused { "pause" } else { "resume" }
            ),
            reason: e.to_string(),
        }
    })?;
    Ok(0)
}
