//! The container settings of `run`/`create` that tune its process and namespaces beyond
//! the isolation flags: kernel parameters (`--sysctl`), the OOM score (`--oom-score-adj`),
//! the NIS domain name, extra groups, the cgroup namespace, /dev/shm's size, the writable
//! layer's size (`--storage-opt size=`) and the runtime's name. Each parser refuses what
//! docker refuses, with docker's reason; `check_namespaces` refuses the sysctls a shared
//! namespace cannot take (runc's rule), before anything is created.

use super::{parse_size, FlagError, NamespaceMode, NetworkMode};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// docker's default /dev/shm size (64 MiB).
pub const DEFAULT_SHM_SIZE: u64 = 64 << 20;

/// docker's message for a storage option on a filesystem without project quotas.
pub const STORAGE_OPT_UNSUPPORTED: &str =
    "--storage-opt is supported only for overlay over xfs with 'pquota' mount option";

/// `--cgroupns`: the container's own cgroup namespace, or the host's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CgroupnsMode {
    /// Records from before the flag: kiste always gave a private namespace.
    #[default]
    Private,
    Host,
}

impl CgroupnsMode {
    /// "host" or "private"; empty takes docker 28's default for this host's cgroups
    /// (`v2`): private on cgroup v2, host on v1.
    pub fn parse(value: &str, v2: bool) -> Result<CgroupnsMode, FlagError> {
        match value {
            "" if v2 => Ok(CgroupnsMode::Private),
            "" => Ok(CgroupnsMode::Host),
            "private" => Ok(CgroupnsMode::Private),
            "host" => Ok(CgroupnsMode::Host),
            _ => Err(FlagError::new(
                "--cgroupns",
                value,
                "invalid CGROUP mode (expected \"host\" or \"private\")",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CgroupnsMode::Private => "private",
            CgroupnsMode::Host => "host",
        }
    }
}

/// The runtime names `--runtime` takes: docker's default name and kiste's own; both
/// are kiste's one runtime.
pub const RUNTIMES: [&str; 2] = ["runc", "kiste"];

/// The settings, as the record keeps them (docker shows them in HostConfig and Config).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunExtra {
    /// `--sysctl`: key (dotted) → value.
    #[serde(default)]
    pub sysctls: BTreeMap<String, String>,
    /// `--oom-score-adj` (-1000..=1000; 0 leaves the inherited score).
    #[serde(default)]
    pub oom_score_adj: i32,
    /// `--domainname` (docker's Config.Domainname).
    #[serde(default)]
    pub domainname: String,
    /// `--group-add`: numbers, or names looked up in the container's /etc/group at start.
    #[serde(default)]
    pub group_add: Vec<String>,
    #[serde(default)]
    pub cgroupns: CgroupnsMode,
    /// /dev/shm's size in bytes (0 in older records: docker's 64 MiB).
    #[serde(default)]
    pub shm_size: u64,
    /// `--storage-opt` as given (docker's HostConfig.StorageOpt).
    #[serde(default)]
    pub storage_opt: BTreeMap<String, String>,
    /// Its `size` in bytes (docker's overlay2 takes no other option).
    #[serde(default)]
    pub storage_size: Option<u64>,
    /// `--runtime` as given ("runc" by default, as docker shows it).
    #[serde(default)]
    pub runtime: String,
}

impl Default for RunExtra {
    fn default() -> RunExtra {
        RunExtra {
            sysctls: BTreeMap::new(),
            oom_score_adj: 0,
            domainname: String::new(),
            group_add: Vec::new(),
            cgroupns: CgroupnsMode::Private,
            shm_size: DEFAULT_SHM_SIZE,
            storage_opt: BTreeMap::new(),
            storage_size: None,
            runtime: "runc".into(),
        }
    }
}

/// The kernel parameters a container may set, as docker's CLI allows them: those of
/// the IPC namespace (SysV IPC and POSIX message queues) and the network namespace.
fn sysctl_namespace(key: &str) -> Option<&'static str> {
    const IPC: [&str; 8] = [
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    if IPC.contains(&key) || key.starts_with("fs.mqueue.") {
        Some("ipc")
    } else if key.starts_with("net.") {
        Some("net")
    } else {
        None
    }
}

/// One `--sysctl KEY=VALUE`.
pub fn parse_sysctl(value: &str) -> Result<(String, String), FlagError> {
    let refused = || {
        FlagError::new(
            "--sysctl",
            value,
            format!("sysctl '{value}' is not allowed"),
        )
    };
    let (key, val) = value.split_once('=').ok_or_else(refused)?;
    // A key names a file under /proc/sys: no empty or dot-only components.
    let sane = !key.is_empty()
        && key
            .split(['.', '/'])
            .all(|c| !c.is_empty() && c != ".." && c != ".");
    if !sane || sysctl_namespace(key).is_none() {
        return Err(refused());
    }
    Ok((key.to_string(), val.to_string()))
}

/// `--oom-score-adj`: an int in docker's range.
pub fn parse_oom_score_adj(value: &str) -> Result<i32, FlagError> {
    let n: i64 = super::parse_int("--oom-score-adj", value)?;
    if !(-1000..=1000).contains(&n) {
        return Err(FlagError::new(
            "--oom-score-adj",
            value,
            format!("Invalid value {n}, range for oom score adj is [-1000, 1000]"),
        ));
    }
    Ok(n as i32)
}

/// `--shm-size`: a size; 0 (or none) is docker's 64 MiB.
pub fn parse_shm_size(value: Option<&str>) -> Result<u64, FlagError> {
    match value {
        None => Ok(DEFAULT_SHM_SIZE),
        Some(v) => match parse_size("--shm-size", v)? {
            0 => Ok(DEFAULT_SHM_SIZE),
            n => Ok(n as u64),
        },
    }
}

/// `--storage-opt KEY=VALUE…`: docker's overlay2 takes `size` only. The filesystem
/// check (xfs with project quotas) is the caller's, where the store is known.
pub fn parse_storage_opts(values: &[String]) -> Result<StorageOpts, FlagError> {
    let mut opts = StorageOpts::default();
    for v in values {
        let Some((key, val)) = v.split_once('=') else {
            return Err(FlagError::new("--storage-opt", v, "invalid storage option"));
        };
        if !key.eq_ignore_ascii_case("size") {
            return Err(FlagError::new(
                "--storage-opt",
                v,
                format!("Unknown option {key}"),
            ));
        }
        opts.size = Some(parse_size("--storage-opt", val)? as u64);
        opts.given.insert(key.to_string(), val.to_string());
    }
    Ok(opts)
}

/// `--storage-opt`s as given, and the size they ask for.
#[derive(Debug, Default, PartialEq)]
pub struct StorageOpts {
    pub given: BTreeMap<String, String>,
    pub size: Option<u64>,
}

/// `--runtime`: kiste's runtime under docker's default name or its own; any other name
/// is refused as docker's daemon refuses a runtime it does not have.
pub fn parse_runtime(value: Option<&str>) -> Result<String, FlagError> {
    match value {
        None | Some("") => Ok("runc".into()),
        Some(v) if RUNTIMES.contains(&v) => Ok(v.to_string()),
        Some(v) => Err(FlagError::new(
            "--runtime",
            v,
            format!("unknown or invalid runtime name: {v}"),
        )),
    }
}

impl RunExtra {
    /// runc's rules: a network sysctl needs the container's own network namespace, an
    /// IPC one its own IPC namespace; a domain name needs its own UTS namespace.
    pub fn check_namespaces(
        &self,
        network: NetworkMode,
        ipc: &NamespaceMode,
        uts: &NamespaceMode,
    ) -> Result<(), FlagError> {
        for (key, val) in &self.sysctls {
            let given = format!("{key}={val}");
            match sysctl_namespace(key) {
                Some("net") if network == NetworkMode::Host => {
                    return Err(FlagError::new(
                        "--sysctl",
                        &given,
                        format!("sysctl \"{key}\" not allowed in host network namespace"),
                    ))
                }
                Some("ipc") if ipc.is_host() => {
                    return Err(FlagError::new(
                        "--sysctl",
                        &given,
                        format!("sysctl \"{key}\" is not allowed in the hosts ipc namespace"),
                    ))
                }
                _ => {}
            }
        }
        if !self.domainname.is_empty() && *uts != NamespaceMode::Private {
            return Err(FlagError::new(
                "--domainname",
                &self.domainname,
                "sysctl \"kernel.domainname\" is not in a separate kernel namespace",
            ));
        }
        Ok(())
    }

    /// Whether the container's start needs more than kiste's defaults (the runtime's
    /// tuning step), so that a plain `run` does no extra work.
    pub fn needs_tuning(&self) -> bool {
        !self.sysctls.is_empty()
            || self.oom_score_adj != 0
            || !self.domainname.is_empty()
            || !self.group_add.is_empty()
            || (self.shm_size != 0 && self.shm_size != DEFAULT_SHM_SIZE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_namespaced_sysctls_are_allowed_as_in_docker() {
        assert_eq!(
            parse_sysctl("net.ipv4.ip_forward=1").unwrap(),
            ("net.ipv4.ip_forward".into(), "1".into())
        );
        assert!(parse_sysctl("kernel.shmmax=1000").is_ok());
        assert!(parse_sysctl("fs.mqueue.msg_max=20").is_ok());
        for bad in [
            "kernel.hostname=x",
            "foo.bar=1",
            "novalue",
            "net..x=1",
            "net./x=1",
        ] {
            let e = parse_sysctl(bad).unwrap_err().to_string();
            assert!(
                e.contains("is not allowed") && e.contains("--sysctl"),
                "{e}"
            );
        }
    }

    #[test]
    fn shared_namespaces_refuse_their_sysctls() {
        let mut x = RunExtra::default();
        x.sysctls.insert("net.ipv4.ip_forward".into(), "1".into());
        let p = NamespaceMode::Private;
        let e = x
            .check_namespaces(NetworkMode::Host, &p, &p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not allowed in host network namespace"), "{e}");
        assert!(x.check_namespaces(NetworkMode::None, &p, &p).is_ok());
        let mut y = RunExtra::default();
        y.sysctls.insert("kernel.sem".into(), "1 2 3 4".into());
        let e = y
            .check_namespaces(NetworkMode::Host, &NamespaceMode::Host, &p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("hosts ipc namespace"), "{e}");
        let z = RunExtra {
            domainname: "example.org".into(),
            ..RunExtra::default()
        };
        assert!(z
            .check_namespaces(NetworkMode::Private, &p, &NamespaceMode::Host)
            .is_err());
    }

    #[test]
    fn values_are_checked_like_docker() {
        assert_eq!(parse_oom_score_adj("-1000").unwrap(), -1000);
        assert!(parse_oom_score_adj("1001")
            .unwrap_err()
            .to_string()
            .contains("range for oom score adj is [-1000, 1000]"));
        assert!(parse_oom_score_adj("abc")
            .unwrap_err()
            .to_string()
            .contains("invalid syntax"));
        assert_eq!(parse_shm_size(None).unwrap(), 64 << 20);
        assert_eq!(parse_shm_size(Some("0")).unwrap(), 64 << 20);
        assert_eq!(parse_shm_size(Some("128m")).unwrap(), 128 << 20);
        assert!(parse_shm_size(Some("-1")).is_err());
        assert_eq!(
            parse_storage_opts(&["size=10m".into()]).unwrap().size,
            Some(10 << 20)
        );
        assert!(parse_storage_opts(&["foo".into()])
            .unwrap_err()
            .to_string()
            .contains("invalid storage option"));
        assert!(parse_storage_opts(&["foo=1".into()])
            .unwrap_err()
            .to_string()
            .contains("Unknown option foo"));
        assert_eq!(parse_runtime(Some("kiste")).unwrap(), "kiste");
        assert_eq!(parse_runtime(None).unwrap(), "runc");
        assert!(parse_runtime(Some("crun"))
            .unwrap_err()
            .to_string()
            .ends_with("unknown or invalid runtime name: crun"));
        assert_eq!(CgroupnsMode::parse("", false).unwrap(), CgroupnsMode::Host);
        assert_eq!(
            CgroupnsMode::parse("", true).unwrap(),
            CgroupnsMode::Private
        );
        assert!(CgroupnsMode::parse("foo", true).is_err());
    }
}
