//! kiste killed or raced at the worst moment: a foreground `kiste run` or a detached
//! container's monitor killed with SIGKILL leaves a container that `ps` still reports
//! truthfully and that `rm -f` cleans up completely (process, mount, cgroup, record); two
//! starts at once run the container once.

mod support;

use std::time::{Duration, Instant};
use support::*;

fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn assert_nothing_left(k: &Kiste, id: &str, pid: i64) {
    assert!(!process_alive(pid), "container process {pid} left");
    assert!(k.mounts().is_empty(), "mounts left: {:?}", k.mounts());
    assert!(
        cgroup_left(id).is_empty(),
        "cgroups left: {:?}",
        cgroup_left(id)
    );
    assert!(
        !k.root().join("containers").join(id).exists(),
        "record left"
    );
}

#[test]
fn a_killed_foreground_run_leaves_a_container_rm_can_clean_up() {
    let k = Kiste::new();
    k.busybox();
    let mut child = k
        .cmd(&["run", "--name", "orphan", "busybox", "sleep", "300"])
        .spawn()
        .unwrap();
    wait_until("the container to run", || {
        k.run(&["ps", "-q"]).stdout.lines().count() == 1
    });
    let st = k.inspect("orphan");
    let (id, pid) = (
        st["Id"].as_str().unwrap().to_string(),
        st["State"]["Pid"].as_i64().unwrap(),
    );
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    child.wait().unwrap();
    // Its process still runs, so it is still "Up" (as docker shows a container whose
    // client went away).
    assert!(k.ok(&["ps"]).contains("orphan"));
    assert_eq!(k.ok(&["rm", "-f", "orphan"]).trim(), "orphan");
    assert_nothing_left(&k, &id, pid);
}

#[test]
fn a_killed_monitor_leaves_a_container_stop_and_rm_can_clean_up() {
    let k = Kiste::new();
    k.busybox();
    let id = k
        .ok(&["run", "-d", "--name", "lonely", "busybox", "sleep", "300"])
        .trim()
        .to_string();
    let pid = k.inspect(&id)["State"]["Pid"].as_i64().unwrap();
    let record: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(k.root().join("containers").join(&id).join("container.json"))
            .unwrap(),
    )
    .unwrap();
    let monitor = record["state"]["monitor_pid"].as_i64().unwrap();
    assert!(monitor > 0 && process_alive(monitor));
    unsafe { libc::kill(monitor as i32, libc::SIGKILL) };
    wait_until("the monitor to die", || {
        !process_alive(monitor)
            || std::fs::read_to_string(format!("/proc/{monitor}/stat"))
                .map(|s| s.contains(") Z "))
                .unwrap_or(true)
    });
    assert!(process_alive(pid), "the container outlives its monitor");
    assert_eq!(k.ok(&["stop", "-t", "1", "lonely"]).trim(), "lonely");
    let ps = k.ok(&["ps", "-a"]);
    assert!(
        ps.contains("Exited (255)"),
        "nobody recorded the exit code: docker's 255: {ps}"
    );
    k.ok(&["rm", "lonely"]);
    assert_nothing_left(&k, &id, pid);
}

#[test]
fn two_starts_at_once_run_the_container_once() {
    let k = Kiste::new();
    k.busybox();
    let id = k
        .ok(&["create", "--name", "twice", "busybox", "sleep", "300"])
        .trim()
        .to_string();
    let start = || {
        k.cmd(&["start", "twice"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let (a, b) = (start(), start());
    for mut c in [a, b] {
        assert!(c.wait().unwrap().success(), "both starts succeed");
    }
    let pid = k.inspect("twice")["State"]["Pid"].as_i64().unwrap();
    assert_eq!(k.mounts().len(), 1, "one rootfs mount: {:?}", k.mounts());
    let sleeps = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| {
            std::fs::read_to_string(e.path().join("cgroup"))
                .map(|c| c.contains(&id))
                .unwrap_or(false)
        })
        .count();
    assert_eq!(sleeps, 1, "one container process in its cgroup");
    k.ok(&["rm", "-f", "twice"]);
    assert_nothing_left(&k, &id, pid);
}
