//! `--cache-from`: images that seed the build cache, as BuildKit's inline cache does. A
//! build with `--build-arg BUILDKIT_INLINE_CACHE=1` writes its final stage's step keys
//! (see `cache`) into the image, in the label `kiste.build.cache.v0`: for each key, the
//! index of the layer it made (or none for a config step) and its time. A later build
//! given that image (from the store, or pulled from a registry) with `--cache-from` takes
//! a step from it when the step's key is there: the same base image, the same steps
//! before it with the same layers, the same instruction after expansion, build args,
//! copied content and mounts. So a hit is exact, as a local cache hit is, and survives
//! `builder prune` (the image keeps what the cache dir lost). An image without the label
//! seeds nothing, as in BuildKit, and the build says so once.

use super::cache::CacheEntry;
use crate::image::{ImageStore, LayerInfo};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The label holding the inline cache (stripped from a base image's config at FROM).
pub const LABEL: &str = "kiste.build.cache.v0";

/// One step of an image's inline cache.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct InlineEntry {
    /// The index of the step's layer among the image's layers; None for a config step.
    #[serde(default, rename = "l", skip_serializing_if = "Option::is_none")]
    pub layer: Option<usize>,
    #[serde(default, rename = "c", skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
}

pub type InlineCache = BTreeMap<String, InlineEntry>;

/// Whether the build asked for inline cache metadata (`BUILDKIT_INLINE_CACHE=1`).
pub fn wanted(build_args: &BTreeMap<String, String>) -> bool {
    build_args
        .get("BUILDKIT_INLINE_CACHE")
        .is_some_and(|v| matches!(v.as_str(), "1" | "true" | "TRUE" | "True"))
}

/// The images given with `--cache-from`, with their inline caches.
#[derive(Default)]
pub struct CacheSources {
    sources: Vec<(Vec<LayerInfo>, InlineCache)>,
}

impl CacheSources {
    /// Reads each image's inline cache; `fetch` finds an image (in the store, else from
    /// its registry). An image that cannot be had or carries no cache is reported through
    /// `warn` and skipped: a cache source never fails a build (as in BuildKit).
    pub fn load(
        images: &ImageStore,
        refs: &[String],
        fetch: &dyn Fn(&str) -> Result<crate::image::Image, String>,
        warn: &dyn Fn(String),
    ) -> CacheSources {
        let mut sources = Vec::new();
        for r in refs {
            let image = match fetch(r) {
                Ok(i) => i,
                Err(e) => {
                    warn(format!("--cache-from {r}: {e}"));
                    continue;
                }
            };
            let Some(text) = image.config.config.labels.get(LABEL) else {
                warn(format!(
                    "--cache-from {r}: the image has no build cache (build it with --build-arg BUILDKIT_INLINE_CACHE=1)"
                ));
                continue;
            };
            let parsed = serde_json::from_str::<InlineCache>(text);
            let layers = images.layers_of(&image);
            match (parsed, layers) {
                (Ok(cache), Ok(layers)) => sources.push((layers, cache)),
                (Err(e), _) => warn(format!("--cache-from {r}: unreadable build cache: {e}")),
                (_, Err(e)) => warn(format!("--cache-from {r}: {e}")),
            }
        }
        CacheSources { sources }
    }

    /// The step `key` as one of the images made it.
    pub fn lookup(
        &self,
        key: &str,
        blob_exists: impl Fn(&LayerInfo) -> bool,
    ) -> Option<CacheEntry> {
        self.sources.iter().find_map(|(layers, cache)| {
            let e = cache.get(key)?;
            let layer = match e.layer {
                Some(i) => Some(layers.get(i).filter(|l| blob_exists(l))?.clone()),
                None => None,
            };
            Some(CacheEntry {
                layer,
                created: e.created.clone(),
                ..Default::default()
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_entries_are_compact_and_round_trip() {
        let mut c = InlineCache::new();
        c.insert(
            "k1".into(),
            InlineEntry {
                layer: Some(0),
                created: Some("t".into()),
            },
        );
        c.insert(
            "k2".into(),
            InlineEntry {
                layer: None,
                created: None,
            },
        );
        let text = serde_json::to_string(&c).unwrap();
        assert_eq!(text, r#"{"k1":{"l":0,"c":"t"},"k2":{}}"#);
        assert_eq!(serde_json::from_str::<InlineCache>(&text).unwrap(), c);
        let mut args = BTreeMap::new();
        assert!(!wanted(&args));
        args.insert("BUILDKIT_INLINE_CACHE".into(), "1".into());
        assert!(wanted(&args));
    }
}
