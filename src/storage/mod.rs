//! Overlay storage for container root file systems: mounting an image's layer
//! directories (from the image store) under a container's upper and work dirs, and
//! unmounting them; the init layer laid over a chain's layers (`init_layer`). It does
//! not create, extract or delete image layers (the image store owns them) and it does
//! not decide where a container's directories live.

mod fuse;
pub mod init_layer;
mod overlay;
pub mod quota;

#[doc(hidden)]
pub use overlay::mount_legacy;
pub use overlay::{
    is_mounted, mount_overlay, mount_overlay_detached, mount_overlay_scratch, unmount,
};

use std::io;
use std::path::PathBuf;

/// Errors from mounting and unmounting container root file systems.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The overlay mount itself (or one of its preparation steps) failed.
    #[error("cannot mount overlay at {target}: {reason}")]
    Mount { target: PathBuf, reason: String },
    #[error("cannot unmount {target}: {source}")]
    Unmount {
        target: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A directory the mount needs cannot be created.
    #[error("cannot create {path}: {source}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}
