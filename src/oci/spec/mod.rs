//! The OCI runtime spec's config.json as kiste reads it: serde types for exactly the
//! fields `kiste oci` applies or warns about, nothing else. Unknown fields are ignored
//! (a newer spec's additions, other platforms' sections); the values kiste depends on
//! are checked where they are parsed (a capability name, a namespace or device type, an
//! rlimit name), so nothing below sees a raw string that still needs checking. The
//! seccomp object is kept as JSON: kiste's compiler reads it (docker's format, which
//! the spec's follows) and refuses what it cannot apply.
//!
//! Why not the `oci-spec` crate (issue 15: "use oci-spec unless you measure a reason not
//! to")? It brings builders, getters and every platform's types, and the `regex` crates
//! it compiles for one field kiste never reads (process.execCPUAffinity). Measured
//! (2026-12-03, static release build, callgrind): the binary 9,995,096 -> 8,549,144 bytes
//! with these types; instructions of `kiste version` 1.163 -> 1.055 M, of the `kiste oci
//! run` parent 1.386 -> 1.258 M, of the `run --rm` parent 3.455 -> 3.340 M (fewer
//! relocations at start, no oci-spec builders). The crate stays a dev-dependency: the
//! tests parse the same documents with both and compare.
//!
//! Not done here: validation of what the runtime checks itself (paths inside the rootfs:
//! `bundle`; mount options: `mount_options`; resources: `resources`).

mod linux;
mod process;
mod resources;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use linux::{IdMapping, Linux, LinuxDevice, Namespace, NamespaceType, TimeOffset};
pub use process::{capability_name, Capabilities, ConsoleSize, Process, Rlimit, User};
pub use resources::{
    BlockIo, Cpu, DeviceCgroup, DeviceType, HugepageLimit, Memory, Pids, Resources, ThrottleDevice,
    WeightDevice,
};

/// A bundle's config.json. Lists are `Option`s: Go clients write `null` for an empty
/// one.  `linux` is required, as runc requires it: kiste starts Linux
/// containers only, and a missing section would leave the mount namespace undecided.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Spec {
    #[serde(default)]
    pub oci_version: String,
    #[serde(default)]
    pub root: Option<Root>,
    #[serde(default)]
    pub mounts: Option<Vec<Mount>>,
    #[serde(default)]
    pub process: Option<Process>,
    #[serde(default)]
    pub hostname: Option<String>,
    #[serde(default)]
    pub domainname: Option<String>,
    #[serde(default)]
    pub hooks: Option<Hooks>,
    #[serde(default)]
    pub annotations: Option<BTreeMap<String, String>>,
    pub linux: Linux,
}

impl Spec {
    /// Reads and parses `path`; the error is serde's (line and column) or the read's.
    pub fn load(path: &std::path::Path) -> Result<Spec, String> {
        let data = std::fs::read(path).map_err(|e| e.to_string())?;
        serde_json::from_slice(&data).map_err(|e| e.to_string())
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Root {
    #[serde(default)]
    pub path: PathBuf,
    #[serde(default)]
    pub readonly: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Mount {
    pub destination: PathBuf,
    #[serde(default, rename = "type")]
    pub typ: Option<String>,
    #[serde(default)]
    pub source: Option<PathBuf>,
    #[serde(default)]
    pub options: Option<Vec<String>>,
}

/// The hooks; serialized too, because the state record keeps them for poststart and
/// poststop.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Hooks {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prestart: Option<Vec<Hook>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_runtime: Option<Vec<Hook>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_container: Option<Vec<Hook>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_container: Option<Vec<Hook>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poststart: Option<Vec<Hook>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poststop: Option<Vec<Hook>>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Hook {
    pub path: PathBuf,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime as theirs;
    use std::collections::BTreeSet;

    /// runc's `spec` output with every section kiste reads filled in, and fields of
    /// other platforms and newer specs that must be ignored.
    const CONFIG: &str = r#"{
        "ociVersion": "1.2.0",
        "process": {
            "terminal": true, "consoleSize": {"height": 24, "width": 80},
            "user": {"uid": 1000, "gid": 100, "umask": 18, "additionalGids": [5, 6]},
            "args": ["sh", "-c", "true"], "env": ["PATH=/bin", "TERM=xterm"], "cwd": "/work",
            "capabilities": {"bounding": ["CAP_KILL", "chown"], "effective": ["CAP_KILL"],
                             "permitted": ["CAP_KILL"], "ambient": []},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 512},
                        {"type": "RLIMIT_CPU", "hard": 9}],
            "noNewPrivileges": true, "apparmorProfile": "p", "oomScoreAdj": -5,
            "selinuxLabel": "l", "execCPUAffinity": {"initial": "0"}
        },
        "root": {"path": "rootfs", "readonly": true},
        "hostname": "h", "domainname": "d",
        "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
                   {"destination": "/data", "type": "bind", "source": "rel",
                    "options": ["rbind", "ro"]}],
        "hooks": {"prestart": [{"path": "/bin/a", "args": ["a", "1"], "env": ["X=1"],
                                "timeout": 5}],
                  "poststop": [{"path": "/bin/b"}]},
        "annotations": {"k": "v"},
        "linux": {
            "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
            "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
            "sysctl": {"net.ipv4.ip_forward": "1"},
            "resources": {"devices": [{"allow": false, "access": "rwm"},
                                      {"allow": true, "type": "c", "major": 1, "minor": 3,
                                       "access": "rw"}],
                          "memory": {"limit": 1048576, "swappiness": 10,
                                     "disableOOMKiller": true, "kernelTCP": 1},
                          "cpu": {"shares": 512, "quota": 5000, "period": 10000,
                                  "realtimeRuntime": 1, "realtimePeriod": 2, "cpus": "0-1",
                                  "mems": "0", "idle": 1},
                          "pids": {"limit": 64},
                          "blockIO": {"weight": 300, "leafWeight": 10,
                                      "weightDevice": [{"major": 8, "minor": 0, "weight": 5}],
                                      "throttleReadBpsDevice": [{"major": 8, "minor": 0,
                                                                 "rate": 99}],
                                      "throttleWriteIOPSDevice": [{"major": 8, "minor": 0,
                                                                   "rate": 7}]},
                          "hugepageLimits": [{"pageSize": "2MB", "limit": 4096}],
                          "network": {"classID": 1}, "unified": {"memory.high": "1"}},
            "cgroupsPath": "/a/b",
            "namespaces": [{"type": "pid"}, {"type": "network", "path": "/proc/1/ns/net"},
                           {"type": "mount"}, {"type": "time"}],
            "devices": [{"path": "/dev/null", "type": "c", "major": 1, "minor": 3,
                         "fileMode": 438, "uid": 0, "gid": 0}],
            "seccomp": {"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
                        "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]},
            "rootfsPropagation": "rslave",
            "maskedPaths": ["/proc/kcore"], "readonlyPaths": ["/proc/sys"],
            "timeOffsets": {"monotonic": {"secs": 5, "nanosecs": 6}},
            "intelRdt": {"closID": "x"}, "personality": {"domain": "LINUX"}
        },
        "solaris": {"milestone": "m"}, "windows": {"layerFolders": []}
    }"#;

    fn both() -> (Spec, theirs::Spec) {
        let ours: Spec = serde_json::from_str(CONFIG).unwrap();
        let theirs: theirs::Spec = serde_json::from_str(CONFIG).unwrap();
        (ours, theirs)
    }

    #[test]
    fn the_fields_kiste_reads_are_what_oci_spec_reads() {
        let (o, t) = both();
        assert_eq!(&o.oci_version, t.version());
        let (root, troot) = (o.root.unwrap(), t.root().clone().unwrap());
        assert_eq!(
            (&root.path, root.readonly),
            (troot.path(), troot.readonly())
        );
        assert_eq!(&o.hostname, t.hostname());
        assert_eq!(&o.domainname, t.domainname());
        let annotations: Option<BTreeMap<_, _>> =
            t.annotations().clone().map(|a| a.into_iter().collect());
        assert_eq!(o.annotations, annotations);
        let mounts = o.mounts.unwrap();
        for (m, tm) in mounts.iter().zip(t.mounts().as_ref().unwrap()) {
            assert_eq!(&m.destination, tm.destination());
            assert_eq!(&m.typ, tm.typ());
            assert_eq!(&m.source, tm.source());
            assert_eq!(&m.options, tm.options());
        }
        let hooks = serde_json::to_value(o.hooks.unwrap()).unwrap();
        assert_eq!(
            hooks,
            serde_json::to_value(t.hooks().clone().unwrap()).unwrap()
        );
    }

    #[test]
    fn the_process_is_what_oci_spec_reads() {
        let (o, t) = both();
        let (p, tp) = (o.process.unwrap(), t.process().clone().unwrap());
        assert_eq!(p.terminal, tp.terminal());
        let size = p.console_size.unwrap();
        let tsize = tp.console_size().unwrap();
        assert_eq!((size.height, size.width), (tsize.height(), tsize.width()));
        let (u, tu) = (&p.user, tp.user());
        assert_eq!((u.uid, u.gid, u.umask), (tu.uid(), tu.gid(), tu.umask()));
        assert_eq!(&u.additional_gids, tu.additional_gids());
        assert_eq!((&p.args, &p.env), (tp.args(), tp.env()));
        assert_eq!(&p.cwd, tp.cwd());
        assert_eq!(p.no_new_privileges, tp.no_new_privileges());
        assert_eq!(&p.apparmor_profile, tp.apparmor_profile());
        assert_eq!(&p.selinux_label, tp.selinux_label());
        assert_eq!(p.oom_score_adj, tp.oom_score_adj());
        let (c, tc) = (p.capabilities.unwrap(), tp.capabilities().clone().unwrap());
        // oci-spec prints "KILL"; kiste keeps "CAP_KILL" (the runtime takes both).
        let names = |s: &Option<theirs::Capabilities>| {
            s.as_ref().map(|s| {
                s.iter()
                    .map(|c| format!("CAP_{c}"))
                    .collect::<BTreeSet<_>>()
            })
        };
        assert_eq!(c.bounding, names(tc.bounding()));
        assert_eq!(c.effective, names(tc.effective()));
        assert_eq!(c.inheritable, names(tc.inheritable()));
        assert_eq!(c.permitted, names(tc.permitted()));
        assert_eq!(c.ambient, names(tc.ambient()));
        let rlimits = p.rlimits.unwrap();
        let trlimits = tp.rlimits().clone().unwrap();
        assert_eq!(rlimits.len(), trlimits.len());
        for (r, tr) in rlimits.iter().zip(&trlimits) {
            assert_eq!((r.soft, r.hard), (tr.soft(), tr.hard()));
        }
        assert_eq!(rlimits[0].resource, libc::RLIMIT_NOFILE as i32);
        assert_eq!(rlimits[1].resource, libc::RLIMIT_CPU as i32);
    }

    #[test]
    fn linux_is_what_oci_spec_reads() {
        let (o, t) = both();
        let (l, tl) = (o.linux, t.linux().clone().unwrap());
        let maps = |m: &Option<Vec<IdMapping>>| {
            m.iter()
                .flatten()
                .map(|m| (m.container_id, m.host_id, m.size))
                .collect::<Vec<_>>()
        };
        let tmaps = |m: &Option<Vec<theirs::LinuxIdMapping>>| {
            m.iter()
                .flatten()
                .map(|m| (m.container_id(), m.host_id(), m.size()))
                .collect::<Vec<_>>()
        };
        assert_eq!(maps(&l.uid_mappings), tmaps(tl.uid_mappings()));
        assert_eq!(maps(&l.gid_mappings), tmaps(tl.gid_mappings()));
        let sysctl: Option<BTreeMap<_, _>> = tl.sysctl().clone().map(|s| s.into_iter().collect());
        assert_eq!(l.sysctl, sysctl);
        assert_eq!(&l.cgroups_path, tl.cgroups_path());
        assert_eq!(&l.rootfs_propagation, tl.rootfs_propagation());
        assert_eq!(&l.masked_paths, tl.masked_paths());
        assert_eq!(&l.readonly_paths, tl.readonly_paths());
        let ns: Vec<_> = l
            .namespaces
            .iter()
            .flatten()
            .map(|n| n.path.clone())
            .collect();
        let tns: Vec<_> = tl
            .namespaces()
            .iter()
            .flatten()
            .map(|n| n.path().clone())
            .collect();
        assert_eq!(ns, tns);
        let kinds: Vec<String> = l
            .namespaces
            .iter()
            .flatten()
            .map(|n| format!("{:?}", n.typ).to_lowercase())
            .collect();
        let tkinds: Vec<String> = tl
            .namespaces()
            .iter()
            .flatten()
            .map(|n| format!("{:?}", n.typ()).to_lowercase())
            .collect();
        assert_eq!(kinds, tkinds);
        let d = &l.devices.as_ref().unwrap()[0];
        let td = &tl.devices().as_ref().unwrap()[0];
        assert_eq!(
            (&d.path, d.major, d.minor),
            (td.path(), td.major(), td.minor())
        );
        assert_eq!(
            (d.file_mode, d.uid, d.gid),
            (td.file_mode(), td.uid(), td.gid())
        );
        assert_eq!(d.typ, DeviceType::C);
        // The seccomp object reaches the compiler with the same meaning.
        let seccomp = serde_json::to_value(tl.seccomp().clone().unwrap()).unwrap();
        assert_eq!(
            l.seccomp.as_ref().unwrap()["defaultAction"],
            seccomp["defaultAction"]
        );
        assert_eq!(l.seccomp.as_ref().unwrap()["syscalls"], seccomp["syscalls"]);
        let off = &l.time_offsets.as_ref().unwrap()["monotonic"];
        let toff = &tl.time_offsets().as_ref().unwrap()["monotonic"];
        assert_eq!((off.secs, off.nanosecs), (toff.secs(), toff.nanosecs()));
    }

    #[test]
    fn resources_are_what_oci_spec_reads() {
        let (o, t) = both();
        let r = o.linux.resources.unwrap();
        let tr = t.linux().clone().unwrap().resources().clone().unwrap();
        let (m, tm) = (r.memory.unwrap(), tr.memory().unwrap());
        assert_eq!((m.limit, m.swappiness), (tm.limit(), tm.swappiness()));
        assert_eq!(
            (m.disable_oom_killer, m.kernel_tcp),
            (tm.disable_oom_killer(), tm.kernel_tcp())
        );
        let (c, tc) = (r.cpu.unwrap(), tr.cpu().clone().unwrap());
        assert_eq!(
            (c.shares, c.quota, c.period),
            (tc.shares(), tc.quota(), tc.period())
        );
        assert_eq!(
            (c.realtime_runtime, c.realtime_period),
            (tc.realtime_runtime(), tc.realtime_period())
        );
        assert_eq!(
            (&c.cpus, &c.mems, c.idle),
            (tc.cpus(), tc.mems(), tc.idle())
        );
        assert_eq!(r.pids.unwrap().limit, tr.pids().unwrap().limit());
        let (b, tb) = (r.block_io.unwrap(), tr.block_io().clone().unwrap());
        assert_eq!((b.weight, b.leaf_weight), (tb.weight(), tb.leaf_weight()));
        let w = &b.weight_device.unwrap()[0];
        let tw = tb.weight_device().clone().unwrap()[0];
        assert_eq!(
            (w.major, w.minor, w.weight),
            (tw.major(), tw.minor(), tw.weight())
        );
        let rate = b.throttle_read_bps_device.unwrap()[0];
        let trate = tb.throttle_read_bps_device().clone().unwrap()[0];
        assert_eq!((rate.major, rate.rate), (trate.major(), trate.rate()));
        let iops = b.throttle_write_iops_device.unwrap()[0];
        let tiops = tb.throttle_write_iops_device().clone().unwrap()[0];
        assert_eq!(iops.rate, tiops.rate());
        let h = &r.hugepage_limits.unwrap()[0];
        let th = &tr.hugepage_limits().clone().unwrap()[0];
        assert_eq!((&h.page_size, h.limit), (th.page_size(), th.limit()));
        let rules = r.devices.unwrap();
        let trules = tr.devices().clone().unwrap();
        for (d, td) in rules.iter().zip(&trules) {
            assert_eq!(
                (d.allow, d.major, d.minor),
                (td.allow(), td.major(), td.minor())
            );
            assert_eq!(&d.access, td.access());
        }
        assert_eq!(rules[1].typ, Some(DeviceType::C));
        assert!(r.network.is_some() && tr.network().is_some());
        assert_eq!(
            r.unified.map(|u| u.len()),
            tr.unified().as_ref().map(|u| u.len())
        );
    }

    #[test]
    fn what_kiste_cannot_apply_is_refused_when_parsed() {
        let with = |from: &str, to: &str| {
            assert!(CONFIG.contains(from), "{from}");
            serde_json::from_str::<Spec>(&CONFIG.replace(from, to))
                .err()
                .map(|e| e.to_string())
        };
        let e = with("\"chown\"", "\"CAP_FLY\"").unwrap();
        assert!(e.contains("unknown capability \"CAP_FLY\""), "{e}");
        let e = with("RLIMIT_CPU", "RLIMIT_FLY").unwrap();
        assert!(e.contains("unknown rlimit"), "{e}");
        assert!(with("{\"type\": \"time\"}", "{\"type\": \"fly\"}").is_some());
        let e = with("\"seccomp\": {", "\"seccomp\": [], \"x\": {").unwrap();
        assert!(e.contains("linux.seccomp must be an object"), "{e}");
        // runc refuses a config without a linux section; so does kiste.
        let start = CONFIG.find("\"linux\": {").unwrap();
        let end = CONFIG.find("\"solaris\"").unwrap();
        let without = format!("{}{}", &CONFIG[..start], &CONFIG[end..]);
        let e = serde_json::from_str::<Spec>(&without)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("missing field `linux`"), "{e}");
    }
}
