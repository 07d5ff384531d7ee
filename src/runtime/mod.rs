//! Starting a container process: one clone into new namespaces, the parent/child sync
//! channel, rootfs setup and pivot_root, devices, user switch, capabilities, rlimits,
//! seccomp, and exec; and joining a running container for `exec` ([`ExecSpec`]). Its
//! input is a [`ContainerSpec`]; it never reads container records, images or CLI flags,
//! and it leaves reaping the process to its caller.

mod caps;
mod cgroupns;
mod child;
mod console;
mod defaults;
mod devices;
mod error;
mod exec;
pub mod fault;
mod hooks;
mod init;
mod join;
mod late_ns;
mod loopback;
mod mounter;
mod namespaces;
mod oci_steps;
mod plan;
mod process;
mod rootfs;
mod rootfs_oci;
mod seccomp;
mod seccomp_cache;
mod seccomp_default;
pub mod spec;
mod sync;
mod syscalls;
mod tuning;
mod user;

pub use crate::process::process_start_time;
pub use caps::{all_capabilities, is_capability, privileged_missing_capabilities};
pub use console::ConsoleSpec;
pub use defaults::{
    default_capabilities, default_masked_paths, default_readonly_paths, default_security,
};
pub use error::RuntimeError;
pub use exec::DEFAULT_PATH;
pub use hooks::run_hook;
pub use join::{spawn_in, ExecOci, ExecSpec};
pub use process::{spawn, spawn_held, spawn_then, Started};
pub use seccomp::check_seccomp_profile;
pub use seccomp_cache::cache_in as cache_seccomp_in;
pub use spec::*;
pub(crate) use sync::{channel_pair, Channel, FailKind, Message};
