//! The flags of the verbs that act on existing containers: start, stop, kill, rm, logs.

use super::complete;
use super::{parse_start_filter, StartFilter};
use clap::Args;
use clap_complete::engine::ArgValueCandidates;

#[derive(Debug, Args)]
pub struct StartArgs {
    /// Attach STDOUT/STDERR and forward signals
    #[arg(short = 'a', long)]
    pub attach: bool,
    /// Attach container's STDIN (and STDOUT/STDERR, as -a)
    #[arg(short = 'i', long, conflicts_with = "all")]
    pub interactive: bool,
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys", value_name = "KEYS")]
    pub detach_keys: Option<String>,
    /// Start all containers that are not running (podman)
    #[arg(long, conflicts_with_all = ["containers", "attach"])]
    pub all: bool,
    /// With --all: only containers matching (restart-policy=always|unless-stopped|on-failure|no)
    #[arg(long = "filter", value_name = "KEY=VALUE", value_parser = parse_start_filter, requires = "all")]
    pub filters: Vec<StartFilter>,
    /// Act on the latest created container (podman)
    #[arg(short = 'l', long, conflicts_with_all = ["containers", "all"])]
    pub latest: bool,
    #[arg(add = ArgValueCandidates::new(complete::stopped_containers), required_unless_present_any = ["all", "latest"], value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct StopArgs {
    /// Seconds to wait before killing the container
    #[arg(
        short = 't',
        long = "time",
        visible_alias = "timeout",
        allow_negative_numbers = true
    )]
    pub time: Option<i64>,
    /// Signal to send to the container
    #[arg(add = ArgValueCandidates::new(complete::signals), short = 's', long)]
    pub signal: Option<String>,
    /// Stop all running containers (podman)
    #[arg(short = 'a', long, conflicts_with = "containers")]
    pub all: bool,
    /// Ignore errors when a named container does not exist (podman)
    #[arg(short = 'i', long)]
    pub ignore: bool,
    /// Act on the latest created container (podman)
    #[arg(short = 'l', long, conflicts_with_all = ["containers", "all"])]
    pub latest: bool,
    #[arg(add = ArgValueCandidates::new(complete::running_containers), required_unless_present_any = ["all", "latest"], value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct KillArgs {
    /// Signal to send to the container
    #[arg(add = ArgValueCandidates::new(complete::signals), short = 's', long, default_value = "KILL")]
    pub signal: String,
    /// Signal the latest created container (podman)
    #[arg(short = 'l', long, conflicts_with = "containers")]
    pub latest: bool,
    #[arg(add = ArgValueCandidates::new(complete::running_containers), required_unless_present = "latest", value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    /// Force the removal of a running container (uses SIGKILL)
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Remove all containers (podman; running ones only with --force)
    #[arg(short = 'a', long, conflicts_with = "containers")]
    pub all: bool,
    /// Ignore errors when a named container does not exist (podman)
    #[arg(short = 'i', long)]
    pub ignore: bool,
    /// Act on the latest created container (podman)
    #[arg(short = 'l', long, conflicts_with_all = ["containers", "all"])]
    pub latest: bool,
    /// With --force: seconds to wait for the stop signal before SIGKILL (podman; -1 waits for ever)
    #[arg(
        short = 't',
        long = "time",
        allow_negative_numbers = true,
        value_name = "SECONDS"
    )]
    pub time: Option<i64>,
    /// Remove anonymous volumes associated with the container
    #[arg(short = 'v', long)]
    pub volumes: bool,
    #[command(flatten)]
    pub link: super::RmLinkFlag,
    #[arg(add = ArgValueCandidates::new(complete::all_containers), required_unless_present_any = ["all", "latest"], value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Follow log output
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Show timestamps
    #[arg(short = 't', long)]
    pub timestamps: bool,
    /// Number of lines to show from the end of the logs ("all" for every line)
    #[arg(short = 'n', long, default_value = "all")]
    pub tail: String,
    /// Show logs since a timestamp (RFC 3339, unix seconds) or a relative time (42m, 2h, 30s)
    #[arg(long)]
    pub since: Option<String>,
    /// Show logs before a timestamp (RFC 3339, unix seconds) or a relative time (42m, 2h, 30s)
    #[arg(long)]
    pub until: Option<String>,
    /// Show extra details provided to logs
    #[arg(long)]
    pub details: bool,
    /// Show the logs of the latest created container (podman)
    #[arg(short = 'l', long, conflicts_with = "container")]
    pub latest: bool,
    #[arg(add = ArgValueCandidates::new(complete::all_containers), required_unless_present = "latest", default_value = "", hide_default_value = true, value_name = "CONTAINER")]
    pub container: String,
}
