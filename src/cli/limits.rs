//! The cgroup limit flags, declared and checked once: `LimitFlags` (what both `run` and
//! `update` take: memory, CPU, cpuset, pids, block I/O weight; the part `build` takes too
//! is `CommonLimitFlags`, flattened in it) is flattened into
//! `IsolationArgs` and `UpdateArgs`; `RunLimitFlags` holds the ones only `run`/`create`
//! have (docker's update lacks them). Each flag is parsed into `LimitValues` (None: not
//! given), and the checks between flags docker's daemon makes are here too, so `run` and
//! `update` refuse the same values in the same words.

use super::common_limits::{CommonLimitFlags, MIN_MEMORY};
use crate::config::{
    check_cpu_rt, kernel_has_rt_groups, parse_cpus, parse_int, parse_size, parse_swappiness,
    DeviceCgroupRule, DeviceRate, FlagError, Resources, WeightDevice,
};
use clap::Args;

// The limit flags `run`, `create` and `update` share.
#[derive(Debug, Args, Default, Clone)]
pub struct LimitFlags {
    #[command(flatten)]
    pub common: CommonLimitFlags,
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
    /// Limit CPU real-time period in microseconds
    #[arg(long = "cpu-rt-period", value_name = "INT", allow_hyphen_values = true)]
    pub cpu_rt_period: Option<String>,
    /// Limit CPU real-time runtime in microseconds
    #[arg(
        long = "cpu-rt-runtime",
        value_name = "INT",
        allow_hyphen_values = true
    )]
    pub cpu_rt_runtime: Option<String>,
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
}

// The limit flags only `run` and `create` have.
#[derive(Debug, Args, Default, Clone)]
pub struct RunLimitFlags {
    /// Disable OOM Killer
    #[arg(long = "oom-kill-disable")]
    pub oom_kill_disable: bool,
    /// Tune container memory swappiness (0 to 100) (default -1)
    #[arg(
        long = "memory-swappiness",
        value_name = "INT",
        allow_hyphen_values = true
    )]
    pub memory_swappiness: Option<String>,
    /// Add a rule to the cgroup allowed devices list ("c 1:3 mr", "a *:* rwm")
    #[arg(long = "device-cgroup-rule", value_name = "RULE")]
    pub device_cgroup_rule: Vec<String>,
    /// Block IO weight (relative device weight) (PATH:WEIGHT)
    #[arg(
        long = "blkio-weight-device",
        value_name = "PATH:WEIGHT",
        allow_hyphen_values = true
    )]
    pub blkio_weight_device: Vec<String>,
    /// Limit read rate (bytes per second) from a device (PATH:RATE)
    #[arg(
        long = "device-read-bps",
        value_name = "PATH:RATE",
        allow_hyphen_values = true
    )]
    pub device_read_bps: Vec<String>,
    /// Limit write rate (bytes per second) to a device (PATH:RATE)
    #[arg(
        long = "device-write-bps",
        value_name = "PATH:RATE",
        allow_hyphen_values = true
    )]
    pub device_write_bps: Vec<String>,
    /// Limit read rate (IO per second) from a device (PATH:RATE)
    #[arg(
        long = "device-read-iops",
        value_name = "PATH:RATE",
        allow_hyphen_values = true
    )]
    pub device_read_iops: Vec<String>,
    /// Limit write rate (IO per second) to a device (PATH:RATE)
    #[arg(
        long = "device-write-iops",
        value_name = "PATH:RATE",
        allow_hyphen_values = true
    )]
    pub device_write_iops: Vec<String>,
}

/// The shared limit flags as values; None: the flag was not given.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LimitValues {
    pub memory: Option<i64>,
    pub memory_swap: Option<i64>,
    pub memory_reservation: Option<i64>,
    pub nano_cpus: Option<i64>,
    pub cpu_shares: Option<u64>,
    pub cpu_period: Option<i64>,
    pub cpu_quota: Option<i64>,
    pub cpu_rt_period: Option<i64>,
    pub cpu_rt_runtime: Option<i64>,
    pub cpuset_cpus: Option<String>,
    pub cpuset_mems: Option<String>,
    /// -1: unlimited.
    pub pids_limit: Option<i64>,
    pub blkio_weight: Option<u16>,
}

fn each<T>(
    values: &[String],
    parse: impl Fn(&str) -> Result<T, FlagError>,
) -> Result<Vec<T>, FlagError> {
    values.iter().map(|v| parse(v)).collect()
}

impl LimitFlags {
    /// Each flag on its own (the checks between flags need the container's other limits:
    /// `check_run`, `LimitValues::check_update`).
    pub fn values(&self) -> Result<LimitValues, FlagError> {
        let mut v = LimitValues {
            memory: self.common.memory()?,
            ..LimitValues::default()
        };
        if let Some(m) = &self.memory_reservation {
            let n = parse_size("--memory-reservation", m)?;
            if n != 0 && n < MIN_MEMORY {
                return Err(FlagError::new(
                    "--memory-reservation",
                    m,
                    "minimum memory reservation allowed is 6MB",
                ));
            }
            v.memory_reservation = Some(n);
        }
        v.memory_swap = self.common.memory_swap()?;
        if let Some(c) = &self.cpus {
            v.nano_cpus = Some(parse_cpus("--cpus", c)?);
        }
        v.cpu_shares = self.common.cpu_shares()?;
        v.cpu_period = self.common.cpu_period()?;
        v.cpu_quota = self.common.cpu_quota()?;
        if let Some(p) = &self.cpu_rt_period {
            v.cpu_rt_period = Some(parse_int("--cpu-rt-period", p)?);
        }
        if let Some(r) = &self.cpu_rt_runtime {
            v.cpu_rt_runtime = Some(parse_int("--cpu-rt-runtime", r)?);
        }
        v.cpuset_cpus = self.common.cpuset_cpus()?;
        v.cpuset_mems = self.common.cpuset_mems()?;
        if let Some(p) = &self.pids_limit {
            // As docker: 0 leaves the default, and any negative number is unlimited.
            v.pids_limit = Some(parse_int::<i64>("--pids-limit", p)?.max(-1));
        }
        if let Some(w) = &self.blkio_weight {
            let n: u16 = parse_int("--blkio-weight", w)?;
            if n != 0 && !(10..=1000).contains(&n) {
                return Err(FlagError::new(
                    "--blkio-weight",
                    w,
                    "range of blkio weight is from 10 to 1000",
                ));
            }
            v.blkio_weight = Some(n);
        }
        Ok(v)
    }

    /// The text the user gave for a flag, to name it in a refusal.
    fn given(&self, flag: &str) -> String {
        let v = match flag {
            "--cpu-period" => &self.common.cpu_period,
            "--cpu-quota" => &self.common.cpu_quota,
            "--cpu-rt-period" => &self.cpu_rt_period,
            "--cpu-rt-runtime" => &self.cpu_rt_runtime,
            "--cpus" => &self.cpus,
            _ => &None,
        };
        v.clone().unwrap_or_default()
    }

    /// `run`/`create`: the limits of a new container, checked together as docker's
    /// client and daemon check them.
    pub fn resources(&self, run: &RunLimitFlags) -> Result<Resources, FlagError> {
        let v = self.values()?;
        let mut r = Resources::default();
        v.lay_over(&mut r);
        if let (Some(m), Some(res)) = (v.memory, &self.memory_reservation) {
            if m > 0 && m < r.memory_reservation {
                return Err(FlagError::new(
                    "--memory-reservation",
                    res,
                    "minimum memory limit can not be less than memory reservation limit",
                ));
            }
        }
        if self.common.memory_swap.is_some() {
            self.common.check_swap(r.memory, r.memory_swap)?;
        }
        if r.nano_cpus > 0 && r.cpu_period > 0 {
            return Err(FlagError::new(
                "--cpu-period",
                &self.given("--cpu-period"),
                "Conflicting options: Nano CPUs and CPU Period cannot both be set",
            ));
        }
        if r.nano_cpus > 0 && r.cpu_quota > 0 {
            return Err(FlagError::new(
                "--cpu-quota",
                &self.given("--cpu-quota"),
                "Conflicting options: Nano CPUs and CPU Quota cannot both be set",
            ));
        }
        self.check_rt(&r)?;
        run.lay_over(&mut r)?;
        Ok(r)
    }

    fn check_rt(&self, r: &Resources) -> Result<(), FlagError> {
        check_cpu_rt(
            (&self.given("--cpu-rt-period"), r.cpu_realtime_period),
            (&self.given("--cpu-rt-runtime"), r.cpu_realtime_runtime),
            kernel_has_rt_groups() && crate::cgroups::detect() == crate::cgroups::CgroupLayout::V1,
        )
    }
}

impl RunLimitFlags {
    fn lay_over(&self, r: &mut Resources) -> Result<(), FlagError> {
        r.oom_kill_disable = self.oom_kill_disable;
        if let Some(s) = &self.memory_swappiness {
            r.memory_swappiness = parse_swappiness("--memory-swappiness", s)?;
            // docker's daemon on cgroup v2 (which has no swappiness) warns and drops it.
            if r.memory_swappiness.is_some()
                && crate::cgroups::detect() == crate::cgroups::CgroupLayout::V2
            {
                eprintln!("WARNING: Your kernel does not support memory swappiness capabilities or the cgroup is not mounted. Memory swappiness discarded.");
                r.memory_swappiness = None;
            }
        }
        r.device_cgroup_rules = each(&self.device_cgroup_rule, |v| {
            DeviceCgroupRule::parse("--device-cgroup-rule", v)
        })?;
        r.blkio_weight_device = each(&self.blkio_weight_device, |v| {
            WeightDevice::parse("--blkio-weight-device", v)
        })?;
        let rates =
            |flag, values: &[String], sizes| each(values, |v| DeviceRate::parse(flag, v, sizes));
        r.device_read_bps = rates("--device-read-bps", &self.device_read_bps, true)?;
        r.device_write_bps = rates("--device-write-bps", &self.device_write_bps, true)?;
        r.device_read_iops = rates("--device-read-iops", &self.device_read_iops, false)?;
        r.device_write_iops = rates("--device-write-iops", &self.device_write_iops, false)?;
        Ok(())
    }
}

impl LimitValues {
    /// The values given laid over `r`; docker's update leaves a setting given as 0 as
    /// it was (for `run`, `r` starts at the defaults, where 0 is unset anyway).
    pub fn lay_over(&self, r: &mut Resources) {
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
        set(self.cpu_period, &mut r.cpu_period);
        set(self.cpu_quota, &mut r.cpu_quota);
        set(self.cpu_rt_period, &mut r.cpu_realtime_period);
        set(self.cpu_rt_runtime, &mut r.cpu_realtime_runtime);
        if let Some(s) = self.cpu_shares.filter(|s| *s != 0) {
            r.cpu_shares = s;
        }
        if let Some(c) = self.cpuset_cpus.as_ref().filter(|c| !c.is_empty()) {
            r.cpuset_cpus = c.clone();
        }
        if let Some(c) = self.cpuset_mems.as_ref().filter(|c| !c.is_empty()) {
            r.cpuset_mems = c.clone();
        }
        if let Some(w) = self.blkio_weight.filter(|w| *w != 0) {
            r.blkio_weight = w;
        }
    }

    /// `update`: `recorded` with these values laid over it, checked as a whole as
    /// docker's daemon checks an update (its words for each conflict).
    pub fn apply_update(&self, recorded: &Resources) -> Result<Resources, FlagError> {
        let conflict = |flag, v: Option<i64>, reason: &str| {
            FlagError::new(flag, &v.unwrap_or_default().to_string(), reason)
        };
        let given = |v: Option<i64>| v.is_some_and(|v| v > 0);
        for (recorded_value, what) in [
            (recorded.cpu_period, "Period"),
            (recorded.cpu_quota, "Quota"),
        ] {
            if given(self.nano_cpus) && recorded_value > 0 {
                let cpus = self.nano_cpus.unwrap_or_default() as f64 / 1e9;
                return Err(FlagError::new(
                    "--cpus",
                    &cpus.to_string(),
                    format!(
                        "Conflicting options: Nano CPUs cannot be updated as CPU {what} has already been set"
                    ),
                ));
            }
        }
        for (flag, v, what) in [
            ("--cpu-period", self.cpu_period, "Period"),
            ("--cpu-quota", self.cpu_quota, "Quota"),
        ] {
            if given(v) && (recorded.nano_cpus > 0 || given(self.nano_cpus)) {
                return Err(conflict(
                    flag,
                    v,
                    &format!(
                        "Conflicting options: CPU {what} cannot be updated as NanoCPUs has already been set"
                    ),
                ));
            }
        }
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
        let flags = LimitFlags {
            cpu_rt_period: Some(r.cpu_realtime_period.to_string()),
            cpu_rt_runtime: Some(r.cpu_realtime_runtime.to_string()),
            ..LimitFlags::default()
        };
        flags.check_rt(&r)?;
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(f: impl FnOnce(&mut LimitFlags)) -> Result<Resources, FlagError> {
        let mut l = LimitFlags::default();
        f(&mut l);
        l.resources(&RunLimitFlags::default())
    }

    #[test]
    fn cpus_and_a_cfs_period_or_quota_conflict_as_in_docker() {
        let e = run(|l| {
            l.cpus = Some("1".into());
            l.common.cpu_period = Some("50000".into());
        })
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid argument \"50000\" for \"--cpu-period\" flag: Conflicting options: Nano CPUs and CPU Period cannot both be set"
        );
        let e = run(|l| {
            l.cpus = Some("1".into());
            l.common.cpu_quota = Some("50000".into());
        })
        .unwrap_err();
        assert_eq!(e.flag, "--cpu-quota");
        let r = run(|l| {
            l.common.cpu_period = Some("50000".into());
            l.common.cpu_quota = Some("25000".into());
        })
        .unwrap();
        assert_eq!((r.cpu_period, r.cpu_quota), (50_000, 25_000));
    }

    #[test]
    fn an_update_may_not_mix_cpus_with_a_recorded_period() {
        let recorded = Resources {
            cpu_period: 50_000,
            ..Resources::default()
        };
        let v = LimitValues {
            nano_cpus: Some(1_000_000_000),
            ..LimitValues::default()
        };
        let e = v.apply_update(&recorded).unwrap_err();
        assert!(
            e.reason
                .contains("Nano CPUs cannot be updated as CPU Period"),
            "{e}"
        );
        let v = LimitValues {
            cpu_quota: Some(20_000),
            ..LimitValues::default()
        };
        assert_eq!(v.apply_update(&recorded).unwrap().cpu_quota, 20_000);
    }
}
