//! `update`'s flags: the limit flags `run` has too (`LimitFlags`, flattened here and into
//! `IsolationArgs`, parsed and checked by the same code) and `--restart` (checked by
//! `LifeArgs`), turned into an `UpdateConfig` that says which settings change.
//! `UpdateConfig::apply` lays it over a container's recorded limits and checks the
//! combination as docker's daemon checks an update.

use super::limits::{LimitFlags, LimitValues};
use super::{LifeArgs, LifeError};
use crate::config::{FlagError, Resources, RestartPolicy};
use clap::Args;
use clap_complete::engine::ArgValueCandidates;

#[derive(Debug, Args)]
pub struct UpdateArgs {
    #[command(flatten)]
    pub limits: LimitFlags,
    /// Restart policy to apply when a container exits ("no", "on-failure[:max-retries]", "always", "unless-stopped")
    #[arg(add = ArgValueCandidates::new(super::complete::restart_policies), long, value_name = "POLICY")]
    pub restart: Option<String>,
    #[arg(add = ArgValueCandidates::new(super::complete::all_containers), required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

/// What `update` changes; None (and docker's 0) leaves a setting as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UpdateConfig {
    pub limits: LimitValues,
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
        let mut limits = self.limits.values()?;
        // docker's update takes a pids limit of 0 as unlimited too.
        if let Some(p) = limits.pids_limit.as_mut().filter(|p| **p <= 0) {
            *p = -1;
        }
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
        let config = UpdateConfig { limits, restart };
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
        self.limits.lay_over(&mut r);
        r
    }

    /// `recorded` with this update laid over it, checked as a whole.
    pub fn apply(&self, recorded: &Resources) -> Result<Resources, FlagError> {
        self.limits.apply_update(recorded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(f: impl FnOnce(&mut LimitFlags)) -> UpdateArgs {
        let mut limits = LimitFlags::default();
        f(&mut limits);
        UpdateArgs {
            limits,
            restart: None,
            containers: vec!["c".into()],
        }
    }

    #[test]
    fn only_the_given_flags_change_and_run_checks_each() {
        let c = args(|a| a.common.memory = Some("64m".into()))
            .to_config()
            .unwrap();
        assert_eq!(c.limits.memory, Some(64 << 20));
        assert_eq!(c.limits.cpu_shares, None);
        let e = args(|a| a.common.memory = Some("1m".into()))
            .to_config()
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid argument \"1m\" for \"-m, --memory\" flag: minimum memory limit allowed is 6MB"
        );
        let mut a = args(|_| {});
        a.restart = Some("sometimes".into());
        let e = a.to_config().unwrap_err();
        assert_eq!(e.to_string(), "invalid restart policy 'sometimes'");
        assert!(matches!(
            args(|_| {}).to_config(),
            Err(UpdateError::NoFlags)
        ));
        let c = args(|a| a.pids_limit = Some("0".into()))
            .to_config()
            .unwrap();
        assert_eq!(c.limits.pids_limit, Some(-1));
        let e = args(|a| a.common.cpu_period = Some("500".into()))
            .to_config()
            .unwrap_err();
        assert!(e.to_string().contains("CPU cfs period"), "{e}");
    }

    #[test]
    fn swap_is_checked_against_the_recorded_memory() {
        let recorded = Resources {
            memory: 64 << 20,
            ..Resources::default()
        };
        let lower = args(|a| a.common.memory_swap = Some("32m".into()))
            .to_config()
            .unwrap();
        let e = lower.apply(&recorded).unwrap_err();
        assert!(
            e.reason.starts_with("memory limit should be smaller"),
            "{e}"
        );
        let raise = args(|a| a.common.memory_swap = Some("128m".into()))
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
