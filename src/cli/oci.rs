//! `kiste oci`'s command line: runc's global flags and commands, as podman, containerd
//! and CRI-O call an OCI runtime (`kiste oci ...`, or kiste's binary named `kiste-oci`).
//! Parsed here once into typed arguments; `crate::oci` runs them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The OCI runtime spec version whose config.json `kiste oci` reads.
pub const OCI_SPEC_VERSION: &str = "1.2.0";

#[derive(Debug, Parser)]
#[command(
    name = "kiste-oci",
    about = "Run containers from OCI bundles, with runc's command line",
    long_about = "Run containers from OCI bundles, with runc's command line: podman \
                  (--runtime), containerd (--runc-binary) and CRI-O call it as they call runc. \
                  The bundle's config.json is started by kiste's own runtime.",
    disable_version_flag = true,
    disable_help_subcommand = true,
    after_help = "Exit status: 0, or 1 with one line on stderr; a foreground `run` exits with \
                  the container's status.\n\
                  Example:\n  kiste oci run --bundle ./bundle web\n  \
                  podman --runtime /usr/local/bin/kiste-oci run --rm busybox echo hi"
)]
pub struct OciCli {
    /// Where container state is kept (default /run/kiste-oci, or $XDG_RUNTIME_DIR/kiste-oci for a non-root user)
    #[arg(long, global = true, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Write errors and debug messages to FILE instead of stderr
    #[arg(long, global = true, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// The format of --log: text or json
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "text",
        value_name = "FORMAT"
    )]
    pub log_format: LogFormat,
    /// Read linux.cgroupsPath as systemd's "slice:prefix:name", placed at
    /// SLICE/PREFIX-NAME.scope in the cgroupfs hierarchies (kiste writes cgroupfs
    /// directly; it does not ask systemd for a scope)
    #[arg(long, global = true)]
    pub systemd_cgroup: bool,
    /// Log debug messages
    #[arg(long, global = true)]
    pub debug: bool,
    /// Accepted for runc compatibility (kiste needs no CRIU)
    #[arg(long, global = true, hide = true, value_name = "PATH")]
    pub criu: Option<String>,
    /// Accepted for runc compatibility: rootless mode follows the caller's uid
    #[arg(long, global = true, hide = true, value_name = "BOOL")]
    pub rootless: Option<String>,
    /// Print the version
    #[arg(short = 'v', long)]
    pub version: bool,
    #[command(subcommand)]
    pub command: Option<OciCommand>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum OciCommand {
    /// Create a container from a bundle, stopped before its program starts
    Create(CreateArgs),
    /// Start the program of a created container
    Start(IdArgs),
    /// Print a container's state as the OCI runtime spec defines it (JSON)
    State(IdArgs),
    /// Send a signal to a container's first process (or all its processes)
    Kill(OciKillArgs),
    /// Delete a container: its state, its cgroup
    Delete(DeleteArgs),
    /// Create and start a container; without --detach, wait and exit with its status
    Run(OciRunArgs),
    /// List the containers of this state root
    List(ListArgs),
    /// Run a new process inside a container
    Exec(OciExecArgs),
    /// List the processes of a container
    Ps(OciPsArgs),
    /// Freeze every process of a container
    Pause(IdArgs),
    /// Thaw a paused container
    Resume(IdArgs),
    /// Change a container's resource limits
    Update(OciUpdateArgs),
    /// Print the features this runtime supports (JSON)
    Features,
}

#[derive(Debug, Args)]
pub struct IdArgs {
    /// The container's id
    pub id: String,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The bundle directory (with config.json); default the current directory
    #[arg(short = 'b', long, value_name = "DIR")]
    pub bundle: Option<PathBuf>,
    /// Write the container's host pid to FILE
    #[arg(long, value_name = "FILE")]
    pub pid_file: Option<PathBuf>,
    /// A unix socket that receives the terminal's master fd (process.terminal)
    #[arg(long, value_name = "SOCK")]
    pub console_socket: Option<PathBuf>,
    /// Accepted for runc compatibility; kiste always uses pivot_root
    #[arg(long)]
    pub no_pivot: bool,
    /// Accepted for runc compatibility; kiste creates no session keyring
    #[arg(long)]
    pub no_new_keyring: bool,
    /// Pass N more fds (3 .. 3+N-1) to the container's process
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub preserve_fds: u32,
    /// The container's id
    pub id: String,
}

#[derive(Debug, Args)]
pub struct OciRunArgs {
    #[command(flatten)]
    pub create: CreateArgs,
    /// Return once the program runs instead of waiting for it
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Keep the container's state after it exits (do not delete it)
    #[arg(long)]
    pub keep: bool,
}

#[derive(Debug, Args)]
pub struct OciKillArgs {
    /// Send the signal to every process of the container's cgroup
    #[arg(short = 'a', long)]
    pub all: bool,
    /// The container's id
    pub id: String,
    /// A signal name (TERM, SIGTERM) or number; default SIGTERM
    #[arg(default_value = "SIGTERM")]
    pub signal: String,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Kill a running container first
    #[arg(short = 'f', long)]
    pub force: bool,
    /// The container's id
    pub id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// table or json
    #[arg(short = 'f', long, value_enum, default_value = "table")]
    pub format: ListFormat,
    /// Print only the ids
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct OciExecArgs {
    /// A unix socket that receives the terminal's master fd
    #[arg(long, value_name = "SOCK")]
    pub console_socket: Option<PathBuf>,
    /// Working directory inside the container
    #[arg(long)]
    pub cwd: Option<String>,
    /// Set an environment variable (KEY=value)
    #[arg(short = 'e', long)]
    pub env: Vec<String>,
    /// Allocate a terminal
    #[arg(short = 't', long)]
    pub tty: bool,
    /// UID[:GID] to run as
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    /// Additional gids
    #[arg(short = 'g', long)]
    pub additional_gids: Vec<u32>,
    /// A JSON file with the process (the spec's process object)
    #[arg(short = 'p', long, value_name = "FILE")]
    pub process: Option<PathBuf>,
    /// Do not wait for the process
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Write the process's host pid to FILE
    #[arg(long, value_name = "FILE")]
    pub pid_file: Option<PathBuf>,
    /// Accepted for runc compatibility (SELinux is not applied)
    #[arg(long)]
    pub process_label: Option<String>,
    /// Accepted for runc compatibility (AppArmor is not applied)
    #[arg(long)]
    pub apparmor: Option<String>,
    /// Set no_new_privs for the process
    #[arg(long)]
    pub no_new_privs: bool,
    /// Add a capability
    #[arg(short = 'c', long)]
    pub cap: Vec<String>,
    /// Pass N more fds to the process
    #[arg(long, default_value_t = 0)]
    pub preserve_fds: u32,
    /// Run the process in this sub-cgroup
    #[arg(long)]
    pub cgroup: Option<String>,
    /// Allow exec in a paused container
    #[arg(long)]
    pub ignore_paused: bool,
    /// The container's id
    pub id: String,
    /// The command and its arguments
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct OciPsArgs {
    /// table or json
    #[arg(short = 'f', long, value_enum, default_value = "table")]
    pub format: ListFormat,
    /// The container's id
    pub id: String,
    /// Arguments passed to ps(1)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub ps_args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct OciUpdateArgs {
    /// A JSON file with linux.resources ("-" for stdin)
    #[arg(short = 'r', long, value_name = "FILE")]
    pub resources: Option<PathBuf>,
    /// Memory limit in bytes
    #[arg(long)]
    pub memory: Option<String>,
    /// Memory reservation in bytes
    #[arg(long)]
    pub memory_reservation: Option<String>,
    /// Memory plus swap limit in bytes
    #[arg(long)]
    pub memory_swap: Option<String>,
    /// CPU shares (runc spells it --cpu-share)
    #[arg(long, visible_alias = "cpu-share")]
    pub cpu_shares: Option<u64>,
    /// CPU CFS period
    #[arg(long)]
    pub cpu_period: Option<u64>,
    /// CPU CFS quota
    #[arg(long)]
    pub cpu_quota: Option<i64>,
    /// CPUs to use
    #[arg(long)]
    pub cpuset_cpus: Option<String>,
    /// Memory nodes to use
    #[arg(long)]
    pub cpuset_mems: Option<String>,
    /// Maximum number of pids
    #[arg(long)]
    pub pids_limit: Option<i64>,
    /// Block IO weight
    #[arg(long)]
    pub blkio_weight: Option<u16>,
    /// CPU real-time period in microseconds (cgroup v1 cpu.rt_period_us)
    #[arg(long, value_name = "USECS")]
    pub cpu_rt_period: Option<u64>,
    /// CPU real-time runtime in microseconds per period (cgroup v1 cpu.rt_runtime_us)
    #[arg(long, value_name = "USECS", allow_hyphen_values = true)]
    pub cpu_rt_runtime: Option<i64>,
    /// Intel RDT/CAT L3 cache schema (needs resctrl with L3 allocation)
    #[arg(long, value_name = "SCHEMA")]
    pub l3_cache_schema: Option<String>,
    /// Intel RDT/MBA memory bandwidth schema (needs resctrl with MB allocation)
    #[arg(long, value_name = "SCHEMA")]
    pub mem_bw_schema: Option<String>,
    /// The container's id
    pub id: String,
}
