//! The one way kiste takes an exclusive lock: `flock` on a lock file (std's
//! `File::lock`), created if missing and never truncated, held until the returned file
//! is dropped. The image store, the container store and a container's start use it; a
//! lock dies with its process, so a killed kiste never leaves one behind.

use std::fs::File;
use std::io;
use std::path::Path;

/// Opens (creating) `path` and blocks until this process holds its exclusive lock.
pub fn lock_exclusive(path: &Path) -> io::Result<File> {
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)?;
    file.lock()?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_excludes_another_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        let held = lock_exclusive(&path).unwrap();
        let other = File::open(&path).unwrap();
        assert!(other.try_lock().is_err());
        drop(held);
        assert!(other.try_lock().is_ok());
    }
}
