//! Flags that choose namespaces, limits and security settings for `run`/`create`, and their
//! validation into the record's `HostConfig` (sizes parsed, names checked) so that bad
//! input is refused before anything is created.

use crate::state::{HostConfig, Resources};
use clap::Args;

#[derive(Debug, Args, Default, Clone)]
pub struct IsolationArgs {
    /// Connect a container to a network: "private" (default: own namespace, published ports forwarded), "none" or "host"
    #[arg(long = "network", visible_alias = "net", value_name = "MODE")]
    pub network: Option<String>,
    /// PID namespace to use ("host" shares the host's)
    #[arg(long)]
    pub pid: Option<String>,
    /// IPC namespace to use ("host" shares the host's)
    #[arg(long)]
    pub ipc: Option<String>,
    /// UTS namespace to use ("host" shares the host's)
    #[arg(long)]
    pub uts: Option<String>,
    /// User namespace: "host" (default) or "map=CONTAINER_ID:HOST_ID:SIZE" (repeat map entries with ',')
    #[arg(long)]
    pub userns: Option<String>,
    /// Mount the container's root filesystem as read only
    #[arg(long)]
    pub read_only: bool,
    /// Give extended privileges to this container
    #[arg(long)]
    pub privileged: bool,
    /// Add Linux capabilities
    #[arg(long = "cap-add", value_name = "CAP")]
    pub cap_add: Vec<String>,
    /// Drop Linux capabilities
    #[arg(long = "cap-drop", value_name = "CAP")]
    pub cap_drop: Vec<String>,
    /// Security options (no-new-privileges, seccomp=unconfined|PROFILE.json)
    #[arg(long = "security-opt", value_name = "OPT")]
    pub security_opt: Vec<String>,
    /// Ulimit options (e.g. nofile=1024:2048)
    #[arg(long = "ulimit", value_name = "NAME=SOFT[:HARD]")]
    pub ulimit: Vec<String>,
    /// Add a host device to the container (HOST[:CONTAINER[:PERMS]])
    #[arg(long = "device", value_name = "DEVICE")]
    pub device: Vec<String>,
    /// Optional parent cgroup for the container
    #[arg(long = "cgroup-parent", value_name = "PATH")]
    pub cgroup_parent: Option<String>,
    /// Memory limit (e.g. 512m, 1g)
    #[arg(short = 'm', long, value_name = "BYTES")]
    pub memory: Option<String>,
    /// Swap limit equal to memory plus swap: -1 to enable unlimited swap
    #[arg(long = "memory-swap", value_name = "BYTES")]
    pub memory_swap: Option<String>,
    /// Memory soft limit
    #[arg(long = "memory-reservation", value_name = "BYTES")]
    pub memory_reservation: Option<String>,
    /// Disable OOM Killer
    #[arg(long = "oom-kill-disable")]
    pub oom_kill_disable: bool,
    /// Number of CPUs
    #[arg(long, value_name = "DECIMAL")]
    pub cpus: Option<String>,
    /// CPU shares (relative weight)
    #[arg(short = 'c', long = "cpu-shares", value_name = "INT")]
    pub cpu_shares: Option<u64>,
    /// CPUs in which to allow execution (0-3, 0,1)
    #[arg(long = "cpuset-cpus", value_name = "LIST")]
    pub cpuset_cpus: Option<String>,
    /// Tune container pids limit (-1 for unlimited)
    #[arg(long = "pids-limit", value_name = "INT", allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// Block IO (relative weight), between 10 and 1000
    #[arg(long = "blkio-weight", value_name = "UINT16")]
    pub blkio_weight: Option<u16>,
    /// Limit read rate (bytes per second) from a device (PATH:RATE)
    #[arg(long = "device-read-bps", value_name = "PATH:RATE")]
    pub device_read_bps: Vec<String>,
    /// Limit write rate (bytes per second) to a device (PATH:RATE)
    #[arg(long = "device-write-bps", value_name = "PATH:RATE")]
    pub device_write_bps: Vec<String>,
    /// Limit read rate (IO per second) from a device (PATH:RATE)
    #[arg(long = "device-read-iops", value_name = "PATH:RATE")]
    pub device_read_iops: Vec<String>,
    /// Limit write rate (IO per second) to a device (PATH:RATE)
    #[arg(long = "device-write-iops", value_name = "PATH:RATE")]
    pub device_write_iops: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid argument \"{value}\" for \"{flag}\" flag: {reason}")]
pub struct FlagError {
    pub flag: &'static str,
    pub value: String,
    pub reason: String,
}

fn bad(flag: &'static str, value: &str, reason: impl Into<String>) -> FlagError {
    FlagError {
        flag,
        value: value.to_string(),
        reason: reason.into(),
    }
}

/// docker's RAMInBytes: "512", "512k", "1.5g", "32MiB", "64mb".
pub fn parse_size(flag: &'static str, value: &str) -> Result<i64, FlagError> {
    let s = value.trim();
    let digits_end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(digits_end);
    let n: f64 = num.parse().map_err(|_| bad(flag, value, "invalid size"))?;
    let unit = unit.trim_start().to_ascii_lowercase();
    let unit = unit.strip_suffix('b').unwrap_or(&unit);
    let unit = unit.strip_suffix('i').unwrap_or(unit);
    let mult: f64 = match unit {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024.0 * 1024.0,
        "g" => 1024.0 * 1024.0 * 1024.0,
        "t" => 1024f64.powi(4),
        "p" => 1024f64.powi(5),
        _ => return Err(bad(flag, value, format!("invalid size: '{value}'"))),
    };
    Ok((n * mult) as i64)
}

fn parse_rates(
    flag: &'static str,
    values: &[String],
    size_units: bool,
) -> Result<Vec<String>, FlagError> {
    values
        .iter()
        .map(|v| {
            let (path, rate) = v
                .rsplit_once(':')
                .ok_or_else(|| bad(flag, v, "expected PATH:RATE"))?;
            if !path.starts_with("/dev/") {
                return Err(bad(flag, v, "the device path must start with /dev/"));
            }
            let rate = if size_units {
                parse_size(flag, rate)?
            } else {
                rate.parse::<i64>()
                    .map_err(|_| bad(flag, v, "the rate must be a whole number"))?
            };
            if rate < 0 {
                return Err(bad(flag, v, "the rate must not be negative"));
            }
            Ok(format!("{path}:{rate}"))
        })
        .collect()
}

fn ns_mode(flag: &'static str, value: &Option<String>) -> Result<String, FlagError> {
    match value.as_deref() {
        None | Some("") | Some("private") => Ok(String::new()),
        Some("host") => Ok("host".into()),
        Some(v) if v.starts_with("container:") => Ok(v.into()),
        Some(v) => Err(bad(
            flag,
            v,
            "expected \"host\", \"private\" or \"container:NAME\"",
        )),
    }
}

impl IsolationArgs {
    /// Check every flag and fill the record's host config. Device paths and signal names are
    /// checked later, against the runtime, when the container is started.
    pub fn to_host_config(&self, host: &mut HostConfig) -> Result<(), FlagError> {
        host.network = match self.network.as_deref() {
            None | Some("") | Some("default") | Some("bridge") | Some("private") => {
                "private".into()
            }
            Some("none") => "none".into(),
            Some("host") => "host".into(),
            Some(v) => {
                return Err(bad(
                    "--network",
                    v,
                    "known networks are \"private\" (the default), \"none\" and \"host\"",
                ))
            }
        };
        host.pid = ns_mode("--pid", &self.pid)?;
        host.ipc = ns_mode("--ipc", &self.ipc)?;
        host.uts = ns_mode("--uts", &self.uts)?;
        host.userns = self.userns.clone().unwrap_or_default();
        host.read_only = self.read_only;
        host.privileged = self.privileged;
        host.cap_add = self.cap_add.clone();
        host.cap_drop = self.cap_drop.clone();
        host.security_opt = self.security_opt.clone();
        host.ulimits = self.ulimit.clone();
        host.devices = self.device.clone();
        host.cgroup_parent = self.cgroup_parent.clone().unwrap_or_default();
        let mut r = Resources::default();
        if let Some(m) = &self.memory {
            r.memory = parse_size("--memory", m)?;
            if r.memory < 6 * 1024 * 1024 {
                return Err(bad("--memory", m, "minimum memory limit allowed is 6MB"));
            }
        }
        if let Some(m) = &self.memory_swap {
            r.memory_swap = if m == "-1" {
                -1
            } else {
                parse_size("--memory-swap", m)?
            };
            if r.memory == 0 {
                return Err(bad(
                    "--memory-swap",
                    m,
                    "you should always set the memory limit when using the memory swap limit",
                ));
            }
            if r.memory_swap > 0 && r.memory_swap < r.memory {
                return Err(bad(
                    "--memory-swap",
                    m,
                    "the memory swap limit must be larger than the memory limit",
                ));
            }
        }
        if let Some(m) = &self.memory_reservation {
            r.memory_reservation = parse_size("--memory-reservation", m)?;
        }
        r.oom_kill_disable = self.oom_kill_disable;
        if let Some(c) = &self.cpus {
            let n: f64 = c
                .parse()
                .map_err(|_| bad("--cpus", c, "expected a decimal number of CPUs"))?;
            let ncpu = std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1);
            if n.is_nan() || n <= 0.0 || n > ncpu as f64 {
                return Err(bad(
                    "--cpus",
                    c,
                    format!("range of CPUs is from 0.01 to {ncpu}.00, as there are only {ncpu} CPUs available"),
                ));
            }
            r.nano_cpus = (n * 1e9) as i64;
        }
        r.cpu_shares = self.cpu_shares.unwrap_or(0);
        r.cpuset_cpus = self.cpuset_cpus.clone().unwrap_or_default();
        r.pids_limit = self.pids_limit.unwrap_or(0);
        if let Some(w) = self.blkio_weight {
            if !(10..=1000).contains(&w) {
                return Err(bad(
                    "--blkio-weight",
                    &w.to_string(),
                    "range of blkio weight is from 10 to 1000",
                ));
            }
            r.blkio_weight = w;
        }
        r.device_read_bps = parse_rates("--device-read-bps", &self.device_read_bps, true)?;
        r.device_write_bps = parse_rates("--device-write-bps", &self.device_write_bps, true)?;
        r.device_read_iops = parse_rates("--device-read-iops", &self.device_read_iops, false)?;
        r.device_write_iops = parse_rates("--device-write-iops", &self.device_write_iops, false)?;
        host.resources = r;
        Ok(())
    }
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
        let e = parse_size("--memory", "12q").unwrap_err().to_string();
        assert!(e.contains("\"12q\"") && e.contains("--memory"), "{e}");
        assert!(parse_size("-m", "").is_err());
        assert!(parse_size("-m", "m").is_err());
    }

    #[test]
    fn cpus_beyond_the_machine_are_refused() {
        let args = IsolationArgs {
            cpus: Some("4096".into()),
            ..Default::default()
        };
        let e = args.to_host_config(&mut HostConfig::default()).unwrap_err();
        assert!(e.to_string().contains("range of CPUs"), "{e}");
    }
}
