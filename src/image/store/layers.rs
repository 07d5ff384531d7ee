//! Layers in the store: packing a directory into a blob (`create_layer`), importing a
//! layer tar (`import_layer_tar`), and making sure an image's layers are extracted
//! (`layer_dirs`). Extraction always goes into a temp directory that is renamed into
//! `layers/<diffid-hex>` under the lock, so a layer directory that exists is complete.

use super::index::{remove_any, TempPath};
use super::{Image, ImageStore, LayerInfo};
use crate::image::config::MEDIA_TYPE_LAYER_GZIP;
use crate::image::layer::{pack, unpack, Compression, HashingReader, HashingWriter};
use crate::image::{io_ctx, short_digest, ImageError};
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Seek};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// gzip level 2, the knee of the curve measured on busybox (1.9 MB, zlib-rs): level 1
/// takes 11 ms but the blob is 22% larger than at docker's default level 6 (29 ms);
/// level 2 takes 20 ms for a blob only 4% larger. Layer creation sits on every build
/// step while the size is paid once per push.
const GZIP_LEVEL: flate2::Compression = flate2::Compression::new(2);
const IO_BUF: usize = 256 * 1024;

/// A layer blob written to the store's tmp/, not yet synced nor named in blobs/ (see
/// `ImageStore::create_layer_unsynced`). Dropped, it is removed.
pub struct HeldBlob {
    tmp: TempPath,
    file: File,
    digest: String,
}

impl HeldBlob {
    pub fn digest(&self) -> &str {
        &self.digest
    }

    fn sync(&self) -> Result<(), ImageError> {
        self.file.sync_data().map_err(io_ctx(|| {
            format!("sync layer blob {}", short_digest(&self.digest))
        }))
    }
}

/// The result of reading one layer tar through the hashing pipeline.
struct Ingested {
    info: LayerInfo,
    dir: TempPath,
    blob: Option<TempPath>,
}

impl ImageStore {
    /// Packs `dir` (overlay format) into a deterministic gzip layer blob, then moves
    /// `dir` to `layers/<diffid-hex>` (or deletes it if that layer already exists).
    pub fn create_layer(
        &self,
        dir: &Path,
        clamp_mtime: Option<i64>,
    ) -> Result<LayerInfo, ImageError> {
        let (info, held) = self.create_layer_unsynced(dir, clamp_mtime)?;
        if let Some(held) = held {
            held.sync()?;
            self.publish_blob(held.tmp, &info.digest)?;
        }
        Ok(info)
    }

    /// `create_layer` for a build, which makes several layers and commits them at once:
    /// the blob stays in the store's tmp/, its writeback started but not waited for, and
    /// is returned held (None when that blob is stored already). It is not in blobs/
    /// until `commit_image_held` or `sync_held` syncs and names it; dropped, it is
    /// removed (and a killed build's is removed by the next command's `open`). The
    /// layer's directory is moved into place at once, for the next step's overlay.
    pub fn create_layer_unsynced(
        &self,
        dir: &Path,
        clamp_mtime: Option<i64>,
    ) -> Result<(LayerInfo, Option<HeldBlob>), ImageError> {
        let tmp = TempPath::new(self.temp_path("blob"));
        let file = File::create(tmp.path())
            .map_err(io_ctx(|| format!("create {}", tmp.path().display())))?;
        let sink = HashingWriter::new(GzEncoder::new(
            HashingWriter::new(BufWriter::with_capacity(IO_BUF, file)),
            GZIP_LEVEL,
        ));
        let sink = pack::write_layer_tar(dir, sink, clamp_mtime, self.xattrs)?;
        let (diff_id, uncompressed_size, gz) = sink.finish();
        let write_ctx = || format!("write layer blob for {}", dir.display());
        let (digest, size, buf) = gz.finish().map_err(io_ctx(write_ctx))?.finish();
        let file = buf
            .into_inner()
            .map_err(|e| io_ctx(write_ctx)(e.into_error()))?;
        let held = if self.blob_path(&digest)?.exists() {
            None // `tmp` is removed on drop
        } else {
            // Start the writeback now, so the commit's fdatasync finds little left to do.
            // SAFETY: sync_file_range on a file we own; a failure only loses the head start.
            unsafe { libc::sync_file_range(file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE) };
            Some(HeldBlob {
                tmp,
                file,
                digest: digest.clone(),
            })
        };
        let blob = match &held {
            Some(h) => h.tmp.path().to_path_buf(),
            None => self.blob_path(&digest)?,
        };
        self.move_layer_dir(dir, &blob, &digest, &diff_id)?;
        Ok((
            LayerInfo {
                digest,
                diff_id,
                size,
                uncompressed_size,
                media_type: MEDIA_TYPE_LAYER_GZIP.to_string(),
            },
            held,
        ))
    }

    /// Syncs the `held` blobs and names them in blobs/, with one sync of the blob
    /// directory after them: for a caller that needs them stored before its image is
    /// (e.g. an intermediate image of `build --rm=false`).
    pub fn sync_held(&self, held: Vec<HeldBlob>) -> Result<(), ImageError> {
        let Some(digest) = held.first().map(|h| h.digest.clone()) else {
            return Ok(());
        };
        self.publish_held(held)?;
        self.sync_blob_dir(&digest)
    }

    /// fdatasync of every held blob (their writeback runs in parallel), then their
    /// renames into blobs/; the directory is not synced (the caller does that once).
    pub(super) fn publish_held(&self, held: Vec<HeldBlob>) -> Result<(), ImageError> {
        for h in &held {
            h.sync()?;
        }
        for h in held {
            self.publish_blob(h.tmp, &h.digest)?;
        }
        Ok(())
    }

    /// Moves a packed layer directory to `layers/<diffid-hex>`, or deletes it where that
    /// layer is already extracted.
    fn move_layer_dir(
        &self,
        dir: &Path,
        blob: &Path,
        digest: &str,
        diff_id: &str,
    ) -> Result<(), ImageError> {
        let dest = self.layer_path(diff_id)?;
        let lock = self.lock()?;
        if dest.exists() {
            drop(lock);
            fs::remove_dir_all(dir).map_err(io_ctx(|| {
                format!("remove {} (layer already stored)", dir.display())
            }))?;
            return Ok(());
        }
        match fs::rename(dir, &dest) {
            Ok(()) => Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EXDEV) => {
                // `dir` is on another file system: extract the blob we just wrote instead.
                drop(lock);
                self.extract_blob_at(blob, digest, diff_id)?;
                fs::remove_dir_all(dir).map_err(io_ctx(|| format!("remove {}", dir.display())))
            }
            Err(e) => Err(io_ctx(|| {
                format!("move {} to {}", dir.display(), dest.display())
            })(e)),
        }
    }

    /// Imports a layer tar (plain or gzip, detected by content): stores it as a gzip
    /// blob and extracts it safely into `layers/<diffid-hex>`.
    pub fn import_layer_tar(&self, tar_path: &Path) -> Result<LayerInfo, ImageError> {
        let file = File::open(tar_path)
            .map_err(io_ctx(|| format!("open layer tar {}", tar_path.display())))?;
        let label = tar_path.display().to_string();
        let ingested = self.ingest(file, true, &label)?;
        let blob = ingested.blob.expect("blob kept when asked");
        self.publish_blob(blob, &ingested.info.digest)?;
        self.publish_layer_dir(ingested.dir, &ingested.info.diff_id)?;
        Ok(ingested.info)
    }

    /// The layer directories of `image`, bottom layer first, extracting any that are
    /// missing (e.g. after a pull) from their blobs. Already extracted layers cost one
    /// `stat` each.
    pub fn layer_dirs(&self, image: &Image) -> Result<Vec<PathBuf>, ImageError> {
        let diff_ids = &image.config.rootfs.diff_ids;
        if diff_ids.len() != image.manifest.layers.len() {
            return Err(ImageError::Corrupt {
                path: short_digest(&image.id),
                reason: format!(
                    "config lists {} layers but the manifest {}",
                    diff_ids.len(),
                    image.manifest.layers.len()
                ),
            });
        }
        let mut dirs = Vec::with_capacity(diff_ids.len());
        for (diff_id, blob) in diff_ids.iter().zip(&image.manifest.layers) {
            dirs.push(self.layer_dir(diff_id, &blob.digest)?);
        }
        Ok(dirs)
    }

    /// The layer directories of `layers` (bottom first), extracting missing ones: for an
    /// image being built, which has no manifest yet.
    pub fn layer_dirs_for(&self, layers: &[LayerInfo]) -> Result<Vec<PathBuf>, ImageError> {
        layers
            .iter()
            .map(|l| self.layer_dir(&l.diff_id, &l.digest))
            .collect()
    }

    fn layer_dir(&self, diff_id: &str, digest: &str) -> Result<PathBuf, ImageError> {
        let dir = self.layer_path(diff_id)?;
        if !dir.is_dir() {
            self.extract_blob(digest, diff_id)?;
        }
        Ok(dir)
    }

    /// Extracts a stored blob to `layers/<diffid-hex>`, checking that it is that layer.
    fn extract_blob(&self, digest: &str, diff_id: &str) -> Result<(), ImageError> {
        self.extract_blob_at(&self.blob_path(digest)?, digest, diff_id)
    }

    /// `extract_blob` of the blob file at `path` (in blobs/ or still held in tmp/).
    fn extract_blob_at(&self, path: &Path, digest: &str, diff_id: &str) -> Result<(), ImageError> {
        let file = File::open(path).map_err(io_ctx(|| {
            format!("open layer blob {}", short_digest(digest))
        }))?;
        let ingested = self.ingest(file, false, &short_digest(digest))?;
        if ingested.info.diff_id != diff_id {
            return Err(ImageError::Extract {
                layer: short_digest(digest),
                reason: format!(
                    "its content is {} but the image config expects {}",
                    short_digest(&ingested.info.diff_id),
                    short_digest(diff_id)
                ),
            });
        }
        self.publish_layer_dir(ingested.dir, diff_id)
    }

    pub(super) fn publish_layer_dir(&self, tmp: TempPath, diff_id: &str) -> Result<(), ImageError> {
        let dest = self.layer_path(diff_id)?;
        let _lock = self.lock()?;
        if !dest.exists() {
            fs::rename(tmp.path(), &dest).map_err(io_ctx(|| {
                format!("move layer {} into place", short_digest(diff_id))
            }))?;
            tmp.keep();
        }
        Ok(())
    }

    /// Removes an extracted layer: renamed away first so it vanishes atomically.
    pub(super) fn remove_layer_dir(&self, diff_id: &str) -> Result<(), ImageError> {
        let dir = self.layer_path(diff_id)?;
        let doomed = self.temp_path("removed");
        match fs::rename(&dir, &doomed) {
            Ok(()) => {
                remove_any(&doomed);
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_ctx(|| format!("remove layer {}", short_digest(diff_id)))(e)),
        }
    }

    /// Reads a layer tar once: hashes the raw bytes (blob digest) and the tar bytes
    /// (diff id), extracts into a temp dir, and, if `keep_blob`, writes a gzip blob
    /// (the input itself when it is gzip already, so registry digests are preserved).
    fn ingest(&self, mut file: File, keep_blob: bool, label: &str) -> Result<Ingested, ImageError> {
        let read_ctx = || format!("read layer {label}");
        let mut magic = [0u8; 6];
        let n = read_up_to(&mut file, &mut magic).map_err(io_ctx(read_ctx))?;
        file.rewind().map_err(io_ctx(read_ctx))?;
        let dir = TempPath::new(self.temp_path("layer"));
        fs::create_dir(dir.path())
            .map_err(io_ctx(|| format!("create {}", dir.path().display())))?;
        let blob = keep_blob.then(|| TempPath::new(self.temp_path("blob")));
        let blob_file = match &blob {
            Some(b) => Some(
                File::create(b.path())
                    .map_err(io_ctx(|| format!("create {}", b.path().display())))?,
            ),
            None => None,
        };
        let input = BufReader::with_capacity(IO_BUF, file);
        let write_ctx = || format!("write blob for layer {label}");
        let info = match Compression::detect(&magic[..n]) {
            Compression::Gzip => {
                let raw = HashingReader::new(
                    input,
                    blob_file.map(|f| BufWriter::with_capacity(IO_BUF, f)),
                );
                let tar = HashingReader::<_, io::Sink>::new(MultiGzDecoder::new(raw), None);
                let mut tar = unpack::unpack_layer(tar, dir.path(), label, self.xattrs)?;
                tar.drain().map_err(io_ctx(read_ctx))?;
                let (diff_id, uncompressed_size, gz, _) = tar.finish();
                let mut raw = gz.into_inner();
                raw.drain().map_err(io_ctx(read_ctx))?;
                let (digest, size, _, tee) = raw.finish();
                if let Some(tee) = tee {
                    let f = tee
                        .into_inner()
                        .map_err(|e| io_ctx(write_ctx)(e.into_error()))?;
                    f.sync_all().map_err(io_ctx(write_ctx))?;
                }
                LayerInfo {
                    digest,
                    diff_id,
                    size,
                    uncompressed_size,
                    media_type: MEDIA_TYPE_LAYER_GZIP.to_string(),
                }
            }
            Compression::None => {
                let gz = blob_file.map(|f| {
                    GzEncoder::new(
                        HashingWriter::new(BufWriter::with_capacity(IO_BUF, f)),
                        GZIP_LEVEL,
                    )
                });
                let tar = HashingReader::new(input, gz);
                let mut tar = unpack::unpack_layer(tar, dir.path(), label, self.xattrs)?;
                tar.drain().map_err(io_ctx(read_ctx))?;
                let (diff_id, uncompressed_size, _, gz) = tar.finish();
                let (digest, size) = match gz {
                    Some(gz) => {
                        let (digest, size, buf) = gz.finish().map_err(io_ctx(write_ctx))?.finish();
                        let f = buf
                            .into_inner()
                            .map_err(|e| io_ctx(write_ctx)(e.into_error()))?;
                        f.sync_all().map_err(io_ctx(write_ctx))?;
                        (digest, size)
                    }
                    None => (diff_id.clone(), uncompressed_size),
                };
                LayerInfo {
                    digest,
                    diff_id,
                    size,
                    uncompressed_size,
                    media_type: MEDIA_TYPE_LAYER_GZIP.to_string(),
                }
            }
            other => {
                return Err(ImageError::Extract {
                    layer: label.to_string(),
                    reason: format!(
                        "{other:?} compression is not supported (use gzip or an uncompressed tar)"
                    )
                    .to_lowercase(),
                })
            }
        };
        Ok(Ingested { info, dir, blob })
    }
}

fn read_up_to(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}
