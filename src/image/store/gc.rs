//! Garbage collection for `image prune`: blobs and extracted layer directories that no
//! image refers to (nor any layer the caller keeps, i.e. the build cache's) are deleted.
//! Anything younger than `min_age` stays: a build running right now may have made a layer
//! it has not committed or cached yet.

use super::ImageStore;
use crate::image::{io_ctx, ImageError, LayerInfo};
use std::collections::HashSet;
use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime};

fn old_enough(path: &Path, min_age: Duration) -> bool {
    fs::symlink_metadata(path)
        .and_then(|m| m.modified())
        .map(|t| SystemTime::now().duration_since(t).unwrap_or_default() >= min_age)
        .unwrap_or(false)
}

/// Bytes of regular files below `path` (what deleting it frees, near enough).
fn tree_size(path: &Path) -> u64 {
    walkdir::WalkDir::new(path)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}

impl ImageStore {
    /// Delete what is unreferenced and at least `min_age` old; return the bytes freed.
    pub fn collect_garbage(
        &self,
        keep: &[LayerInfo],
        min_age: Duration,
    ) -> Result<u64, ImageError> {
        let _lock = self.lock()?;
        let index = self.read_index()?;
        let mut blobs: HashSet<String> = HashSet::new();
        let mut layers: HashSet<String> = HashSet::new();
        for r in &index.images {
            blobs.insert(r.id.clone());
            blobs.insert(r.manifest_digest.clone());
            for l in &r.layers {
                blobs.insert(l.digest.clone());
                layers.insert(l.diff_id.clone());
            }
        }
        for l in keep {
            blobs.insert(l.digest.clone());
            layers.insert(l.diff_id.clone());
        }
        let mut freed = 0;
        for (dir, used) in [(&self.blobs, &blobs), (&self.layers, &layers)] {
            let entries =
                fs::read_dir(dir).map_err(io_ctx(|| format!("read {}", dir.display())))?;
            for e in entries.flatten() {
                let name = format!("sha256:{}", e.file_name().to_string_lossy());
                let path = e.path();
                if used.contains(&name) || !old_enough(&path, min_age) {
                    continue;
                }
                let size = tree_size(&path);
                let removed = if path.is_dir() {
                    fs::remove_dir_all(&path)
                } else {
                    fs::remove_file(&path)
                };
                removed.map_err(io_ctx(|| format!("delete {}", path.display())))?;
                freed += size;
            }
        }
        self.remove_unused_init_layers(&index)?;
        Ok(freed)
    }

    /// Deletes the blobs and directories of `layers` that no image refers to: what an
    /// import that failed midway had stored. The caller passes only layers it stored
    /// itself (not present before), so a concurrent build's uncommitted layer is safe
    /// unless it is the very same layer.
    pub fn discard_layers(&self, layers: &[LayerInfo]) -> Result<(), ImageError> {
        let _lock = self.lock()?;
        let index = self.read_index()?;
        let used = |l: &LayerInfo| {
            index
                .images
                .iter()
                .flat_map(|r| &r.layers)
                .any(|u| u.digest == l.digest || u.diff_id == l.diff_id)
        };
        for l in layers.iter().filter(|l| !used(l)) {
            match fs::remove_file(self.blob_path(&l.digest)?) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(io_ctx(|| format!("delete blob {}", l.digest))(e))
                }
                _ => {}
            }
            self.remove_layer_dir(&l.diff_id)?;
        }
        Ok(())
    }
}
