//! Multi-platform lists (`manifest create|add|annotate|inspect|push`): a Docker manifest
//! list or OCI image index as docker's CLI writes it (its field order, so `inspect`
//! prints what docker prints), built from images in a registry. `describe` reads one
//! image's manifest and config from its registry to make its entry (digest, size, media
//! type, platform); `push_list` makes each entry's manifest present in the destination
//! repository (blobs mounted across repositories of the same registry, then the manifest
//! put by digest) and puts the list last. Lists being edited live in kiste's store as
//! files (`ListStore`), not in a registry.

use super::client::{error_message, Body, Client};
use super::manifest::{self, Fetched, DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST};
use super::pull::{fetch_config, fetch_manifest, sha256};
use super::RegistryError;
use crate::image::config::{ImageConfig, Manifest};
use crate::image::Reference;
use serde::{Deserialize, Serialize};

/// The OCI image manifest's media type (for `inspect --verbose`'s key).
pub const OCI_MANIFEST_TYPE: &str = OCI_MANIFEST;

/// A manifest list / image index, fields in docker's order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestList {
    pub schema_version: u32,
    pub media_type: String,
    pub manifests: Vec<ListDescriptor>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListDescriptor {
    pub media_type: String,
    pub size: u64,
    pub digest: String,
    #[serde(default)]
    pub platform: ListPlatform,
}

/// docker's `manifestlist.PlatformSpec`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ListPlatform {
    pub architecture: String,
    pub os: String,
    #[serde(
        rename = "os.version",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub os_version: String,
    #[serde(rename = "os.features", default, skip_serializing_if = "Vec::is_empty")]
    pub os_features: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub variant: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<String>,
}

/// One image of a list, with the reference it was read from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListEntry {
    pub source: String,
    pub descriptor: ListDescriptor,
}

/// What a reference names in its registry.
pub enum Remote {
    /// An image: its manifest (parsed and as bytes) and its entry for a list.
    Image {
        manifest: Box<Manifest>,
        bytes: Vec<u8>,
        entry: Box<ListEntry>,
    },
    /// A list: its bytes and media type.
    List { bytes: Vec<u8>, media_type: String },
}

/// The list's media type for these images: an OCI index when every image is an OCI
/// manifest, else docker's manifest list (docker's default).
pub fn list_media_type(entries: &[ListEntry]) -> &'static str {
    let all_oci = !entries.is_empty()
        && entries
            .iter()
            .all(|e| e.descriptor.media_type == OCI_MANIFEST);
    if all_oci {
        OCI_INDEX
    } else {
        DOCKER_LIST
    }
}

/// The list document of `entries`.
pub fn to_list(entries: &[ListEntry]) -> ManifestList {
    ManifestList {
        schema_version: 2,
        media_type: list_media_type(entries).to_string(),
        manifests: entries.iter().map(|e| e.descriptor.clone()).collect(),
    }
}

/// The list as docker's CLI serializes it (distribution's `MarshalIndent` with three
/// spaces), so the same list gets the same digest from docker and kiste.
pub fn list_bytes(list: &ManifestList) -> Vec<u8> {
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"   ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    list.serialize(&mut ser).expect("lists serialize");
    out
}

/// Reads what `reference` names from its registry.
pub fn fetch(reference: &Reference, tls_verify: bool) -> Result<Remote, RegistryError> {
    let client = super::catalog::connect(reference.domain(), tls_verify)?;
    let repo = reference.repository();
    let scopes = [format!("repository:{repo}:pull")];
    let what = reference.to_string();
    let wanted = reference.manifest_reference();
    let (bytes, content_type) = fetch_manifest(&client, &repo, &wanted, &scopes, &what)?;
    match manifest::parse(&bytes, content_type.as_deref(), &what)? {
        Fetched::List(_) => {
            let media_type = body_media_type(&bytes)
                .or(content_type)
                .unwrap_or_else(|| DOCKER_LIST.to_string());
            Ok(Remote::List { bytes, media_type })
        }
        Fetched::Image(m) => {
            let config_bytes = fetch_config(&client, &repo, &m, &scopes, &what)?;
            let config: ImageConfig =
                serde_json::from_slice(&config_bytes).map_err(|e| RegistryError::Invalid {
                    what: format!("image config of {what}"),
                    reason: e.to_string(),
                })?;
            let extra: PlatformExtras = serde_json::from_slice(&config_bytes).unwrap_or_default();
            let media_type = m
                .media_type
                .clone()
                .or(content_type.filter(|c| c == OCI_MANIFEST || c == DOCKER_MANIFEST))
                .unwrap_or_else(|| OCI_MANIFEST.to_string());
            let entry = Box::new(ListEntry {
                source: what,
                descriptor: ListDescriptor {
                    media_type,
                    size: bytes.len() as u64,
                    digest: sha256(&bytes),
                    platform: ListPlatform {
                        architecture: config.architecture,
                        os: config.os,
                        os_version: extra.os_version,
                        os_features: extra.os_features,
                        variant: extra.variant,
                        features: Vec::new(),
                    },
                },
            });
            Ok(Remote::Image {
                manifest: Box::new(m),
                bytes,
                entry,
            })
        }
    }
}

/// The platform fields of an image config that `ImageConfig` does not keep.
#[derive(Default, Deserialize)]
struct PlatformExtras {
    #[serde(default)]
    variant: String,
    #[serde(rename = "os.version", default)]
    os_version: String,
    #[serde(rename = "os.features", default)]
    os_features: Vec<String>,
}

fn body_media_type(bytes: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Typed {
        #[serde(rename = "mediaType")]
        media_type: Option<String>,
    }
    serde_json::from_slice::<Typed>(bytes).ok()?.media_type
}

/// What `push_list` did: the list's digest, and the digests of the images it linked
/// into the destination repository first.
pub struct PushedList {
    pub digest: String,
    pub linked: Vec<String>,
}

/// Pushes the list of `entries` as `dest`. Every entry's image must be in `dest`'s
/// registry: those from another repository are linked into `dest`'s (blob mounts, then
/// the manifest by digest) before the list is put.
pub fn push_list(
    entries: &[ListEntry],
    dest: &Reference,
    tls_verify: bool,
) -> Result<PushedList, RegistryError> {
    let client = super::catalog::connect(dest.domain(), tls_verify)?;
    let repo = dest.repository();
    let mut linked = Vec::new();
    for e in entries {
        let source = Reference::parse(&e.source)?;
        if source.domain() != dest.domain() {
            return Err(RegistryError::Invalid {
                what: format!("manifest list {dest}"),
                reason: format!(
                    "image {} is in registry {}, not in {}: push it there first",
                    e.source,
                    source.domain(),
                    dest.domain()
                ),
            });
        }
        let from = source.repository();
        if from != repo {
            copy_image(
                &client,
                &source,
                &from,
                &repo,
                &e.descriptor.digest,
                tls_verify,
            )?;
            linked.push(e.descriptor.digest.clone());
        }
    }
    let list = to_list(entries);
    let bytes = list_bytes(&list);
    let tag = dest.tag.clone().unwrap_or_else(|| "latest".into());
    put_manifest(
        &client,
        &repo,
        &[format!("repository:{repo}:pull,push")],
        &tag,
        &list.media_type,
        &bytes,
        &format!("manifest upload of {dest}"),
    )?;
    Ok(PushedList {
        digest: sha256(&bytes),
        linked,
    })
}

/// Links image `digest` of repository `from` into `to` on the same registry.
fn copy_image(
    client: &Client,
    source: &Reference,
    from: &str,
    to: &str,
    digest: &str,
    tls_verify: bool,
) -> Result<(), RegistryError> {
    let pinned = Reference {
        digest: Some(digest.to_string()),
        tag: None,
        ..source.clone()
    };
    let Remote::Image {
        manifest, bytes, ..
    } = fetch(&pinned, tls_verify)?
    else {
        return Err(RegistryError::Invalid {
            what: format!("image {pinned}"),
            reason: "it is a list, not an image".into(),
        });
    };
    let scopes = [
        format!("repository:{to}:pull,push"),
        format!("repository:{from}:pull"),
    ];
    for blob in std::iter::once(&manifest.config).chain(&manifest.layers) {
        let path = format!("{to}/blobs/uploads/?mount={}&from={from}", blob.digest);
        let mut resp = client.send("POST", &path, &scopes, &[], Body::Empty)?;
        if resp.status().as_u16() != 201 {
            return Err(RegistryError::Status {
                what: format!("mount of blob {} from {from} into {to}", blob.digest),
                status: resp.status().as_u16(),
                message: error_message(&mut resp),
            });
        }
    }
    let media_type = manifest
        .media_type
        .clone()
        .unwrap_or_else(|| OCI_MANIFEST.to_string());
    put_manifest(
        client,
        to,
        &scopes,
        digest,
        &media_type,
        &bytes,
        &format!("manifest upload of {pinned}"),
    )
}

/// PUTs a manifest (or list) as `reference` of `repo` with a token for `scopes` (a push
/// that mounts blobs from other repositories asks for those too); `what` names the upload
/// in the error of a refused one.
pub(super) fn put_manifest(
    client: &Client,
    repo: &str,
    scopes: &[String],
    reference: &str,
    media_type: &str,
    bytes: &[u8],
    what: &str,
) -> Result<(), RegistryError> {
    let mut resp = client.send(
        "PUT",
        &format!("{repo}/manifests/{reference}"),
        scopes,
        &[("Content-Type", media_type)],
        Body::Bytes(bytes),
    )?;
    let status = resp.status().as_u16();
    if !(200..300).contains(&status) {
        return Err(RegistryError::Status {
            what: what.to_string(),
            status,
            message: error_message(&mut resp),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(media_type: &str, arch: &str) -> ListEntry {
        ListEntry {
            source: format!("r.example/app:{arch}"),
            descriptor: ListDescriptor {
                media_type: media_type.into(),
                size: 7,
                digest: "sha256:00".into(),
                platform: ListPlatform {
                    architecture: arch.into(),
                    os: "linux".into(),
                    variant: if arch == "arm64" {
                        "v8".into()
                    } else {
                        String::new()
                    },
                    ..ListPlatform::default()
                },
            },
        }
    }

    #[test]
    fn the_list_type_follows_the_images_and_fields_keep_dockers_order() {
        let oci = [entry(OCI_MANIFEST, "amd64"), entry(OCI_MANIFEST, "arm64")];
        assert_eq!(to_list(&oci).media_type, OCI_INDEX);
        let mixed = [
            entry(OCI_MANIFEST, "amd64"),
            entry(DOCKER_MANIFEST, "arm64"),
        ];
        assert_eq!(to_list(&mixed).media_type, DOCKER_LIST);
        let json = serde_json::to_string(&to_list(&oci)).unwrap();
        assert!(json.starts_with(
            "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":[{\"mediaType\""
        ), "{json}");
        assert!(
            json.contains(
                "\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\",\"variant\":\"v8\"}"
            ),
            "{json}"
        );
    }
}
