//! The cgroup limit flags `build` shares with `run`, `create` and `update`: memory, swap,
//! CPU shares, the CFS period and quota and the cpusets, declared once (`CommonLimitFlags`,
//! flattened into `LimitFlags` and `BuildHostFlags`) and each parsed and refused by one
//! function here in docker's words. The checks that need other flags or a container's
//! recorded limits stay with their callers (`limits`, `build_flags`); `build` only
//! rewords the help to speak of its RUN steps.

use crate::config::{
    check_cpu_period, check_cpu_quota, parse_cpuset, parse_cpuset_mems, parse_int, parse_size,
    FlagError,
};
use clap::Args;

/// docker's smallest memory limit (and reservation).
pub(super) const MIN_MEMORY: i64 = 6 * 1024 * 1024;

// The limit flags `build`, `run`, `create` and `update` all take.
#[derive(Debug, Args, Default, Clone)]
pub struct CommonLimitFlags {
    /// Memory limit (e.g. 512m, 1g)
    #[arg(short = 'm', long, value_name = "BYTES", allow_hyphen_values = true)]
    pub memory: Option<String>,
    /// Swap limit equal to memory plus swap: -1 to enable unlimited swap
    #[arg(long = "memory-swap", value_name = "BYTES", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// CPU shares (relative weight)
    #[arg(
        short = 'c',
        long = "cpu-shares",
        value_name = "INT",
        allow_hyphen_values = true
    )]
    pub cpu_shares: Option<String>,
    /// Limit CPU CFS (Completely Fair Scheduler) period
    #[arg(long = "cpu-period", value_name = "INT", allow_hyphen_values = true)]
    pub cpu_period: Option<String>,
    /// Limit CPU CFS (Completely Fair Scheduler) quota
    #[arg(long = "cpu-quota", value_name = "INT", allow_hyphen_values = true)]
    pub cpu_quota: Option<String>,
    /// CPUs in which to allow execution (0-3, 0,1)
    #[arg(long = "cpuset-cpus", value_name = "LIST")]
    pub cpuset_cpus: Option<String>,
    /// MEMs in which to allow execution (0-3, 0,1)
    #[arg(long = "cpuset-mems", value_name = "LIST")]
    pub cpuset_mems: Option<String>,
}

impl CommonLimitFlags {
    /// `-m`: bytes, 0 (no limit) or at least docker's 6MB.
    pub fn memory(&self) -> Result<Option<i64>, FlagError> {
        let Some(m) = &self.memory else {
            return Ok(None);
        };
        let n = parse_size("-m, --memory", m)?;
        if n != 0 && n < MIN_MEMORY {
            return Err(FlagError::new(
                "-m, --memory",
                m,
                "minimum memory limit allowed is 6MB",
            ));
        }
        Ok(Some(n))
    }

    /// `--memory-swap`: bytes, or -1 for unlimited swap.
    pub fn memory_swap(&self) -> Result<Option<i64>, FlagError> {
        match &self.memory_swap {
            None => Ok(None),
            Some(m) if m.trim() == "-1" => Ok(Some(-1)),
            Some(m) => parse_size("--memory-swap", m).map(Some),
        }
    }

    /// The swap limit against the memory limit (0: none), as docker's daemon checks a
    /// new container's: a positive swap needs a memory limit no larger than it.
    pub fn check_swap(&self, memory: i64, swap: i64) -> Result<(), FlagError> {
        let given = self.memory_swap.as_deref().unwrap_or_default();
        if swap > 0 && memory == 0 {
            return Err(FlagError::new(
                "--memory-swap",
                given,
                "you should always set the memory limit when using the memory swap limit",
            ));
        }
        if swap > 0 && swap < memory {
            return Err(FlagError::new(
                "--memory-swap",
                given,
                "minimum memory swap limit should be larger than memory limit",
            ));
        }
        Ok(())
    }

    /// `-c`: a relative weight; 0 leaves the default, 1 and negatives are refused.
    pub fn cpu_shares(&self) -> Result<Option<u64>, FlagError> {
        let Some(s) = &self.cpu_shares else {
            return Ok(None);
        };
        let shares: i64 = parse_int("-c, --cpu-shares", s)?;
        match u64::try_from(shares) {
            Ok(n) if n != 1 => Ok(Some(n)),
            _ => Err(FlagError::new(
                "-c, --cpu-shares",
                s,
                "minimum cpu shares allowed is 2",
            )),
        }
    }

    /// `--cpu-period`: microseconds in docker's range, or 0.
    pub fn cpu_period(&self) -> Result<Option<i64>, FlagError> {
        let Some(p) = &self.cpu_period else {
            return Ok(None);
        };
        let n = parse_int("--cpu-period", p)?;
        check_cpu_period("--cpu-period", p, n)?;
        Ok(Some(n))
    }

    /// `--cpu-quota`: microseconds (at least 1000), 0 or negative for none.
    pub fn cpu_quota(&self) -> Result<Option<i64>, FlagError> {
        let Some(q) = &self.cpu_quota else {
            return Ok(None);
        };
        let n = parse_int("--cpu-quota", q)?;
        check_cpu_quota("--cpu-quota", q, n)?;
        Ok(Some(n))
    }

    /// `--cpuset-cpus`: a list of this machine's online CPUs.
    pub fn cpuset_cpus(&self) -> Result<Option<String>, FlagError> {
        self.cpuset_cpus
            .as_deref()
            .map(|set| parse_cpuset("--cpuset-cpus", set))
            .transpose()
    }

    /// `--cpuset-mems`: a list of this machine's memory nodes.
    pub fn cpuset_mems(&self) -> Result<Option<String>, FlagError> {
        self.cpuset_mems
            .as_deref()
            .map(|set| parse_cpuset_mems("--cpuset-mems", set))
            .transpose()
    }
}
