//! The container store: `$root/containers/<id>/container.json`, one record per container,
//! replaced atomically (temp + fsync + rename) while holding `$root/containers/lock`.
//! Readers parse without the lock: a rename never shows them half a file.

use super::record::{ContainerRecord, Status};
use crate::paths::{LOCK, RECORD, RECORD_TMP};
use std::fs::{self, File};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("no such container: {0}")]
    NotFound(String),
    #[error("multiple containers match \"{prefix}\": {}", matches.join(", "))]
    Ambiguous {
        prefix: String,
        matches: Vec<String>,
    },
    #[error(
        "the container name \"/{name}\" is already in use by container \"{id}\"; remove (or rename) that container to reuse the name"
    )]
    NameInUse { name: String, id: String },
    #[error("renaming a container with the same name as its current name")]
    SameName,
    #[error("invalid container name \"{0}\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")]
    InvalidName(String),
    #[error("container store {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("container record {path} is corrupt: {source}")]
    Corrupt {
        path: PathBuf,
        source: serde_json::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StateError + '_ {
    move |source| StateError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The fields of a record that say whether a container needs repair.
#[derive(Debug, serde::Deserialize)]
pub struct RecordSummary {
    pub id: String,
    pub state: StatusSummary,
}

#[derive(Debug, serde::Deserialize)]
pub struct StatusSummary {
    pub status: Status,
    pub monitor_pid: i32,
    #[serde(default)]
    pub monitor_start_time: u64,
}

impl RecordSummary {
    /// As `ContainerRecord::monitor_alive`.
    pub fn monitor_alive(&self) -> bool {
        super::record::alive(self.state.monitor_pid, self.state.monitor_start_time)
    }
}

pub struct ContainerStore {
    dir: PathBuf,
}

/// Held while the store is being changed; released on drop.
pub struct StoreLock {
    _file: File,
}

impl ContainerStore {
    pub fn open(dir: &Path) -> Result<ContainerStore, StateError> {
        if !dir.is_dir() {
            crate::paths::make_dir(dir, crate::paths::PRIVATE).map_err(io(dir))?;
        }
        Ok(ContainerStore {
            dir: dir.to_path_buf(),
        })
    }

    pub fn lock(&self) -> Result<StoreLock, StateError> {
        let path = self.dir.join(LOCK);
        let file = crate::lock::lock_exclusive(&path).map_err(io(&path))?;
        Ok(StoreLock { _file: file })
    }

    fn record_path(&self, id: &str) -> PathBuf {
        self.dir.join(id).join(RECORD)
    }

    pub fn load(&self, id: &str) -> Result<ContainerRecord, StateError> {
        let path = self.record_path(id);
        let data = match fs::read(&path) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StateError::NotFound(id.to_string()))
            }
            Err(e) => return Err(io(&path)(e)),
        };
        serde_json::from_slice(&data).map_err(|source| StateError::Corrupt { path, source })
    }

    /// Replace the record atomically. The caller holds the lock.
    pub fn save(&self, _lock: &StoreLock, record: &ContainerRecord) -> Result<(), StateError> {
        let dir = self.dir.join(&record.id);
        if !dir.is_dir() {
            crate::paths::make_dir(&dir, crate::paths::PRIVATE).map_err(io(&dir))?;
        }
        let path = dir.join(RECORD);
        let tmp = dir.join(RECORD_TMP);
        let data = serde_json::to_vec_pretty(record).expect("records serialize");
        // On `run`'s path: the record is synced, its directory is not (a crash before
        // the rename reached the disk leaves the previous record, which repair handles).
        let how = crate::paths::Atomic {
            tmp: Some(tmp),
            sync_dir: false,
            ..Default::default()
        };
        crate::paths::write_atomic(&path, &data, &how).map_err(io(&path))
    }

    /// Load, change and save one record under the lock.
    pub fn update(
        &self,
        id: &str,
        change: impl FnOnce(&mut ContainerRecord),
    ) -> Result<ContainerRecord, StateError> {
        let lock = self.lock()?;
        let mut rec = self.load(id)?;
        change(&mut rec);
        self.save(&lock, &rec)?;
        Ok(rec)
    }

    /// Every record, oldest first. Directories without a record (a create that was
    /// interrupted before its first save) are skipped.
    pub fn list(&self) -> Result<Vec<ContainerRecord>, StateError> {
        Ok(self.scan()?.0)
    }

    /// Every record, oldest first, and the ids of the directories without one: a create
    /// killed before its first save (or one under way: it holds the lock).
    pub fn scan(&self) -> Result<(Vec<ContainerRecord>, Vec<String>), StateError> {
        let mut out = Vec::new();
        let mut orphans = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(io(&self.dir))? {
            let entry = entry.map_err(io(&self.dir))?;
            let name = entry.file_name();
            let Some(id) = name.to_str() else { continue };
            if id.len() != 64 {
                continue;
            }
            match self.load(id) {
                Ok(r) => out.push(r),
                Err(StateError::NotFound(_)) => orphans.push(id.to_string()),
                Err(e) => return Err(e),
            }
        }
        out.sort_by(|a, b| a.created.cmp(&b.created));
        Ok((out, orphans))
    }

    /// What `repair` checks of every record, parsed without the rest of it (the config
    /// is skipped, not built), and the ids of the directories without a record.
    pub fn scan_summaries(&self) -> Result<(Vec<RecordSummary>, Vec<String>), StateError> {
        let mut out = Vec::new();
        let mut orphans = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(io(&self.dir))? {
            let entry = entry.map_err(io(&self.dir))?;
            let name = entry.file_name();
            let Some(id) = name.to_str() else { continue };
            if id.len() != 64 {
                continue;
            }
            let path = self.record_path(id);
            match fs::read(&path) {
                Ok(data) => out.push(
                    serde_json::from_slice(&data)
                        .map_err(|source| StateError::Corrupt { path, source })?,
                ),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => orphans.push(id.to_string()),
                Err(e) => return Err(io(&path)(e)),
            }
        }
        Ok((out, orphans))
    }

    /// Remove the directory of a create that never saved its record. The caller holds the
    /// lock, so no create is under way.
    pub fn remove_orphan(&self, _lock: &StoreLock, id: &str) -> Result<(), StateError> {
        match self.load(id) {
            Err(StateError::NotFound(_)) => {}
            _ => return Ok(()),
        }
        let dir = self.dir.join(id);
        match fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(&dir)(e)),
            _ => Ok(()),
        }
    }

    /// The containers created from image `image_id` (which keep it from being removed).
    pub fn using_image(&self, image_id: &str) -> Result<Vec<ContainerRecord>, StateError> {
        let mut all = self.list()?;
        all.retain(|c| c.config.image_id == image_id);
        Ok(all)
    }

    /// A container by its name, full id or a unique id prefix (docker's order: exact id,
    /// then name, then prefix).
    pub fn resolve(&self, what: &str) -> Result<ContainerRecord, StateError> {
        let what = what.strip_prefix('/').unwrap_or(what);
        if what.is_empty() {
            return Err(StateError::NotFound(what.to_string()));
        }
        let all = self.list()?;
        if let Some(r) = all.iter().find(|r| r.id == what) {
            return Ok(r.clone());
        }
        if let Some(r) = all.iter().find(|r| r.name == what) {
            return Ok(r.clone());
        }
        let matches: Vec<&ContainerRecord> =
            all.iter().filter(|r| r.id.starts_with(what)).collect();
        match matches.len() {
            0 => Err(StateError::NotFound(what.to_string())),
            1 => Ok(matches[0].clone()),
            _ => Err(StateError::Ambiguous {
                prefix: what.to_string(),
                matches: matches.iter().map(|r| r.short_id().to_string()).collect(),
            }),
        }
    }

    /// Save a new record, refusing a name that is taken; a record without a name gets a
    /// generated one that is free. The records are read once. The caller holds the lock.
    pub fn create(&self, lock: &StoreLock, record: &mut ContainerRecord) -> Result<(), StateError> {
        let all = self.list()?;
        if record.name.is_empty() {
            record.name = super::generate_name(&|n| all.iter().any(|r| r.name == n));
        } else if let Some(other) = all.iter().find(|r| r.name == record.name) {
            return Err(StateError::NameInUse {
                name: record.name.clone(),
                id: other.id.clone(),
            });
        }
        self.save(lock, record)
    }

    /// Give container `id` the name `new` (checked and refused as docker refuses it: the
    /// same name, or one another container holds). Names live in the records, so the
    /// check and the save happen under the store's lock: two renames to one name cannot
    /// both win.
    pub fn rename(&self, id: &str, new: &str) -> Result<ContainerRecord, StateError> {
        let new = new.strip_prefix('/').unwrap_or(new);
        validate_name(new)?;
        let lock = self.lock()?;
        let mut rec = self.load(id)?;
        if rec.name == new {
            return Err(StateError::SameName);
        }
        if let Some(other) = self.list()?.iter().find(|r| r.name == new) {
            return Err(StateError::NameInUse {
                name: new.to_string(),
                id: other.id.clone(),
            });
        }
        rec.name = new.to_string();
        self.save(&lock, &rec)?;
        Ok(rec)
    }

    /// Remove the record and the container's directory. The caller holds the lock.
    pub fn remove(&self, _lock: &StoreLock, id: &str) -> Result<(), StateError> {
        let dir = self.dir.join(id);
        // The record goes first so a crash midway never leaves a record without its files.
        match fs::remove_file(self.record_path(id)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(&dir)(e)),
        }
        match fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io(&dir)(e)),
        }
    }
}

/// docker's rule for names: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
pub fn validate_name(name: &str) -> Result<(), StateError> {
    let mut chars = name.chars();
    let ok = matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && name.len() >= 2
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if ok {
        Ok(())
    } else {
        Err(StateError::InvalidName(name.to_string()))
    }
}
