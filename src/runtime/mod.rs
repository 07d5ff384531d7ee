//! Starting a container process: one clone into new namespaces, the parent/child sync
//! channel, rootfs setup and pivot_root, devices, user switch, capabilities, rlimits,
//! seccomp, and exec. Its input is a [`ContainerSpec`]; it never reads container records,
//! images or CLI flags, and it leaves reaping the process to its caller.

mod caps;
mod child;
mod defaults;
mod devices;
mod exec;
mod loopback;
mod mounter;
mod namespaces;
mod process;
mod rootfs;
mod seccomp;
mod seccomp_default;
mod signal;
pub mod spec;
mod sync;
mod syscalls;
mod user;

pub use caps::{all_capabilities, privileged_missing_capabilities};
pub use defaults::{
    default_capabilities, default_masked_paths, default_readonly_paths, default_security,
};
pub use process::spawn;
pub use seccomp::check_seccomp_profile;
pub use signal::parse_signal;
pub use spec::*;

/// The container's first process, once its command is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Started {
    pub pid: i32,
    /// Field 22 of /proc/PID/stat: with the pid, identifies the process across pid reuse.
    pub start_time: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("{cmd}: executable file not found in $PATH")]
    NotFound { cmd: String },
    #[error("{cmd}: {reason}")]
    CannotExecute { cmd: String, reason: String },
    #[error("{0}")]
    Setup(String),
}

impl RuntimeError {
    /// docker's exit codes: 127 command not found, 126 not executable, 125 anything else.
    pub fn exit_code(&self) -> i32 {
        match self {
            RuntimeError::NotFound { .. } => 127,
            RuntimeError::CannotExecute { .. } => 126,
            RuntimeError::Setup(_) => 125,
        }
    }
}

impl From<crate::cgroups::CgroupError> for RuntimeError {
    fn from(e: crate::cgroups::CgroupError) -> Self {
        RuntimeError::Setup(e.to_string())
    }
}

/// The start time (field 22 of /proc/PID/stat) of a live process, None when it is gone.
/// A zombie still has one: it is gone only once reaped.
pub fn process_start_time(pid: i32) -> Option<u64> {
    if pid <= 0 {
        return None;
    }
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and ')': split after its last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    // rest starts at field 3; field 22 is the 20th from there.
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// strerror text without the " (os error N)" suffix std adds.
pub(crate) fn errno_text(errno: i32) -> String {
    let s = std::io::Error::from_raw_os_error(errno).to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_start_time_is_readable_and_stable() {
        let me = std::process::id() as i32;
        let a = process_start_time(me).unwrap();
        assert_eq!(process_start_time(me), Some(a));
        assert_eq!(process_start_time(-1), None);
    }

    #[test]
    fn exit_codes_follow_docker() {
        assert_eq!(RuntimeError::NotFound { cmd: "x".into() }.exit_code(), 127);
        let e = RuntimeError::CannotExecute {
            cmd: "x".into(),
            reason: "permission denied".into(),
        };
        assert_eq!(e.exit_code(), 126);
        assert_eq!(RuntimeError::Setup("x".into()).exit_code(), 125);
    }
}
