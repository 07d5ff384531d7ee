//! Overlay storage for container root file systems: mounting an image's layer
//! directories (from the image store) under a container's upper and work dirs, and
//! unmounting them. It does not create, extract or delete layers (the image store owns
//! them) and it does not decide where a container's directories live.

mod fuse;
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
