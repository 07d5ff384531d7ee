//! Resource limits as docker records them (bytes, nano-CPUs, shares, weights; 0 is unset),
//! and the parsers for their flags: docker's size units, decimal CPU counts, CPU lists.

use super::{DeviceCgroupRule, DeviceRate, FlagError, WeightDevice};
use serde::{Deserialize, Serialize};

/// docker's HostConfig resources. 0 (or empty) leaves the kernel's default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Resources {
    pub memory: i64,
    /// Memory plus swap; -1 is unlimited swap.
    pub memory_swap: i64,
    pub memory_reservation: i64,
    pub oom_kill_disable: bool,
    pub nano_cpus: i64,
    pub cpu_shares: u64,
    /// A checked CPU list such as "0-2,4".
    pub cpuset_cpus: String,
    /// -1 is unlimited.
    pub pids_limit: i64,
    pub blkio_weight: u16,
    #[serde(deserialize_with = "super::legacy::rates", default)]
    pub device_read_bps: Vec<DeviceRate>,
    #[serde(deserialize_with = "super::legacy::rates", default)]
    pub device_write_bps: Vec<DeviceRate>,
    #[serde(deserialize_with = "super::legacy::rates", default)]
    pub device_read_iops: Vec<DeviceRate>,
    #[serde(deserialize_with = "super::legacy::rates", default)]
    pub device_write_iops: Vec<DeviceRate>,
    /// CFS period in µs (`--cpu-period`); 0 leaves the kernel's.
    #[serde(default)]
    pub cpu_period: i64,
    /// CFS quota in µs (`--cpu-quota`); 0 leaves it, negative is no limit.
    #[serde(default)]
    pub cpu_quota: i64,
    #[serde(default)]
    pub cpu_realtime_period: i64,
    #[serde(default)]
    pub cpu_realtime_runtime: i64,
    /// A checked memory node list such as "0".
    #[serde(default)]
    pub cpuset_mems: String,
    /// 0..=100; None is docker's unset (-1 on the command line).
    #[serde(default)]
    pub memory_swappiness: Option<i64>,
    #[serde(default)]
    pub device_cgroup_rules: Vec<DeviceCgroupRule>,
    #[serde(default)]
    pub blkio_weight_device: Vec<WeightDevice>,
}

/// docker's RAMInBytes ("512", "512k", "1.5g", "32MiB", "64mb") as a byte count, or why not.
pub(super) fn size_in_bytes(value: &str) -> Result<u64, String> {
    let s = value.trim();
    let digits_end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(digits_end);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("invalid size: '{value}'"))?;
    let suffix = unit.trim_start();
    let unit = suffix.to_ascii_lowercase();
    let unit = unit.strip_suffix('b').unwrap_or(&unit);
    let unit = unit.strip_suffix('i').unwrap_or(unit);
    let exp = match unit {
        "" => 0,
        "k" => 1,
        "m" => 2,
        "g" => 3,
        "t" => 4,
        "p" => 5,
        _ => return Err(format!("invalid suffix: '{suffix}'")),
    };
    let bytes = n * 1024f64.powi(exp);
    // The kernel takes a signed 64-bit count; anything larger is a typo, not a limit.
    if !bytes.is_finite() || bytes >= i64::MAX as f64 {
        return Err(format!(
            "invalid size: '{value}': sizes must be below 8 EiB"
        ));
    }
    Ok(bytes as u64)
}

/// A size flag in bytes (docker's units).
pub fn parse_size(flag: &'static str, value: &str) -> Result<i64, FlagError> {
    size_in_bytes(value)
        .map(|b| b as i64)
        .map_err(|reason| FlagError::new(flag, value, reason))
}

/// An integer flag of type `T` (its range is the type's), refused in the words docker's
/// Go flag parser uses (`strconv.ParseInt: parsing "x": invalid syntax`).
pub fn parse_int<T>(flag: &'static str, value: &str) -> Result<T, FlagError>
where
    T: std::str::FromStr<Err = std::num::ParseIntError>,
{
    value.parse().map_err(|e: std::num::ParseIntError| {
        let func = if "-1".parse::<T>().is_ok() {
            "ParseInt"
        } else {
            "ParseUint"
        };
        let why = match e.kind() {
            std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
                "value out of range"
            }
            _ => "invalid syntax",
        };
        FlagError::new(
            flag,
            value,
            format!("strconv.{func}: parsing \"{value}\": {why}"),
        )
    })
}

/// The number of CPUs the host has online (/sys/devices/system/cpu/online).
fn online_cpus() -> Vec<u32> {
    std::fs::read_to_string("/sys/devices/system/cpu/online")
        .ok()
        .and_then(|s| cpu_list(s.trim()))
        .unwrap_or_else(|| {
            let n = std::thread::available_parallelism().map_or(1, |n| n.get());
            (0..n as u32).collect()
        })
}

/// `--cpus`: a decimal count of CPUs, as nano-CPUs; 0 is no limit (as in docker).
pub fn parse_cpus(flag: &'static str, value: &str) -> Result<i64, FlagError> {
    let bad = |reason: String| FlagError::new(flag, value, reason);
    let (whole, frac) = value.split_once('.').unwrap_or((value, ""));
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    let negative = whole.starts_with('-');
    let whole_digits = whole.strip_prefix('-').unwrap_or(whole);
    if !digits(whole_digits) || !digits(frac) || (whole_digits.is_empty() && frac.is_empty()) {
        return Err(bad(format!("failed to parse {value} as a rational number")));
    }
    if frac.trim_end_matches('0').len() > 9 {
        return Err(bad("value is too precise".into()));
    }
    let n = online_cpus().len();
    let range = || {
        bad(format!(
            "range of CPUs is from 0.01 to {n}.00, as there are only {n} CPUs available"
        ))
    };
    if negative && (whole_digits.trim_start_matches('0').len() + frac.trim_matches('0').len()) > 0 {
        return Err(range());
    }
    let whole: i64 = if whole_digits.is_empty() {
        0
    } else {
        whole_digits.parse().map_err(|_| range())?
    };
    let mut frac_nanos = format!("{:0<9}", frac.trim_end_matches('0'));
    frac_nanos.truncate(9);
    let nanos = whole
        .checked_mul(1_000_000_000)
        .and_then(|w| w.checked_add(frac_nanos.parse::<i64>().unwrap_or(0)))
        .ok_or_else(range)?;
    if nanos != 0 && (nanos < 10_000_000 || nanos > n as i64 * 1_000_000_000) {
        return Err(range());
    }
    Ok(nanos)
}

/// "0-2,4": the CPU numbers, or None when malformed.
fn cpu_list(s: &str) -> Option<Vec<u32>> {
    let mut out = Vec::new();
    for part in s.split(',') {
        let part = part.trim();
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

/// `--cpuset-cpus`: a CPU list naming only CPUs the host has online.
pub fn parse_cpuset(flag: &'static str, value: &str) -> Result<String, FlagError> {
    let cpus = cpu_list(value)
        .ok_or_else(|| FlagError::new(flag, value, "expected a list of CPUs such as 0-3 or 0,1"))?;
    let online = online_cpus();
    if let Some(c) = cpus.iter().find(|c| !online.contains(c)) {
        return Err(FlagError::new(
            flag,
            value,
            format!("CPU {c} is not available (online: {} CPUs)", online.len()),
        ));
    }
    Ok(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_like_docker() {
        assert_eq!(parse_size("-m", "512").unwrap(), 512);
        assert_eq!(parse_size("-m", "32m").unwrap(), 32 << 20);
        assert_eq!(parse_size("-m", "1.5g").unwrap(), 3 << 29);
        assert_eq!(parse_size("-m", "64MiB").unwrap(), 64 << 20);
        assert_eq!(parse_size("-m", "2kb").unwrap(), 2048);
        let e = parse_size("-m, --memory", "12q").unwrap_err().to_string();
        assert_eq!(
            e,
            "invalid argument \"12q\" for \"-m, --memory\" flag: invalid suffix: 'q'"
        );
        for bad in ["", "m", "-1", "9999999999999999999999999", "8192p"] {
            assert!(parse_size("-m", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cpus_are_a_decimal_within_the_machine() {
        assert_eq!(parse_cpus("--cpus", "0.5").unwrap(), 500_000_000);
        assert_eq!(parse_cpus("--cpus", "1").unwrap(), 1_000_000_000);
        assert_eq!(parse_cpus("--cpus", "0").unwrap(), 0);
        let e = parse_cpus("--cpus", "-1").unwrap_err().to_string();
        assert!(
            e.starts_with("invalid argument \"-1\" for \"--cpus\" flag: range of CPUs"),
            "{e}"
        );
        for bad in ["4096", "0.001", "abc", "1e3", "", "0.0000000001"] {
            assert!(parse_cpus("--cpus", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn integers_and_cpu_lists_are_checked() {
        assert_eq!(parse_int::<i64>("--pids-limit", "-1").unwrap(), -1);
        let e = parse_int::<u16>("--blkio-weight", "70000").unwrap_err();
        assert_eq!(
            e.reason,
            "strconv.ParseUint: parsing \"70000\": value out of range"
        );
        assert!(parse_int::<u64>("-c, --cpu-shares", "-5").is_err());
        assert_eq!(parse_cpuset("--cpuset-cpus", "0").unwrap(), "0");
        assert!(parse_cpuset("--cpuset-cpus", "2-1").is_err());
        assert!(parse_cpuset("--cpuset-cpus", "4000").is_err());
    }
}
