//! A container's typed mounts turned into the runtime's mounts at start: a `-v` host
//! directory that is missing is made (as docker does), a volume is made if it went
//! missing, a volume with `--opt`s gets its file system mounted, and on its first use a
//! volume is filled from the image (unless `nocopy`).

use super::{VolumeError, VolumeStore};
use crate::config::{MountConfig, MountSource, Propagation};
use crate::paths::Paths;
use crate::runtime::{self, Mount, MountKind};
use std::path::Path;

/// The runtime's mounts for `mounts`, with the rootfs (the image's merged tree) at
/// `rootfs` to copy volumes up from. Does nothing and touches nothing without mounts.
///
/// Binds are handed over as detached mounts cloned here (`open_tree`), where the host's
/// permissions apply: with a user namespace its root could not reach a volume in the
/// private store. Their mount points are made here too, for the same reason, and a new
/// empty volume's top directory goes to that root (`userns_root`: its host ids), as the
/// top of the upper dir does, so that it can write there.
pub fn runtime_mounts(
    paths: &Paths,
    id: &str,
    mounts: &[MountConfig],
    rootfs: &Path,
    userns_root: Option<(u32, u32)>,
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
                        tree: clone_tree(source),
                    },
                )
            }
            MountSource::Volume {
                name,
                anonymous,
                nocopy,
                ..
            } => {
                let volume = match volumes.get(name) {
                    Ok(v) => v,
                    Err(_) => {
                        let lock = volumes.lock()?;
                        volumes.create(&lock, name, Default::default(), None, *anonymous)?
                    }
                };
                if volume.driver != "local" {
                    // A plugin's volume: the plugin mounts it for this container.
                    let data = super::plugin::mount(paths, &volumes, &volume, id)?;
                    let tree = clone_tree(&data);
                    out.push(Mount {
                        source: data,
                        destination: m.target.clone(),
                        kind: MountKind::UserBind {
                            propagation: runtime::Propagation::Rprivate,
                            tree,
                        },
                        readonly: m.readonly,
                    });
                    continue;
                }
                // `--opt type=… device=…`: its file system goes on `_data` first.
                if volume
                    .options
                    .as_ref()
                    .is_some_and(|o| o.contains_key("device"))
                {
                    let lock = volumes.lock()?;
                    volumes.mount_device(&lock, &volume)?;
                }
                let data = volumes.data_dir(name);
                let io = |e| VolumeError::Io {
                    path: data.clone(),
                    source: e,
                };
                let filled =
                    !nocopy && super::fill_from_image(rootfs, &m.target, &data).map_err(io)?;
                if let (Some((uid, gid)), false) = (userns_root, filled) {
                    let top = crate::fs::Root::open(&data).map_err(io)?;
                    if top.read_dir("").map_err(io)?.is_empty() {
                        top.lchown("", uid, gid).map_err(io)?;
                    }
                }
                let tree = clone_tree(&data);
                (
                    data,
                    MountKind::UserBind {
                        propagation: runtime::Propagation::Rprivate,
                        tree,
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
        if userns_root.is_some() {
            make_mount_point(
                rootfs,
                &m.target,
                &source,
                matches!(kind, MountKind::Tmpfs { .. }),
            )
            .map_err(|e| VolumeError::Io {
                path: rootfs.join(m.target.trim_start_matches('/')),
                source: e,
            })?;
        }
        out.push(Mount {
            source,
            destination: m.target.clone(),
            kind,
            readonly: m.readonly,
        });
    }
    Ok(out)
}

/// The source cloned as a detached mount (with everything mounted below it), or None
/// where the kernel has no `open_tree` (the child then binds the path).
fn clone_tree(path: &Path) -> Option<runtime::MountTree> {
    use std::os::fd::FromRawFd;
    use std::os::unix::ffi::OsStrExt;
    const SYS_OPEN_TREE: libc::c_long = 428;
    const OPEN_TREE_CLOEXEC: libc::c_uint = libc::O_CLOEXEC as libc::c_uint;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let flags = libc::OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | libc::AT_RECURSIVE as libc::c_uint;
    // SAFETY: open_tree(2) with a C string; the descriptor it returns is ours.
    let fd = unsafe { libc::syscall(SYS_OPEN_TREE, libc::AT_FDCWD, c.as_ptr(), flags) };
    if fd < 0 {
        return None;
    }
    // SAFETY: a fresh descriptor nobody else owns.
    let fd = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as i32) };
    Some(runtime::MountTree(std::sync::Arc::new(fd)))
}

/// The mount point for a mount at `target`, made inside the rootfs (a directory, or a
/// file for a file source) through `crate::fs`.
fn make_mount_point(
    rootfs: &Path,
    target: &str,
    source: &Path,
    tmpfs: bool,
) -> std::io::Result<()> {
    let root = crate::fs::Root::open(rootfs)?;
    let file = !tmpfs && std::fs::metadata(source).is_ok_and(|m| !m.is_dir());
    if !file {
        root.mkdir_all(target, 0o755, |_, _, _| Ok(()))?;
        return Ok(());
    }
    let (parent, name) = target.rsplit_once('/').unwrap_or(("", target));
    let parent = root.mkdir_all(parent, 0o755, |_, _, _| Ok(()))?;
    let rel = format!("{parent}/{name}");
    if !root.exists(&rel) {
        root.create_file(&rel, 0o644)?;
    }
    Ok(())
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
