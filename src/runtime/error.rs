//! The runtime's errors: `RuntimeError` for the caller of `spawn`, and `ChildError`, a
//! failure inside the cloned child on its way to the parent over the sync channel.
//! Nothing here makes a syscall; every sibling may import it, it imports no sibling.

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("{cmd}: executable file not found in $PATH")]
    NotFound { cmd: String },
    #[error("{cmd}: {reason}")]
    CannotExecute { cmd: String, reason: String },
    /// The child's own report of its setup failure: it crossed a process boundary over
    /// the sync channel as text, so its cause is a message.
    #[error("{text}")]
    Child { text: String },
    /// The container to exec in has no live process (any more).
    #[error("container {id} is not running")]
    ExecNotRunning { id: String },
    /// The spec has no command to run.
    #[error("container {id}: no command specified")]
    NoCommand { id: String },
    /// The spec's rootfs is not a directory (or cannot be resolved).
    #[error("container {id}: rootfs {} is not a directory", .rootfs.display())]
    RootfsNotDir {
        id: String,
        rootfs: std::path::PathBuf,
    },
    /// A capability name no kernel knows.
    #[error("unknown capability {name:?}")]
    UnknownCapability { name: String },
    /// Capabilities asked for that this host's bounding set does not hold.
    #[error("cannot give the container {}: not in this host's capability bounding set", .missing.join(", "))]
    CapabilitiesMissing { missing: Vec<String> },
    /// The seccomp profile cannot be compiled: what is wrong with it.
    #[error("invalid seccomp profile: {reason}")]
    Seccomp { reason: String },
    /// The seccomp profile is not the JSON docker reads.
    #[error("invalid seccomp profile: {source}")]
    SeccompJson {
        #[source]
        source: serde_json::Error,
    },
    /// A message to the child on the sync channel could not be sent.
    #[error("container {id}: cannot send {message} to the container process: {}", os_reason(.source))]
    Send {
        id: String,
        message: String,
        #[source]
        source: std::io::Error,
    },
    /// The child broke the sync protocol (`phase`: "during setup", "before exec").
    #[error("container {id}: process sent an unexpected message {phase}")]
    Protocol { id: String, phase: &'static str },
    /// The child died before it could exec: how it ended (a signal, an exit status).
    #[error("container {id}: process {how} during setup, before exec of {cmd:?}")]
    DiedInSetup {
        id: String,
        how: String,
        cmd: String,
    },
    /// A call in the parent failed: what was being done, and the cause.
    #[error("{action}: {}", os_reason(.source))]
    Io {
        action: String,
        #[source]
        source: std::io::Error,
    },
    /// Creating, joining or limiting the container's cgroup failed.
    #[error(transparent)]
    Cgroup(#[from] crate::cgroups::CgroupError),
}

impl RuntimeError {
    /// docker's exit codes: 127 command not found, 126 not executable, 125 anything else.
    pub fn exit_code(&self) -> i32 {
        match self {
            RuntimeError::NotFound { .. } => 127,
            RuntimeError::CannotExecute { .. } => 126,
            _ => 125,
        }
    }

    /// `action` (naming the object) failed with `source`.
    pub(crate) fn io(action: impl Into<String>, source: std::io::Error) -> Self {
        RuntimeError::Io {
            action: action.into(),
            source,
        }
    }
}

fn os_reason(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(errno) => errno_text(errno),
        None => e.to_string(),
    }
}

/// strerror text without the " (os error N)" suffix std adds.
pub(crate) fn errno_text(errno: i32) -> String {
    let s = std::io::Error::from_raw_os_error(errno).to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// Which class of failure the child hit; decides the exit code the user sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailKind {
    Setup = 1,
    NotFound = 2,
    CannotExecute = 3,
}

impl FailKind {
    /// docker's exit code for this class of failure.
    pub(crate) fn exit_code(self) -> i32 {
        match self {
            FailKind::Setup => 125,
            FailKind::NotFound => 127,
            FailKind::CannotExecute => 126,
        }
    }

    /// The class of an exit code (anything but 126 and 127 is a setup failure).
    pub(crate) fn from_exit_code(code: i32) -> FailKind {
        match code {
            127 => FailKind::NotFound,
            126 => FailKind::CannotExecute,
            _ => FailKind::Setup,
        }
    }
}

/// A failure in the child, as it travels to the parent.
#[derive(Debug)]
pub(crate) struct ChildError {
    pub(crate) kind: FailKind,
    pub(crate) errno: i32,
    pub(crate) text: String,
}

impl ChildError {
    pub(crate) fn message(text: impl Into<String>) -> Self {
        ChildError {
            kind: FailKind::Setup,
            errno: 0,
            text: text.into(),
        }
    }
}

/// Adds "what was being done" to a failed call.
pub(crate) trait Ctx<T> {
    fn ctx(self, what: impl FnOnce() -> String) -> Result<T, ChildError>;
}

impl<T> Ctx<T> for std::io::Result<T> {
    fn ctx(self, what: impl FnOnce() -> String) -> Result<T, ChildError> {
        self.map_err(|e| {
            let errno = e.raw_os_error().unwrap_or(0);
            let reason = if errno != 0 {
                errno_text(errno)
            } else {
                e.to_string()
            };
            ChildError {
                kind: FailKind::Setup,
                errno,
                text: format!("{}: {reason}", what()),
            }
        })
    }
}

impl<T> Ctx<T> for nix::Result<T> {
    fn ctx(self, what: impl FnOnce() -> String) -> Result<T, ChildError> {
        self.map_err(std::io::Error::from).ctx(what)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_docker() {
        assert_eq!(RuntimeError::NotFound { cmd: "x".into() }.exit_code(), 127);
        let e = RuntimeError::CannotExecute {
            cmd: "x".into(),
            reason: "permission denied".into(),
        };
        assert_eq!(e.exit_code(), 126);
        assert_eq!(RuntimeError::Child { text: "x".into() }.exit_code(), 125);
        let io = RuntimeError::io(
            "cannot write /proc/1/uid_map",
            std::io::Error::from_raw_os_error(libc::EPERM),
        );
        assert_eq!(io.exit_code(), 125);
        assert_eq!(
            io.to_string(),
            "cannot write /proc/1/uid_map: Operation not permitted"
        );
        assert!(std::error::Error::source(&io).is_some());
    }
}
