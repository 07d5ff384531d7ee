//! Flags of `generate systemd` (podman's): a unit file that starts an existing container
//! (`kiste start`, Type=forking with the monitor's PIDFile) or, with `--new`, creates a
//! fresh one from the command line that created it.

use super::complete;
use clap::{Args, Subcommand, ValueEnum};
use clap_complete::engine::ArgValueCandidates;

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum GenerateCommand {
    /// Generate a systemd unit file for a container
    Systemd(GenerateSystemdArgs),
    /// Generate Kubernetes YAML (a Pod, with -s a Service) for containers
    Kube(super::GenerateKubeArgs),
}

/// systemd's `Restart=` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SystemdRestart {
    No,
    OnSuccess,
    OnFailure,
    OnAbnormal,
    OnWatchdog,
    OnAbort,
    Always,
}

impl SystemdRestart {
    pub fn as_str(self) -> &'static str {
        match self {
            SystemdRestart::No => "no",
            SystemdRestart::OnSuccess => "on-success",
            SystemdRestart::OnFailure => "on-failure",
            SystemdRestart::OnAbnormal => "on-abnormal",
            SystemdRestart::OnWatchdog => "on-watchdog",
            SystemdRestart::OnAbort => "on-abort",
            SystemdRestart::Always => "always",
        }
    }
}

#[derive(Debug, Args)]
pub struct GenerateSystemdArgs {
    /// Use the container's name instead of its id in the unit's name
    #[arg(short = 'n', long)]
    pub name: bool,
    /// Create a new container at each start instead of starting an existing one
    #[arg(long)]
    pub new: bool,
    /// Stop timeout in seconds for the unit's ExecStop
    #[arg(
        short = 't',
        long = "time",
        visible_alias = "stop-timeout",
        default_value_t = 10
    )]
    pub time: u32,
    /// systemd's Restart= for the unit
    #[arg(long = "restart-policy", value_enum, default_value = "on-failure")]
    pub restart_policy: SystemdRestart,
    /// Unit name prefix
    #[arg(long = "container-prefix", default_value = "container")]
    pub container_prefix: String,
    /// Separator between the prefix and the name or id
    #[arg(long, default_value = "-")]
    pub separator: String,
    /// Write the unit to ./UNIT.service instead of printing it
    #[arg(short = 'f', long)]
    pub files: bool,
    /// Leave out the header comment
    #[arg(long)]
    pub no_header: bool,
    #[arg(add = ArgValueCandidates::new(complete::all_containers), value_name = "CONTAINER")]
    pub container: String,
}
