//! The container's root for its start: the overlay (mounted on the host
//! or detached for the child to attach), and the mount points a user-namespaced root
//! cannot make itself.

use crate::paths::Paths;
use crate::runtime;
use crate::state::ContainerRecord;
use crate::storage::{self, StorageError};
use std::path::PathBuf;

/// Mount the container's root for `prepare`: the detached overlay that its child attaches
/// (see `storage::mount_overlay_detached`), or a mount at `rootfs` on the host; whether
/// the host holds it (then it is unmounted when the container ends).
///
/// The detached mount is used only where nothing on the host reads the tree while the
/// container runs: an `--rm` container (its upper dir goes with it, so the overlay is
/// volatile: no unmount syncs it to disk, which cost 1-100 ms on ext4 under load),
/// without mounts (volumes are filled from the tree and mount points made in it on the
/// host), without a user namespace (its mount points are made on the host) and not
/// rootless. `cp` into a running container goes through /proc/PID/root, `export` of one
/// whose tree is not mounted reads its layers and upper dir, and `diff`/`commit` read the
/// upper dir, so the host mount is needed by none of them.
pub(super) fn mount_rootfs(
    paths: &Paths,
    rec: &ContainerRecord,
    lowers: &[PathBuf],
    rootfs: &std::path::Path,
) -> Result<(Option<runtime::MountTree>, bool), StorageError> {
    let id = rec.id.as_str();
    let (upper, work) = (paths.container_upper(id), paths.container_work(id));
    let host = &rec.config.host;
    if !host.auto_remove {
        storage::mount_overlay(lowers, &upper, &work, rootfs, paths.rootless)?;
        return Ok((None, true));
    }
    if !paths.rootless && host.mounts.is_empty() && host.userns_root().is_none() {
        // The mount points the image lacks come from the chain's init layer, not from
        // the upper dir that is thrown away; without it (it could not be made) the
        // start makes them there as before.
        let with_init;
        let lowers = match storage::init_layer::lower_for(&paths.images(), lowers) {
            Ok(Some(init)) => {
                with_init = [lowers, &[init]].concat();
                &with_init[..]
            }
            Ok(None) => lowers,
            Err(e) => {
                crate::log_debug!("container {id}: no init layer: {e}");
                lowers
            }
        };
        if let Some(fd) = storage::mount_overlay_detached(lowers, &upper, &work, rootfs)? {
            return Ok((Some(runtime::MountTree(std::sync::Arc::new(fd))), false));
        }
    }
    storage::mount_overlay_scratch(lowers, &upper, &work, rootfs, paths.rootless)?;
    Ok((None, true))
}

/// With a user namespace the container's root is an unprivileged host id that cannot
/// create the mount points in an image owned by host root: make them here, and give the
/// container's root the top of its upper dir so it can write new files at /.
pub(super) fn prepare_for_userns(
    rootfs: &std::path::Path,
    upper: &std::path::Path,
    (uid, gid): (u32, u32),
) -> std::io::Result<()> {
    // The image's tree: a symlink in it (say /etc -> /host/dir) resolves inside it.
    let root = crate::fs::Root::open(rootfs)?;
    for dir in ["proc", "sys", "dev", "etc"] {
        if !root.exists(dir) {
            root.mkdir(dir, 0o755)?;
        }
    }
    for file in ["etc/hosts", "etc/hostname", "etc/resolv.conf"] {
        if !root.exists(file) {
            root.create_file(file, 0o644)?;
        }
    }
    std::os::unix::fs::chown(upper, Some(uid), Some(gid))
}
