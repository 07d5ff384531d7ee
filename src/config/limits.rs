//! Process rlimits (`--ulimit name=soft[:hard]`), typed by resource.

use super::FlagError;
use serde::{Deserialize, Serialize};

/// The rlimits docker's `--ulimit` names, by their docker names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RlimitResource {
    Core,
    Cpu,
    Data,
    Fsize,
    Locks,
    Memlock,
    Msgqueue,
    Nice,
    Nofile,
    Nproc,
    Rss,
    Rtprio,
    Rttime,
    Sigpending,
    Stack,
    As,
}

const TABLE: &[(RlimitResource, &str, i32)] = &[
    (RlimitResource::Core, "core", libc::RLIMIT_CORE as i32),
    (RlimitResource::Cpu, "cpu", libc::RLIMIT_CPU as i32),
    (RlimitResource::Data, "data", libc::RLIMIT_DATA as i32),
    (RlimitResource::Fsize, "fsize", libc::RLIMIT_FSIZE as i32),
    (RlimitResource::Locks, "locks", libc::RLIMIT_LOCKS as i32),
    (
        RlimitResource::Memlock,
        "memlock",
        libc::RLIMIT_MEMLOCK as i32,
    ),
    (
        RlimitResource::Msgqueue,
        "msgqueue",
        libc::RLIMIT_MSGQUEUE as i32,
    ),
    (RlimitResource::Nice, "nice", libc::RLIMIT_NICE as i32),
    (RlimitResource::Nofile, "nofile", libc::RLIMIT_NOFILE as i32),
    (RlimitResource::Nproc, "nproc", libc::RLIMIT_NPROC as i32),
    (RlimitResource::Rss, "rss", libc::RLIMIT_RSS as i32),
    (RlimitResource::Rtprio, "rtprio", libc::RLIMIT_RTPRIO as i32),
    (RlimitResource::Rttime, "rttime", libc::RLIMIT_RTTIME as i32),
    (
        RlimitResource::Sigpending,
        "sigpending",
        libc::RLIMIT_SIGPENDING as i32,
    ),
    (RlimitResource::Stack, "stack", libc::RLIMIT_STACK as i32),
    (RlimitResource::As, "as", libc::RLIMIT_AS as i32),
];

impl RlimitResource {
    fn entry(self) -> &'static (RlimitResource, &'static str, i32) {
        TABLE
            .iter()
            .find(|e| e.0 == self)
            .expect("every resource is in the table")
    }

    pub fn name(self) -> &'static str {
        self.entry().1
    }

    /// The resource number setrlimit(2) takes.
    pub fn number(self) -> i32 {
        self.entry().2
    }
}

/// One rlimit; `u64::MAX` (RLIM_INFINITY) is unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ulimit {
    pub name: RlimitResource,
    pub soft: u64,
    pub hard: u64,
}

impl Ulimit {
    /// `name=soft[:hard]`; "-1" or "unlimited" for no limit.
    pub fn parse(flag: &'static str, spec: &str) -> Result<Ulimit, FlagError> {
        let bad = |reason: String| FlagError::new(flag, spec, reason);
        let (name, values) = spec
            .split_once('=')
            .ok_or_else(|| bad("expected NAME=SOFT[:HARD]".into()))?;
        let (resource, ..) = TABLE
            .iter()
            .find(|e| e.1 == name)
            .ok_or_else(|| bad(format!("invalid ulimit type: {name}")))?;
        let num = |v: &str| -> Result<u64, FlagError> {
            match v {
                "-1" | "unlimited" => Ok(libc::RLIM_INFINITY),
                _ => v
                    .parse()
                    .map_err(|_| bad(format!("invalid ulimit value: {v}"))),
            }
        };
        let (soft, hard) = match values.split_once(':') {
            Some((s, h)) => (num(s)?, num(h)?),
            None => (num(values)?, num(values)?),
        };
        if soft > hard {
            return Err(bad(format!(
                "ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}"
            )));
        }
        Ok(Ulimit {
            name: *resource,
            soft,
            hard,
        })
    }

    /// docker's number for a limit: -1 when unlimited.
    pub fn docker_value(v: u64) -> i64 {
        i64::try_from(v).unwrap_or(-1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulimits_parse_like_docker() {
        let u = Ulimit::parse("--ulimit", "nofile=512:1024").unwrap();
        assert_eq!(
            (u.name, u.soft, u.hard),
            (RlimitResource::Nofile, 512, 1024)
        );
        assert_eq!(u.name.number(), libc::RLIMIT_NOFILE as i32);
        let one = Ulimit::parse("--ulimit", "core=-1").unwrap();
        assert_eq!(Ulimit::docker_value(one.soft), -1);
        assert_eq!(
            Ulimit::parse("--ulimit", "bogus=1")
                .unwrap_err()
                .to_string(),
            "invalid argument \"bogus=1\" for \"--ulimit\" flag: invalid ulimit type: bogus"
        );
        assert!(Ulimit::parse("--ulimit", "nofile=2:1").is_err());
        assert!(Ulimit::parse("--ulimit", "nofile=x").is_err());
        assert_eq!(
            serde_json::to_string(&u).unwrap(),
            r#"{"name":"nofile","soft":512,"hard":1024}"#
        );
    }
}
