//! The command line as clap parses it (raw flags), and the one step that checks the flags
//! of `run`/`create` and turns them into the typed container configuration (`config`);
//! nothing below `commands/` sees a raw flag.

mod api;
mod archive;
mod attach;
mod build_flags;
mod common_limits;
pub mod complete;
mod compose;
mod container_verbs;
mod context;
mod data;
mod events;
mod examples;
mod exec;
mod generate;
mod group;
mod image_verbs;
mod isolation;
mod kube;
mod lifecycle;
pub mod limits;
mod management;
mod manifest;
mod mounts;
mod network;
mod observe;
pub mod oci;
mod plugin;
mod ps;
mod refused_flags;
mod registry;
mod run_extra;
mod search;
mod shell;
mod system;
mod update;
mod volume_driver;

pub use api::{ApiSocketArgs, ServiceArgs};
pub use archive::{ArchiveFormat, ExportArgs, LoadArgs, SaveArgs};
pub use attach::{AttachArgs, AttachOptions};
pub use build_flags::{BuildHostFlags, SECURITY_OPT_ON_BUILD};
pub use common_limits::CommonLimitFlags;
pub use compose::*;
pub use container_verbs::{KillArgs, LogsArgs, RmArgs, StartArgs, StopArgs};
pub use context::{
    BuilderCommand, BuilderPruneArgs, ContextCommand, ContextCreateArgs, ContextExportArgs,
    ContextImportArgs, ContextInspectArgs, ContextLsArgs, ContextRmArgs, ContextUpdateArgs,
    ContextUseArgs, RefusedArgs,
};
pub use data::{
    CommitArgs, CpArgs, DiffArgs, VolumeCommand, VolumeCreateArgs, VolumeInspectArgs, VolumeLsArgs,
    VolumePruneArgs, VolumeRmArgs,
};
pub use events::{EventsArgs, EventsArgsError};
pub use examples::{example, EXAMPLES};
pub use exec::{ExecArgs, ExecOptions};
pub use generate::{GenerateCommand, GenerateSystemdArgs, SystemdRestart};
pub use group::Group;
pub use image_verbs::{
    BuildArgs, HistoryArgs, ImagesArgs, ImportArgs, PruneArgs, RmiArgs, TagArgs,
};
pub use isolation::IsolationArgs;
pub use kube::{GenerateKubeArgs, KubeCommand, KubeDownArgs, PlayCommand, PlayKubeArgs};
pub use lifecycle::{
    parse_start_filter, HealthcheckCommand, HealthcheckRunArgs, LifeArgs, LifeConfig, LifeError,
    PauseArgs, RenameArgs, RestartArgs, StartFilter, UnpauseArgs, WaitArgs,
};
pub use limits::{LimitFlags, LimitValues, RunLimitFlags};
pub use management::*;
pub use manifest::{
    check_platform, ManifestAddArgs, ManifestAnnotateArgs, ManifestCommand, ManifestCreateArgs,
    ManifestInspectArgs, ManifestPushArgs, ManifestRmArgs, PlatformChange, PlatformError,
    PlatformFlags,
};
pub use mounts::MountArgs;
pub use network::*;
pub use observe::{StatsArgs, TopArgs};
pub use plugin::*;
pub use ps::{PsArgs, PsSort};
pub use refused_flags::*;
pub use registry::{LoginArgs, LogoutArgs, PullArgs, PushArgs};
pub use run_extra::RunExtraArgs;
pub use search::{SearchArgs, SearchConfig, SearchError, SearchFilter, SearchTarget};
pub use shell::{CompletionArgs, Shell, VersionArgs};
pub use system::{ContainerPruneArgs, DfArgs, InfoArgs, SystemCommand, SystemPruneArgs};
pub use update::{UpdateArgs, UpdateConfig, UpdateError};
pub use volume_driver::{check_volume_driver, volume_driver_of, VolumeDriverArgs};

use crate::config::{parse_int, FlagError, PortMapping};
use crate::state::HostConfig;

use clap::{Args, Parser, Subcommand};
use clap_complete::engine::ArgValueCandidates;
use std::path::PathBuf;

/// The whole command line as clap builds it from `Cli`, with each verb's example (see
/// `examples`): what `main` parses with, what completion and the man pages read.
pub fn command() -> clap::Command {
    let mut cmd = <Cli as clap::CommandFactory>::command();
    // `Command` defers each verb's definition (see below); help, completion and the man
    // pages walk the whole tree, so build all of it here.
    cmd.build();
    examples::with_examples(cmd)
}

#[derive(Debug, Parser)]
#[command(
    name = "kiste",
    version,
    about = "Build and run containers: no daemon, one binary",
    after_help = "Exit codes (as docker's):\n  \
                  0    success\n  \
                  1    a verb over several containers failed for one of them (each error is \
                  printed); `exists` found nothing\n  \
                  125  kiste's own error: a bad flag, no such container or image, a failed start\n  \
                  126  the container's command cannot be invoked (not executable, permission denied)\n  \
                  127  the container's command is not found\n  \
                  N    otherwise `run` and `start -a` exit with the container's own exit code\n\
                  Example:\n  kiste run --rm busybox echo hello",
    disable_help_subcommand = true
)]
pub struct Cli {
    /// Where images and containers are stored (default /var/lib/kiste, or $XDG_DATA_HOME/kiste when rootless; overrides the context's root)
    #[arg(long, global = true, env = "KISTE_ROOT", value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Where volatile state lives (default /run/kiste, or $XDG_RUNTIME_DIR/kiste when rootless; overrides the context's runroot)
    #[arg(long, global = true, env = "KISTE_RUNROOT", value_name = "DIR")]
    pub runroot: Option<PathBuf>,
    /// Name of the context to use (overrides KISTE_CONTEXT, DOCKER_CONTEXT and "context use")
    #[arg(short = 'c', long, value_name = "CONTEXT")]
    pub context: Option<String>,
    /// Set the logging level ("debug", "info", "warn", "error")
    #[arg(
        long,
        global = true,
        env = "KISTE_LOG_LEVEL",
        value_enum,
        default_value = "info",
        value_name = "LEVEL"
    )]
    pub log_level: crate::logging::Level,
    #[command(subcommand)]
    pub command: Command,
}

/// Each verb's flags are built only when that verb is parsed (`defer`): building all ~50
/// definitions on every start cost ~1 ms and ~50 mmap/munmap pairs under musl's malloc.
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum Command {
    /// Build an image from a Dockerfile
    Build(BuildArgs),
    /// Create and run a new container from an image
    Run(RunArgs),
    /// Create a new container without starting it
    Create(RunArgs),
    /// Start one or more stopped containers
    Start(StartArgs),
    /// Stop one or more running containers
    Stop(StopArgs),
    /// Send a signal to one or more running containers
    Kill(KillArgs),
    /// Remove one or more containers
    Rm(RmArgs),
    /// List containers
    Ps(PsArgs),
    /// Fetch the logs of a container
    Logs(LogsArgs),
    /// Execute a command in a running container
    Exec(ExecArgs),
    /// Attach local standard input, output, and error streams to a running container
    Attach(AttachArgs),
    /// List images
    Images(ImagesArgs),
    /// Import the contents from a tarball to create a filesystem image
    Import(ImportArgs),
    /// Remove one or more images
    Rmi(RmiArgs),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(TagArgs),
    /// Remove names from an image, all of them when none is given (podman)
    Untag(UntagArgs),
    /// Return low-level information on containers or images
    Inspect(InspectArgs),
    /// Manage images
    Image(Group<ImageCommand>),
    /// Manage containers
    Container(Group<ContainerCommand>),
    /// Show the history of an image
    History(HistoryArgs),
    /// Download an image from a registry
    Pull(PullArgs),
    /// Upload an image to a registry
    Push(PushArgs),
    /// Log in to a registry
    Login(LoginArgs),
    /// Log out from a registry
    Logout(LogoutArgs),
    /// Save one or more images to a tar archive (streamed to STDOUT by default)
    Save(SaveArgs),
    /// Load images from a tar archive or STDIN
    Load(LoadArgs),
    /// Export a container's filesystem as a tar archive
    Export(ExportArgs),
    /// Show the kiste version information
    Version(VersionArgs),
    /// Print a shell completion script (bash, zsh or fish)
    Completion(CompletionArgs),
    /// Manage builds (build, prune)
    Builder(Group<BuilderCommand>),
    /// Manage contexts (named kiste stores)
    Context(Group<ContextCommand>),
    /// Get real time events from the store's events journal
    Events(EventsArgs),
    /// Manage checkpoints (refused: kiste cannot checkpoint containers)
    Checkpoint(RefusedArgs),
    /// Manage plugins
    Plugin(Group<PluginCommand>),
    /// Manage trust on images (refused: Docker Content Trust is deprecated)
    Trust(RefusedArgs),
    /// Manage networks
    Network(Group<NetworkCommand>),
    /// Manage volumes (create, ls, inspect, rm, prune)
    Volume(Group<VolumeCommand>),
    /// Copy files/folders between a container and the local filesystem
    Cp(CpArgs),
    /// Inspect changes to files or directories on a container's filesystem
    Diff(DiffArgs),
    /// Create a new image from a container's changes
    Commit(CommitArgs),
    /// Block until one or more containers stop, then print their exit codes
    Wait(WaitArgs),
    /// Restart one or more containers
    Restart(RestartArgs),
    /// Rename a container
    Rename(RenameArgs),
    /// Pause all processes within one or more containers
    Pause(PauseArgs),
    /// Unpause all processes within one or more containers
    Unpause(UnpauseArgs),
    /// Display the running processes of a container
    Top(TopArgs),
    /// Display a live stream of container(s) resource usage statistics
    Stats(StatsArgs),
    /// Run a container's healthcheck (podman)
    Healthcheck(Group<HealthcheckCommand>),
    /// Generate structured data (systemd units, Kubernetes YAML) for containers (podman)
    Generate(Group<GenerateCommand>),
    /// Display system-wide information
    Info(InfoArgs),
    /// Manage kiste (df, info, prune)
    System(Group<SystemCommand>),
    /// List port mappings or a specific mapping for the container
    Port(PortArgs),
    /// Run Kubernetes YAML: `play kube FILE` (podman)
    Play(Group<PlayCommand>),
    /// Run or remove the pods of Kubernetes YAML (podman 4's `kube play`, `kube down`)
    Kube(Group<KubeCommand>),
    /// Define and run multi-container applications (compose files)
    Compose(ComposeArgs),
    /// Update configuration (limits, restart policy) of one or more containers
    Update(UpdateArgs),
    /// Search Docker Hub, or a registry's catalog (REGISTRY/TERM), for images
    Search(SearchArgs),
    /// Manage multi-platform manifest lists in registries (create, add, annotate, inspect, push, rm)
    Manifest(Group<ManifestCommand>),
    /// Run containers from OCI bundles with runc's command line (see `kiste oci --help`)
    Oci(OciPassthrough),
}

// `kiste oci ...`: the arguments go to `kiste oci`'s own parser (`cli::oci`).
#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
pub struct OciPassthrough {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<std::ffi::OsString>,
}

#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
pub struct RunArgs {
    /// Print help (-h is --hostname, as in docker)
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
    /// Run container in background and print container ID
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Assign a name to the container
    #[arg(long)]
    pub name: Option<String>,
    /// Publish a container's port(s) to the host ([ip:]hostPort:containerPort[/proto])
    #[arg(short = 'p', long = "publish", value_name = "PORTS")]
    pub publish: Vec<String>,
    /// Set environment variables (KEY=VALUE, or KEY to take it from kiste's environment)
    #[arg(short = 'e', long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Read in a file of environment variables
    #[arg(long = "env-file", value_name = "FILE")]
    pub env_file: Vec<PathBuf>,
    /// Working directory inside the container
    #[arg(short = 'w', long = "workdir")]
    pub workdir: Option<String>,
    /// Username or UID (format: <name|uid>[:<group|gid>])
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    /// Container host name
    #[arg(short = 'h', long)]
    pub hostname: Option<String>,
    /// Add a custom host-to-IP mapping (host:ip)
    #[arg(long = "add-host", value_name = "HOST:IP")]
    pub add_host: Vec<String>,
    /// Set custom DNS servers
    #[arg(long = "dns", value_name = "IP")]
    pub dns: Vec<String>,
    /// Overwrite the default ENTRYPOINT of the image
    #[arg(long)]
    pub entrypoint: Option<String>,
    /// Automatically remove the container when it exits
    #[arg(long)]
    pub rm: bool,
    /// Suppress the pull output
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Remove an existing container of the same --name first (podman)
    #[arg(long, requires = "name")]
    pub replace: bool,
    /// Keep STDIN open
    #[arg(short = 'i', long)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY
    #[arg(short = 't', long)]
    pub tty: bool,
    /// Attach to STDIN, STDOUT or STDERR
    #[arg(short = 'a', long = "attach", value_name = "STREAM")]
    pub attach: Vec<String>,
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys", value_name = "KEYS")]
    pub detach_keys: Option<String>,
    /// Logging driver for the container (json-file, k8s-file, none)
    #[arg(long = "log-driver", value_name = "DRIVER")]
    pub log_driver: Option<String>,
    /// Log driver options (max-size=10m, max-file=3)
    #[arg(long = "log-opt", value_name = "OPT")]
    pub log_opt: Vec<String>,
    /// Set metadata on a container
    #[arg(short = 'l', long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,
    /// Read in a line delimited file of labels
    #[arg(long = "label-file", value_name = "FILE")]
    pub label_file: Vec<PathBuf>,
    /// Expose a port or a range of ports (PORT[-END][/PROTO]): recorded, and published by -P
    #[arg(long = "expose", value_name = "PORT[/PROTO]")]
    pub expose: Vec<String>,
    /// Write the container ID to the file (which must not exist yet)
    #[arg(long, value_name = "FILE")]
    pub cidfile: Option<PathBuf>,
    /// Signal to stop the container
    #[arg(add = ArgValueCandidates::new(complete::signals), long = "stop-signal")]
    pub stop_signal: Option<String>,
    /// Timeout (in seconds) to stop a container
    #[arg(long = "stop-timeout", value_name = "INT", allow_hyphen_values = true)]
    pub stop_timeout: Option<String>,
    #[command(flatten)]
    pub net: NetFlags,
    #[command(flatten)]
    pub isolation: IsolationArgs,
    #[command(flatten)]
    pub mounts: MountArgs,
    #[command(flatten)]
    pub life: LifeArgs,
    #[command(flatten)]
    pub refused: RunRefusedFlags,
    #[command(flatten)]
    pub extra: RunExtraArgs,
    #[command(flatten)]
    pub volume_driver: VolumeDriverArgs,
    #[command(flatten)]
    pub api_socket: ApiSocketArgs,
    /// Pull image before running ("always", "missing", "never")
    #[arg(long, value_name = "POLICY", default_value = "missing")]
    pub pull: crate::registry::PullPolicy,
    /// Set platform if server is multi-platform capable
    #[arg(long, value_name = "PLATFORM")]
    pub platform: Option<String>,
    /// The image to run
    #[arg(add = ArgValueCandidates::new(complete::images), value_name = "IMAGE")]
    pub image: String,
    /// The command and its arguments
    #[arg(
        value_name = "COMMAND",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub command: Vec<String>,
}

/// A value clap's own parser refused (`stop -t abc`), as the one line docker prints:
/// `invalid argument "abc" for "-t, --time" flag: reason`. None for other clap errors.
pub fn flag_error_line(e: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if !matches!(
        e.kind(),
        ErrorKind::ValueValidation | ErrorKind::InvalidValue
    ) {
        return None;
    }
    let (Some(ContextValue::String(arg)), Some(ContextValue::String(value))) = (
        e.get(ContextKind::InvalidArg),
        e.get(ContextKind::InvalidValue),
    ) else {
        return None;
    };
    // clap names the argument "--time <TIME>"; docker names the flag "--time".
    let flag = arg.split([' ', '[']).next().unwrap_or(arg);
    let reason = match std::error::Error::source(e) {
        Some(source) => source.to_string(),
        None => "invalid value".to_string(),
    };
    Some(format!(
        "invalid argument \"{value}\" for \"{flag}\" flag: {reason}"
    ))
}

impl RunArgs {
    /// Every host-side flag checked and typed; `resolve` names the container behind a
    /// `container:NAME` namespace mode.
    pub fn host_config(
        &self,
        resolve: &dyn Fn(&str) -> Result<String, String>,
    ) -> Result<HostConfig, FlagError> {
        let mut host = self.isolation.to_host_config(resolve)?;
        if let (Some(h), true) = (&self.hostname, host.uts.is_host()) {
            return Err(FlagError::new(
                "-h, --hostname",
                h,
                "conflicting options: hostname and the UTS mode",
            ));
        }
        host.volume_driver = self.volume_driver.volume_driver.clone().unwrap_or_default();
        let mut ports = Vec::new();
        for p in &self.publish {
            ports.extend(PortMapping::parse_many("-p, --publish", p)?);
        }
        host.ports = ports;
        self.net.apply(
            self.isolation.network.as_deref(),
            !nix::unistd::geteuid().is_root() || crate::rootless::active(),
            &mut host,
        )?;
        host.extra_hosts = self
            .add_host
            .iter()
            .map(|h| crate::config::ExtraHost::parse("--add-host", h))
            .collect::<Result<_, _>>()?;
        host.dns = self
            .dns
            .iter()
            .map(|d| crate::config::parse_dns("--dns", d))
            .collect::<Result<_, _>>()?;
        host.auto_remove = self.rm;
        host.api_socket = self.api_socket.use_api_socket;
        host.interactive = self.interactive;
        host.terminal = crate::config::Terminal::parse(
            self.tty,
            self.interactive,
            &self.attach,
            self.detach_keys.as_deref(),
        )?;
        host.log = crate::config::LogConfig::parse(self.log_driver.as_deref(), &self.log_opt)?;
        let v2 = self.extra.cgroupns.is_none()
            && crate::cgroups::detect() == crate::cgroups::CgroupLayout::V2;
        host.run_extra = self.extra.to_config(v2)?;
        host.run_extra
            .check_namespaces(host.network, &host.ipc, &host.uts)?;
        Ok(host)
    }

    /// `--expose`: each port of each PORT[-END][/PROTO] as docker's key ("80/tcp").
    pub fn exposed_ports(&self) -> Result<Vec<String>, FlagError> {
        let mut keys = Vec::new();
        for v in &self.expose {
            let bad = || {
                FlagError::new(
                    "--expose",
                    v,
                    "not a port or port range (PORT[-END][/PROTO])",
                )
            };
            let (range, proto) = v.split_once('/').unwrap_or((v.as_str(), "tcp"));
            if !matches!(proto, "tcp" | "udp" | "sctp") {
                return Err(bad());
            }
            let (lo, hi) = range.split_once('-').unwrap_or((range, range));
            let port = |s: &str| s.parse::<u16>().ok().filter(|p| *p > 0);
            let (Some(lo), Some(hi)) = (port(lo), port(hi)) else {
                return Err(bad());
            };
            if hi < lo {
                return Err(bad());
            }
            keys.extend((lo..=hi).map(|p| format!("{p}/{proto}")));
        }
        Ok(keys)
    }

    /// `--stop-timeout`: docker's int in seconds; a negative one waits for ever.
    pub fn stop_timeout(&self) -> Result<Option<crate::config::StopTimeout>, FlagError> {
        let Some(t) = self.stop_timeout.as_deref() else {
            return Ok(None);
        };
        let secs: i64 = parse_int("--stop-timeout", t)?;
        Ok(Some(crate::config::StopTimeout::from_secs(secs)))
    }
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Only inspect objects of this type (container or image)
    #[arg(long = "type")]
    pub kind: Option<String>,
    /// Format output using a custom template: 'json', or a Go template ('{{.State.Status}}')
    #[arg(add = ArgValueCandidates::new(complete::inspect_format), short = 'f', long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Inspect the latest created container (podman)
    #[arg(short = 'l', long, conflicts_with = "objects")]
    pub latest: bool,
    /// Display total file sizes if the type is container (SizeRw, SizeRootFs)
    #[arg(short = 's', long)]
    pub size: bool,
    #[arg(add = ArgValueCandidates::new(complete::containers_and_images), required_unless_present = "latest", value_name = "NAME|ID")]
    pub objects: Vec<String>,
}
