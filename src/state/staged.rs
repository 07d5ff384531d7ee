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

    /// Renames the temp file over the record (the lock is released after it). An `--rm`
    /// container's record (never synced, see `ContainerStore::write_temp`) is exchanged
    /// with the one in place instead, and the old one, now under the temp name, unlinked:
    /// a rename over an existing file makes ext4 (`auto_da_alloc`, its default) allocate
    /// the new file's blocks and start writing them at once, a disk write on `run --rm`'s
    /// path and, on a file system mounted with `discard`, a synchronous discard when the
    /// record is removed at its end. Neither file of an exchange is allocated then.
    pub fn commit(mut self) -> Result<ContainerRecord, StateError> {
        let unsynced = self
            .record
            .as_ref()
            .is_some_and(|r| r.config.host.auto_remove);
        if unsynced {
            exchange_into_place(&self.tmp, &self.path)?;
        } else {
            rename_into_place(&self.tmp, &self.path)?;
        }
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

/// Puts `tmp` in `path`'s place by exchanging the two names (`renameat2` with
/// `RENAME_EXCHANGE`), then unlinks what is now at `tmp`; a plain rename where there is
/// nothing to exchange with or the file system cannot exchange.
fn exchange_into_place(tmp: &Path, path: &Path) -> Result<(), StateError> {
    use std::os::unix::ffi::OsStrExt;
    let (Ok(from), Ok(to)) = (
        std::ffi::CString::new(tmp.as_os_str().as_bytes()),
        std::ffi::CString::new(path.as_os_str().as_bytes()),
    ) else {
        return rename_into_place(tmp, path);
    };
    // SAFETY: renameat2 on two NUL-terminated paths.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            from.as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc != 0 {
        return rename_into_place(tmp, path);
    }
    // The previous record, under the temp name now: the next write replaces it anyway.
    let _ = fs::remove_file(tmp);
    Ok(())
}

pub(super) fn rename_into_place(tmp: &Path, path: &Path) -> Result<(), StateError> {
    fs::rename(tmp, path).map_err(|e| {
        let _ = fs::remove_file(tmp);
        io(path)(e)
    })
}
