//! The container record: config (fixed at create time, docker's field names where docker
//! has one) and status (changed by start/stop and by the monitor).

use crate::config::{
    legacy_serde, Capability, DeviceMapping, NamespaceMode, NetworkMode, Resources,
    SecurityOptions, StopTimeout, Ulimit, UsernsMode,
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Created,
    Running,
    Exited,
}

pub use crate::config::PortMapping;

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
    /// How long `stop` waits before SIGKILL, when set with --stop-timeout (docker's
    /// integer in the record: -1 waits for ever).
    pub stop_timeout: Option<StopTimeout>,
    /// `run -d`: created with nothing attached (docker's Config.AttachStdout/Stderr are
    /// false, and AttachStdin/StdinOnce even with -i). Records without it were attached.
    #[serde(default)]
    pub detached: bool,
    #[serde(default)]
    pub host: HostConfig,
    /// The command line that created it (podman's CreateCommand), for
    /// `generate systemd --new`.
    #[serde(default)]
    pub create_command: Vec<String>,
    /// The healthcheck (image's HEALTHCHECK and --health-* flags merged); None: none.
    #[serde(default)]
    pub healthcheck: Option<crate::config::HealthConfig>,
    /// docker's Config.ExposedPorts ("80/tcp"): the image's and `--expose`'s.
    #[serde(default)]
    pub exposed_ports: std::collections::BTreeSet<String>,
}

/// The host-side settings (docker's HostConfig), typed and checked when the container
/// was created (see `config`). Fields that older records kept as flag strings are read
/// through `config::legacy_serde`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct HostConfig {
    /// `--volume-driver` (docker's HostConfig.VolumeDriver; only "local" makes volumes).
    #[serde(default)]
    pub volume_driver: String,
    pub ports: Vec<PortMapping>,
    pub network: NetworkMode,
    /// `--add-host`
    #[serde(default)]
    pub extra_hosts: Vec<crate::config::ExtraHost>,
    /// `--dns`
    #[serde(default)]
    pub dns: Vec<std::net::IpAddr>,
    /// `--dns-search`, `--dns-option`
    #[serde(default)]
    pub dns_search: Vec<String>,
    #[serde(default)]
    pub dns_options: Vec<String>,
    /// The kiste networks of a bridged container, the first one its primary (none in
    /// older records: the default network).
    #[serde(default)]
    pub endpoints: Vec<crate::config::Endpoint>,
    #[serde(default)]
    pub pid: NamespaceMode,
    #[serde(default)]
    pub ipc: NamespaceMode,
    #[serde(default)]
    pub uts: NamespaceMode,
    pub auto_remove: bool,
    /// `--use-api-socket`: each start serves the Docker Engine API at /var/run/docker.sock.
    #[serde(default)]
    pub api_socket: bool,
    /// `-i`: the container's stdin is kept open (docker's Config.OpenStdin).
    pub interactive: bool,
    /// `-t`, `-a`, `--detach-keys`.
    #[serde(default)]
    pub terminal: crate::config::Terminal,
    /// `--log-driver`, `--log-opt`.
    #[serde(default)]
    pub log: crate::config::LogConfig,
    pub read_only: bool,
    pub privileged: bool,
    #[serde(default)]
    pub cap_add: Vec<Capability>,
    #[serde(default)]
    pub cap_drop: Vec<Capability>,
    #[serde(
        default,
        alias = "security_opt",
        deserialize_with = "legacy_serde::security"
    )]
    pub security: SecurityOptions,
    #[serde(default, deserialize_with = "legacy_serde::ulimits")]
    pub ulimits: Vec<Ulimit>,
    #[serde(default, deserialize_with = "legacy_serde::devices")]
    pub devices: Vec<DeviceMapping>,
    #[serde(default)]
    pub cgroup_parent: String,
    #[serde(default)]
    pub resources: Resources,
    #[serde(default, deserialize_with = "legacy_serde::userns")]
    pub userns: UsernsMode,
    /// `-v`, `--mount`, `--tmpfs`, the image's VOLUMEs and `--volumes-from`, resolved.
    #[serde(default)]
    pub mounts: Vec<crate::config::MountConfig>,
    /// `--volumes-from` as given (docker's HostConfig.VolumesFrom).
    #[serde(default)]
    pub volumes_from: Vec<String>,
    /// `--restart`, carried out by the container's monitor.
    #[serde(default)]
    pub restart: crate::config::RestartPolicy,
    /// `--init`: kiste is PID 1 in the container (reaps, forwards signals).
    #[serde(default)]
    pub init: bool,
    /// The id of the container whose network namespace this one joins (a pod's first
    /// container, see `commands::kube_play`); its own network mode is then `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_container: Option<String>,
    /// `--sysctl`, `--oom-score-adj`, `--domainname`, `--group-add`, `--cgroupns`,
    /// `--shm-size`, `--storage-opt`, `--runtime`.
    #[serde(default)]
    pub run_extra: crate::config::RunExtra,
}

impl HostConfig {
    /// The host uid and gid that container root maps to, with `--userns map=…`.
    pub fn userns_root(&self) -> Option<(u32, u32)> {
        self.userns.root().map(|id| (id, id))
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
    /// Frozen by `pause` (its cgroup's freezer) until `unpause`.
    #[serde(default)]
    pub paused: bool,
    /// Exited, and its monitor (still alive) starts it again after the backoff.
    #[serde(default)]
    pub restarting: bool,
    /// How often its monitor restarted it since the last `start` (docker's RestartCount).
    #[serde(default)]
    pub restart_count: u32,
    /// What the healthchecks found while it runs (None without a healthcheck).
    #[serde(default)]
    pub health: Option<super::HealthState>,
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
            paused: false,
            restarting: false,
            restart_count: 0,
            health: None,
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

    /// Exited, waiting for its monitor to start it again (docker's "restarting").
    pub fn is_restarting(&self) -> bool {
        self.state.restarting && self.state.status != Status::Running && self.monitor_alive()
    }

    /// Frozen by `pause` and still running.
    pub fn is_paused(&self) -> bool {
        self.state.paused && self.is_running()
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
pub(crate) fn alive(pid: i32, start: u64) -> bool {
    if pid <= 0 {
        return false;
    }
    let Ok(stat) = crate::process::read_proc(format!("/proc/{pid}/stat")) else {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{RlimitResource, SeccompMode};

    /// A record's host config as kiste wrote it before the configuration was typed.
    const OLD_HOST: &str = r#"{
        "ports": [{"host_ip": "0.0.0.0", "host_port": 8000, "container_port": 80, "protocol": "tcp"}],
        "network": "private", "pid": "", "ipc": "host", "uts": "",
        "auto_remove": false, "interactive": true, "read_only": false, "privileged": false,
        "cap_add": ["net_admin"], "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges", "seccomp=unconfined"],
        "ulimits": ["nofile=512:1024"],
        "devices": ["/dev/null:/dev/xnull:r"],
        "cgroup_parent": "",
        "resources": {"memory": 67108864, "memory_swap": 0, "memory_reservation": 0,
            "oom_kill_disable": false, "nano_cpus": 0, "cpu_shares": 0, "cpuset_cpus": "",
            "pids_limit": 0, "blkio_weight": 0, "device_read_bps": [], "device_write_bps": [],
            "device_read_iops": [], "device_write_iops": []},
        "userns": "map=0:100000:65536"
    }"#;

    #[test]
    fn records_written_before_typed_config_read_as_typed() {
        let host: HostConfig = serde_json::from_str(OLD_HOST).unwrap();
        assert!(host.network.is_private());
        assert!(host.ipc.is_host());
        assert_eq!(host.cap_add[0].bare_name(), "NET_ADMIN");
        assert!(host.security.no_new_privileges);
        assert_eq!(host.security.seccomp, SeccompMode::Unconfined);
        assert_eq!(host.ulimits[0].name, RlimitResource::Nofile);
        assert_eq!((host.devices[0].major, host.devices[0].minor), (1, 3));
        assert_eq!(host.userns_root(), Some((100000, 100000)));
        // Saved again, it is written in the typed form and reads back the same.
        let again: HostConfig =
            serde_json::from_str(&serde_json::to_string(&host).unwrap()).unwrap();
        assert_eq!(again, host);
    }

    #[test]
    fn an_unreadable_old_setting_is_an_error_not_a_default() {
        let bad = OLD_HOST.replace("nofile=512:1024", "bogus=1");
        let e = serde_json::from_str::<HostConfig>(&bad).unwrap_err();
        assert!(e.to_string().contains("invalid ulimit type: bogus"), "{e}");
    }
}
