//! `run -it`, `run -t`, `run -a` and `exec -it` on a real pseudo-terminal driven from the
//! test: the screen, the exit code, the window size seen inside (at start and after a
//! resize), the user's terminal back in cooked mode afterwards, and the detach keys.

mod support;

use std::time::Duration;
use support::tty::Term;
use support::*;

const T: Duration = Duration::from_secs(20);

#[test]
fn run_it_gives_the_container_a_terminal_of_the_users_size() {
    let k = Kiste::new();
    k.busybox();
    let mut t = Term::spawn(&k, &["run", "-it", "--rm", "busybox", "sh"], 33, 101);
    t.expect("# ", T);
    assert!(!t.is_cooked(), "kiste did not put the terminal in raw mode");
    t.write(b"stty size; echo \"T=$TERM\"\r");
    t.expect("33 101", T);
    t.expect("T=xterm", T);
    t.resize(40, 120);
    t.write(b"stty size\r");
    t.expect("40 120", T);
    t.write(b"exit 5\r");
    assert_eq!(t.wait(T), 5, "{}", t.screen);
    assert!(t.is_cooked(), "the terminal was not restored");
}

#[test]
fn ctrl_d_ends_run_it_with_the_shells_exit_code() {
    let k = Kiste::new();
    k.busybox();
    let mut t = Term::spawn(
        &k,
        &["run", "-it", "--name", "ctrld", "busybox", "sh"],
        24,
        80,
    );
    t.expect("# ", T);
    t.write(b"true\r");
    t.write(b"\x04");
    assert_eq!(t.wait(T), 0, "{}", t.screen);
    assert!(t.is_cooked());
    assert_eq!(k.inspect("ctrld")["State"]["Status"], "exited");
    assert_eq!(k.inspect("ctrld")["Config"]["Tty"], true);
    // The log has what the terminal showed.
    assert!(k.ok(&["logs", "ctrld"]).contains("# "));
}

#[test]
fn run_t_without_i_gives_a_terminal_but_no_input() {
    let k = Kiste::new();
    k.busybox();
    let out = k.run(&[
        "run",
        "-t",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "test -t 0 && test -t 1 && echo on-a-tty; echo done",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("on-a-tty"), "{}", out.stdout);
    assert!(out.stdout.contains("done"), "{}", out.stdout);
}

#[test]
fn run_i_without_t_pipes_stdin_and_a_shows_chosen_streams() {
    let k = Kiste::new();
    k.busybox();
    let mut cmd = k.cmd(&[
        "run",
        "-i",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "test -t 0 || echo no-tty; cat",
    ]);
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"line one\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "no-tty\nline one\n");
    let script = "echo to-out; echo to-err >&2";
    let err_only = k.run(&["run", "--rm", "-a", "stderr", "busybox", "sh", "-c", script]);
    assert_eq!(
        (err_only.stdout.as_str(), err_only.stderr.as_str()),
        ("", "to-err\n")
    );
    let out_only = k.run(&["run", "--rm", "-a", "stdout", "busybox", "sh", "-c", script]);
    assert_eq!(
        (out_only.stdout.as_str(), out_only.stderr.as_str()),
        ("to-out\n", "")
    );
    let bad = k.run(&["run", "--rm", "-a", "stdmess", "busybox", "true"]);
    assert_eq!(bad.code, 125, "{}", bad.stderr);
}

#[test]
fn exec_it_is_a_terminal_in_the_container_and_ends_with_its_code() {
    let k = Kiste::new();
    k.busybox();
    k.ok(&[
        "run",
        "-d",
        "--name",
        "box",
        "--hostname",
        "ttybox",
        "busybox",
        "sleep",
        "1000",
    ]);
    let mut t = Term::spawn(&k, &["exec", "-it", "box", "sh"], 30, 90);
    t.expect("# ", T);
    t.write(b"stty size; hostname\r");
    t.expect("30 90", T);
    t.expect("ttybox", T);
    t.resize(50, 132);
    t.write(b"stty size\r");
    t.expect("50 132", T);
    t.write(b"exit 3\r");
    assert_eq!(t.wait(T), 3, "{}", t.screen);
    assert!(t.is_cooked());
}

#[test]
fn exec_it_detach_keys_leave_the_command_running() {
    let k = Kiste::new();
    k.busybox();
    k.ok(&["run", "-d", "--name", "box", "busybox", "sleep", "1000"]);
    let mut t = Term::spawn(
        &k,
        &[
            "exec",
            "-it",
            "--detach-keys",
            "ctrl-a,a",
            "box",
            "sh",
            "-c",
            "echo started; exec sleep 777",
        ],
        24,
        80,
    );
    t.expect("started", T);
    t.write(b"\x01a");
    assert_eq!(t.wait(T), 1, "{}", t.screen);
    t.expect("read escape sequence", T);
    assert!(t.is_cooked());
    let ps = k.ok(&["exec", "box", "ps", "-o", "args"]);
    assert!(
        ps.contains("sleep 777"),
        "the exec'd command ended on detach:\n{ps}"
    );
}
