//! What kiste writes besides results: `--log-level` lines on stderr (logrus's text format
//! off a terminal), no colors with `NO_COLOR` (checked on a real pseudo-terminal through
//! `script`), and `run -q` pulling without a word.

mod support;

use std::process::Command;
use support::registry::{busybox_as, Registry};
use support::{have, skip, Kiste};

#[test]
fn log_level_debug_writes_logrus_lines_to_stderr_only() {
    let k = Kiste::new();
    let quiet = k.run(&["ps"]);
    assert_eq!(quiet.stderr, "", "nothing is logged at the default level");
    let r = k.run(&["--log-level", "debug", "ps", "-q"]);
    assert_eq!((r.code, r.stdout.as_str()), (0, ""));
    let line = r.stderr.lines().next().unwrap_or_default();
    assert!(line.starts_with("time=\""), "{}", r.stderr);
    assert!(line.contains(" level=debug msg=\"store root "), "{line}");
    assert!(r.stderr.contains(k.root().to_str().unwrap()));
    // The environment sets it too, and the flag goes anywhere on the line.
    let r = k.cmd(&["ps", "--log-level", "error"]).output().unwrap();
    assert!(r.stderr.is_empty());
    let r = k
        .cmd(&["ps"])
        .env("KISTE_LOG_LEVEL", "debug")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&r.stderr).contains("level=debug"));
    let bad = k.run(&["--log-level", "loud", "ps"]);
    assert_eq!(bad.code, 125);
    assert!(bad.stderr.contains("--log-level"), "{}", bad.stderr);
}

/// `kiste ARGS` on a pseudo-terminal (util-linux `script`), with `env` set; its output.
fn on_tty(k: &Kiste, args: &str, env: &[(&str, &str)]) -> String {
    let line = format!(
        "{} --root {} --runroot {} {args}",
        env!("CARGO_BIN_EXE_kiste"),
        k.root().display(),
        k.runroot().display()
    );
    let mut c = Command::new("script");
    c.args(["-qec", &line, "/dev/null"]).env_remove("NO_COLOR");
    for (key, val) in env {
        c.env(key, val);
    }
    String::from_utf8_lossy(&c.output().unwrap().stdout).into_owned()
}

#[test]
fn no_color_turns_off_every_escape_on_a_terminal() {
    if !have("script") {
        skip("script (util-linux) is not installed");
        return;
    }
    let k = Kiste::new();
    // On a terminal, help and logs are colored...
    let colored = on_tty(&k, "--log-level debug stop --help", &[]);
    assert!(colored.contains('\x1b'), "{colored:?}");
    assert!(
        colored.contains("DEBU") || colored.contains("Usage"),
        "{colored:?}"
    );
    // ...and NO_COLOR takes every escape away, errors included.
    for args in ["stop --help", "--log-level debug ps", "stop --bogus"] {
        let plain = on_tty(&k, args, &[("NO_COLOR", "1")]);
        assert!(!plain.contains('\x1b'), "{args}: {plain:?}");
    }
    let log = on_tty(&k, "--log-level debug ps", &[("NO_COLOR", "1")]);
    assert!(log.contains("DEBU[0000] store root "), "{log:?}");
}

#[test]
fn run_quiet_pulls_without_a_word() {
    let k = Kiste::new();
    let Some(reg) = Registry::start(&k.dir.path().join("registry"), "", "") else {
        skip("docker-registry is not installed (apt-get install docker-registry)");
        return;
    };
    let name = format!("{}/quiet/bb:1", reg.host());
    busybox_as(&k, &name);
    k.ok(&["push", &name]);
    let k2 = Kiste::new();
    let r = k2.run(&["run", "--rm", "-q", &name, "echo", "hi"]);
    assert_eq!(
        (r.code, r.stdout.as_str(), r.stderr.as_str()),
        (0, "hi\n", "")
    );
    k2.ok(&["rmi", &name]);
    let r = k2.run(&["create", &name, "true"]);
    assert_eq!(r.code, 0);
    assert!(r.stderr.contains("Unable to find image"), "{}", r.stderr);
}

/// Escape sequences or carriage returns (spinners, bars, colors) in `text`.
fn decorated(text: &str) -> bool {
    text.contains('\x1b') || text.contains('\r')
}

#[test]
fn nothing_decorative_off_a_terminal() {
    let k = Kiste::new();
    k.busybox();
    let ctx = k.context("app", &[("Dockerfile", "FROM busybox\nRUN echo hi\n")]);
    for args in [
        vec!["build", "-t", "app", ctx.to_str().unwrap()],
        vec!["run", "--rm", "app", "echo", "x"],
        vec!["ps", "-a"],
        vec!["images"],
        vec!["info"],
        vec!["system", "df", "-v"],
        vec!["--log-level", "debug", "image", "prune", "-f"],
    ] {
        let r = k.run(&args);
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        assert!(!decorated(&r.stdout), "{args:?} stdout: {:?}", r.stdout);
        assert!(!decorated(&r.stderr), "{args:?} stderr: {:?}", r.stderr);
    }
}
