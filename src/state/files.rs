//! The bytes of record files: read whole (open, fstat, one read), replaced through a
//! temporary file and a rename (the summary index), and put in creation order. `store`
//! writes records and decides what the bytes mean.

use super::record::ContainerRecord;
use std::fs::{self, File};
use std::io::Read;
use std::path::Path;

/// A record file's bytes: open, fstat, one read, close. Records are replaced by rename,
/// never written in place, so the size fstat reports is the size of what is read. An
/// empty file is no record: the unsynced record of an `--rm` container (see `save`) can
/// be left empty by a crash, and is then an interrupted create, which repair removes.
pub(super) fn read_record(path: &Path) -> std::io::Result<Vec<u8>> {
    read_file(File::open(path)?)
}

pub(super) fn read_file(mut f: File) -> std::io::Result<Vec<u8>> {
    let len = f.metadata()?.len() as usize;
    if len == 0 {
        return Err(std::io::ErrorKind::NotFound.into());
    }
    let mut data = vec![0; len];
    f.read_exact(&mut data)?;
    Ok(data)
}

/// Replaces `path` with `data` through `tmp` and a rename, without fsync: readers see the
/// old file or the new one, never half of one.
pub(super) fn replace_unsynced(tmp: &Path, path: &Path, data: &[u8]) -> std::io::Result<()> {
    let written = fs::write(tmp, data).and_then(|()| fs::rename(tmp, path));
    if written.is_err() {
        let _ = fs::remove_file(tmp);
    }
    written
}

/// Records ordered by creation time (stable), each moved once: sorting the records
/// themselves moves a kilobyte-sized struct at every step.
pub(super) fn sorted_by_created(records: Vec<ContainerRecord>) -> Vec<ContainerRecord> {
    let order = crate::sort::order_by(records.len(), &|a, b| {
        records[a].created.cmp(&records[b].created)
    });
    let mut slots: Vec<Option<ContainerRecord>> = records.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}
