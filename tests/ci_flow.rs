//! A CI job end to end (testdata/ci/flow.sh): build, run a service detached with a
//! published port, poll until it answers, run a client container against it, collect
//! logs, tear down; every exit code checked by the script. Afterwards nothing is left:
//! no container, mount, cgroup, process or listening port.

mod support;

use std::collections::BTreeMap;
use std::process::Command;
use support::{cgroup_left, free_port, port_in_use, process_alive, testdata, Kiste};

#[test]
fn ci_job_builds_serves_answers_and_leaves_nothing_behind() {
    let k = Kiste::new();
    k.busybox();
    let port = free_port();
    let out = k.dir.path().join("flow.out");
    let r = Command::new("bash")
        .arg(testdata("ci/flow.sh"))
        .env("KISTE", env!("CARGO_BIN_EXE_kiste"))
        .env("KISTE_ROOT", k.root())
        .env("KISTE_RUNROOT", k.runroot())
        .env("PORT", port.to_string())
        .env("OUT", &out)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(0), "flow.sh failed:\n{stderr}");
    let facts: BTreeMap<String, String> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(
        facts.get("DONE").map(String::as_str),
        Some("1"),
        "{facts:?}"
    );
    let id = &facts["ID"];
    let pid: i64 = facts["PID"].parse().unwrap();
    assert!(pid > 0);
    // No leftovers: container, process, cgroup, mounts, port, store entries.
    assert_eq!(k.ok(&["ps", "-aq"]), "");
    assert!(!process_alive(pid), "the service's process {pid} lives on");
    assert!(
        cgroup_left(id).is_empty(),
        "cgroups left: {:?}",
        cgroup_left(id)
    );
    assert!(k.mounts().is_empty(), "mounts left: {:?}", k.mounts());
    assert!(!port_in_use(port), "port {port} is still bound");
    assert!(!k.runroot().join("containers").join(id).exists());
    assert_eq!(
        k.ok(&["images", "--format", "{{.Repository}}"]),
        "busybox\n"
    );
}
