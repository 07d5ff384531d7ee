//! What a container process is made of, as the runtime needs it: a plain description
//! built by `commands/` from the container record. The runtime reads it and never the
//! record, the image store or the CLI.

use std::os::fd::RawFd;
use std::path::PathBuf;

pub use crate::cgroups::{CgroupSpec, Device, DeviceRate, Resources};

/// Whether a namespace is a new private one, the host's, or joined from a path.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum NsMode {
    #[default]
    Private,
    Host,
    /// Join the namespace at this path (e.g. /proc/PID/ns/net of another container).
    Path(PathBuf),
}

#[derive(Debug, Clone, Default)]
pub struct Namespaces {
    pub pid: NsMode,
    pub net: NsMode,
    pub ipc: NsMode,
    pub uts: NsMode,
    pub mnt: NsMode,
    pub cgroup: NsMode,
    /// A new user namespace with these maps, or None for the host's.
    pub user: Option<UserNsMaps>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdMap {
    pub container_id: u32,
    pub host_id: u32,
    pub size: u32,
}

#[derive(Debug, Clone, Default)]
pub struct UserNsMaps {
    pub uid: Vec<IdMap>,
    pub gid: Vec<IdMap>,
}

/// A bind mount (or tmpfs) added into the container after the rootfs is ready.
#[derive(Debug, Clone)]
pub struct Mount {
    /// Host path for a bind; ignored for tmpfs.
    pub source: PathBuf,
    /// Absolute path inside the container; created (file or dir, like the source) if missing.
    pub destination: String,
    pub kind: MountKind,
    pub readonly: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountKind {
    Bind,
    /// A user's bind (`-v`, `--mount`, a volume's data dir) with its propagation. `tree`:
    /// the source already cloned as a detached mount by the caller (`open_tree`), with
    /// the host's permissions, attached by the child instead of binding the path (which
    /// a user namespace's root may not be able to reach).
    UserBind {
        propagation: Propagation,
        tree: Option<MountTree>,
    },
    Tmpfs {
        options: String,
    },
}

/// A detached mount (an `open_tree(OPEN_TREE_CLONE)` descriptor), shared by clones of
/// the spec and inherited by the child until exec.
#[derive(Debug, Clone)]
pub struct MountTree(pub std::sync::Arc<std::os::fd::OwnedFd>);

impl MountTree {
    pub fn raw(&self) -> RawFd {
        use std::os::fd::AsRawFd;
        self.0.as_raw_fd()
    }
}

impl PartialEq for MountTree {
    fn eq(&self, other: &MountTree) -> bool {
        self.raw() == other.raw()
    }
}

impl Eq for MountTree {}

/// The propagation a user's bind gets after it is mounted (docker's `bind-propagation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Propagation {
    Private,
    /// docker's default; the mount tree is made rprivate first, so it needs no call.
    #[default]
    Rprivate,
    Shared,
    Rshared,
    Slave,
    Rslave,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rlimit {
    pub resource: i32,
    pub soft: u64,
    pub hard: u64,
}

#[derive(Debug, Clone)]
pub enum Seccomp {
    /// Docker's default profile (compiled once and cached).
    Default,
    Unconfined,
    /// A docker-format JSON profile, already read from disk.
    Profile(String),
}

#[derive(Debug, Clone)]
pub struct Security {
    /// Capability names without the CAP_ prefix, upper-case ("CHOWN"). Applied to the
    /// bounding, permitted, effective (and inheritable) sets.
    pub capabilities: Vec<String>,
    pub no_new_privileges: bool,
    pub seccomp: Seccomp,
    pub masked_paths: Vec<String>,
    pub readonly_paths: Vec<String>,
    pub readonly_rootfs: bool,
    pub privileged: bool,
}

/// Where the container's standard streams go: already-open fds in the caller, dup'ed to 0/1/2.
#[derive(Debug, Clone, Copy)]
pub struct Stdio {
    pub stdin: RawFd,
    pub stdout: RawFd,
    pub stderr: RawFd,
}

#[derive(Debug, Clone)]
pub struct ContainerSpec {
    pub id: String,
    /// The already-mounted root filesystem (e.g. the overlay's merged dir); with
    /// `rootfs_tree`, the empty directory the child mounts that tree on.
    pub rootfs: PathBuf,
    /// The root filesystem as a detached mount (`storage::mount_overlay_detached`) that
    /// the child attaches at `rootfs` in its own mount namespace, so the host's mount
    /// table never holds it. Only with a private mount namespace and no OCI extras.
    pub rootfs_tree: Option<MountTree>,
    /// argv; argv[0] is looked up in the container's PATH when it has no '/'.
    pub args: Vec<String>,
    /// "KEY=value"
    pub env: Vec<String>,
    /// Absolute working dir inside the container; created if missing.
    pub cwd: String,
    /// "", "name", "uid", "name:group", "uid:gid" — resolved against the rootfs' /etc/passwd and /etc/group.
    pub user: String,
    pub hostname: String,
    pub namespaces: Namespaces,
    pub mounts: Vec<Mount>,
    pub devices: Vec<Device>,
    pub rlimits: Vec<Rlimit>,
    pub security: Security,
    /// None: stay in the caller's cgroup (used by nothing but tests).
    pub cgroup: Option<CgroupSpec>,
    pub stdio: Stdio,
    /// `--init`: the container's first process stays kiste (a tiny init that reaps and
    /// forwards signals) and forks the command (see `init`).
    pub init: bool,
    /// An OCI bundle's additions (`kiste oci`); None for kiste's own containers.
    pub oci: Option<Box<OciExtras>>,
    /// Sysctls, OOM score, domain name, extra groups, /dev/shm size: None (nothing to
    /// do) unless the container asks for one of them (`run --sysctl …`, an OCI config).
    pub tuning: Option<Box<Tuning>>,
}

/// What a container's process may ask beyond kiste's defaults, for kiste's own
/// containers and OCI bundles alike (see `runtime::tuning`).
#[derive(Debug, Clone, Default)]
pub struct Tuning {
    /// (key as in /proc/sys with dots, value)
    pub sysctl: Vec<(String, String)>,
    pub oom_score_adj: Option<i32>,
    pub domainname: String,
    /// Groups added to the user's (names looked up in the container's /etc/group).
    pub group_add: Vec<String>,
    /// /dev/shm's size in bytes; None: 64 MiB.
    pub shm_size: Option<u64>,
}

/// What an OCI bundle's config.json asks for beyond kiste's own containers (`kiste oci`).
/// `ContainerSpec::oci` is None for kiste's own containers, whose start is unchanged.
#[derive(Debug, Clone, Default)]
pub struct OciExtras {
    /// The process waits before execve until this fifo is opened for reading (`start`),
    /// and does not die with the process that created it.
    pub exec_fifo: Option<PathBuf>,
    /// The config's mounts, in its order: they replace kiste's /proc, /dev, /sys set.
    pub mounts: Vec<SpecMount>,
    /// Propagation flags (MS_SHARED, MS_SLAVE, MS_PRIVATE, MS_UNBINDABLE with MS_REC)
    /// for the mount tree; empty: rprivate.
    pub rootfs_propagation: u64,
    pub capabilities: CapabilitySets,
    /// The supplementary groups, exactly (not read from /etc/group).
    pub additional_gids: Vec<u32>,
    pub umask: Option<u32>,
    /// Fds 3 .. 3+N stay open into the program.
    pub preserve_fds: u32,
    /// Run by the runtime (in its namespaces) once the container's mounts are made,
    /// before its pivot_root: prestart, then createRuntime.
    pub prestart_hooks: Vec<Hook>,
    pub create_runtime_hooks: Vec<Hook>,
    /// Run in the container's namespaces before pivot_root.
    pub create_container_hooks: Vec<Hook>,
    /// Run in the container after `start`, before the program's execve.
    pub start_container_hooks: Vec<Hook>,
    /// The state the hooks get on stdin (status "creating"); its pid is set to the
    /// container's host pid when they run.
    pub hook_state: serde_json::Value,
    /// `process.terminal` with `--console-socket`: the child makes the pty in the
    /// container's devpts and sends its master (see `runtime::console`).
    pub console: Option<super::console::ConsoleSpec>,
    /// A user namespace joined by path or a time namespace: entered after the clone,
    /// and the container's process is a second fork (see `runtime::late_ns`). None
    /// unless the config asks for one.
    pub late_ns: Option<LateNs>,
}

/// Namespaces a process can only enter before its children are made: a user namespace
/// joined by path (every other new namespace must be owned by it, so they are made
/// after it with unshare) and a time namespace (it only applies to children).
#[derive(Debug, Clone, Default)]
pub struct LateNs {
    /// setns into this user namespace first.
    pub user_path: Option<PathBuf>,
    /// A new time namespace (Private, with `time_offsets`) or one joined (Path).
    pub time: Option<NsMode>,
    /// (clock name as /proc/PID/timens_offsets spells it, seconds, nanoseconds).
    pub time_offsets: Vec<(String, i64, u32)>,
}

impl OciExtras {
    /// Whether any hook runs before the program (so the child stops before pivot_root
    /// for the runtime's hooks and learns its host pid for the state).
    pub fn has_early_hooks(&self) -> bool {
        !(self.prestart_hooks.is_empty()
            && self.create_runtime_hooks.is_empty()
            && self.create_container_hooks.is_empty()
            && self.start_container_hooks.is_empty())
    }

    /// The hooks' state JSON with the container's host pid and `status`.
    pub fn state_for(&self, pid: i32, status: &str) -> String {
        let mut v = self.hook_state.clone();
        v["pid"] = serde_json::json!(pid);
        v["status"] = serde_json::json!(status);
        v.to_string()
    }
}

/// One mount of an OCI config, its options already split into flags and data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpecMount {
    /// Absolute host path for binds; the filesystem's source name otherwise.
    pub source: String,
    pub destination: String,
    /// "bind" for binds; else the filesystem type ("proc", "tmpfs", "cgroup", ...).
    pub fstype: String,
    /// MS_* flags (without MS_BIND/MS_REC for binds: see `recursive`).
    pub flags: u64,
    /// MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE (| MS_REC), applied after mounting.
    pub propagation: u64,
    /// Options the filesystem reads ("mode=755,size=65536k").
    pub data: String,
    /// rbind (a bind of the whole tree).
    pub recursive: bool,
}

/// The five capability sets of an OCI process, as names ("CAP_CHOWN" or "CHOWN").
#[derive(Debug, Clone, Default)]
pub struct CapabilitySets {
    pub bounding: Vec<String>,
    pub effective: Vec<String>,
    pub inheritable: Vec<String>,
    pub permitted: Vec<String>,
    pub ambient: Vec<String>,
}

/// A hook of the OCI config: run with the state JSON on stdin.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hook {
    pub path: PathBuf,
    /// argv (argv[0] included), as the config gives it; empty: the path alone.
    pub args: Vec<String>,
    pub env: Vec<String>,
    /// Seconds; None: wait as long as it takes.
    pub timeout: Option<u32>,
}
