//! `--init`: kiste is PID 1 in the container, forwards `stop`'s SIGTERM to the command
//! (busybox httpd, which ignores SIGTERM as PID 1, stops at once) and reaps orphans.

mod support;
use std::time::{Duration, Instant};
use support::Kiste;

/// The zombie children of the container's first process (zombies leave their cgroup, so
/// they are found through their parent).
fn zombies(k: &Kiste, id: &str) -> usize {
    let pid = k.inspect(id)["State"]["Pid"].as_i64().unwrap();
    let children =
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    children
        .split_whitespace()
        .filter(|child| {
            std::fs::read_to_string(format!("/proc/{child}/stat")).is_ok_and(|s| {
                s.rsplit_once(')')
                    .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
            })
        })
        .count()
}

#[test]
fn the_init_is_pid_1_and_the_command_its_child() {
    let k = Kiste::new();
    k.busybox();
    let out = k.ok(&[
        "run",
        "--rm",
        "--init",
        "busybox",
        "ps",
        "-o",
        "pid,ppid,comm",
    ]);
    let rows: Vec<Vec<&str>> = out
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows[0], ["1", "0", "kiste"], "{out}");
    assert_eq!(rows[1], ["2", "1", "ps"], "{out}");
    // The command's exit status is the container's.
    assert_eq!(
        k.run(&["run", "--rm", "--init", "busybox", "sh", "-c", "exit 7"])
            .code,
        7
    );
    let missing = k.run(&["run", "--rm", "--init", "busybox", "nosuchcmd"]);
    assert_eq!(missing.code, 127, "{}", missing.stderr);
    assert_eq!(k.ok(&["ps", "-aq"]), "", "--rm removed them");
}

#[test]
fn stop_ends_httpd_at_once_with_init_and_after_the_timeout_without() {
    let k = Kiste::new();
    k.busybox();
    k.ok(&[
        "run", "-d", "--init", "--name", "withinit", "busybox", "httpd", "-f",
    ]);
    k.ok(&["run", "-d", "--name", "without", "busybox", "httpd", "-f"]);
    assert_eq!(k.inspect("withinit")["HostConfig"]["Init"], true);

    let begun = Instant::now();
    k.ok(&["stop", "withinit"]);
    let with = begun.elapsed();
    assert!(
        with < Duration::from_secs(2),
        "stop with --init took {with:?}"
    );
    // httpd ended by the forwarded SIGTERM: 128 + 15, as with docker's --init.
    assert_eq!(k.inspect("withinit")["State"]["ExitCode"], 143);

    let begun = Instant::now();
    k.ok(&["stop", "-t", "2", "without"]);
    let without = begun.elapsed();
    assert!(
        without >= Duration::from_secs(2),
        "httpd as PID 1 ignores SIGTERM: {without:?}"
    );
    assert_eq!(k.inspect("without")["State"]["ExitCode"], 137);
    eprintln!("stop of busybox httpd: {with:?} with --init, {without:?} without (-t 2)");
}

#[test]
fn orphans_are_reaped_by_the_init_and_left_as_zombies_without_it() {
    let k = Kiste::new();
    k.busybox();
    // Three orphans (their parent subshells exit at once) that end after 100 ms; PID 1
    // without --init is `sleep`, which never reaps.
    let script = "for i in 1 2 3; do (sleep 0.1 &); done; exec sleep 100";
    let with = k.ok(&["run", "-d", "--init", "busybox", "sh", "-c", script]);
    let without = k.ok(&["run", "-d", "busybox", "sh", "-c", script]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while zombies(&k, without.trim()) < 3 {
        assert!(
            Instant::now() < deadline,
            "the orphans did not end as zombies without --init"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // They ended at the same time in both; by now the init has reaped its own.
    let deadline = Instant::now() + Duration::from_secs(5);
    while zombies(&k, with.trim()) > 0 {
        assert!(Instant::now() < deadline, "the init left zombies");
        std::thread::sleep(Duration::from_millis(20));
    }
}
