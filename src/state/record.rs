//! The container record: config (fixed at create time, docker's field names where docker
//! has one) and status (changed by start/stop and by the monitor).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Created,
    Running,
    Exited,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PortMapping {
    /// Host address to listen on; "0.0.0.0" for all IPv4 addresses.
    pub host_ip: String,
    pub host_port: u16,
    pub container_port: u16,
    /// "tcp" or "udp"
    pub protocol: String,
}

impl PortMapping {
    /// docker ps form: "0.0.0.0:8000->80/tcp"
    pub fn display(&self) -> String {
        format!(
            "{}:{}->{}/{}",
            self.host_ip, self.host_port, self.container_port, self.protocol
        )
    }
}

/// How a container was asked to run: everything `start` needs to run it again.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ContainerConfig {
    /// The image as the user named it.
    pub image: String,
    /// The image's id (sha256:…) at create time.
    pub image_id: String,
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    pub working_dir: String,
    pub user: String,
    pub hostname: String,
    #[serde(default)]
    pub labels: std::collections::BTreeMap<String, String>,
    /// Signal name or number sent by `stop` (docker's StopSignal); empty = SIGTERM.
    pub stop_signal: String,
    /// Seconds `stop` waits before SIGKILL, when set with --stop-timeout.
    pub stop_timeout: Option<u64>,
    #[serde(default)]
    pub host: HostConfig,
}

/// The host-side settings (docker's HostConfig).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct HostConfig {
    pub ports: Vec<PortMapping>,
    /// "private" (own namespace: only lo, ports forwarded), "none", or "host".
    pub network: String,
    pub pid: String,
    pub ipc: String,
    pub uts: String,
    pub auto_remove: bool,
    pub interactive: bool,
    pub read_only: bool,
    pub privileged: bool,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub security_opt: Vec<String>,
    pub ulimits: Vec<String>,
    pub devices: Vec<String>,
    pub cgroup_parent: String,
    #[serde(default)]
    pub resources: Resources,
    #[serde(default)]
    pub userns: String,
}

/// Resource limits as docker records them (bytes, nano-CPUs, …); 0 / empty = unset.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Resources {
    pub memory: i64,
    pub memory_swap: i64,
    pub memory_reservation: i64,
    pub oom_kill_disable: bool,
    pub nano_cpus: i64,
    pub cpu_shares: u64,
    pub cpuset_cpus: String,
    pub pids_limit: i64,
    pub blkio_weight: u16,
    pub device_read_bps: Vec<String>,
    pub device_write_bps: Vec<String>,
    pub device_read_iops: Vec<String>,
    pub device_write_iops: Vec<String>,
}

impl HostConfig {
    /// The host uid and gid that container root maps to, with `--userns map=…`.
    pub fn userns_root(&self) -> Option<(u32, u32)> {
        let maps = self.userns.strip_prefix("map=")?;
        maps.split(',').find_map(|m| {
            let n: Vec<u32> = m.split(':').filter_map(|x| x.parse().ok()).collect();
            (n.len() == 3 && n[0] == 0).then_some((n[1], n[1]))
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ContainerStatus {
    pub status: Status,
    /// Pid of the container's first process (in the host's pid namespace) while running.
    pub pid: i32,
    /// Its start time (clock ticks since boot, /proc/PID/stat field 22): pid + start time
    /// identify the process even if the pid is reused.
    pub pid_start_time: u64,
    /// The monitor watching it (0 when none), and its start time (as for `pid`).
    pub monitor_pid: i32,
    #[serde(default)]
    pub monitor_start_time: u64,
    pub exit_code: i32,
    pub oom_killed: bool,
    /// RFC 3339 times; None before the first start / exit.
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    /// Why the last start failed, if it did.
    pub error: String,
    /// Set by `stop`/`kill` so a restart policy (later) knows the exit was asked for.
    #[serde(default)]
    pub stopped_by_user: bool,
    /// The host ports actually bound while running (a requested port 0 becomes the real one).
    #[serde(default)]
    pub ports: Vec<PortMapping>,
}

impl Default for ContainerStatus {
    fn default() -> Self {
        ContainerStatus {
            status: Status::Created,
            pid: 0,
            pid_start_time: 0,
            monitor_pid: 0,
            monitor_start_time: 0,
            exit_code: 0,
            oom_killed: false,
            started_at: None,
            finished_at: None,
            error: String::new(),
            stopped_by_user: false,
            ports: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ContainerRecord {
    pub id: String,
    pub name: String,
    /// RFC 3339
    pub created: String,
    pub config: ContainerConfig,
    pub state: ContainerStatus,
}

impl ContainerRecord {
    pub fn short_id(&self) -> &str {
        &self.id[..12.min(self.id.len())]
    }

    /// The command line the container runs: entrypoint followed by cmd.
    pub fn args(&self) -> Vec<String> {
        let mut v = self.config.entrypoint.clone();
        v.extend(self.config.cmd.iter().cloned());
        v
    }

    /// Whether it counts as running: recorded so, and either its process or its monitor
    /// (about to record the exit) is still alive. A container whose monitor is gone (it
    /// was killed, or the machine rebooted) is not running, whatever the record says:
    /// its processes died with the monitor, and the next command records the exit.
    pub fn is_running(&self) -> bool {
        self.state.status == Status::Running && self.monitor_alive()
    }

    /// Whether the container's own process is alive (its monitor aside).
    pub fn process_alive(&self) -> bool {
        alive(self.state.pid, self.state.pid_start_time)
    }

    /// Whether the monitor that supervises it is alive.
    pub fn monitor_alive(&self) -> bool {
        alive(self.state.monitor_pid, self.state.monitor_start_time)
    }
}

/// pid + start time still name a live process (a reused pid has another start time). A
/// zombie is dead: nobody may reap a monitor whose parent is gone (PID 1 in a container).
fn alive(pid: i32, start: u64) -> bool {
    if pid <= 0 {
        return false;
    }
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The command name (field 2) may hold spaces and ')': split after its last ')'.
    let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
        return false;
    };
    let mut fields = rest.split_whitespace();
    let state = fields.next();
    // Field 22 (start time) is the 20th after field 3 (state).
    let started = fields.nth(18).and_then(|f| f.parse::<u64>().ok());
    !matches!(state, Some("Z" | "X")) && started == Some(start)
}
