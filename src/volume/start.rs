//! A container's typed mounts turned into the runtime's mounts at start: a `-v` host
//! directory that is missing is made (as docker does), a volume is made if it went
//! missing and, on its first use, filled from the image (unless `nocopy`).

use super::{VolumeError, VolumeStore};
use crate::config::{MountConfig, MountSource, Propagation};
use crate::paths::Paths;
use crate::runtime::{self, Mount, MountKind};
use std::path::Path;

/// The runtime's mounts for `mounts`, with the rootfs (the image's merged tree) at
/// `rootfs` to copy volumes up from. Does nothing and touches nothing without mounts.
pub fn runtime_mounts(
    paths: &Paths,
    mounts: &[MountConfig],
    rootfs: &Path,
) -> Result<Vec<Mount>, VolumeError> {
    if mounts.is_empty() {
        return Ok(Vec::new());
    }
    let volumes = VolumeStore::open(paths)?;
    let mut out = Vec::new();
    for m in mounts {
        let (source, kind) = match &m.source {
            MountSource::Bind {
                source,
                propagation,
                create,
            } => {
                if *create && std::fs::symlink_metadata(source).is_err() {
                    std::fs::create_dir_all(source).map_err(|e| VolumeError::Io {
                        path: source.clone(),
                        source: e,
                    })?;
                }
                (
                    source.clone(),
                    MountKind::UserBind {
                        propagation: propagation_of(*propagation),
                    },
                )
            }
            MountSource::Volume {
                name,
                anonymous,
                nocopy,
            } => {
                if volumes.get(name).is_err() {
                    let lock = volumes.lock()?;
                    volumes.create(&lock, name, Default::default(), None, *anonymous)?;
                }
                let data = volumes.data_dir(name);
                if !nocopy {
                    super::fill_from_image(rootfs, &m.target, &data).map_err(|e| {
                        VolumeError::Io {
                            path: data.clone(),
                            source: e,
                        }
                    })?;
                }
                (
                    data,
                    MountKind::UserBind {
                        propagation: runtime::Propagation::Rprivate,
                    },
                )
            }
            MountSource::Tmpfs { options } => (
                Default::default(),
                MountKind::Tmpfs {
                    options: options.join(","),
                },
            ),
        };
        out.push(Mount {
            source,
            destination: m.target.clone(),
            kind,
            readonly: m.readonly,
        });
    }
    Ok(out)
}

fn propagation_of(p: Propagation) -> runtime::Propagation {
    match p {
        Propagation::Private => runtime::Propagation::Private,
        Propagation::Rprivate => runtime::Propagation::Rprivate,
        Propagation::Shared => runtime::Propagation::Shared,
        Propagation::Rshared => runtime::Propagation::Rshared,
        Propagation::Slave => runtime::Propagation::Slave,
        Propagation::Rslave => runtime::Propagation::Rslave,
    }
}
