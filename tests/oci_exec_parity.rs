//! `kiste oci exec` against `runc exec` on the same bundle: the exec'd process has the
//! five capability sets, user, gid and supplementary groups runc gives it (from the
//! container's process, `--cap`, `--user`/`--additional-gids`, or `--process FILE`), as
//! /proc/self/status shows them; and a foreground exec passes the signals its caller
//! gets on to the process (a trap sees each) and exits with the process's status (runc
//! passes WINCH on only as a terminal's resize; kiste passes it on, as its `run` does).

mod support;

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

use support::oci::{bundle, Bundle};

#[derive(Clone, Copy, PartialEq)]
enum Runtime {
    Kiste,
    Runc,
}

fn runc_present() -> bool {
    Command::new("runc")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn command(b: &Bundle, rt: Runtime, args: &[&str]) -> Command {
    let mut c = match rt {
        Runtime::Kiste => {
            let mut c = Command::new(env!("CARGO_BIN_EXE_kiste"));
            c.arg("oci").arg("--root").arg(&b.state);
            c
        }
        Runtime::Runc => {
            let mut c = Command::new("runc");
            c.arg("--root").arg(b.dir().join("runc-state"));
            c
        }
    };
    c.args(args).current_dir(b.dir()).stdin(Stdio::null());
    c
}

/// The bundle: a sleeping process of uid 1000 with groups and all five capability sets.
fn parity_bundle(tag: &str) -> Bundle {
    let mut b = bundle(tag, "sleep 300");
    let p = &mut b.config["process"];
    p["user"] = serde_json::json!({"uid": 1000, "gid": 1000, "additionalGids": [10, 20]});
    p["noNewPrivileges"] = serde_json::json!(false);
    let set = serde_json::json!(["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETUID"]);
    p["capabilities"] = serde_json::json!({
        "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETUID", "CAP_CHOWN"],
        "effective": set, "permitted": set, "inheritable": set,
        "ambient": ["CAP_KILL", "CAP_NET_BIND_SERVICE"]
    });
    b.write();
    b
}

/// Runs the container under `rt` (its own cgroup), calls `each` with it, deletes it.
fn with_container(b: &Bundle, rt: Runtime, id: &str, each: impl FnOnce()) {
    let mut config = b.config.clone();
    config["linux"]["cgroupsPath"] = serde_json::json!(format!("/{}-{id}", b.cgroup));
    b.write_config(&config);
    let st = command(b, rt, &["run", "-d", id])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success(), "run -d {id} failed");
    each();
    let _ = command(b, rt, &["delete", "--force", id]).output();
}

/// The identity lines of /proc/self/status as an exec with `flags` sees them.
fn identity(b: &Bundle, rt: Runtime, id: &str, flags: &[&str]) -> String {
    let mut args = vec!["exec"];
    args.extend_from_slice(flags);
    args.extend_from_slice(&[id, "cat", "/proc/self/status"]);
    let out = command(b, rt, &args).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "exec {flags:?}: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    identity_of(&text)
}

#[test]
fn exec_gets_the_capabilities_user_and_groups_runc_gives() {
    if !runc_present() {
        support::skip("runc is not installed");
        return;
    }
    let b = parity_bundle("execids");
    let process = b.dir().join("process.json");
    std::fs::write(
        &process,
        serde_json::json!({
            "args": ["cat", "/proc/self/status"], "cwd": "/", "env": ["PATH=/bin"],
            "user": {"uid": 3000, "gid": 3001, "additionalGids": [7]},
            "capabilities": {"bounding": ["CAP_KILL", "CAP_CHOWN"], "effective": ["CAP_CHOWN"],
                "permitted": ["CAP_CHOWN", "CAP_KILL"], "inheritable": ["CAP_KILL"],
                "ambient": ["CAP_KILL"]}
        })
        .to_string(),
    )
    .unwrap();
    let process_flag = format!("--process={}", process.display());
    let cases: [&[&str]; 5] = [
        &[],
        &["--cap", "CAP_SYS_ADMIN"],
        &["--user", "2000:3000", "--additional-gids", "40"],
        &["--user", "2000"],
        &[process_flag.as_str()],
    ];
    let mut seen = [Vec::new(), Vec::new()];
    for (i, rt) in [Runtime::Runc, Runtime::Kiste].into_iter().enumerate() {
        let id = if rt == Runtime::Runc {
            "ids-runc"
        } else {
            "ids-kiste"
        };
        with_container(&b, rt, id, || {
            for flags in cases {
                let lines = if flags.first().is_some_and(|f| f.starts_with("--process")) {
                    // The process file's own args; no command line after the id.
                    let out = command(&b, rt, &["exec", flags[0], id]).output().unwrap();
                    assert!(
                        out.status.success(),
                        "{}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                    identity_of(&String::from_utf8_lossy(&out.stdout))
                } else {
                    identity(&b, rt, id, flags)
                };
                seen[i].push(lines);
            }
        });
    }
    for (n, flags) in cases.iter().enumerate() {
        assert!(seen[0][n].contains("CapAmb"), "runc gave {}", seen[0][n]);
        assert_eq!(
            seen[1][n], seen[0][n],
            "exec {flags:?}: kiste (left) vs runc (right)"
        );
    }
}

fn identity_of(text: &str) -> String {
    let keep = [
        "Uid:",
        "Gid:",
        "Groups:",
        "CapInh:",
        "CapPrm:",
        "CapEff:",
        "CapBnd:",
        "CapAmb:",
        "NoNewPrivs:",
    ];
    text.lines()
        .filter(|l| keep.iter().any(|k| l.starts_with(k)))
        .map(|l| format!("{}\n", l.split_whitespace().collect::<Vec<_>>().join(" ")))
        .collect()
}

/// A foreground exec of a trap script; `sig` is sent to the exec command (not the
/// process) once the script is ready. Returns (exit code, what the script printed).
fn trapped(b: &Bundle, rt: Runtime, id: &str, sig: i32, name: &str) -> (i32, String) {
    let script =
        format!("trap 'echo got {name}; exit 7' {name}; echo ready; while :; do sleep 0.05; done");
    let mut child = command(b, rt, &["exec", id, "sh", "-c", &script])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    assert_eq!(first.trim(), "ready", "{name}: the script did not start");
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, sig) };
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    let code = child.wait().unwrap().code().unwrap_or(-1);
    (code, rest.trim().to_string())
}

#[test]
fn foreground_exec_forwards_signals_and_exits_with_the_process_status() {
    let b = bundle("execsig", "sleep 300");
    let signals = [
        (libc::SIGINT, "INT"),
        (libc::SIGTERM, "TERM"),
        (libc::SIGHUP, "HUP"),
        (libc::SIGQUIT, "QUIT"),
        (libc::SIGUSR1, "USR1"),
        (libc::SIGUSR2, "USR2"),
        (libc::SIGWINCH, "WINCH"),
    ];
    let mut runtimes = vec![Runtime::Kiste];
    if runc_present() {
        runtimes.push(Runtime::Runc);
    }
    for rt in runtimes {
        let id = if rt == Runtime::Runc {
            "sig-runc"
        } else {
            "sig-kiste"
        };
        with_container(&b, rt, id, || {
            for (sig, name) in signals {
                // runc passes WINCH on only as a terminal's resize.
                if rt == Runtime::Runc && sig == libc::SIGWINCH {
                    continue;
                }
                let (code, said) = trapped(&b, rt, id, sig, name);
                assert_eq!(
                    (code, said.as_str()),
                    (7, format!("got {name}").as_str()),
                    "{} exec did not pass {name} on",
                    if rt == Runtime::Runc { "runc" } else { "kiste" }
                );
            }
        });
    }
}
