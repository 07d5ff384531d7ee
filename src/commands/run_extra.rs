//! What `run`/`create` do with the settings of `cli::run_extra` beyond storing them:
//! `inspect`'s fields (docker's names), the writable layer's size limit (an XFS project
//! quota on the container's upper directory, as docker's overlay2), and `run`'s signal
//! proxy choice.

use super::Exit;
use crate::config::{RunExtra, STORAGE_OPT_UNSUPPORTED};
use crate::paths::Paths;
use crate::state::ContainerRecord;
use serde_json::{json, Value};

/// docker's HostConfig.Sysctls, OomScoreAdj, GroupAdd, CgroupnsMode, ShmSize,
/// StorageOpt, Runtime and Config.Domainname.
pub(super) fn add_inspect_fields(v: &mut Value, x: &RunExtra) {
    let h = &mut v["HostConfig"];
    // docker leaves out empty Sysctls and StorageOpt (omitempty) and shows GroupAdd null.
    if !x.sysctls.is_empty() {
        h["Sysctls"] = json!(x.sysctls);
    }
    if !x.storage_opt.is_empty() {
        h["StorageOpt"] = json!(x.storage_opt);
    }
    h["OomScoreAdj"] = json!(x.oom_score_adj);
    h["GroupAdd"] = if x.group_add.is_empty() {
        Value::Null
    } else {
        json!(x.group_add)
    };
    h["CgroupnsMode"] = json!(x.cgroupns.as_str());
    h["ShmSize"] = json!(if x.shm_size == 0 {
        crate::config::DEFAULT_SHM_SIZE
    } else {
        x.shm_size
    });
    h["Runtime"] = json!(if x.runtime.is_empty() {
        "runc"
    } else {
        x.runtime.as_str()
    });
    v["Config"]["Domainname"] = json!(x.domainname);
}

/// `--storage-opt size=`: refused before anything is created unless the store is on
/// xfs mounted with project quotas (docker's overlay2 rule, in its words).
pub(super) fn check_storage(paths: &Paths, x: &RunExtra) -> Result<(), Exit> {
    if x.storage_size.is_none() {
        return Ok(());
    }
    let dir = paths.containers();
    let _ = std::fs::create_dir_all(&dir);
    if paths.rootless || !crate::storage::quota::supported(&dir) {
        return Err(Exit {
            code: 125,
            message: STORAGE_OPT_UNSUPPORTED.into(),
        });
    }
    Ok(())
}

/// The container's writable layer, made now with its project quota (the start finds it
/// there and keeps it).
pub(super) fn limit_storage(paths: &Paths, rec: &ContainerRecord) -> Result<(), Exit> {
    let Some(size) = rec.config.host.run_extra.storage_size else {
        return Ok(());
    };
    let upper = paths.container_upper(&rec.id);
    crate::storage::quota::limit_new_dir(&paths.containers(), &upper, size).map_err(|e| Exit {
        code: 125,
        message: format!("container {}: --storage-opt size={size}: {e}", rec.id),
    })
}
