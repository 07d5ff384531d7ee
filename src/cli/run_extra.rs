//! The `run`/`create` flags that tune the container's process and namespaces (sysctls,
//! OOM score, domain name, extra groups, cgroup namespace, /dev/shm size, storage size,
//! runtime name) and `run --sig-proxy`. Flattened into `RunArgs`, so `run`, `create`,
//! `container run` and `container create` share one definition; `to_config` checks them
//! into the record's `RunExtra` with docker's messages.

use crate::config::{
    parse_oom_score_adj, parse_runtime, parse_shm_size, parse_storage_opts, parse_sysctl,
    CgroupnsMode, FlagError, RunExtra,
};
use clap::Args;

#[derive(Debug, Args, Default, Clone)]
pub struct RunExtraArgs {
    /// Sysctl options (net.* with the container's own network, kernel.msg*/sem/shm*/fs.mqueue.* with its own IPC namespace)
    #[arg(long = "sysctl", value_name = "KEY=VALUE")]
    pub sysctl: Vec<String>,
    /// Tune host's OOM preferences (-1000 to 1000)
    #[arg(long = "oom-score-adj", value_name = "INT", allow_hyphen_values = true)]
    pub oom_score_adj: Option<String>,
    /// Container NIS domain name
    #[arg(long, value_name = "STRING")]
    pub domainname: Option<String>,
    /// Add additional groups to join (a number, or a name of the container's /etc/group)
    #[arg(long = "group-add", value_name = "GROUP")]
    pub group_add: Vec<String>,
    /// Cgroup namespace to use (host|private); default: private on cgroup v2, host on v1 (as docker)
    #[arg(long, value_name = "MODE")]
    pub cgroupns: Option<String>,
    /// Size of /dev/shm (default 64m)
    #[arg(long = "shm-size", value_name = "BYTES", allow_hyphen_values = true)]
    pub shm_size: Option<String>,
    /// Storage driver options for the container (size=BYTES: needs the store on xfs mounted with pquota)
    #[arg(long = "storage-opt", value_name = "OPT")]
    pub storage_opt: Vec<String>,
    /// Runtime to use for this container ("runc" or "kiste": both are kiste's runtime)
    #[arg(long, value_name = "STRING")]
    pub runtime: Option<String>,
    /// Proxy received signals to the process (run only; default true, off with -t, as docker)
    #[arg(long = "sig-proxy", value_name = "BOOL", num_args = 0..=1,
        default_missing_value = "true", require_equals = true, action = clap::ArgAction::Set)]
    pub sig_proxy: Option<bool>,
}

impl RunExtraArgs {
    /// The flags checked; `cgroup_v2` picks docker's default cgroup namespace.
    pub fn to_config(&self, cgroup_v2: bool) -> Result<RunExtra, FlagError> {
        let mut sysctls = std::collections::BTreeMap::new();
        for s in &self.sysctl {
            let (k, v) = parse_sysctl(s)?;
            sysctls.insert(k, v);
        }
        let oom_score_adj = match &self.oom_score_adj {
            Some(v) => parse_oom_score_adj(v)?,
            None => 0,
        };
        let domainname = self.domainname.clone().unwrap_or_default();
        if domainname.len() > 64 || domainname.contains('\0') {
            return Err(FlagError::new(
                "--domainname",
                &domainname,
                "a domain name has at most 64 bytes",
            ));
        }
        for g in &self.group_add {
            if g.is_empty() || g.contains([':', '\n', '\0']) {
                return Err(FlagError::new(
                    "--group-add",
                    g,
                    "expected a group name or number",
                ));
            }
        }
        let storage = parse_storage_opts(&self.storage_opt)?;
        Ok(RunExtra {
            sysctls,
            oom_score_adj,
            domainname,
            group_add: self.group_add.clone(),
            cgroupns: CgroupnsMode::parse(self.cgroupns.as_deref().unwrap_or(""), cgroup_v2)?,
            shm_size: parse_shm_size(self.shm_size.as_deref())?,
            storage_opt: storage.given,
            storage_size: storage.size,
            runtime: parse_runtime(self.runtime.as_deref())?,
        })
    }

    /// `run`'s signal proxy: docker's default (on), and never with a terminal.
    pub fn sig_proxy(&self, tty: bool) -> bool {
        self.sig_proxy.unwrap_or(true) && !tty
    }
}
