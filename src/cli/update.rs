//! `update`'s flags: the limit flags of `run` (same names, checked by the same code,
//! `IsolationArgs::resources`, `parse_size`) and `--restart` (checked by `LifeArgs`), turned into an
//! `UpdateConfig` that says which settings change. `UpdateConfig::apply` lays it over a
//! container's recorded limits and checks the combination as `run` checks it.

use super::{IsolationArgs, LifeArgs, LifeError};
use crate::config::{parse_size, FlagError, Resources, RestartPolicy};
use clap::Args;
use clap_complete::engine::ArgValueCandidates;

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Memory limit (e.g. 512m, 1g)
    #[arg(short = 'm', long, value_name = "BYTES", allow_hyphen_values = true)]
    pub memory: Option<String>,
    /// Swap limit equal to memory plus swap: -1 to enable unlimited swap
    #[arg(long = "memory-swap", value_name = "BYTES", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Memory soft limit
    #[arg(
        long = "memory-reservation",
        value_name = "BYTES",
        allow_hyphen_values = true
    )]
    pub memory_reservation: Option<String>,
    /// Number of CPUs
    #[arg(long, value_name = "DECIMAL", allow_hyphen_values = true)]
    pub cpus: Option<String>,
    /// CPU shares (relative weight)
    #[arg(
        short = 'c',
        long = "cpu-shares",
        value_name = "INT",
        allow_hyphen_values = true
    )]
    pub cpu_shares: Option<String>,
    /// CPUs in which to allow execution (0-3, 0,1)
    #[arg(long = "cpuset-cpus", value_name = "LIST")]
    pub cpuset_cpus: Option<String>,
    /// Tune container pids limit (set -1 for unlimited)
    #[arg(long = "pids-limit", value_name = "INT", allow_hyphen_values = true)]
    pub pids_limit: Option<String>,
    /// Block IO (relative weight), between 10 and 1000, or 0 to disable
    #[arg(
        long = "blkio-weight",
        value_name = "UINT16",
        allow_hyphen_values = true
    )]
    pub blkio_weight: Option<String>,
    /// Restart policy to apply when a container exits ("no", "on-failure[:max-retries]", "always", "unless-stopped")
    #[arg(add = ArgValueCandidates::new(super::complete::restart_policies), long, value_name = "POLICY")]
    pub restart: Option<String>,
    #[arg(add = ArgValueCandidates::new(super::complete::all_containers), required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

/// What `update` changes; None (and docker's 0) leaves a setting as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UpdateConfig {
    pub memory: Option<i64>,
    pub memory_swap: Option<i64>,
    pub memory_reservation: Option<i64>,
    pub nano_cpus: Option<i64>,
    pub cpu_shares: Option<u64>,
    pub cpuset_cpus: Option<String>,
    /// -1: unlimited (docker's update takes 0 as unlimited too).
    pub pids_limit: Option<i64>,
    pub blkio_weight: Option<u16>,
    pub restart: Option<RestartPolicy>,
}

#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error(transparent)]
    Flag(#[from] FlagError),
    #[error(transparent)]
    Restart(#[from] LifeError),
    #[error("you must provide one or more flags when using this command")]
    NoFlags,
}

impl UpdateArgs {
    /// Each flag checked by `run`'s code; the checks between flags wait for `apply`,
    /// which knows the container's other limits.
    pub fn to_config(&self) -> Result<UpdateConfig, UpdateError> {
        let flags = IsolationArgs {
            memory: self.memory.clone(),
            memory_reservation: self.memory_reservation.clone(),
            cpus: self.cpus.clone(),
            cpu_shares: self.cpu_shares.clone(),
            cpuset_cpus: self.cpuset_cpus.clone(),
            pids_limit: self.pids_limit.clone(),
            blkio_weight: self.blkio_weight.clone(),
            ..IsolationArgs::default()
        };
        let r = flags.resources()?;
        // --memory-swap alone is checked against the recorded memory limit in `apply`.
        let swap = match self.memory_swap.as_deref().map(str::trim) {
            Some("-1") => Some(-1),
            Some(s) => Some(parse_size("--memory-swap", s)?),
            None => None,
        };
        let restart = match &self.restart {
            Some(_) => {
                let life = LifeArgs {
                    restart: self.restart.clone(),
                    ..LifeArgs::default()
                };
                Some(life.to_config(false)?.restart)
            }
            None => None,
        };
        let given = |v: &Option<String>| v.is_some();
        let config = UpdateConfig {
            memory: given(&self.memory).then_some(r.memory),
            memory_swap: swap,
            memory_reservation: given(&self.memory_reservation).then_some(r.memory_reservation),
            nano_cpus: given(&self.cpus).then_some(r.nano_cpus),
            cpu_shares: given(&self.cpu_shares).then_some(r.cpu_shares),
            cpuset_cpus: given(&self.cpuset_cpus).then(|| r.cpuset_cpus.clone()),
            pids_limit: self.pids_limit.as_ref().map(|_| {
                if r.pids_limit <= 0 {
                    -1
                } else {
                    r.pids_limit
                }
            }),
            blkio_weight: given(&self.blkio_weight).then_some(r.blkio_weight),
            restart,
        };
        if config == UpdateConfig::default() {
            return Err(UpdateError::NoFlags);
        }
        Ok(config)
    }
}

impl UpdateConfig {
    /// The limits given, as a `Resources` (to name them, e.g. in a rootless refusal).
    pub fn resources(&self) -> Resources {
        let mut r = Resources::default();
        self.lay_over(&mut r);
        r
    }

    fn lay_over(&self, r: &mut Resources) {
        // docker's update: a zero leaves the setting as it was.
        let set = |v: Option<i64>, to: &mut i64| {
            if let Some(v) = v.filter(|v| *v != 0) {
                *to = v;
            }
        };
        set(self.memory, &mut r.memory);
        set(self.memory_swap, &mut r.memory_swap);
        set(self.memory_reservation, &mut r.memory_reservation);
        set(self.nano_cpus, &mut r.nano_cpus);
        set(self.pids_limit, &mut r.pids_limit);
        if let Some(s) = self.cpu_shares.filter(|s| *s != 0) {
            r.cpu_shares = s;
        }
        if let Some(c) = self.cpuset_cpus.as_ref().filter(|c| !c.is_empty()) {
            r.cpuset_cpus = c.clone();
        }
        if let Some(w) = self.blkio_weight.filter(|w| *w != 0) {
            r.blkio_weight = w;
        }
    }

    /// `recorded` with this update laid over it, checked as a whole as `run` checks it:
    /// the memory limit against the swap limit and the reservation.
    pub fn apply(&self, recorded: &Resources) -> Result<Resources, FlagError> {
        let mut r = recorded.clone();
        self.lay_over(&mut r);
        if r.memory_swap > 0 && r.memory == 0 {
            return Err(FlagError::new(
                "--memory-swap",
                &r.memory_swap.to_string(),
                "you should always set the memory limit when using the memory swap limit",
            ));
        }
        if r.memory_swap > 0 && r.memory_swap < r.memory {
            let (flag, value) = match self.memory_swap {
                Some(s) if s != 0 => ("--memory-swap", s),
                _ => ("-m, --memory", r.memory),
            };
            return Err(FlagError::new(
                flag,
                &value.to_string(),
                "memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time",
            ));
        }
        if r.memory > 0 && r.memory_reservation > r.memory {
            return Err(FlagError::new(
                "--memory-reservation",
                &r.memory_reservation.to_string(),
                "minimum memory limit can not be less than memory reservation limit",
            ));
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(f: impl FnOnce(&mut UpdateArgs)) -> UpdateArgs {
        let mut a = UpdateArgs {
            memory: None,
            memory_swap: None,
            memory_reservation: None,
            cpus: None,
            cpu_shares: None,
            cpuset_cpus: None,
            pids_limit: None,
            blkio_weight: None,
            restart: None,
            containers: vec!["c".into()],
        };
        f(&mut a);
        a
    }

    #[test]
    fn only_the_given_flags_change_and_run_checks_each() {
        let c = args(|a| a.memory = Some("64m".into())).to_config().unwrap();
        assert_eq!(c.memory, Some(64 << 20));
        assert_eq!(c.cpu_shares, None);
        let e = args(|a| a.memory = Some("1m".into()))
            .to_config()
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid argument \"1m\" for \"-m, --memory\" flag: minimum memory limit allowed is 6MB"
        );
        let e = args(|a| a.restart = Some("sometimes".into()))
            .to_config()
            .unwrap_err();
        assert_eq!(e.to_string(), "invalid restart policy 'sometimes'");
        assert!(matches!(
            args(|_| {}).to_config(),
            Err(UpdateError::NoFlags)
        ));
        let c = args(|a| a.pids_limit = Some("0".into()))
            .to_config()
            .unwrap();
        assert_eq!(c.pids_limit, Some(-1));
    }

    #[test]
    fn swap_is_checked_against_the_recorded_memory() {
        let recorded = Resources {
            memory: 64 << 20,
            ..Resources::default()
        };
        let lower = args(|a| a.memory_swap = Some("32m".into()))
            .to_config()
            .unwrap();
        let e = lower.apply(&recorded).unwrap_err();
        assert!(
            e.reason.starts_with("memory limit should be smaller"),
            "{e}"
        );
        let raise = args(|a| a.memory_swap = Some("128m".into()))
            .to_config()
            .unwrap();
        let r = raise.apply(&recorded).unwrap();
        assert_eq!((r.memory, r.memory_swap), (64 << 20, 128 << 20));
        let alone = raise.apply(&Resources::default()).unwrap_err();
        assert!(
            alone.reason.contains("always set the memory limit"),
            "{alone}"
        );
    }
}
