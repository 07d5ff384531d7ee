//! The state `kiste oci` keeps per container, one directory per id under the state root
//! (`--root`, default /run/kiste-oci, or $XDG_RUNTIME_DIR/kiste-oci for a non-root user):
//!
//! ```text
//! ROOT/ID/                  mode 0700; its creation (mkdir) claims the id
//! ROOT/ID/state.json        the Record below (serde JSON)
//! ROOT/ID/exec.fifo         mode 0622, present from create until start: the container's
//!                           process waits before execve until `start` opens it for
//!                           reading (runc's exec.fifo); start removes it
//! ```
//!
//! `Record` fields: `id`; `bundle` and `rootfs` (absolute); `pid` and `start_time` (field
//! 22 of /proc/PID/stat: the pair names the process across pid reuse); `created` (RFC
//! 3339, UTC, nanoseconds); `annotations` (the config's); `owner` ("" as runc prints);
//! `oci_version` (the config's); `cgroup` (the cgroupfs path relative to each hierarchy's
//! root, None when the container has no cgroup of its own); `hooks` (the config's hooks
//! object, run by start and delete); `namespaces` (the namespace kinds the container got
//! new, for exec and the hooks). Fields added later carry `#[serde(default)]`.
//!
//! start, delete hold the flock on the container's directory ([`StateRoot::lock`]);
//! create holds none (its process would inherit the lock until its execve): the mkdir
//! that claims the id is its exclusion. The status is never stored: it is read from the
//! process (pid + start time; a zombie is stopped), the fifo and the freezer
//! ([`Record::status`]); `state` prints [`StateJson`], runc's fields in runc's order.

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::OciError;

/// One container's record (ROOT/ID/state.json).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub pid: i32,
    pub start_time: u64,
    pub created: String,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(default)]
    pub owner: String,
    #[serde(default)]
    pub oci_version: String,
    /// "parent/name" below each cgroup hierarchy's root.
    #[serde(default)]
    pub cgroup: Option<String>,
    /// The config's `hooks` object as it was read.
    #[serde(default)]
    pub hooks: Option<serde_json::Value>,
    /// The namespace kinds ("pid", "net", ...) the container has of its own.
    #[serde(default)]
    pub namespaces: Vec<String>,
}

/// The status of the OCI runtime spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Creating,
    Created,
    Running,
    Paused,
    Stopped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
}

/// The directory that holds the containers' state.
#[derive(Debug, Clone)]
pub struct StateRoot(pub PathBuf);

impl StateRoot {
    /// `--root`, else /run/kiste-oci for root, else $XDG_RUNTIME_DIR/kiste-oci.
    pub fn resolve(flag: Option<PathBuf>) -> StateRoot {
        if let Some(p) = flag {
            return StateRoot(p);
        }
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            if let Some(x) = std::env::var_os("XDG_RUNTIME_DIR").filter(|x| !x.is_empty()) {
                return StateRoot(PathBuf::from(x).join("kiste-oci"));
            }
        }
        StateRoot(PathBuf::from("/run/kiste-oci"))
    }

    pub fn dir(&self, id: &str) -> PathBuf {
        self.0.join(id)
    }

    pub fn fifo(&self, id: &str) -> PathBuf {
        self.0.join(id).join("exec.fifo")
    }

    fn record_path(&self, id: &str) -> PathBuf {
        self.0.join(id).join("state.json")
    }

    /// Claims `id`: creates its directory (0700), failing if it exists.
    pub fn claim(&self, id: &str) -> Result<PathBuf, OciError> {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o711)
            .create(&self.0)
            .map_err(|e| {
                OciError::io(format!("cannot create state root {}", self.0.display()), e)
            })?;
        let dir = self.dir(id);
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => Ok(dir),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                Err(OciError::Exists { id: id.to_string() })
            }
            Err(e) => Err(OciError::io(format!("cannot create {}", dir.display()), e)),
        }
    }

    /// Writes the record atomically (a temporary file renamed over state.json).
    pub fn save(&self, rec: &Record) -> Result<(), OciError> {
        let path = self.record_path(&rec.id);
        let tmp = path.with_extension("json.tmp");
        let data = serde_json::to_vec(rec).map_err(|e| OciError::Invalid {
            what: format!("state of {}", rec.id),
            reason: e.to_string(),
        })?;
        std::fs::write(&tmp, data)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| OciError::io(format!("cannot write {}", path.display()), e))
    }

    /// The record of `id`; `NotFound` when there is none.
    pub fn load(&self, id: &str) -> Result<Record, OciError> {
        check_id(id)?;
        let path = self.record_path(id);
        let data = match std::fs::read(&path) {
            Ok(d) => d,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(OciError::NotFound { id: id.to_string() })
            }
            Err(e) => return Err(OciError::io(format!("cannot read {}", path.display()), e)),
        };
        serde_json::from_slice(&data).map_err(|e| OciError::Invalid {
            what: path.display().to_string(),
            reason: e.to_string(),
        })
    }

    /// Every id with a record, sorted.
    pub fn ids(&self) -> Vec<String> {
        let Ok(rd) = std::fs::read_dir(&self.0) else {
            return Vec::new();
        };
        let mut ids: Vec<String> = rd
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|id| self.record_path(id).is_file())
            .collect();
        crate::sort::sort(&mut ids);
        ids
    }

    /// Takes the exclusive lock on `id`'s directory (held until the file is dropped).
    pub fn lock(&self, id: &str) -> Result<File, OciError> {
        check_id(id)?;
        let dir = self.dir(id);
        let f = match File::open(&dir) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(OciError::NotFound { id: id.to_string() })
            }
            Err(e) => return Err(OciError::io(format!("cannot open {}", dir.display()), e)),
        };
        f.lock()
            .map_err(|e| OciError::io(format!("cannot lock {}", dir.display()), e))?;
        Ok(f)
    }
}

/// runc's rule for ids: letters, digits, `_ + - .`, not "." or "..", at most 1024 bytes.
pub fn check_id(id: &str) -> Result<(), OciError> {
    let ok = !id.is_empty()
        && id.len() <= 1024
        && id != "."
        && id != ".."
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+-.".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(OciError::BadId { id: id.to_string() })
    }
}

impl Record {
    /// Whether the recorded process still exists (same pid and start time, not a zombie).
    pub fn alive(&self) -> bool {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)) else {
            return false;
        };
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            return false;
        };
        let mut fields = rest.split_whitespace();
        let state = fields.next().unwrap_or("");
        let start: Option<u64> = fields.nth(18).and_then(|s| s.parse().ok());
        self.pid > 0 && start == Some(self.start_time) && state != "Z" && state != "X"
    }

    /// The status now: stopped once the process is gone; created while it waits on the
    /// exec fifo; paused when its cgroup is frozen; else running.
    pub fn status(&self, root: &StateRoot) -> Status {
        if !self.alive() {
            return Status::Stopped;
        }
        if root.fifo(&self.id).exists() {
            return Status::Created;
        }
        if self.frozen() {
            return Status::Paused;
        }
        Status::Running
    }

    fn frozen(&self) -> bool {
        match &self.cgroup {
            Some(path) => crate::cgroups::freeze::is_frozen(&cgroup_spec(path)),
            None => false,
        }
    }

    /// The state JSON a hook reads on stdin.
    pub fn hook_state(&self, status: &str) -> String {
        self.hook_state_value(status).to_string()
    }

    /// The state hooks read, as JSON.
    pub fn hook_state_value(&self, status: &str) -> serde_json::Value {
        let mut v = serde_json::json!({
            "ociVersion": self.oci_version,
            "id": self.id,
            "status": status,
            "pid": self.pid,
            "bundle": self.bundle,
        });
        if !self.annotations.is_empty() {
            v["annotations"] = serde_json::json!(self.annotations);
        }
        v
    }

    /// The state of the OCI runtime spec, with runc's extra fields (rootfs, created,
    /// owner) in runc's order; annotations only when there are some.
    pub fn state_json(&self, root: &StateRoot) -> StateJson {
        let status = self.status(root);
        StateJson {
            oci_version: self.oci_version.clone(),
            id: self.id.clone(),
            pid: if status == Status::Stopped {
                0
            } else {
                self.pid
            },
            status: status.as_str(),
            bundle: self.bundle.clone(),
            rootfs: self.rootfs.clone(),
            created: self.created.clone(),
            annotations: self.annotations.clone(),
            owner: self.owner.clone(),
        }
    }
}

/// The state JSON as runc prints it (field order included).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StateJson {
    pub oci_version: String,
    pub id: String,
    pub pid: i32,
    pub status: &'static str,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub created: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    pub owner: String,
}

/// The `CgroupSpec` (without resources) of a recorded cgroup path "a/b/name".
pub fn cgroup_spec(path: &str) -> crate::cgroups::CgroupSpec {
    let path = path.trim_matches('/');
    let (parent, name) = path.rsplit_once('/').unwrap_or(("", path));
    crate::cgroups::CgroupSpec {
        parent: parent.to_string(),
        name: name.to_string(),
        resources: Default::default(),
        devices: Vec::new(),
        allow_all_devices: false,
        role: crate::cgroups::CgroupRole::Oci,
    }
}

/// Removes `id`'s state directory and everything in it.
pub fn remove_dir(dir: &Path) -> Result<(), OciError> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(OciError::io(format!("cannot remove {}", dir.display()), e)),
    }
}
