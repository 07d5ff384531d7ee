//! Manifests as registries serve them: Docker v2 schema 2 and OCI image manifests,
//! Docker manifest lists and OCI image indexes, told apart by media type (header or
//! body). Picks the image for a platform out of a list and maps layer media types to a
//! compression. Schema 1 manifests and non-image artifacts are refused by name.

use super::RegistryError;
use crate::image::config::{Descriptor, Manifest};
use crate::image::layer::Compression;
use serde::Deserialize;

pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";

/// The Accept header for manifest requests.
pub const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

/// A manifest as fetched: an image, or a list of images per platform.
#[derive(Debug)]
pub enum Fetched {
    Image(Manifest),
    List(Vec<ListEntry>),
}

#[derive(Debug, Clone, Deserialize)]
pub struct ListEntry {
    pub digest: String,
    #[serde(default)]
    pub platform: Option<Platform>,
}

/// `os/architecture[/variant]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    #[serde(default)]
    pub variant: Option<String>,
}

impl Platform {
    /// The platform this binary runs on, as docker defaults to.
    pub fn host() -> Platform {
        Platform {
            os: "linux".to_string(),
            architecture: crate::image::oci_architecture().to_string(),
            variant: None,
        }
    }

    /// Parses `os/arch[/variant]` (`linux/arm64/v8`), or a bare `arch` meaning linux.
    pub fn parse(s: &str) -> Result<Platform, RegistryError> {
        let parts: Vec<&str> = s.split('/').collect();
        let bad = || RegistryError::Invalid {
            what: format!("platform {s:?}"),
            reason: "expected os/arch[/variant]".to_string(),
        };
        if parts.iter().any(|p| p.is_empty()) {
            return Err(bad());
        }
        let (os, arch, variant) = match parts.as_slice() {
            [arch] => ("linux", *arch, None),
            [os, arch] => (*os, *arch, None),
            [os, arch, variant] => (*os, *arch, Some(variant.to_string())),
            _ => return Err(bad()),
        };
        Ok(Platform {
            os: os.to_string(),
            architecture: match arch {
                "x86_64" | "x86-64" => "amd64",
                "aarch64" => "arm64",
                a => a,
            }
            .to_string(),
            variant,
        })
    }

    fn matches(&self, other: &Platform) -> bool {
        let normal = |p: &Platform| match (p.architecture.as_str(), p.variant.as_deref()) {
            ("arm64", Some("v8")) => None,
            (_, v) => v.map(str::to_string),
        };
        self.os == other.os
            && self.architecture == other.architecture
            && (self.variant.is_none() || normal(self) == normal(other))
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// Parses manifest bytes; `content_type` is the response's header (may be missing or
/// generic, then the body's `mediaType` decides).
pub fn parse(
    bytes: &[u8],
    content_type: Option<&str>,
    what: &str,
) -> Result<Fetched, RegistryError> {
    #[derive(Deserialize)]
    struct Probe {
        #[serde(rename = "schemaVersion", default)]
        schema_version: u32,
        #[serde(rename = "mediaType", default)]
        media_type: Option<String>,
        #[serde(default)]
        manifests: Option<serde_json::Value>,
    }
    let invalid = |reason: String| RegistryError::Invalid {
        what: format!("manifest of {what}"),
        reason,
    };
    let probe: Probe = serde_json::from_slice(bytes).map_err(|e| invalid(e.to_string()))?;
    let header = content_type
        .map(|c| c.split(';').next().unwrap_or("").trim())
        .filter(|c| !c.is_empty() && *c != "application/json" && *c != "text/plain");
    let media_type = match (probe.media_type.as_deref(), header) {
        (Some(m), _) => m.to_string(),
        (None, Some(h)) => h.to_string(),
        (None, None) if probe.manifests.is_some() => OCI_INDEX.to_string(),
        (None, None) if probe.schema_version == 2 => OCI_MANIFEST.to_string(),
        (None, None) => String::new(),
    };
    match media_type.as_str() {
        DOCKER_LIST | OCI_INDEX => {
            #[derive(Deserialize)]
            struct List {
                manifests: Vec<ListEntry>,
            }
            let list: List = serde_json::from_slice(bytes).map_err(|e| invalid(e.to_string()))?;
            Ok(Fetched::List(list.manifests))
        }
        DOCKER_MANIFEST | OCI_MANIFEST => {
            let m: Manifest = serde_json::from_slice(bytes).map_err(|e| invalid(e.to_string()))?;
            if m.config.media_type != DOCKER_CONFIG && m.config.media_type != OCI_CONFIG {
                return Err(RegistryError::UnsupportedMediaType {
                    what: format!("the config of {what} (not a container image)"),
                    media_type: m.config.media_type,
                });
            }
            for layer in &m.layers {
                compression(layer, what)?;
            }
            Ok(Fetched::Image(m))
        }
        other => Err(RegistryError::UnsupportedMediaType {
            what: format!("the manifest of {what}"),
            media_type: if other.is_empty() && probe.schema_version == 1 {
                "schema 1".to_string()
            } else {
                other.to_string()
            },
        }),
    }
}

/// The entry for `wanted` in a manifest list.
pub fn select<'a>(
    entries: &'a [ListEntry],
    wanted: &Platform,
) -> Result<&'a ListEntry, RegistryError> {
    entries
        .iter()
        .find(|e| e.platform.as_ref().is_some_and(|p| wanted.matches(p)))
        .ok_or_else(|| RegistryError::NoPlatform {
            wanted: wanted.to_string(),
            available: entries
                .iter()
                .filter_map(|e| e.platform.as_ref().map(Platform::to_string))
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// How a layer blob is compressed, from its media type.
pub fn compression(layer: &Descriptor, what: &str) -> Result<Compression, RegistryError> {
    match layer.media_type.as_str() {
        "application/vnd.docker.image.rootfs.diff.tar.gzip"
        | "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
        | "application/vnd.oci.image.layer.v1.tar+gzip"
        | "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip" => Ok(Compression::Gzip),
        "application/vnd.oci.image.layer.v1.tar+zstd"
        | "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd" => Ok(Compression::Zstd),
        "application/vnd.oci.image.layer.v1.tar"
        | "application/vnd.docker.image.rootfs.diff.tar"
        | "application/vnd.oci.image.layer.nondistributable.v1.tar" => Ok(Compression::None),
        other => Err(RegistryError::UnsupportedMediaType {
            what: format!("a layer of {what}"),
            media_type: other.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_strings() {
        assert_eq!(
            Platform::parse("linux/arm64/v8").unwrap().to_string(),
            "linux/arm64/v8"
        );
        assert_eq!(Platform::parse("arm64").unwrap().to_string(), "linux/arm64");
        assert!(Platform::parse("linux//x").is_err());
        assert!(Platform::parse("a/b/c/d").is_err());
    }

    #[test]
    fn list_selects_the_platform() {
        let list = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
            {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:a","size":1,"platform":{"os":"linux","architecture":"amd64"}},
            {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:b","size":1,"platform":{"os":"linux","architecture":"arm64","variant":"v8"}}]}"#;
        let Fetched::List(entries) = parse(list, None, "x").unwrap() else {
            panic!("not a list")
        };
        let pick =
            |p: &str| select(&entries, &Platform::parse(p).unwrap()).map(|e| e.digest.clone());
        assert_eq!(pick("linux/amd64").unwrap(), "sha256:a");
        assert_eq!(pick("linux/arm64").unwrap(), "sha256:b");
        assert_eq!(pick("linux/arm64/v8").unwrap(), "sha256:b");
        let err = pick("linux/s390x").unwrap_err().to_string();
        assert!(err.contains("linux/amd64, linux/arm64/v8"), "{err}");
    }

    #[test]
    fn unknown_media_types_are_refused() {
        let helm = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.cncf.helm.config.v1+json","digest":"sha256:a","size":1},"layers":[]}"#;
        assert!(matches!(
            parse(helm, None, "x"),
            Err(RegistryError::UnsupportedMediaType { .. })
        ));
        let s1 = br#"{"schemaVersion":1,"name":"x","fsLayers":[]}"#;
        let err = parse(
            s1,
            Some("application/vnd.docker.distribution.manifest.v1+prettyjws"),
            "x",
        );
        assert!(matches!(
            err,
            Err(RegistryError::UnsupportedMediaType { .. })
        ));
    }
}
