//! The lists `manifest create` makes and `annotate`/`add` edit before `push`: one JSON
//! file per list under `<root>/manifests/`, named by the sha256 of the list's reference
//! (references hold '/' and ':'), written to a temp file and renamed, changed under the
//! directory's lock.

use super::lists::ListEntry;
use super::RegistryError;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::path::{Path, PathBuf};

/// A list being made: its reference and its images in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocalList {
    pub name: String,
    pub entries: Vec<ListEntry>,
}

pub struct ListStore {
    dir: PathBuf,
}

/// Holds the store's lock while alive.
pub struct ListLock {
    _file: File,
}

impl ListStore {
    pub fn open(dir: &Path) -> Result<ListStore, RegistryError> {
        crate::paths::make_dir(dir, crate::paths::PRIVATE).map_err(|e| file_err(dir, e))?;
        Ok(ListStore {
            dir: dir.to_path_buf(),
        })
    }

    pub fn lock(&self) -> Result<ListLock, RegistryError> {
        let path = self.dir.join(".lock");
        let file = crate::lock::lock_exclusive(&path).map_err(|e| file_err(&path, e))?;
        Ok(ListLock { _file: file })
    }

    fn file(&self, name: &str) -> PathBuf {
        let hex = super::pull::sha256(name.as_bytes());
        self.dir
            .join(format!("{}.json", hex.trim_start_matches("sha256:")))
    }

    /// The list named `name` (a normalized reference), None when there is none.
    pub fn load(&self, name: &str) -> Result<Option<LocalList>, RegistryError> {
        let path = self.file(name);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| file_err(&path, e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(file_err(&path, e)),
        }
    }

    pub fn save(&self, _lock: &ListLock, list: &LocalList) -> Result<(), RegistryError> {
        let path = self.file(&list.name);
        let data = serde_json::to_vec_pretty(list).expect("lists serialize");
        crate::paths::write_atomic(&path, &data, &Default::default())
            .map_err(|e| file_err(&path, e))
    }

    /// Removes the list; false when there was none.
    pub fn remove(&self, _lock: &ListLock, name: &str) -> Result<bool, RegistryError> {
        let path = self.file(name);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(file_err(&path, e)),
        }
    }
}

fn file_err(path: &Path, e: impl std::fmt::Display) -> RegistryError {
    RegistryError::File {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_saved_loaded_and_removed_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let store = ListStore::open(&dir.path().join("manifests")).unwrap();
        let lock = store.lock().unwrap();
        assert_eq!(store.load("r.example/l:1").unwrap(), None);
        let list = LocalList {
            name: "r.example/l:1".into(),
            entries: Vec::new(),
        };
        store.save(&lock, &list).unwrap();
        assert_eq!(store.load("r.example/l:1").unwrap(), Some(list));
        assert!(store.remove(&lock, "r.example/l:1").unwrap());
        assert!(!store.remove(&lock, "r.example/l:1").unwrap());
    }
}
