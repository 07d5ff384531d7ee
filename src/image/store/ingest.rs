//! Layers and images that arrive from outside, keeping the digests they came with (a
//! registry pull). A layer blob is read exactly once: the compressed bytes are hashed
//! (and copied to a temp blob) while they are decompressed (gzip, zstd, or none), the tar
//! stream is hashed for the diff id and extracted by the confined unpacker into a temp
//! directory. Only when both digests match what the manifest and config promised are the
//! blob and the directory renamed into place, so an interrupted or hostile download
//! leaves nothing but temps that the next `open` removes. Images are recorded from the
//! config and manifest bytes as received, so the image id and the manifest digest are
//! the registry's.

use super::index::TempPath;
use super::{Image, ImageStore, LayerInfo};
use crate::image::config::{ImageConfig, Manifest};
use crate::image::layer::{unpack, Compression, HashingReader};
use crate::image::{io_ctx, short_digest, ImageError, Reference};
use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, BufWriter, Read};

const IO_BUF: usize = 256 * 1024;

/// What a manifest promises about one layer before it is fetched.
#[derive(Debug, Clone)]
pub struct ExpectedLayer<'a> {
    /// `sha256:<hex>` of the compressed blob (the manifest's descriptor).
    pub digest: &'a str,
    /// `sha256:<hex>` of the tar (the config's `rootfs.diff_ids` entry).
    pub diff_id: &'a str,
    pub media_type: &'a str,
    pub compression: Compression,
}

impl ImageStore {
    /// Whether the blob `digest` and the extracted layer `diff_id` are both stored, so a
    /// pull need not fetch it.
    pub fn has_layer(&self, digest: &str, diff_id: &str) -> bool {
        let blob = self.blob_path(digest).map(|p| p.is_file());
        let dir = self.layer_path(diff_id).map(|p| p.is_dir());
        matches!((blob, dir), (Ok(true), Ok(true)))
    }

    /// Reads a compressed layer from `reader` in one pass (see the module docs) and
    /// stores it under the registry's digest. `progress` is called with the number of
    /// compressed bytes read so far.
    pub fn ingest_layer<R: Read>(
        &self,
        reader: R,
        expected: &ExpectedLayer<'_>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<LayerInfo, ImageError> {
        let label = short_digest(expected.digest);
        let read_ctx = || format!("read layer {label}");
        let write_ctx = || format!("write blob for layer {label}");
        let dir = TempPath::new(self.temp_path("layer"));
        fs::create_dir(dir.path())
            .map_err(io_ctx(|| format!("create {}", dir.path().display())))?;
        let blob = TempPath::new(self.temp_path("blob"));
        let blob_file = File::create(blob.path())
            .map_err(io_ctx(|| format!("create {}", blob.path().display())))?;
        let raw = HashingReader::new(
            Progress {
                inner: reader,
                read: 0,
                report: progress,
            },
            Some(BufWriter::with_capacity(IO_BUF, blob_file)),
        );
        let raw = BufReader::with_capacity(IO_BUF, raw);
        let decoder = match expected.compression {
            Compression::Gzip => Decoder::Gzip(Box::new(flate2::bufread::MultiGzDecoder::new(raw))),
            Compression::Zstd => Decoder::Zstd(ZstdFrames::new(raw)),
            Compression::None => Decoder::None(raw),
            other => {
                return Err(ImageError::Extract {
                    layer: label,
                    reason: format!("{other:?} compression is not supported").to_lowercase(),
                })
            }
        };
        let tar = HashingReader::<_, io::Sink>::new(decoder, None);
        let mut tar = unpack::unpack_layer(tar, dir.path(), &label, self.xattrs)?;
        tar.drain().map_err(io_ctx(read_ctx))?;
        let (diff_id, uncompressed_size, decoder, _) = tar.finish();
        // Whatever follows the compressed stream still counts towards the blob digest.
        let mut raw = decoder.into_inner();
        io::copy(&mut raw, &mut io::sink()).map_err(io_ctx(read_ctx))?;
        let (digest, size, _, tee) = raw.into_inner().finish();
        let blob_file = tee
            .expect("tee given above")
            .into_inner()
            .map_err(|e| io_ctx(write_ctx)(e.into_error()))?;
        if digest != expected.digest {
            return Err(ImageError::Extract {
                layer: short_digest(expected.digest),
                reason: format!("downloaded content has digest {digest}"),
            });
        }
        if diff_id != expected.diff_id {
            return Err(ImageError::Extract {
                layer: label,
                reason: format!(
                    "its tar has digest {} but the image config expects {}",
                    short_digest(&diff_id),
                    short_digest(expected.diff_id)
                ),
            });
        }
        blob_file.sync_all().map_err(io_ctx(write_ctx))?;
        self.publish_blob(blob, &digest)?;
        self.publish_layer_dir(dir, &diff_id)?;
        Ok(LayerInfo {
            digest,
            diff_id,
            size,
            uncompressed_size,
            media_type: expected.media_type.to_string(),
        })
    }

    /// Records an image from its config and manifest exactly as received (their digests
    /// become the image id and the manifest digest) and points `tags` at it. Every layer
    /// must already be stored.
    pub fn commit_received_image(
        &self,
        config_bytes: &[u8],
        manifest_bytes: &[u8],
        layers: &[LayerInfo],
        tags: &[Reference],
    ) -> Result<Image, ImageError> {
        let bad = |what: &str, e: serde_json::Error| ImageError::Commit(format!("{what}: {e}"));
        let config: ImageConfig =
            serde_json::from_slice(config_bytes).map_err(|e| bad("invalid image config", e))?;
        let manifest: Manifest =
            serde_json::from_slice(manifest_bytes).map_err(|e| bad("invalid manifest", e))?;
        let diff_ids: Vec<&str> = layers.iter().map(|l| l.diff_id.as_str()).collect();
        if config
            .rootfs
            .diff_ids
            .iter()
            .map(String::as_str)
            .ne(diff_ids.iter().copied())
            || manifest.layers.len() != layers.len()
        {
            return Err(ImageError::Commit(
                "the config's rootfs.diff_ids do not match the manifest's layers".to_string(),
            ));
        }
        let tag_names = super::tag_names(tags)?;
        let (id, new_config) = self.put_blob_unsynced_dir(config_bytes)?;
        let (manifest_digest, new_manifest) = self.put_blob_unsynced_dir(manifest_bytes)?;
        if new_config || new_manifest {
            self.sync_blob_dir(&id)?;
        }
        let _lock = self.lock()?;
        for layer in layers {
            if !self.has_layer(&layer.digest, &layer.diff_id) {
                return Err(ImageError::Commit(format!(
                    "layer {} is not in the store",
                    short_digest(&layer.digest)
                )));
            }
        }
        self.record_image(id, manifest_digest, &config, layers, &tag_names, true)
    }

    /// The record of a stored layer (from any image that uses it), when both its blob
    /// and its directory are present: what a pull reuses instead of fetching.
    pub fn stored_layer(
        &self,
        digest: &str,
        diff_id: &str,
    ) -> Result<Option<LayerInfo>, ImageError> {
        if !self.has_layer(digest, diff_id) {
            return Ok(None);
        }
        let index = self.read_index()?;
        Ok(index
            .images
            .iter()
            .flat_map(|r| &r.layers)
            .find(|l| l.digest == digest && l.diff_id == diff_id)
            .cloned())
    }

    /// Remembers that `image_id` was pulled as `name@digest` (a manifest list's digest,
    /// say), so that reference finds it without asking the registry again.
    pub fn add_repo_digest(&self, image_id: &str, repo_digest: &str) -> Result<(), ImageError> {
        let _lock = self.lock()?;
        let mut index = self.read_index()?;
        let Some(record) = index.images.iter_mut().find(|r| r.id == image_id) else {
            return Err(ImageError::NotFound(image_id.to_string()));
        };
        if record.repo_digests.iter().any(|d| d == repo_digest) {
            return Ok(());
        }
        record.repo_digests.push(repo_digest.to_string());
        self.write_index(&index)
    }

    /// The raw bytes of a stored blob (a config or manifest to push).
    pub fn read_blob(&self, digest: &str) -> Result<Vec<u8>, ImageError> {
        let path = self.blob_path(digest)?;
        let bytes = crate::fs::read_whole(&path)
            .map_err(io_ctx(|| format!("read blob {}", short_digest(digest))))?;
        let actual = format!("sha256:{}", crate::image::hex(&Sha256::digest(&bytes)));
        if actual != digest {
            return Err(ImageError::Corrupt {
                path: path.display().to_string(),
                reason: format!("content has digest {actual}"),
            });
        }
        Ok(bytes)
    }
}

/// Counts the bytes read and reports the running total.
struct Progress<'p, R> {
    inner: R,
    read: u64,
    report: &'p mut dyn FnMut(u64),
}

impl<R: Read> Read for Progress<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        (self.report)(self.read);
        Ok(n)
    }
}

/// The decompressor for one layer; it gives the raw reader back at the end.
enum Decoder<R: BufRead> {
    Gzip(Box<flate2::bufread::MultiGzDecoder<R>>),
    Zstd(ZstdFrames<R>),
    None(R),
}

impl<R: BufRead> Decoder<R> {
    fn into_inner(self) -> R {
        match self {
            Decoder::Gzip(d) => d.into_inner(),
            Decoder::Zstd(d) => d.into_inner(),
            Decoder::None(r) => r,
        }
    }
}

impl<R: BufRead> Read for Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoder::Gzip(d) => d.read(buf),
            Decoder::Zstd(d) => d.read(buf),
            Decoder::None(r) => r.read(buf),
        }
    }
}

const ZSTD_SKIPPABLE_MASK: u32 = 0xFFFF_FFF0;
const ZSTD_SKIPPABLE_MAGIC: u32 = 0x184D_2A50;

/// A zstd stream of one or more frames, skippable frames (zstd:chunked metadata)
/// included, decoded by ruzstd.
pub(crate) struct ZstdFrames<R: BufRead> {
    state: ZstdState<R>,
}

enum ZstdState<R: BufRead> {
    Between(R),
    InFrame(Box<ruzstd::decoding::StreamingDecoder<R, ruzstd::decoding::FrameDecoder>>),
    Taken,
}

impl<R: BufRead> ZstdFrames<R> {
    pub(crate) fn new(inner: R) -> Self {
        ZstdFrames {
            state: ZstdState::Between(inner),
        }
    }

    fn into_inner(self) -> R {
        match self.state {
            ZstdState::Between(r) => r,
            ZstdState::InFrame(d) => d.into_inner(),
            ZstdState::Taken => unreachable!("zstd reader state is restored after every call"),
        }
    }
}

impl<R: BufRead> Read for ZstdFrames<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match std::mem::replace(&mut self.state, ZstdState::Taken) {
                ZstdState::InFrame(mut d) => {
                    let n = d.read(buf);
                    match n {
                        Ok(0) if !buf.is_empty() => {
                            self.state = ZstdState::Between(d.into_inner());
                        }
                        other => {
                            self.state = ZstdState::InFrame(d);
                            return other;
                        }
                    }
                }
                ZstdState::Between(mut r) => {
                    let head = r.fill_buf()?;
                    if head.is_empty() {
                        self.state = ZstdState::Between(r);
                        return Ok(0);
                    }
                    let skippable = head.len() >= 8
                        && u32::from_le_bytes([head[0], head[1], head[2], head[3]])
                            & ZSTD_SKIPPABLE_MASK
                            == ZSTD_SKIPPABLE_MAGIC;
                    if skippable {
                        let len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
                        r.consume(8);
                        let len = u64::from(len);
                        let skipped = io::copy(&mut (&mut r).take(len), &mut io::sink())?;
                        if skipped != len {
                            return Err(io::ErrorKind::UnexpectedEof.into());
                        }
                        self.state = ZstdState::Between(r);
                        continue;
                    }
                    let d = ruzstd::decoding::StreamingDecoder::new(r)
                        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
                    self.state = ZstdState::InFrame(Box::new(d));
                }
                ZstdState::Taken => {
                    return Err(io::Error::other("zstd stream failed earlier"));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::config::MEDIA_TYPE_LAYER_GZIP;
    use std::io::Write;

    fn layer_tar() -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(5);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, "hello.txt", &b"hello"[..]).unwrap();
        b.into_inner().unwrap()
    }

    fn sha(bytes: &[u8]) -> String {
        format!("sha256:{}", crate::image::hex(&Sha256::digest(bytes)))
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn gzip_layer_is_stored_under_the_registry_digest() {
        let dir = tempfile::tempdir().unwrap();
        let store = ImageStore::open(dir.path()).unwrap();
        let tar = layer_tar();
        let gz = gzip(&tar);
        let (digest, diff_id) = (sha(&gz), sha(&tar));
        let expected = ExpectedLayer {
            digest: &digest,
            diff_id: &diff_id,
            media_type: MEDIA_TYPE_LAYER_GZIP,
            compression: Compression::Gzip,
        };
        let mut seen = 0;
        let info = store
            .ingest_layer(&gz[..], &expected, &mut |n| seen = n)
            .unwrap();
        assert_eq!(
            (info.digest.as_str(), info.size),
            (digest.as_str(), gz.len() as u64)
        );
        assert_eq!(seen, gz.len() as u64);
        assert!(store.has_layer(&digest, &diff_id));
        let text = fs::read(store.layer_path(&diff_id).unwrap().join("hello.txt")).unwrap();
        assert_eq!(text, b"hello");
    }

    #[test]
    fn digest_mismatch_and_truncation_store_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = ImageStore::open(dir.path()).unwrap();
        let tar = layer_tar();
        let gz = gzip(&tar);
        let diff_id = sha(&tar);
        let wrong = sha(b"other");
        let expected = ExpectedLayer {
            digest: &wrong,
            diff_id: &diff_id,
            media_type: MEDIA_TYPE_LAYER_GZIP,
            compression: Compression::Gzip,
        };
        let err = store.ingest_layer(&gz[..], &expected, &mut |_| {});
        assert!(err.unwrap_err().to_string().contains("digest"));
        let digest = sha(&gz);
        let expected = ExpectedLayer {
            digest: &digest,
            ..expected
        };
        assert!(store
            .ingest_layer(&gz[..gz.len() / 2], &expected, &mut |_| {})
            .is_err());
        assert!(!store.has_layer(&digest, &diff_id));
        assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
        assert_eq!(fs::read_dir(dir.path().join("layers")).unwrap().count(), 0);
    }

    #[test]
    fn uncompressed_layer_digest_is_the_diff_id() {
        let dir = tempfile::tempdir().unwrap();
        let store = ImageStore::open(dir.path()).unwrap();
        let tar = layer_tar();
        let d = sha(&tar);
        let expected = ExpectedLayer {
            digest: &d,
            diff_id: &d,
            media_type: "application/vnd.oci.image.layer.v1.tar",
            compression: Compression::None,
        };
        let info = store
            .ingest_layer(&tar[..], &expected, &mut |_| {})
            .unwrap();
        assert_eq!(info.media_type, "application/vnd.oci.image.layer.v1.tar");
        assert!(store.has_layer(&d, &d));
    }

    #[test]
    fn zstd_layer_of_several_frames_with_a_skippable_frame() {
        use ruzstd::encoding::{compress_to_vec, CompressionLevel};
        let dir = tempfile::tempdir().unwrap();
        let store = ImageStore::open(dir.path()).unwrap();
        let tar = layer_tar();
        let (a, b) = tar.split_at(700);
        let mut zst = compress_to_vec(a, CompressionLevel::Fastest);
        zst.extend_from_slice(&0x184D_2A5Eu32.to_le_bytes());
        zst.extend_from_slice(&3u32.to_le_bytes());
        zst.extend_from_slice(b"abc");
        zst.extend(compress_to_vec(b, CompressionLevel::Fastest));
        let (digest, diff_id) = (sha(&zst), sha(&tar));
        let expected = ExpectedLayer {
            digest: &digest,
            diff_id: &diff_id,
            media_type: "application/vnd.oci.image.layer.v1.tar+zstd",
            compression: Compression::Zstd,
        };
        let info = store
            .ingest_layer(&zst[..], &expected, &mut |_| {})
            .unwrap();
        assert_eq!(info.uncompressed_size, tar.len() as u64);
        let text = fs::read(store.layer_path(&diff_id).unwrap().join("hello.txt")).unwrap();
        assert_eq!(text, b"hello");
    }
}
