//! The container store: `$root/containers/<id>/container.json`, one record per container,
//! replaced atomically (temp + fsync + rename) while holding `$root/containers/lock`.
//! Readers parse without the lock: a rename never shows them half a file. Each record
//! opens with its summary (see `summary`), which is what listings and repair parse, and
//! the store's summary index (see `index`) keeps those summaries so that a listing reads
//! one file, not one per container.

use super::files::{read_record, sorted_by_created};
use super::index::{Listing, Source};
use super::listing::ListedRecord;
use super::record::{ContainerRecord, Status};
use super::staged::{rename_into_place, write_synced, write_unsynced, Durability, StagedRecord};
use crate::paths::{LOCK, RECORD, RECORD_TMP};
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

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

pub(super) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StateError + '_ {
    move |source| StateError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The records as listed by this process's last `scan_summaries` (the repair that runs
/// before every verb), kept so that the first listing right after it (`ps`, resolving a
/// name) neither lists nor parses a thousand summaries again. Used once; a save or a
/// remove drops it, and a forked child (a monitor) never sees its parent's.
static SNAPSHOT: Mutex<Option<Snapshot>> = Mutex::new(None);

struct Snapshot {
    pid: u32,
    dir: PathBuf,
    /// Oldest first, as `list_shown` returns them.
    records: Vec<ContainerRecord>,
}

/// Held by the unit tests that scan: the snapshot is one per process, and tests run in
/// threads of one process.
#[cfg(test)]
pub(super) static SCANNING_TESTS: Mutex<()> = Mutex::new(());

/// Drops the snapshot of the store at `dir` (a snapshot of another store stays).
fn forget_snapshot(dir: &Path) {
    if let Ok(mut s) = SNAPSHOT.lock() {
        if s.as_ref().is_some_and(|s| s.dir == dir) {
            *s = None;
        }
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

/// A record's id and name (what a new name is checked against).
#[derive(Debug, serde::Deserialize)]
struct NameSummary {
    id: String,
    name: String,
}

impl RecordSummary {
    /// What repair checks of a record a listing read.
    fn of(r: &ContainerRecord) -> RecordSummary {
        RecordSummary {
            id: r.id.clone(),
            state: StatusSummary {
                status: r.state.status,
                monitor_pid: r.state.monitor_pid,
                monitor_start_time: r.state.monitor_start_time,
            },
        }
    }

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

/// The store directory this process has found or made: `run` opens its store five
/// times, and the directory is checked once.
static SEEN: Mutex<Option<PathBuf>> = Mutex::new(None);

impl ContainerStore {
    /// The store at `dir` when it exists, without making it (None: no container was ever
    /// made here): for repair, which every command does first. It counts as the check
    /// `open` does once per process.
    pub fn open_existing(dir: &Path) -> Result<Option<ContainerStore>, StateError> {
        if !dir.is_dir() {
            return Ok(None);
        }
        if let Ok(mut seen) = SEEN.lock() {
            *seen = Some(dir.to_path_buf());
        }
        Self::open(dir).map(Some)
    }

    pub fn open(dir: &Path) -> Result<ContainerStore, StateError> {
        let seen = SEEN.lock().ok();
        if seen.as_ref().and_then(|s| s.as_deref()) != Some(dir) {
            if !dir.is_dir() {
                crate::paths::make_dir(dir, crate::paths::PRIVATE).map_err(io(dir))?;
            }
            if let Some(mut s) = seen {
                *s = Some(dir.to_path_buf());
            }
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
        let data = match read_record(&path) {
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
        let (tmp, path) = self.write_temp(record, Durability::Synced)?;
        rename_into_place(&tmp, &path)
    }

    /// Writes `record` to its temp file as `save` does (synced unless the container is
    /// `--rm` or `durability` says not); the temp file and the record's path. The caller
    /// holds the lock.
    fn write_temp(
        &self,
        record: &ContainerRecord,
        durability: Durability,
    ) -> Result<(PathBuf, PathBuf), StateError> {
        forget_snapshot(&self.dir);
        let dir = self.dir.join(&record.id);
        if !dir.is_dir() {
            crate::paths::make_dir(&dir, crate::paths::PRIVATE).map_err(io(&dir))?;
        }
        let path = dir.join(RECORD);
        let tmp = dir.join(RECORD_TMP);
        if record.config.host.auto_remove {
            // An `--rm` container does not outlive a crash (repair removes its record),
            // so its record is not synced: each fsync on `run --rm`'s path cost ~1 ms
            // (tens on a busy disk). A crash may leave the file empty: see `read_record`.
            // Nor does it get a summary (listings parse its whole record): `run --rm`'s
            // path does no more work than it must.
            let data = serde_json::to_vec(record).expect("records serialize");
            write_unsynced(&tmp, &data).map_err(io(&path))?;
            return Ok((tmp, path));
        }
        // Compact, and opening with its summary: `ps` and repair read every record
        // (older pretty-printed records, and records without a summary, load alike).
        let data = super::summary::record_bytes(record);
        // On `run`'s path: the record is synced, its directory is not (a crash before
        // the rename reached the disk leaves the previous record, which repair handles).
        match durability {
            Durability::Synced => write_synced(&tmp, &data),
            Durability::UntilStarted => write_unsynced(&tmp, &data),
        }
        .map_err(io(&path))?;
        Ok((tmp, path))
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

    /// `update` in two steps: load, change and write (and sync) the record's temp file
    /// now; rename it over the record at `StagedRecord::commit`. The lock is held from
    /// here to the commit (or the drop, which removes the temp file and leaves the record
    /// as it was). For a monitor that writes the container's "running" record while the
    /// container's process sets itself up: the sync overlaps that setup, and the record
    /// on disk is always a whole, synced one.
    pub fn stage_update(
        &self,
        id: &str,
        change: impl FnOnce(&mut ContainerRecord),
    ) -> Result<StagedRecord, StateError> {
        let lock = self.lock()?;
        let mut record = self.load(id)?;
        change(&mut record);
        let (tmp, path) = self.write_temp(&record, Durability::Synced)?;
        Ok(StagedRecord::new(lock, tmp, path, record))
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
        Ok((sorted_by_created(out), orphans))
    }

    /// Every record, oldest first, as a listing reads it: only what a row or a filter of
    /// `ps` shows is parsed (see `listing`, `summary`), as this process's last scan
    /// parsed it (when that scan was of this store, nothing was saved or removed since
    /// and no listing used it yet), else listed now (see `index`). For readers that hold
    /// no lock: the files may change the moment after they are read either way. The
    /// records are for showing: never save them.
    pub fn list_shown(&self) -> Result<Vec<ContainerRecord>, StateError> {
        if let Some(records) = self.take_snapshot() {
            return Ok(records);
        }
        let listing = self.listing()?;
        let mut out = Vec::with_capacity(listing.items.len());
        for item in &listing.items {
            out.push(self.parse_item::<ListedRecord>(&listing, item)?.into());
        }
        Ok(sorted_by_created(out))
    }

    /// The records this process's last scan of this store listed, unless used or stale.
    fn take_snapshot(&self) -> Option<Vec<ContainerRecord>> {
        let pid = std::process::id();
        let mut s = SNAPSHOT.lock().ok()?;
        if !s
            .as_ref()
            .is_some_and(|s| s.dir == self.dir && s.pid == pid)
        {
            return None;
        }
        s.take().map(|s| s.records)
    }

    /// Every record's summary, from the summary index where it is current, else from
    /// the record file (see `index`).
    fn listing(&self) -> Result<Listing, StateError> {
        super::index::list(&self.dir, super::summary::summary_for_index).map_err(io(&self.dir))
    }

    /// The record file of `id` parsed as `T` (a whole record or a part of one).
    fn parse<T: serde::de::DeserializeOwned>(
        &self,
        id: &str,
        data: &[u8],
    ) -> Result<T, StateError> {
        serde_json::from_slice(data).map_err(|source| StateError::Corrupt {
            path: self.record_path(id),
            source,
        })
    }

    /// A listing's part `T` of the record file of `id`: parsed from the summary the file
    /// opens with, else (an older record, an `--rm` one, a damaged summary) from the
    /// whole record.
    fn parse_listed<T: serde::de::DeserializeOwned>(
        &self,
        id: &str,
        data: &[u8],
    ) -> Result<T, StateError> {
        match super::summary::parse_summary(data) {
            Some(t) => Ok(t),
            None => self.parse(id, data),
        }
    }

    /// A listing's part `T` of one listed record: parsed from the index's summary, or
    /// from the record file when it was read now or the summary is not a `T` (then the
    /// file is read, as though the index did not hold it).
    fn parse_item<T: serde::de::DeserializeOwned>(
        &self,
        listing: &Listing,
        item: &super::index::Item,
    ) -> Result<T, StateError> {
        match &item.from {
            Source::Record(data) => self.parse_listed(&item.id, data),
            Source::Index(range) => match serde_json::from_slice(listing.summary(range)) {
                Ok(t) => Ok(t),
                Err(source) => match read_record(&self.record_path(&item.id)) {
                    Ok(data) => self.parse_listed(&item.id, &data),
                    Err(_) => Err(StateError::Corrupt {
                        path: self.dir.join(super::index::INDEX),
                        source,
                    }),
                },
            },
        }
    }

    /// The id and name of every record, parsed without the rest of it.
    fn names(&self) -> Result<Vec<NameSummary>, StateError> {
        let listing = self.listing()?;
        listing
            .items
            .iter()
            .map(|item| self.parse_item(&listing, item))
            .collect()
    }

    /// What `repair` checks of every record, parsed from its summary (see `index`), and
    /// the ids of the directories without a record. The records parsed are kept for
    /// `list_shown`.
    pub fn scan_summaries(&self) -> Result<(Vec<RecordSummary>, Vec<String>), StateError> {
        let listing = self.listing()?;
        let mut out = Vec::with_capacity(listing.items.len());
        // None once a record is not a listing's part of one (a damaged config): repair
        // reads what it needs of it, and `list_shown` lists again (and reports it).
        let mut shown = Some(Vec::with_capacity(listing.items.len()));
        for item in &listing.items {
            match self.parse_item::<ListedRecord>(&listing, item) {
                Ok(listed) => {
                    let rec: ContainerRecord = listed.into();
                    out.push(RecordSummary::of(&rec));
                    if let Some(shown) = &mut shown {
                        shown.push(rec);
                    }
                }
                Err(_) => {
                    out.push(self.parse_item(&listing, item)?);
                    shown = None;
                }
            }
        }
        if let (Some(records), Ok(mut s)) = (shown, SNAPSHOT.lock()) {
            *s = Some(Snapshot {
                pid: std::process::id(),
                dir: self.dir.clone(),
                records: sorted_by_created(records),
            });
        }
        Ok((out, listing.orphans))
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
        // Chosen among the listing's summaries; the one chosen is then read whole.
        let all = self.list_shown()?;
        let found = all
            .iter()
            .find(|r| r.id == what)
            .or_else(|| all.iter().find(|r| r.name == what));
        if let Some(r) = found {
            return self.load(&r.id);
        }
        let matches: Vec<&ContainerRecord> =
            all.iter().filter(|r| r.id.starts_with(what)).collect();
        match matches.len() {
            0 => Err(StateError::NotFound(what.to_string())),
            1 => self.load(&matches[0].id),
            _ => Err(StateError::Ambiguous {
                prefix: what.to_string(),
                matches: matches.iter().map(|r| r.short_id().to_string()).collect(),
            }),
        }
    }

    /// Save a new record, refusing a name that is taken; a record without a name gets a
    /// generated one that is free. The records are read once. The caller holds the lock.
    pub fn create(&self, lock: &StoreLock, record: &mut ContainerRecord) -> Result<(), StateError> {
        self.create_as(lock, record, Durability::Synced)
    }

    /// `create` for `run`: the new record is not synced. `run` acknowledges nothing until
    /// its container runs, and by then the "running" record (synced before its rename,
    /// see `stage_update`) has replaced this one; after a start that fails, `run` saves
    /// the record (synced) before it reports the error. A crash before either leaves
    /// this record, or an empty file that repair removes as an interrupted create: a
    /// `run` that never answered.
    pub fn create_starting(
        &self,
        lock: &StoreLock,
        record: &mut ContainerRecord,
    ) -> Result<(), StateError> {
        self.create_as(lock, record, Durability::UntilStarted)
    }

    fn create_as(
        &self,
        _lock: &StoreLock,
        record: &mut ContainerRecord,
        durability: Durability,
    ) -> Result<(), StateError> {
        let all = self.names()?;
        if record.name.is_empty() {
            record.name = super::generate_name(&|n| all.iter().any(|r| r.name == n));
        } else if let Some(other) = all.iter().find(|r| r.name == record.name) {
            return Err(StateError::NameInUse {
                name: record.name.clone(),
                id: other.id.clone(),
            });
        }
        let (tmp, path) = self.write_temp(record, durability)?;
        rename_into_place(&tmp, &path)
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
        forget_snapshot(&self.dir);
        let dir = self.dir.join(id);
        // The record goes first so a crash midway never leaves a record without its files.
        match fs::remove_file(self.record_path(id)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(&dir)(e)),
        }
        match crate::fs::remove_known(&dir, crate::paths::CONTAINER_DIR_LAYOUT) {
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

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
