//! Security settings: capabilities to add or drop (checked against the `caps` crate's
//! list), no-new-privileges, and seccomp (docker's default profile, none, or a profile
//! read and fully checked at create, then stored parsed in the record).

use super::FlagError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A capability as `--cap-add`/`--cap-drop` name it: one capability, or "ALL".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Capability {
    All,
    One(caps::Capability),
}

impl Capability {
    /// "NET_ADMIN", "cap_net_admin", "ALL" (any case, with or without "CAP_").
    pub fn parse(flag: &'static str, value: &str) -> Result<Capability, FlagError> {
        let upper = value.to_ascii_uppercase();
        let bare = upper.strip_prefix("CAP_").unwrap_or(&upper);
        if bare == "ALL" {
            return Ok(Capability::All);
        }
        caps::Capability::from_str(&format!("CAP_{bare}"))
            .map(Capability::One)
            .map_err(|_| FlagError::new(flag, value, format!("unknown capability: \"CAP_{bare}\"")))
    }

    /// The name without "CAP_" ("CHOWN"), as the runtime takes it; "ALL" for all.
    pub fn bare_name(self) -> String {
        match self {
            Capability::All => "ALL".into(),
            Capability::One(c) => c.to_string().trim_start_matches("CAP_").to_string(),
        }
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Capability::All => f.write_str("ALL"),
            Capability::One(c) => c.fmt(f),
        }
    }
}

impl From<Capability> for String {
    fn from(c: Capability) -> String {
        c.to_string()
    }
}

impl TryFrom<String> for Capability {
    type Error = FlagError;
    fn try_from(s: String) -> Result<Capability, FlagError> {
        Capability::parse("--cap-add", &s)
    }
}

/// A docker-format seccomp profile that `runtime::check_seccomp_profile` accepted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SeccompProfile(serde_json::Value);

impl SeccompProfile {
    /// Parses and checks a profile's text (every action, operator and argument).
    pub fn from_json(text: &str) -> Result<SeccompProfile, String> {
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| format!("seccomp profile is not valid JSON: {e}"))?;
        crate::runtime::check_seccomp_profile(text).map_err(|e| e.to_string())?;
        Ok(SeccompProfile(value))
    }

    /// The profile as JSON text, for the runtime's compiler.
    pub fn to_json(&self) -> String {
        self.0.to_string()
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SeccompMode {
    /// docker's default allowlist.
    #[default]
    Default,
    Unconfined,
    Profile(SeccompProfile),
}

const KNOWN_OPTIONS: &str =
    "known options are no-new-privileges[=true|false] and seccomp=unconfined|PROFILE.json";

/// docker's default profile is 25 KiB; a "profile" far larger is not one (e.g. /dev/zero).
const MAX_PROFILE: u64 = 4 << 20;

fn read_profile(path: &str) -> Result<String, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| e.to_string().to_lowercase())?;
    let mut text = String::new();
    file.take(MAX_PROFILE + 1)
        .read_to_string(&mut text)
        .map_err(|e| e.to_string().to_lowercase())?;
    if text.len() as u64 > MAX_PROFILE {
        return Err("larger than 4 MiB".into());
    }
    Ok(text)
}

/// `--security-opt` values kiste knows.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SecurityOptions {
    pub no_new_privileges: bool,
    pub seccomp: SeccompMode,
}

impl SecurityOptions {
    /// `no-new-privileges[=true|false]`, `seccomp=unconfined`, `seccomp=PROFILE.json`
    /// (docker's `:` separator is taken too).
    pub fn parse(flag: &'static str, opts: &[String]) -> Result<SecurityOptions, FlagError> {
        let mut out = SecurityOptions::default();
        for opt in opts {
            let bad = |reason: String| FlagError::new(flag, opt, reason);
            let (key, value) = match opt.split_once(['=', ':']) {
                Some((k, v)) => (k, Some(v)),
                None => (opt.as_str(), None),
            };
            match (key, value) {
                ("no-new-privileges", None | Some("true")) => out.no_new_privileges = true,
                ("no-new-privileges", Some("false")) => out.no_new_privileges = false,
                ("seccomp", Some("unconfined")) => out.seccomp = SeccompMode::Unconfined,
                ("seccomp", Some(path)) if !path.is_empty() => {
                    let text = read_profile(path)
                        .map_err(|e| bad(format!("cannot read seccomp profile {path}: {e}")))?;
                    let profile = SeccompProfile::from_json(&text).map_err(bad)?;
                    out.seccomp = SeccompMode::Profile(profile);
                }
                _ => return Err(bad(KNOWN_OPTIONS.into())),
            }
        }
        Ok(out)
    }

    /// docker's HostConfig.SecurityOpt strings (a profile is written out as its JSON).
    pub fn to_docker(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.no_new_privileges {
            out.push("no-new-privileges".to_string());
        }
        match &self.seccomp {
            SeccompMode::Default => {}
            SeccompMode::Unconfined => out.push("seccomp=unconfined".into()),
            SeccompMode::Profile(p) => out.push(format!("seccomp={}", p.to_json())),
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_are_names_the_caps_crate_knows() {
        let c = Capability::parse("--cap-add", "net_admin").unwrap();
        assert_eq!(c.to_string(), "CAP_NET_ADMIN");
        assert_eq!(c.bare_name(), "NET_ADMIN");
        assert_eq!(
            Capability::parse("--cap-drop", "all").unwrap(),
            Capability::All
        );
        let e = Capability::parse("--cap-add", "CAP_NOPE").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid argument \"CAP_NOPE\" for \"--cap-add\" flag: unknown capability: \"CAP_NOPE\""
        );
        let json = serde_json::to_string(&vec![c, Capability::All]).unwrap();
        assert_eq!(json, "[\"CAP_NET_ADMIN\",\"ALL\"]");
    }

    #[test]
    fn a_seccomp_profile_is_checked_beyond_its_syntax() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.json");
        std::fs::write(
            &good,
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["chmod"],"action":"SCMP_ACT_ERRNO"}]}"#,
        )
        .unwrap();
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, r#"{"defaultAction":"SCMP_ACT_MAYBE"}"#).unwrap();
        let opt = |p: &std::path::Path| vec![format!("seccomp={}", p.display())];
        let ok = SecurityOptions::parse("--security-opt", &opt(&good)).unwrap();
        assert!(matches!(ok.seccomp, SeccompMode::Profile(_)));
        let e = SecurityOptions::parse("--security-opt", &opt(&bad)).unwrap_err();
        assert!(e.reason.contains("SCMP_ACT_MAYBE"), "{e}");
        let nnp = SecurityOptions::parse("--security-opt", &["no-new-privileges".into()]).unwrap();
        assert_eq!(nnp.to_docker(), ["no-new-privileges"]);
        assert!(SecurityOptions::parse("--security-opt", &["apparmor=x".into()]).is_err());
        let endless = SecurityOptions::parse("--security-opt", &["seccomp=/dev/zero".into()]);
        assert!(endless.unwrap_err().reason.contains("larger than"));
    }
}
