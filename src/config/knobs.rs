//! The finer cgroup knobs docker records beside the plain limits: device cgroup rules
//! (`--device-cgroup-rule "c 1:3 mr"`), per-device block I/O weights
//! (`--blkio-weight-device /dev/sda:200`), and the checks docker's daemon makes on CFS
//! and real-time CPU periods, memory nodes and swappiness, in its words.

use super::FlagError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};

/// One device cgroup rule as docker's `--device-cgroup-rule` takes it: a type (`a`, `c`
/// or `b`), major and minor numbers (None is docker's `*`) and some of "rwm". docker
/// adds these to the default allowlist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DeviceCgroupRule {
    pub kind: char,
    pub major: Option<u32>,
    pub minor: Option<u32>,
    pub access: String,
}

impl DeviceCgroupRule {
    /// docker's syntax, `TYPE MAJOR:MINOR ACCESS` (opts.ValidateDeviceCgroupRule).
    pub fn parse(flag: &'static str, value: &str) -> Result<DeviceCgroupRule, FlagError> {
        DeviceCgroupRule::from_text(value).ok_or_else(|| {
            FlagError::new(
                flag,
                value,
                format!("invalid device cgroup format '{value}'"),
            )
        })
    }

    fn from_text(value: &str) -> Option<DeviceCgroupRule> {
        let mut words = value.split(' ');
        let (kind, numbers, access) = (words.next()?, words.next()?, words.next()?);
        if words.next().is_some() {
            return None;
        }
        let kind = match kind {
            "a" | "b" | "c" => kind.chars().next()?,
            _ => return None,
        };
        let number = |s: &str| -> Option<Option<u32>> {
            match s {
                "*" => Some(None),
                s if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
                    s.parse().ok().map(Some)
                }
                _ => None,
            }
        };
        let (major, minor) = numbers.split_once(':')?;
        let (major, minor) = (number(major)?, number(minor)?);
        if access.is_empty() || access.len() > 3 || !access.chars().all(|c| "rwm".contains(c)) {
            return None;
        }
        Some(DeviceCgroupRule {
            kind,
            major,
            minor,
            access: access.to_string(),
        })
    }
}

impl fmt::Display for DeviceCgroupRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let num = |n: Option<u32>| n.map_or("*".to_string(), |n| n.to_string());
        write!(
            f,
            "{} {}:{} {}",
            self.kind,
            num(self.major),
            num(self.minor),
            self.access
        )
    }
}

impl From<DeviceCgroupRule> for String {
    fn from(r: DeviceCgroupRule) -> String {
        r.to_string()
    }
}

impl TryFrom<String> for DeviceCgroupRule {
    type Error = String;
    fn try_from(s: String) -> Result<DeviceCgroupRule, String> {
        DeviceCgroupRule::from_text(&s).ok_or_else(|| format!("invalid device cgroup rule {s:?}"))
    }
}

/// One `--blkio-weight-device PATH:WEIGHT`: a block device (its numbers looked up when
/// the flag is given) and its relative weight, 10..1000 (0 leaves the default).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeightDevice {
    pub path: String,
    pub major: u32,
    pub minor: u32,
    pub weight: u16,
}

impl WeightDevice {
    /// docker's opts.ValidateWeightDevice, then the device node.
    pub fn parse(flag: &'static str, value: &str) -> Result<WeightDevice, FlagError> {
        let bad = |reason: String| FlagError::new(flag, value, reason);
        let (path, weight) = value
            .split_once(':')
            .filter(|(p, _)| !p.is_empty())
            .ok_or_else(|| bad(format!("bad format: {value}")))?;
        if !path.starts_with("/dev/") {
            return Err(bad(format!("bad format for device path: {value}")));
        }
        let weight: u16 = weight
            .parse()
            .ok()
            .filter(|w| *w == 0 || (10..=1000).contains(w))
            .ok_or_else(|| bad(format!("invalid weight for device: {value}")))?;
        let meta = std::fs::metadata(path)
            .map_err(|e| bad(format!("{path}: {}", e.to_string().to_lowercase())))?;
        if !meta.file_type().is_block_device() {
            return Err(bad(format!("{path} is not a block device")));
        }
        Ok(WeightDevice {
            path: path.to_string(),
            major: libc::major(meta.rdev()),
            minor: libc::minor(meta.rdev()),
            weight,
        })
    }
}

/// `--cpu-period`: 0 (the default) or 1000..=1000000 µs, as docker's daemon checks it.
pub fn check_cpu_period(flag: &'static str, value: &str, period: i64) -> Result<(), FlagError> {
    if period != 0 && !(1000..=1_000_000).contains(&period) {
        return Err(FlagError::new(
            flag,
            value,
            "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)",
        ));
    }
    Ok(())
}

/// `--cpu-quota`: ≤ 0 is no limit; a positive quota is at least 1000 µs.
pub fn check_cpu_quota(flag: &'static str, value: &str, quota: i64) -> Result<(), FlagError> {
    if quota > 0 && quota < 1000 {
        return Err(FlagError::new(
            flag,
            value,
            "CPU cfs quota can not be less than 1ms (i.e. 1000)",
        ));
    }
    Ok(())
}

/// Whether the kernel schedules real-time tasks per cgroup (CONFIG_RT_GROUP_SCHED, cgroup
/// v1's cpu.rt_runtime_us; cgroup v2 has no real-time knobs).
pub fn kernel_has_rt_groups() -> bool {
    std::path::Path::new("/sys/fs/cgroup/cpu/cpu.rt_runtime_us").exists()
        || std::path::Path::new("/sys/fs/cgroup/cpu,cpuacct/cpu.rt_runtime_us").exists()
}

/// `--cpu-rt-period`/`--cpu-rt-runtime`: refused as docker's daemon refuses them when
/// the kernel has no real-time group scheduling, and the runtime above the period.
pub fn check_cpu_rt(
    period: (&str, i64),
    runtime: (&str, i64),
    rt_groups: bool,
) -> Result<(), FlagError> {
    let unsupported = "Your kernel does not support CPU real-time scheduler";
    if period.1 > 0 && !rt_groups {
        return Err(FlagError::new("--cpu-rt-period", period.0, unsupported));
    }
    if runtime.1 > 0 && !rt_groups {
        return Err(FlagError::new("--cpu-rt-runtime", runtime.0, unsupported));
    }
    if period.1 != 0 && runtime.1 != 0 && runtime.1 > period.1 {
        return Err(FlagError::new(
            "--cpu-rt-runtime",
            runtime.0,
            "cpu real-time runtime cannot be higher than cpu real-time period",
        ));
    }
    Ok(())
}

/// The memory nodes the host has online (/sys/devices/system/node/online; a machine
/// without NUMA has node 0).
fn online_mems() -> String {
    std::fs::read_to_string("/sys/devices/system/node/online")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "0".into())
}

fn list(s: &str) -> Option<Vec<u32>> {
    let mut out = Vec::new();
    for part in s.split(',') {
        if let Some((a, b)) = part.split_once('-') {
            let (a, b): (u32, u32) = (a.parse().ok()?, b.parse().ok()?);
            if a > b {
                return None;
            }
            out.extend(a..=b);
        } else {
            out.push(part.parse().ok()?);
        }
    }
    Some(out)
}

/// `--cpuset-mems`: a list of memory nodes the host has, refused in docker's words.
pub fn parse_cpuset_mems(flag: &'static str, value: &str) -> Result<String, FlagError> {
    let nodes = list(value).ok_or_else(|| {
        FlagError::new(
            flag,
            value,
            format!("Invalid value {value} for cpuset mems: invalid format: {value}"),
        )
    })?;
    let online = online_mems();
    let have = list(&online).unwrap_or_else(|| vec![0]);
    if nodes.iter().any(|n| !have.contains(n)) {
        return Err(FlagError::new(
            flag,
            value,
            format!(
                "Requested memory nodes are not available - requested {value}, available: {online}"
            ),
        ));
    }
    Ok(value.to_string())
}

/// `--memory-swappiness`: -1 (docker's default) leaves it unset; else 0..=100.
pub fn parse_swappiness(flag: &'static str, value: &str) -> Result<Option<i64>, FlagError> {
    let n: i64 = super::parse_int(flag, value)?;
    if n == -1 {
        return Ok(None);
    }
    if !(0..=100).contains(&n) {
        return Err(FlagError::new(
            flag,
            value,
            format!("invalid value: {n}. Valid memory swappiness range is 0-100"),
        ));
    }
    Ok(Some(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_rules_take_dockers_syntax_with_wildcards() {
        let r = DeviceCgroupRule::parse("--device-cgroup-rule", "c 1:3 mr").unwrap();
        assert_eq!((r.kind, r.major, r.minor), ('c', Some(1), Some(3)));
        let r = DeviceCgroupRule::parse("--device-cgroup-rule", "a *:* rwm").unwrap();
        assert_eq!(
            (r.major, r.minor, r.to_string().as_str()),
            (None, None, "a *:* rwm")
        );
        for bad in [
            "x",
            "c 1:3",
            "d 1:3 r",
            "c 1:3 rx",
            "c a:3 r",
            "c 1:3 rwmr",
            "c 1 r",
        ] {
            let e = DeviceCgroupRule::parse("--device-cgroup-rule", bad).unwrap_err();
            assert_eq!(e.reason, format!("invalid device cgroup format '{bad}'"));
        }
    }

    #[test]
    fn weights_and_periods_are_checked_as_docker_does() {
        let e = WeightDevice::parse("--blkio-weight-device", "/dev/null:5").unwrap_err();
        assert_eq!(e.reason, "invalid weight for device: /dev/null:5");
        let e = WeightDevice::parse("--blkio-weight-device", "vda:200").unwrap_err();
        assert_eq!(e.reason, "bad format for device path: vda:200");
        let e = WeightDevice::parse("--blkio-weight-device", "/dev/null:200").unwrap_err();
        assert_eq!(e.reason, "/dev/null is not a block device");
        assert!(check_cpu_period("--cpu-period", "500", 500).is_err());
        assert!(check_cpu_period("--cpu-period", "0", 0).is_ok());
        assert!(check_cpu_quota("--cpu-quota", "-1", -1).is_ok());
        assert!(check_cpu_quota("--cpu-quota", "999", 999).is_err());
        let e = check_cpu_rt(("1000", 1000), ("2000", 2000), true).unwrap_err();
        assert_eq!(e.flag, "--cpu-rt-runtime");
        let e = check_cpu_rt(("0", 0), ("10", 10), false).unwrap_err();
        assert_eq!(
            e.reason,
            "Your kernel does not support CPU real-time scheduler"
        );
        assert_eq!(parse_swappiness("--memory-swappiness", "-1").unwrap(), None);
        assert_eq!(
            parse_swappiness("--memory-swappiness", "0").unwrap(),
            Some(0)
        );
        let e = parse_swappiness("--memory-swappiness", "200").unwrap_err();
        assert_eq!(
            e.reason,
            "invalid value: 200. Valid memory swappiness range is 0-100"
        );
        assert!(parse_cpuset_mems("--cpuset-mems", "a").is_err());
        assert!(parse_cpuset_mems("--cpuset-mems", "4000").is_err());
    }
}
