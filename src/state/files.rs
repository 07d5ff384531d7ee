//! The bytes of record files: read whole (open, fstat, one read), read relative to the
//! store's directory when listing, and put in creation order. `store` writes them and
//! decides what the bytes mean.

use super::record::ContainerRecord;
use crate::paths::RECORD;
use std::fs::File;
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

/// Reads record files relative to the store's directory (`openat`): a listing of a
/// thousand records neither builds nor walks a thousand absolute paths.
pub(super) struct RecordFiles {
    dir: File,
    name: Vec<u8>,
}

impl RecordFiles {
    pub(super) fn open(dir: &Path) -> std::io::Result<RecordFiles> {
        Ok(RecordFiles {
            dir: File::open(dir)?,
            name: Vec::with_capacity(96),
        })
    }

    /// The bytes of the record of `id` (a directory entry's name: no '/' and no NUL).
    pub(super) fn read(&mut self, id: &str) -> std::io::Result<Vec<u8>> {
        use std::os::fd::{AsRawFd, FromRawFd};
        self.name.clear();
        self.name.extend_from_slice(id.as_bytes());
        self.name.push(b'/');
        self.name.extend_from_slice(RECORD.as_bytes());
        self.name.push(0);
        // SAFETY: `name` is NUL-terminated and the directory fd is open.
        let fd = unsafe {
            libc::openat(
                self.dir.as_raw_fd(),
                self.name.as_ptr().cast(),
                libc::O_RDONLY | libc::O_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: a fresh fd that nothing else owns.
        read_file(unsafe { File::from_raw_fd(fd) })
    }
}

/// Records ordered by creation time (stable), each moved once: sorting the records
/// themselves moves a kilobyte-sized struct at every step.
pub(super) fn sorted_by_created(records: Vec<ContainerRecord>) -> Vec<ContainerRecord> {
    let mut order: Vec<usize> = (0..records.len()).collect();
    order.sort_by(|&a, &b| records[a].created.cmp(&records[b].created));
    let mut slots: Vec<Option<ContainerRecord>> = records.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}
