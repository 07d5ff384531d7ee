//! podman's extras that make CI scripts shorter: `--latest/-l` on the verbs over one
//! container, `rm -f -t SECONDS`, `run/create --replace`, and docker's `ps -l`/`ps -n`.

mod support;

use std::time::{Duration, Instant};
use support::Kiste;

#[test]
fn latest_acts_on_the_container_created_last() {
    let k = Kiste::new();
    k.busybox();
    k.ok(&["create", "--name", "old", "busybox", "true"]);
    let new = k.ok(&[
        "run",
        "-d",
        "--name",
        "new",
        "busybox",
        "sh",
        "-c",
        "echo hello; sleep 300",
    ]);
    let new = new.trim();
    assert_eq!(k.ok(&["ps", "-l", "-q", "--no-trunc"]).trim(), new);
    assert_eq!(
        k.ok(&["ps", "-n", "2", "--format", "{{.Names}}"]),
        "new\nold\n"
    );
    k.wait_for_log("new", "hello", Duration::from_secs(10));
    assert_eq!(k.ok(&["logs", "-l"]), "hello\n");
    assert_eq!(
        k.ok(&["inspect", "-l", "--format", "{{.Name}}"]).trim(),
        "/new"
    );
    // kill, stop and start print the id they acted on, as podman does for --latest.
    assert_eq!(k.ok(&["kill", "-s", "USR1", "-l"]).trim(), new);
    assert_eq!(k.ok(&["stop", "-l", "-t", "0"]).trim(), new);
    assert_eq!(k.ok(&["ps", "-q"]), "");
    assert_eq!(k.ok(&["start", "-l"]).trim(), new);
    assert_eq!(k.ok(&["rm", "-f", "-l"]).trim(), new);
    assert_eq!(k.ok(&["ps", "-a", "--format", "{{.Names}}"]), "old\n");
    let both = k.run(&["rm", "-l", "old"]);
    assert_eq!(
        both.code, 125,
        "--latest and a name conflict: {}",
        both.stderr
    );
    k.ok(&["rm", "old"]);
    let none = k.run(&["stop", "-l"]);
    assert_eq!(none.code, 125);
    assert!(none.stderr.contains("--latest"), "{}", none.stderr);
}

#[test]
fn rm_force_time_sends_the_stop_signal_and_waits_before_sigkill() {
    let k = Kiste::new();
    k.busybox();
    // PID 1 without a handler ignores SIGTERM: only SIGKILL ends it, after the grace time.
    k.ok(&["run", "-d", "--name", "deaf", "busybox", "sleep", "300"]);
    let t = Instant::now();
    k.ok(&["rm", "-f", "-t", "2", "deaf"]);
    let took = t.elapsed();
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(8),
        "{took:?}"
    );
    // One that handles SIGTERM ends at once, long before the grace time is over.
    k.ok(&[
        "run",
        "-d",
        "--name",
        "polite",
        "busybox",
        "sh",
        "-c",
        "trap 'exit 0' TERM; while true; do sleep 0.1; done",
    ]);
    let t = Instant::now();
    k.ok(&["rm", "-f", "-t", "60", "polite"]);
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    assert_eq!(k.ok(&["ps", "-aq"]), "");
    // An --rm container is gone once stopped: rm still succeeds.
    k.ok(&[
        "run", "-d", "--rm", "--name", "temp", "busybox", "sleep", "300",
    ]);
    assert_eq!(k.ok(&["rm", "-f", "-t", "0", "temp"]), "temp\n");
    // Without -f a running container is refused, whatever -t says.
    k.ok(&["run", "-d", "--name", "busy", "busybox", "sleep", "300"]);
    assert_eq!(k.run(&["rm", "-t", "1", "busy"]).code, 1);
}

#[test]
fn replace_removes_the_container_of_that_name_first() {
    let k = Kiste::new();
    k.busybox();
    let first = k.ok(&["run", "-d", "--name", "web", "busybox", "sleep", "300"]);
    let first = first.trim().to_string();
    let pid = k.inspect("web")["State"]["Pid"].as_i64().unwrap();
    let clash = k.run(&["run", "-d", "--name", "web", "busybox", "sleep", "300"]);
    assert_eq!(clash.code, 125, "{}", clash.stderr);
    let second = k.ok(&[
        "run",
        "-d",
        "--replace",
        "--name",
        "web",
        "busybox",
        "sleep",
        "300",
    ]);
    let second = second.trim().to_string();
    assert_ne!(first, second);
    assert!(!support::process_alive(pid), "the old container was killed");
    assert!(support::cgroup_left(&first).is_empty(), "its cgroup went");
    assert_eq!(k.ok(&["ps", "-aq", "--no-trunc"]).trim(), second);
    // create --replace over a stopped one, and over no container at all.
    k.ok(&["stop", "-t", "0", "web"]);
    let third = k.ok(&["create", "--replace", "--name", "web", "busybox", "true"]);
    assert_eq!(k.ok(&["ps", "-aq", "--no-trunc"]), third);
    k.ok(&["create", "--replace", "--name", "fresh", "busybox", "true"]);
    let r = k.run(&["create", "--replace", "busybox", "true"]);
    assert_eq!(r.code, 125, "--replace needs --name: {}", r.stderr);
}
