//! Flags of the lifecycle verbs (`wait`, `restart`, `rename`, `pause`, `unpause`) and of
//! what `run`/`create` hand the monitor: `--restart` and `--init`, typed here once.

use super::complete;
use crate::config::{
    HealthConfig, HealthFlagError, HealthFlags, RestartPolicy, RestartPolicyError,
};
use clap::Args;
use clap_complete::engine::ArgValueCandidates;

// The `run`/`create` flags that the container's monitor carries out (a plain comment: as a
// doc comment it would become the deferred `run`/`create` definition's about text).
#[derive(Debug, Args, Default, Clone)]
pub struct LifeArgs {
    /// Restart policy to apply when a container exits ("no", "on-failure[:max-retries]", "always", "unless-stopped")
    #[arg(add = ArgValueCandidates::new(complete::restart_policies), long, value_name = "POLICY")]
    pub restart: Option<String>,
    /// Run an init inside the container that forwards signals and reaps processes
    #[arg(long)]
    pub init: bool,
    /// Command to run to check health
    #[arg(long = "health-cmd", value_name = "COMMAND")]
    pub health_cmd: Option<String>,
    /// Time between running the check (ms|s|m|h) (default 30s)
    #[arg(
        long = "health-interval",
        value_name = "DURATION",
        allow_hyphen_values = true
    )]
    pub health_interval: Option<String>,
    /// Consecutive failures needed to report unhealthy (default 3)
    #[arg(
        long = "health-retries",
        value_name = "INT",
        allow_negative_numbers = true
    )]
    pub health_retries: Option<i64>,
    /// Start period for the container to initialize before starting health-retries countdown (ms|s|m|h)
    #[arg(
        long = "health-start-period",
        value_name = "DURATION",
        allow_hyphen_values = true
    )]
    pub health_start_period: Option<String>,
    /// Time between running the check during the start period (ms|s|m|h) (default 5s)
    #[arg(
        long = "health-start-interval",
        value_name = "DURATION",
        allow_hyphen_values = true
    )]
    pub health_start_interval: Option<String>,
    /// Maximum time to allow one check to run (ms|s|m|h) (default 30s)
    #[arg(
        long = "health-timeout",
        value_name = "DURATION",
        allow_hyphen_values = true
    )]
    pub health_timeout: Option<String>,
    /// Disable any container-specified HEALTHCHECK
    #[arg(long = "no-healthcheck")]
    pub no_healthcheck: bool,
}

/// What `LifeArgs` mean, checked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LifeConfig {
    pub restart: RestartPolicy,
    pub init: bool,
    /// The `--health-*` flags, to lay over the image's HEALTHCHECK (None: none given).
    pub health: Option<HealthConfig>,
}

#[derive(Debug, thiserror::Error)]
pub enum LifeError {
    #[error(transparent)]
    Restart(#[from] RestartPolicyError),
    #[error("conflicting options: cannot specify both --restart and --rm")]
    RestartWithRm,
    #[error(transparent)]
    Health(#[from] HealthFlagError),
}

impl LifeArgs {
    /// Checked as docker checks them; `auto_remove` is `--rm`.
    pub fn to_config(&self, auto_remove: bool) -> Result<LifeConfig, LifeError> {
        let restart = match &self.restart {
            Some(s) => RestartPolicy::parse(s)?,
            None => RestartPolicy::No,
        };
        if auto_remove && !restart.is_no() {
            return Err(LifeError::RestartWithRm);
        }
        let health = HealthFlags {
            cmd: self.health_cmd.as_deref(),
            interval: self.health_interval.as_deref(),
            timeout: self.health_timeout.as_deref(),
            start_period: self.health_start_period.as_deref(),
            start_interval: self.health_start_interval.as_deref(),
            retries: self.health_retries,
            disabled: self.no_healthcheck,
        }
        .to_config()?;
        Ok(LifeConfig {
            restart,
            init: self.init,
            health,
        })
    }
}

#[derive(Debug, Args)]
pub struct WaitArgs {
    #[arg(add = ArgValueCandidates::new(complete::all_containers), required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RestartArgs {
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
    #[arg(add = ArgValueCandidates::new(complete::all_containers), required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RenameArgs {
    #[arg(add = ArgValueCandidates::new(complete::all_containers), value_name = "CONTAINER")]
    pub container: String,
    #[arg(value_name = "NEW_NAME")]
    pub new_name: String,
}

#[derive(Debug, clap::Subcommand)]
#[command(defer = true)]
pub enum HealthcheckCommand {
    /// Run a container's healthcheck now: exit 0 when healthy, 1 when not
    Run(HealthcheckRunArgs),
}

#[derive(Debug, Args)]
pub struct HealthcheckRunArgs {
    #[arg(add = ArgValueCandidates::new(complete::running_containers), value_name = "CONTAINER")]
    pub container: String,
}

#[derive(Debug, Args)]
pub struct PauseArgs {
    #[arg(add = ArgValueCandidates::new(complete::running_containers), required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct UnpauseArgs {
    #[arg(add = ArgValueCandidates::new(complete::paused_containers), required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

/// `start --filter`: which stopped containers `start --all` brings back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartFilter {
    /// `restart-policy=NAME`: containers with that policy (`unless-stopped` leaves out
    /// those the user stopped, as docker does when it comes back up).
    RestartPolicy(String),
}

/// One `start --filter KEY=VALUE`, checked.
pub fn parse_start_filter(s: &str) -> Result<StartFilter, String> {
    match s.split_once('=') {
        Some(("restart-policy", v))
            if matches!(v, "no" | "on-failure" | "always" | "unless-stopped") =>
        {
            Ok(StartFilter::RestartPolicy(v.to_string()))
        }
        Some(("restart-policy", v)) => Err(format!("invalid restart policy '{v}'")),
        Some((k, _)) => Err(format!("invalid filter '{k}'")),
        None => Err(format!("bad format of filter (expected name=value): {s}")),
    }
}
