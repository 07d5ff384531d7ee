//! `kiste oci features`: the JSON document runc prints for its callers (containerd and
//! CRI-O read it to learn what a runtime can do), built from what kiste's runtime
//! accepts here and now: the capabilities this host can give (`runtime::all_capabilities`),
//! the seccomp actions, operators and architectures kiste's own BPF compiler takes
//! (each name probed by compiling a one-rule profile), the namespaces the runtime makes,
//! the cgroup layouts it writes. Nothing is printed that kiste would then refuse.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::json;

use std::io::Write;

use crate::cli::oci::OCI_SPEC_VERSION;

use super::OciError;

/// The hook kinds `kiste oci` runs, in the spec's order of a container's life.
const HOOKS: [&str; 6] = [
    "prestart",
    "createRuntime",
    "createContainer",
    "startContainer",
    "poststart",
    "poststop",
];

/// Every name of libseccomp's vocabulary; [`seccomp`] keeps the ones kiste compiles.
const SECCOMP_ACTIONS: [&str; 10] = [
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_LOG",
    "SCMP_ACT_NOTIFY",
    "SCMP_ACT_TRACE",
    "SCMP_ACT_TRAP",
    "SCMP_ACT_TRACE_ALL",
];
const SECCOMP_OPERATORS: [&str; 7] = [
    "SCMP_CMP_EQ",
    "SCMP_CMP_GE",
    "SCMP_CMP_GT",
    "SCMP_CMP_LE",
    "SCMP_CMP_LT",
    "SCMP_CMP_MASKED_EQ",
    "SCMP_CMP_NE",
];
const SECCOMP_ARCHS: [&str; 17] = [
    "SCMP_ARCH_AARCH64",
    "SCMP_ARCH_ARM",
    "SCMP_ARCH_MIPS",
    "SCMP_ARCH_MIPS64",
    "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",
    "SCMP_ARCH_MIPSEL64",
    "SCMP_ARCH_MIPSEL64N32",
    "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",
    "SCMP_ARCH_PPC64LE",
    "SCMP_ARCH_RISCV64",
    "SCMP_ARCH_S390",
    "SCMP_ARCH_S390X",
    "SCMP_ARCH_X32",
    "SCMP_ARCH_X86",
    "SCMP_ARCH_X86_64",
];

/// The document, with its fields in the spec's order (as runc prints it).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Features {
    oci_version_min: &'static str,
    oci_version_max: &'static str,
    hooks: Vec<&'static str>,
    mount_options: Vec<&'static str>,
    linux: Linux,
    annotations: BTreeMap<&'static str, &'static str>,
}

#[derive(Debug, Serialize)]
pub struct Linux {
    namespaces: Vec<&'static str>,
    capabilities: Vec<String>,
    cgroup: Cgroup,
    seccomp: SeccompFeatures,
    apparmor: Enabled,
    selinux: Enabled,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cgroup {
    v1: bool,
    v2: bool,
    systemd: bool,
    systemd_user: bool,
}

#[derive(Debug, Serialize)]
pub struct SeccompFeatures {
    enabled: bool,
    actions: Vec<&'static str>,
    operators: Vec<&'static str>,
    archs: Vec<&'static str>,
}

#[derive(Debug, Serialize)]
pub struct Enabled {
    enabled: bool,
}

/// Whether kiste's seccomp compiler takes a profile.
fn compiles(profile: serde_json::Value) -> bool {
    crate::runtime::check_seccomp_profile(&profile.to_string()).is_ok()
}

/// The seccomp part: the names of each list that kiste's compiler accepts.
fn seccomp() -> SeccompFeatures {
    let actions = SECCOMP_ACTIONS
        .into_iter()
        .filter(|a| compiles(json!({ "defaultAction": a })))
        .collect();
    let operators = SECCOMP_OPERATORS
        .into_iter()
        .filter(|op| {
            compiles(json!({
                "defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{
                    "names": ["getpid"],
                    "action": "SCMP_ACT_ERRNO",
                    "args": [{ "index": 0, "value": 1, "valueTwo": 1, "op": op }],
                }],
            }))
        })
        .collect();
    // The filter is compiled for this machine's architecture only: a profile must list it,
    // and other architectures' calls get the default action.
    let archs = SECCOMP_ARCHS
        .into_iter()
        .filter(|a| compiles(json!({ "defaultAction": "SCMP_ACT_ALLOW", "architectures": [a] })))
        .collect();
    SeccompFeatures {
        enabled: true,
        actions,
        operators,
        archs,
    }
}

/// The whole document, as runc's `features` prints it.
pub fn document() -> Features {
    Features {
        oci_version_min: "1.0.0",
        oci_version_max: OCI_SPEC_VERSION,
        hooks: HOOKS.to_vec(),
        mount_options: super::mount_options::words(),
        linux: Linux {
            namespaces: {
                let mut v = vec!["cgroup", "ipc", "mount", "network", "pid", "user", "uts"];
                // A time namespace where the kernel has them (CONFIG_TIME_NS).
                if std::path::Path::new("/proc/self/ns/time").exists() {
                    v.push("time");
                }
                v
            },
            capabilities: crate::runtime::all_capabilities()
                .into_iter()
                .map(|c| format!("CAP_{c}"))
                .collect(),
            // kiste writes cgroupfs itself on v1 and v2; it asks systemd for nothing.
            cgroup: Cgroup {
                v1: true,
                v2: true,
                systemd: false,
                systemd_user: false,
            },
            seccomp: seccomp(),
            apparmor: Enabled { enabled: false },
            selinux: Enabled { enabled: false },
        },
        annotations: BTreeMap::from([("io.github.kiste.version", env!("CARGO_PKG_VERSION"))]),
    }
}

/// Prints the document, indented as runc prints it.
pub fn print() -> Result<i32, OciError> {
    let text = serde_json::to_string_pretty(&document()).map_err(|e| OciError::Invalid {
        what: "features".into(),
        reason: e.to_string(),
    })?;
    let _ = writeln!(std::io::stdout().lock(), "{text}");
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn strings(v: &Value) -> Vec<&str> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap())
            .collect()
    }

    fn doc() -> Value {
        serde_json::to_value(document()).unwrap()
    }

    #[test]
    fn seccomp_lists_what_the_compiler_takes_and_not_notify() {
        let d = doc();
        let s = &d["linux"]["seccomp"];
        let actions = strings(&s["actions"]);
        for a in ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL_PROCESS"] {
            assert!(actions.contains(&a), "{a} missing from {actions:?}");
        }
        assert!(!actions.contains(&"SCMP_ACT_NOTIFY"));
        assert_eq!(strings(&s["operators"]).len(), SECCOMP_OPERATORS.len());
        assert_eq!(strings(&s["archs"]), ["SCMP_ARCH_X86_64"]);
    }

    #[test]
    fn capabilities_are_the_hosts_with_the_cap_prefix() {
        let d = doc();
        let caps = strings(&d["linux"]["capabilities"]);
        assert_eq!(caps.len(), crate::runtime::all_capabilities().len());
        assert!(caps.contains(&"CAP_CHOWN"));
        assert!(caps.iter().all(|c| c.starts_with("CAP_")));
    }

    #[test]
    fn the_document_is_the_specs_features_type() {
        let typed: Result<oci_spec::runtime::Features, _> = serde_json::from_value(doc());
        assert!(typed.is_ok(), "{typed:?}");
    }

    #[test]
    fn hooks_and_versions_are_present() {
        let d = doc();
        assert_eq!(d["ociVersionMin"], "1.0.0");
        assert_eq!(d["ociVersionMax"], OCI_SPEC_VERSION);
        assert_eq!(strings(&d["hooks"]).len(), 6);
    }
}
