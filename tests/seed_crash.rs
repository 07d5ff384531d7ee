//! kiste killed or raced at the worst moment: a foreground `kiste run` or a detached
//! container's monitor killed with SIGKILL takes its container along, and the next kiste
//! command records one exit state (`ps` and `inspect` agree, a real FinishedAt, ports
//! released) or removes an `--rm` record, and releases mount and cgroup; two starts at
//! once run the container once.

mod support;

use std::time::Duration;
use support::*;

/// Gone or a zombie nobody reaps (PID 1 here need not reap orphans).
fn dead(pid: i64) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| s[s.rfind(')').unwrap() + 1..].trim_start().starts_with('Z'))
        .unwrap_or(true)
}

fn assert_nothing_left(k: &Kiste, id: &str, pid: i64) {
    assert!(dead(pid), "container process {pid} left");
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

/// The exit state `ps -a` and `inspect` show must be one and the same, and real.
fn assert_one_exit_state(k: &Kiste, name: &str) -> i64 {
    let st = k.inspect(name);
    assert_eq!(st["State"]["Status"], "exited", "{st}");
    let code = st["State"]["ExitCode"].as_i64().unwrap();
    let finished = st["State"]["FinishedAt"].as_str().unwrap().to_string();
    assert!(
        !finished.starts_with("0001"),
        "FinishedAt is recorded: {finished}"
    );
    let ps = k.ok(&["ps", "-a"]);
    assert!(
        ps.contains(&format!("Exited ({code})")),
        "ps and inspect agree on exit code {code}: {ps}"
    );
    let again = k.inspect(name);
    assert_eq!(
        again["State"]["FinishedAt"].as_str().unwrap(),
        finished,
        "the exit is recorded once"
    );
    code
}

/// Start `args` with kiste in the foreground; wait until container `name` runs; its pid.
fn run_foreground(k: &Kiste, args: &[&str], name: &str) -> (std::process::Child, String, i64) {
    let child = k.cmd(args).spawn().unwrap();
    wait_until("the container to run", Duration::from_secs(10), || {
        k.run(&["ps"]).stdout.contains(name)
    });
    let st = k.inspect(name);
    (
        child,
        st["Id"].as_str().unwrap().to_string(),
        st["State"]["Pid"].as_i64().unwrap(),
    )
}

#[test]
fn a_killed_foreground_run_takes_its_container_along() {
    let k = Kiste::new();
    k.busybox();
    let (mut child, id, pid) = run_foreground(
        &k,
        &["run", "--name", "orphan", "busybox", "sleep", "300"],
        "orphan",
    );
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    child.wait().unwrap();
    wait_until(
        "the container to die with its kiste run",
        Duration::from_secs(10),
        || dead(pid),
    );
    // The next command records the exit and releases what the container held.
    assert!(!k.ok(&["ps"]).contains("orphan"), "not shown as running");
    assert!(k.mounts().is_empty(), "mounts left: {:?}", k.mounts());
    assert!(cgroup_left(&id).is_empty(), "cgroups left");
    assert_eq!(
        assert_one_exit_state(&k, "orphan"),
        255,
        "nobody saw the exit"
    );
    assert_eq!(k.ok(&["rm", "orphan"]).trim(), "orphan");
    assert_nothing_left(&k, &id, pid);
}

#[test]
fn a_killed_foreground_run_rm_leaves_no_container_behind() {
    let k = Kiste::new();
    k.busybox();
    let (mut child, id, pid) = run_foreground(
        &k,
        &["run", "--rm", "--name", "gone", "busybox", "sleep", "300"],
        "gone",
    );
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    child.wait().unwrap();
    wait_until(
        "the container to die with its kiste run",
        Duration::from_secs(10),
        || dead(pid),
    );
    assert_eq!(k.ok(&["ps", "-a", "-q"]), "", "the --rm record is removed");
    assert_nothing_left(&k, &id, pid);
}

#[test]
fn a_killed_monitor_takes_its_container_along_and_the_next_command_records_the_exit() {
    let k = Kiste::new();
    k.busybox();
    let port = free_port();
    let publish = format!("{port}:80");
    let id = k
        .ok(&[
            "run", "-d", "--name", "lonely", "-p", &publish, "busybox", "sleep", "300",
        ])
        .trim()
        .to_string();
    let pid = k.inspect(&id)["State"]["Pid"].as_i64().unwrap();
    let monitor = k.monitor_pid(&id);
    assert!(monitor > 0 && process_alive(monitor));
    assert!(port_in_use(port), "the monitor forwards the port");
    unsafe { libc::kill(monitor as i32, libc::SIGKILL) };
    wait_until("the monitor to die", Duration::from_secs(10), || {
        dead(monitor)
    });
    wait_until(
        "the container to die with its monitor",
        Duration::from_secs(10),
        || dead(pid),
    );
    assert!(!k.ok(&["ps"]).contains("lonely"), "not shown as running");
    assert!(!port_in_use(port), "the port is released");
    assert_eq!(
        assert_one_exit_state(&k, "lonely"),
        255,
        "nobody saw the exit"
    );
    // stop on an exited container does nothing and succeeds, as in docker.
    assert_eq!(k.ok(&["stop", "-t", "1", "lonely"]).trim(), "lonely");
    k.ok(&["rm", "lonely"]);
    assert_nothing_left(&k, &id, pid);
}

#[test]
fn a_container_that_outlives_its_monitor_is_killed_by_the_next_command() {
    // A setuid exec clears PR_SET_PDEATHSIG: such a container survives its monitor. The
    // next kiste command must not leave it running unsupervised.
    let k = Kiste::new();
    k.busybox();
    let ctx = k.context(
        "suid",
        &[(
            "Dockerfile",
            "FROM busybox\nRUN mkdir /x && cp /bin/busybox /x/busybox && chmod 4755 /x/busybox\n",
        )],
    );
    k.ok(&["build", "-q", "-t", "suid", ctx.to_str().unwrap()]);
    let id = k
        .ok(&[
            "run",
            "-d",
            "--name",
            "stray",
            "--user",
            "1000",
            "suid",
            "/x/busybox",
            "sleep",
            "300",
        ])
        .trim()
        .to_string();
    let pid = k.inspect(&id)["State"]["Pid"].as_i64().unwrap();
    let monitor = k.monitor_pid(&id);
    unsafe { libc::kill(monitor as i32, libc::SIGKILL) };
    wait_until("the monitor to die", Duration::from_secs(10), || {
        dead(monitor)
    });
    assert!(
        !dead(pid),
        "the setuid exec cleared the container's pdeathsig"
    );
    assert!(!k.ok(&["ps"]).contains("stray"), "not shown as running");
    assert!(dead(pid), "the next command killed the container");
    assert_eq!(assert_one_exit_state(&k, "stray"), 137, "killed by kiste");
    k.ok(&["rm", "stray"]);
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
