//! The isolation checks of tests/runtime_isolation.rs and tests/runtime_security.rs,
//! run a second time through `kiste oci run` on a hand-written bundle: namespaces,
//! the five capability sets with a non-root user, seccomp (SCMP_ACT_ERRNO with errnoRet
//! and an argument condition), masked and read-only paths, the read-only root, cgroup
//! memory and pids limits seen from inside, sysctl, domainname, oomScoreAdj, rlimits,
//! and the hooks at the points the OCI spec defines.

mod support;

use support::oci::*;
use support::runtime::{field, serial};

/// `kiste oci run` of the bundle; (exit code, stdout, stderr).
fn run(b: &Bundle, id: &str) -> (i32, String, String) {
    let (code, out, err) = b.oci_files(id, &["run", id]);
    (code, text(&out), text(&err))
}

fn script(b: &mut Bundle, s: &str) {
    b.config["process"]["args"] = serde_json::json!(["sh", "-c", s]);
    b.write();
}

#[test]
fn namespaces_are_the_containers_own() {
    let _g = serial();
    let mut b = bundle("ns", "");
    script(
        &mut b,
        "hostname; echo pid=$$; ls /sys/class/net; for n in ipc uts mnt net pid cgroup; do readlink /proc/self/ns/$n; done",
    );
    let (code, out, err) = run(&b, "ns");
    assert_eq!(code, 0, "{err}");
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("oci-test"));
    assert_eq!(lines.next(), Some("pid=1"));
    assert_eq!(lines.next(), Some("lo"));
    for line in lines {
        let kind = line.split(':').next().unwrap();
        let host = std::fs::read_link(format!("/proc/self/ns/{kind}")).unwrap();
        assert_ne!(line, host.to_str().unwrap(), "{kind} is the host's");
    }
}

#[test]
fn the_five_capability_sets_and_the_user_apply() {
    let _g = serial();
    let mut b = bundle("caps", "");
    let net = serde_json::json!(["CAP_NET_BIND_SERVICE"]);
    b.config["process"]["capabilities"] = serde_json::json!({
        "bounding": ["CAP_NET_BIND_SERVICE", "CAP_KILL"],
        "effective": net, "permitted": net, "inheritable": net, "ambient": net
    });
    b.config["process"]["user"] =
        serde_json::json!({"uid": 1000, "gid": 1000, "additionalGids": [10, 2000], "umask": 63});
    script(&mut b, "cat /proc/self/status; id -u; id -G; umask");
    let (code, out, err) = run(&b, "caps");
    assert_eq!(code, 0, "{err}");
    assert_eq!(field(&out, "CapBnd"), Some("0000000000000420"));
    assert_eq!(field(&out, "CapAmb"), Some("0000000000000400"));
    assert_eq!(field(&out, "CapEff"), Some("0000000000000400"));
    assert_eq!(field(&out, "CapPrm"), Some("0000000000000400"));
    assert_eq!(field(&out, "CapInh"), Some("0000000000000400"));
    assert_eq!(field(&out, "NoNewPrivs"), Some("1"));
    let tail: Vec<&str> = out.lines().rev().take(3).collect();
    assert_eq!(tail, ["0077", "1000 10 2000", "1000"]);
}

#[test]
fn seccomp_errno_with_errno_ret_and_an_argument_condition() {
    let _g = serial();
    let mut b = bundle("seccomp", "");
    b.config["linux"]["seccomp"] = serde_json::json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
            {"names": ["chmod"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
             "args": [{"index": 1, "value": 511, "op": "SCMP_CMP_EQ"}]},
            {"names": ["fchmodat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
             "args": [{"index": 2, "value": 511, "op": "SCMP_CMP_EQ"}]}
        ]
    });
    script(
        &mut b,
        "grep Seccomp: /proc/self/status; mkdir /tmp/d 2>&1; touch /tmp/f; \
         chmod 755 /tmp/f && echo chmod755 ok; chmod 777 /tmp/f 2>&1; true",
    );
    let (code, out, err) = run(&b, "seccomp");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Seccomp:\t2"), "{out}");
    assert!(out.contains("Operation not permitted"), "mkdir: {out}");
    assert!(out.contains("chmod755 ok"), "{out}");
    assert!(out.contains("Permission denied"), "chmod 777: {out}");
}

#[test]
fn masked_and_readonly_paths_and_the_readonly_root() {
    let _g = serial();
    let mut b = bundle("paths", "");
    script(
        &mut b,
        "echo keys=$(wc -c < /proc/keys); ls /sys/firmware | wc -l; \
         echo 1 > /proc/sys/kernel/ns_last_pid 2>&1 || echo sys-ro; \
         touch /rootfile 2>&1 || echo root-ro; touch /tmp/ok && echo tmp-rw",
    );
    let (code, out, err) = run(&b, "paths");
    assert_eq!(code, 0, "{err}");
    // /proc/keys (masked with /dev/null) reads empty; the host's has lines.
    assert!(!std::fs::read_to_string("/proc/keys").unwrap().is_empty());
    assert!(out.contains("keys=0"), "{out}");
    assert_eq!(out.lines().nth(1), Some("0"), "{out}");
    assert!(out.contains("sys-ro"), "{out}");
    assert!(out.contains("root-ro"), "{out}");
    assert!(out.contains("tmp-rw"), "{out}");
    assert!(!b.sb.root().join("rootfile").exists());
}

#[test]
fn cgroup_limits_are_seen_from_inside() {
    let _g = serial();
    let mut b = bundle("limits", "");
    b.config["linux"]["resources"]["memory"] = serde_json::json!({"limit": 67108864});
    b.config["linux"]["resources"]["pids"] = serde_json::json!({"limit": 20});
    script(
        &mut b,
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory.max 2>/dev/null; \
         cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/pids.max 2>/dev/null; \
         touch /sys/fs/cgroup/pids/x 2>/dev/null && echo wrote; \
         awk '$5 ~ \"^/sys/fs/cgroup\" {print \"mount\", $5, $6}' /proc/self/mountinfo; true",
    );
    let (code, out, err) = run(&b, "limits");
    assert_eq!(code, 0, "{err}");
    let (limits, rest): (Vec<&str>, Vec<&str>) = out.lines().partition(|l| !l.starts_with("mount"));
    assert_eq!(limits, ["67108864", "20"], "{out}");
    // Every cgroup mount (v1: the tmpfs and each hierarchy) has the config's options.
    assert!(!rest.is_empty(), "{out}");
    for line in rest {
        let opts = line.rsplit(' ').next().unwrap();
        for want in ["ro", "nosuid", "nodev", "noexec"] {
            assert!(opts.split(',').any(|o| o == want), "{line}");
        }
    }
}

#[test]
fn sysctl_domainname_oom_score_adj_and_rlimits_apply() {
    let _g = serial();
    let mut b = bundle("misc", "");
    b.config["linux"]["sysctl"] = serde_json::json!({"net.ipv4.ip_forward": "1"});
    b.config["domainname"] = serde_json::json!("example.org");
    b.config["process"]["oomScoreAdj"] = serde_json::json!(500);
    b.config["process"]["rlimits"] =
        serde_json::json!([{"type": "RLIMIT_NOFILE", "hard": 512, "soft": 256}]);
    script(
        &mut b,
        "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/domainname /proc/self/oom_score_adj; \
         ulimit -n; ulimit -Hn",
    );
    let (code, out, err) = run(&b, "misc");
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        ["1", "example.org", "500", "256", "512"]
    );
}

#[test]
fn hooks_run_at_their_points_with_the_state_on_stdin() {
    let _g = serial();
    let mut b = bundle("hooks", "");
    let dir = b.dir().join("hookout");
    std::fs::create_dir(&dir).unwrap();
    let d = dir.to_str().unwrap().to_string();
    let host = |name: &str| {
        serde_json::json!([{"path": "/bin/sh",
            "args": ["sh", "-c", format!("cat > {d}/{name}.json")], "timeout": 5}])
    };
    b.config["hooks"] = serde_json::json!({
        "prestart": host("prestart"),
        "createRuntime": host("createRuntime"),
        "createContainer": host("createContainer"),
        "startContainer": [{"path": "/bin/sh",
            "args": ["sh", "-c", "cat > /hookout/startContainer.json; hostname > /hookout/where"]}],
        "poststart": host("poststart"),
        "poststop": host("poststop"),
    });
    b.config["mounts"].as_array_mut().unwrap().push(
        serde_json::json!({"destination": "/hookout", "type": "bind",
            "source": "hookout", "options": ["rbind", "rw"]}),
    );
    script(&mut b, "echo ran");
    let (code, out, err) = run(&b, "hooks");
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "ran\n");
    for name in [
        "prestart",
        "createRuntime",
        "createContainer",
        "startContainer",
        "poststart",
        "poststop",
    ] {
        let state: serde_json::Value =
            serde_json::from_str(&text(&dir.join(format!("{name}.json"))))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(state["id"], "hooks", "{name}");
        assert_eq!(state["bundle"], b.dir().to_str().unwrap(), "{name}");
    }
    // startContainer ran inside the container's namespaces.
    assert_eq!(text(&dir.join("where")), "oci-test\n");
}

#[test]
fn a_failing_hook_fails_create_and_leaves_nothing() {
    let _g = serial();
    let mut b = bundle("badhook", "true");
    b.config["hooks"] =
        serde_json::json!({"createRuntime": [{"path": "/bin/false", "args": ["false"]}]});
    b.write();
    let out = b.oci(&["create", "h"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("createRuntime"));
    assert!(!b.state.join("h").exists());
    assert!(b.cgroup_dirs().is_empty());
}
