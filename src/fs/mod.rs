//! File-system access to trees that a user controls: image layers, the build context, a
//! build's destination layer, archives being unpacked, a container's rootfs before it
//! starts. `confined` is the only way kiste reads or writes such a tree: every path is
//! resolved by the kernel inside the tree's root (`openat2` with `RESOLVE_IN_ROOT`), so
//! `..`, absolute symlinks and symlinked parents can never reach the host. Paths on
//! kiste's own directories (the store, scratch dirs) do not need it.

pub mod confined;
mod dir;
mod read;
mod remove;
mod sys;
#[cfg(test)]
mod tests;
pub(crate) mod xattr;

pub use confined::{Dir, Root, Stat};
pub use read::read_whole;
pub use remove::{remove_known, remove_own, remove_tree, Known};
