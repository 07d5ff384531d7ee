//! `attach` to detached containers: with `-dit` the terminal comes through the monitor's
//! socket (screen, window size, typing), Ctrl-P Ctrl-Q (or `--detach-keys`) detach and
//! leave it running, and a second attach ends with the container's exit code; `-di`
//! takes piped input; without a terminal the output is streamed with stdout and stderr
//! apart; a stopped container is refused as docker does.

mod support;

use std::time::Duration;
use support::tty::Term;
use support::*;

const T: Duration = Duration::from_secs(20);

#[test]
fn attach_to_run_dit_and_ctrl_p_ctrl_q_leave_it_running() {
    let k = Kiste::new();
    k.busybox();
    k.ok(&["run", "-dit", "--name", "term", "busybox", "sh"]);
    let mut t = Term::spawn(&k, &["attach", "term"], 27, 99);
    t.wait_raw(T);
    t.write(b"echo hi-$((6*7)); stty size\r");
    t.expect("hi-42", T);
    t.expect("27 99", T);
    t.write(b"\x10\x11");
    assert_eq!(
        t.wait(T),
        1,
        "docker's CLI exits 1 on a detach: {}",
        t.screen
    );
    t.expect("read escape sequence", T);
    assert!(
        t.is_cooked(),
        "the terminal was not restored after the detach"
    );
    assert_eq!(k.inspect("term")["State"]["Running"], true);
    // A second attach sees the same shell; its exit ends the container and the attach.
    let mut t = Term::spawn(&k, &["attach", "term"], 24, 80);
    t.wait_raw(T);
    t.write(b"echo again-$((2+3))\r");
    t.expect("again-5", T);
    t.write(b"exit 7\r");
    assert_eq!(t.wait(T), 7, "{}", t.screen);
    assert_eq!(k.inspect("term")["State"]["ExitCode"], 7);
}

#[test]
fn detach_keys_come_from_run_or_attach() {
    let k = Kiste::new();
    k.busybox();
    k.ok(&[
        "run",
        "-dit",
        "--detach-keys",
        "ctrl-a,a",
        "--name",
        "keys",
        "busybox",
        "sh",
    ]);
    let mut t = Term::spawn(&k, &["attach", "keys"], 24, 80);
    t.wait_raw(T);
    // docker's default keys pass through to the shell when others are set.
    t.write(b"\x10\x11echo still-$((1+1))\r");
    t.expect("still-2", T);
    t.write(b"\x01a");
    assert_eq!(t.wait(T), 1, "{}", t.screen);
    let mut t = Term::spawn(&k, &["attach", "--detach-keys", "ctrl-x", "keys"], 24, 80);
    t.wait_raw(T);
    t.write(b"echo third\r");
    t.expect("third", T);
    t.write(b"\x18");
    assert_eq!(t.wait(T), 1, "{}", t.screen);
    assert_eq!(k.inspect("keys")["State"]["Running"], true);
}

#[test]
fn attach_to_run_di_pipes_stdin() {
    let k = Kiste::new();
    k.busybox();
    k.ok(&[
        "run",
        "-di",
        "--name",
        "pipe",
        "busybox",
        "sh",
        "-c",
        "read x; echo got-$x; exit 6",
    ]);
    let mut cmd = k.cmd(&["attach", "pipe"]);
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"typed\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "got-typed\n");
    assert_eq!(out.status.code(), Some(6));
}

#[test]
fn attach_without_a_terminal_streams_output_and_a_stopped_one_is_refused() {
    let k = Kiste::new();
    k.busybox();
    k.ok(&[
        "run",
        "-d",
        "--name",
        "plain",
        "busybox",
        "sh",
        "-c",
        "while [ ! -e /go ]; do sleep 0.05; done; echo to-out; echo to-err >&2; exit 4",
    ]);
    let child = k
        .cmd(&["attach", "plain"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // attach is following before the container writes anything.
    wait_until("the container's runroot directory", T, || {
        std::fs::read_dir(k.runroot().join("containers")).is_ok_and(|mut d| d.next().is_some())
    });
    std::thread::sleep(Duration::from_millis(300));
    k.ok(&["exec", "plain", "touch", "/go"]);
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "to-out\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "to-err\n");
    assert_eq!(out.status.code(), Some(4));
    let r = k.run(&["attach", "plain"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("You cannot attach to a stopped container, start it first"),
        "{}",
        r.stderr
    );
}

#[test]
fn attach_proxies_signals_to_a_container_without_a_terminal() {
    let k = Kiste::new();
    k.busybox();
    k.ok(&[
        "run",
        "-d",
        "--name",
        "trapper",
        "busybox",
        "sh",
        "-c",
        "trap 'echo got-term; exit 9' TERM; while true; do sleep 0.1; done",
    ]);
    let child = k
        .cmd(&["attach", "trapper"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Signal once attach has blocked the signals it proxies.
    let status = format!("/proc/{}/status", child.id());
    wait_until("attach to block the signals it proxies", T, || {
        std::fs::read_to_string(&status)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.strip_prefix("SigBlk:"))
            .any(|m| {
                u64::from_str_radix(m.trim(), 16).unwrap_or(0) & (1 << (libc::SIGTERM - 1)) != 0
            })
    });
    // SAFETY: signalling the attach process this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "got-term\n");
    assert_eq!(out.status.code(), Some(9));
}

#[test]
fn a_foreground_run_it_detaches_with_ctrl_p_ctrl_q_and_the_container_goes_on() {
    let k = Kiste::new();
    k.busybox();
    let mut t = Term::spawn(
        &k,
        &["run", "-it", "--rm", "--name", "fg", "busybox", "sh"],
        30,
        100,
    );
    t.wait_raw(T);
    // The shell's first prompt, made before the terminal was attached, is on the screen.
    t.expect("/ # ", T);
    t.write(b"echo fg-$((6*7)); stty size\r");
    t.expect("fg-42", T);
    t.expect("30 100", T);
    t.write(b"\x10\x11");
    assert_eq!(
        t.wait(T),
        0,
        "docker's run -it ends 0 on a detach: {}",
        t.screen
    );
    assert!(
        t.is_cooked(),
        "the terminal was not restored after the detach"
    );
    assert_eq!(k.inspect("fg")["State"]["Running"], true);
    let mut t = Term::spawn(&k, &["attach", "fg"], 24, 80);
    t.wait_raw(T);
    t.write(b"exit 5\r");
    assert_eq!(t.wait(T), 5, "{}", t.screen);
    // --rm: gone after its exit.
    wait_until("the --rm container to go", T, || {
        k.ok(&["ps", "-aq"]).trim().is_empty()
    });
}

#[test]
fn a_foreground_run_it_rm_ends_with_the_shells_exit_code() {
    let k = Kiste::new();
    k.busybox();
    let mut t = Term::spawn(&k, &["run", "-it", "--rm", "busybox", "sh"], 24, 80);
    t.wait_raw(T);
    t.write(b"exit 9\r");
    assert_eq!(t.wait(T), 9, "{}", t.screen);
    assert!(t.is_cooked());
    assert!(k.ok(&["ps", "-aq"]).trim().is_empty());
}
