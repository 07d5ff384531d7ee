//! kiste: a daemonless container tool. The library holds everything the `kiste` binary
//! does; `main.rs` only parses the command line and maps errors to exit codes.

pub mod alloc;
pub mod api;
pub mod build;
pub mod cgroups;
pub mod cli;
pub mod commands;
pub mod compose;
pub mod config;
pub mod container;
pub mod context;
pub mod events;
pub mod fs;
pub mod http;
pub mod image;
pub mod kube;
pub mod lock;
pub mod logging;
pub mod monitor;
pub mod network;
pub mod oci;
pub mod paths;
pub mod plugin;
pub mod process;
pub mod registry;
pub mod rootless;
pub mod runtime;
pub mod signal;
pub mod sort;
pub mod state;
pub mod storage;
pub mod time;
pub mod volume;
pub mod wire;

/// Unit tests that cannot run on this machine record a skip the way integration tests do
/// (stderr and `$KISTE_SKIP_LOG`, counted by scripts/test.sh), never a silent pass.
#[cfg(test)]
#[path = "../tests/support/skip.rs"]
pub(crate) mod test_skip;
