//! Signals and stdin around attached containers, against docker where its engine can run
//! them: `run --sig-proxy` (a foreground run forwards SIGTERM to the container; off with
//! `--sig-proxy=false` and with `-t`), `attach --sig-proxy` and `attach --no-stdin`,
//! and `start -i` / `start --detach-keys`.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::tty::Term;
use support::*;

const T: Duration = Duration::from_secs(20);

/// A shell that says "ready", then reports SIGTERM by "got TERM" and exit 3.
const TRAP: &str = "trap 'echo got TERM; exit 3' TERM; echo ready; while :; do sleep 0.1; done";

/// Spawns `cmd` with its stdout piped; returns once it printed "ready".
fn spawn_ready(mut cmd: Command) -> (Child, BufReader<std::process::ChildStdout>) {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim_end_matches(['\r', '\n']), "ready", "first line");
    (child, out)
}

/// Sends SIGTERM to `child`, then waits for it (with a deadline): its rest of stdout and
/// its exit status (a code, or None when killed by a signal).
fn term_and_wait(
    mut child: Child,
    mut out: BufReader<std::process::ChildStdout>,
) -> (Option<i32>, String) {
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let deadline = Instant::now() + T;
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        assert!(Instant::now() < deadline, "it did not end after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut rest = String::new();
    let _ = out.read_to_string(&mut rest);
    (status.code(), rest)
}

fn docker_image(k: &Kiste) -> Option<&'static str> {
    if !have("docker") {
        skip("docker is not installed: no comparison");
        return None;
    }
    support::docker::ensure_docker();
    const NAME: &str = "kiste-runflags-attach:1";
    k.ok(&["tag", "busybox", NAME]);
    let tar = k.dir.path().join("bb.tar");
    k.ok(&["save", "-o", tar.to_str().unwrap(), NAME]);
    let st = Command::new("docker")
        .args(["load", "-q", "-i", tar.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(st.status.success());
    Some(NAME)
}

#[test]
fn run_sig_proxy_forwards_sigterm_and_sig_proxy_false_or_t_does_not() {
    let k = Kiste::new();
    k.busybox();
    // docker's default: the signal reaches the container, whose trap ends it.
    let (child, out) = spawn_ready(k.cmd(&["run", "--rm", "busybox", "sh", "-c", TRAP]));
    assert_eq!(term_and_wait(child, out), (Some(3), "got TERM\n".into()));
    let (child, out) = spawn_ready(k.cmd(&[
        "run",
        "--rm",
        "--sig-proxy=true",
        "busybox",
        "sh",
        "-c",
        TRAP,
    ]));
    assert_eq!(term_and_wait(child, out), (Some(3), "got TERM\n".into()));
    // Not forwarded: kiste itself ends by the signal, the trap never runs (and the
    // container, supervised by this run, goes with it).
    for flags in [&["--sig-proxy=false"][..], &["-t"][..]] {
        let mut args = vec!["run", "--rm"];
        args.extend(flags);
        args.extend(["busybox", "sh", "-c", TRAP]);
        let (child, out) = spawn_ready(k.cmd(&args));
        let (code, rest) = term_and_wait(child, out);
        assert_eq!(code, None, "{flags:?}: killed by SIGTERM");
        assert!(!rest.contains("got TERM"), "{flags:?}: {rest}");
    }
    // `create` has no --sig-proxy, as docker's.
    let r = k.run(&["create", "--sig-proxy=false", "busybox", "true"]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("--sig-proxy"), "{}", r.stderr);

    let Some(image) = docker_image(&k) else {
        return;
    };
    let docker = |args: &[&str]| {
        let mut c = Command::new("docker");
        c.args(args);
        c
    };
    let (child, out) = spawn_ready(docker(&["run", "--rm", image, "sh", "-c", TRAP]));
    assert_eq!(term_and_wait(child, out), (Some(3), "got TERM\n".into()));
    // docker's CLI keeps SIGTERM from the container with --sig-proxy=false (it stays
    // attached): the container's own USR1 trap is what ends it.
    let both = "trap 'echo got TERM; exit 3' TERM; trap 'echo got USR1; exit 4' USR1; \
        echo ready; while :; do sleep 0.1; done";
    let name = "kiste-runflags-noproxy";
    let _ = docker(&["rm", "-f", name]).output();
    let (mut child, mut out) = spawn_ready(docker(&[
        "run",
        "--name",
        name,
        "--sig-proxy=false",
        image,
        "sh",
        "-c",
        both,
    ]));
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let _ = docker(&["kill", "-s", "USR1", name]).output();
    let mut rest = String::new();
    let _ = out.read_to_string(&mut rest);
    let _ = child.wait();
    let _ = docker(&["rm", "-f", name]).output();
    assert_eq!(rest, "got USR1\n", "SIGTERM was not forwarded");
}

/// As `TRAP`, with a "tick" every 0.2 s for an attached client to see.
const TICKS: &str =
    "trap 'echo got TERM; exit 3' TERM; echo ready; while :; do echo tick; sleep 0.2; done";

/// `kiste ARGS…` (an attach), returned once it shows the container's output.
fn attached(k: &Kiste, args: &[&str]) -> (Child, BufReader<std::process::ChildStdout>) {
    let mut cmd = k.cmd(args);
    cmd.stdout(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "tick\n");
    (child, out)
}

#[test]
fn attach_sig_proxy_forwards_and_sig_proxy_false_leaves_the_container_running() {
    let k = Kiste::new();
    k.busybox();
    k.ok(&["run", "-d", "--name", "trap", "busybox", "sh", "-c", TICKS]);
    k.wait_for_log("trap", "ready", T);
    // `attach --sig-proxy=false`: the signal ends attach only.
    let (child, out) = attached(&k, &["attach", "--sig-proxy=false", "trap"]);
    let (code, _) = term_and_wait(child, out);
    assert_eq!(code, None, "attach died of the signal");
    assert_eq!(k.inspect("trap")["State"]["Running"], true);
    // `attach --sig-proxy` (docker's default) passes SIGTERM on: the trap ends the
    // container and attach exits with its code.
    let (child, out) = attached(&k, &["attach", "--sig-proxy=true", "trap"]);
    let (code, _) = term_and_wait(child, out);
    assert_eq!(code, Some(3));
    assert_eq!(k.inspect("trap")["State"]["ExitCode"], 3);
    assert!(k.ok(&["logs", "trap"]).contains("got TERM"));
}

#[test]
fn attach_no_stdin_keeps_the_users_input_from_the_container() {
    let k = Kiste::new();
    k.busybox();
    k.ok(&[
        "run",
        "-di",
        "--name",
        "reader",
        "busybox",
        "sh",
        "-c",
        "read x; echo got-$x; exit 6",
    ]);
    // --no-stdin: what the user types stays with kiste (its stdin is closed after it).
    let mut cmd = k.cmd(&["attach", "--no-stdin", "reader"]);
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped());
    let mut first = cmd.spawn().unwrap();
    first.stdin.take().unwrap().write_all(b"typed\n").unwrap();
    // Another attach with stdin gives the container its line: the one it reads is this
    // one, not the first's.
    let mut cmd = k.cmd(&["attach", "reader"]);
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    child.stdin.take().unwrap().write_all(b"second\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let _ = first.wait();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "got-second\n");
    assert_eq!(out.status.code(), Some(6));
}

#[test]
fn start_interactive_gives_a_created_container_the_users_stdin_as_docker() {
    let k = Kiste::new();
    k.busybox();
    let script = "read x; echo got-$x; exit 4";
    let id = k.ok(&["create", "-i", "busybox", "sh", "-c", script]);
    let mut cmd = k.cmd(&["start", "-i", id.trim()]);
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    child.stdin.take().unwrap().write_all(b"hello\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let ours = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!((ours.as_str(), out.status.code()), ("got-hello\n", Some(4)));

    let Some(image) = docker_image(&k) else {
        return;
    };
    let c = Command::new("docker")
        .args(["create", "-i", image, "sh", "-c", script])
        .output()
        .unwrap();
    let did = String::from_utf8_lossy(&c.stdout).trim().to_string();
    let mut child = Command::new("docker")
        .args(["start", "-i", &did])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"hello\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let _ = Command::new("docker").args(["rm", &did]).output();
    assert_eq!(String::from_utf8_lossy(&out.stdout), ours);
    assert_eq!(out.status.code(), Some(4));
}

#[test]
fn start_interactive_detach_keys_leave_a_terminal_container_running() {
    let k = Kiste::new();
    k.busybox();
    k.ok(&["create", "-it", "--name", "shell", "busybox", "sh"]);
    let mut t = Term::spawn(
        &k,
        &["start", "-i", "--detach-keys", "ctrl-x,x", "shell"],
        24,
        80,
    );
    t.wait_raw(T);
    t.write(b"echo in-$((2+3))\r");
    t.expect("in-5", T);
    t.write(b"\x18x");
    assert_eq!(t.wait(T), 0, "{}", t.screen);
    assert_eq!(k.inspect("shell")["State"]["Running"], true);
    // Its own keys (docker's default) still work for attach; stop it.
    k.ok(&["rm", "-f", "shell"]);
}
