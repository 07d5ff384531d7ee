//! A record changed in its synced temp file and renamed over the record later
//! (`ContainerStore::stage_update`), and the writes `ContainerStore::save` is made of.

use super::record::ContainerRecord;
use super::store::{io, StateError, StoreLock};
use std::fs::{self, File};
use std::path::{Path, PathBuf};

/// A changed record in its synced temp file, under the store's lock (see
/// `ContainerStore::stage_update`).
pub struct StagedRecord {
    _lock: StoreLock,
    tmp: PathBuf,
    path: PathBuf,
    record: Option<ContainerRecord>,
}

impl StagedRecord {
    pub(super) fn new(
        lock: StoreLock,
        tmp: PathBuf,
        path: PathBuf,
        record: ContainerRecord,
    ) -> StagedRecord {
        StagedRecord {
            _lock: lock,
            tmp,
            path,
            record: Some(record),
        }
    }

    /// The record as it will be once committed.
    pub fn record(&self) -> &ContainerRecord {
        self.record
            .as_ref()
            .expect("a staged record until its commit")
    }

    /// Renames the temp file over the record (the lock is released after it).
    pub fn commit(mut self) -> Result<ContainerRecord, StateError> {
        rename_into_place(&self.tmp, &self.path)?;
        Ok(self
            .record
            .take()
            .expect("a staged record is committed once"))
    }
}

impl Drop for StagedRecord {
    fn drop(&mut self) {
        if self.record.is_some() {
            // Not committed: the record stays as it was.
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// Whether a record's data reach the disk before it is renamed into place.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Durability {
    Synced,
    /// A container `run` is starting: a later save (synced) replaces the record before
    /// the start is acknowledged (see `create_starting`).
    UntilStarted,
}

pub(super) fn write_unsynced(tmp: &Path, data: &[u8]) -> std::io::Result<()> {
    fs::write(tmp, data).inspect_err(|_| {
        let _ = fs::remove_file(tmp);
    })
}

pub(super) fn write_synced(tmp: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let written = File::create(tmp).and_then(|mut f| {
        f.write_all(data)?;
        f.sync_all()
    });
    written.inspect_err(|_| {
        let _ = fs::remove_file(tmp);
    })
}

pub(super) fn rename_into_place(tmp: &Path, path: &Path) -> Result<(), StateError> {
    fs::rename(tmp, path).map_err(|e| {
        let _ = fs::remove_file(tmp);
        io(path)(e)
    })
}
