//! The hooks' order and what each sees, as the runtime spec puts them (config.md,
//! "POSIX-platform Hooks"; runtime.md, "Lifecycle"): prestart and createRuntime run in
//! the runtime's namespaces once the container's mounts exist but before pivot_root
//! (through /proc/PID they see the container's mount namespace with the rootfs' /proc
//! still below the bundle's path), createContainer runs in the container's mount
//! namespace, also before pivot_root, startContainer inside after it, poststart after
//! start and after the program's execve. Each hook appends one line to a log; up to
//! pivot_root the log of `kiste oci run` must equal the log of `runc run` on the same
//! bundle.

mod support;

use std::process::{Command, Stdio};

use support::oci::{bundle, Bundle};
use support::runtime::serial;

/// A host hook: `sh -c SCRIPT` with ROOT (the rootfs) and LOG set.
fn hook(kind: &str, script: &str, root: &str, log: &str) -> serde_json::Value {
    serde_json::json!({
        "path": "/bin/sh",
        "args": ["sh", "-c", script, kind],
        "env": [format!("ROOT={root}"), format!("LOG={log}"), "PATH=/usr/bin:/bin"],
        "timeout": 10
    })
}

/// The line a hook writes: its kind, the state's status, whether the state's pid is the
/// container's, how many mounts sit on ROOT/proc in the mount namespace it looks at
/// (1 before pivot_root, 0 after), and that namespace.
const SEEN: &str = r#"state=$(cat)
status=$(echo "$state" | grep -o '"status":"[a-z]*"' | cut -d'"' -f4)
pid=$(echo "$state" | grep -o '"pid":[0-9]*' | cut -d: -f2)
echo "$0 status=$status pid=$([ "${pid:-0}" -gt 0 ] && echo set || echo none) prepivot=$(grep -c " $ROOT/proc " /proc/$TARGET/mountinfo) ns=$(readlink /proc/$TARGET/ns/mnt)" >> $LOG"#;

fn configure(b: &mut Bundle, logdir: &std::path::Path) {
    let root = std::fs::canonicalize(b.dir().join("root")).unwrap();
    let root = root.to_str().unwrap();
    let log = logdir.join("log");
    let log = log.to_str().unwrap();
    // Host hooks look at the container's process; the container's hooks at themselves.
    let of_pid = SEEN.replace("$TARGET", "$pid");
    let of_self = SEEN.replace("$TARGET", "self");
    b.config["hooks"] = serde_json::json!({
        "prestart": [hook("prestart", &of_pid, root, log)],
        "createRuntime": [hook("createRuntime", &of_pid, root, log)],
        "createContainer": [hook("createContainer", &of_self, root, log)],
        "startContainer": [hook("startContainer", &of_self, root, "/hooklog/log")],
        "poststart": [hook("poststart", &of_pid, root, log)],
    });
    b.config["mounts"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "destination": "/hooklog", "type": "bind",
            "source": logdir.to_str().unwrap(), "options": ["rbind", "rw"]
        }));
}

/// Runs the bundle detached under `runtime` (a command line), returns the hook log with
/// each mount namespace named by its order of appearance, then deletes it.
fn hook_log(b: &Bundle, runtime: &[&str], id: &str, logdir: &std::path::Path) -> Vec<String> {
    let _ = std::fs::remove_file(logdir.join("log"));
    let mut config = b.config.clone();
    config["linux"]["cgroupsPath"] = serde_json::json!(format!("/{}-{id}", b.cgroup));
    b.write_config(&config);
    // The detached container keeps its stdio: a file, not a pipe we would wait on.
    let err = b.dir().join(format!("{id}.err"));
    let run = |args: &[&str]| {
        Command::new(runtime[0])
            .args(&runtime[1..])
            .args(args)
            .current_dir(b.dir())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&err).unwrap())
            .status()
            .unwrap()
    };
    let started = logdir.join("started");
    let _ = std::fs::remove_file(&started);
    let ok = run(&["run", "-d", id]).success();
    let why = std::fs::read_to_string(&err).unwrap_or_default();
    // The program's first act: the startContainer hook before it has run.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while ok && !started.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let _ = run(&["delete", "--force", id]);
    assert!(ok, "{runtime:?} run: {why}");
    let text = std::fs::read_to_string(logdir.join("log")).unwrap_or_default();
    let mut names: Vec<String> = Vec::new();
    text.lines()
        .map(|l| {
            let (head, ns) = l.split_once(" ns=").unwrap_or((l, ""));
            let n = match names.iter().position(|x| x == ns) {
                Some(i) => i,
                None => {
                    names.push(ns.to_string());
                    names.len() - 1
                }
            };
            format!("{head} ns=#{n}")
        })
        .collect()
}

#[test]
fn hooks_run_in_the_specs_order_around_pivot_root() {
    let _g = serial();
    let mut b = bundle("hookorder", "touch /hooklog/started; exec sleep 300");
    let logdir = b.dir().join("hooklog");
    std::fs::create_dir(&logdir).unwrap();
    configure(&mut b, &logdir);
    let kiste = env!("CARGO_BIN_EXE_kiste");
    let state = b.state.to_str().unwrap().to_string();
    let ours = hook_log(&b, &[kiste, "oci", "--root", &state], "hk", &logdir);
    assert_eq!(
        ours,
        [
            "prestart status=creating pid=set prepivot=1 ns=#0",
            "createRuntime status=creating pid=set prepivot=1 ns=#0",
            "createContainer status=creating pid=set prepivot=1 ns=#0",
            "startContainer status=created pid=set prepivot=0 ns=#0",
            "poststart status=running pid=set prepivot=0 ns=#0",
        ],
        "kiste's hook log"
    );
    if !Command::new("runc")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        support::skip("runc is not installed: kiste's order is checked against the spec only");
        return;
    }
    let runc_root = b.dir().join("runc-state");
    let runc_root = runc_root.to_str().unwrap();
    let theirs = hook_log(&b, &["runc", "--root", runc_root], "hr", &logdir);
    // The hooks before pivot_root are where runc and the spec agree. runc 1.1.5 runs
    // poststart as soon as the exec fifo is read, racing the startContainer hooks and
    // the program; kiste waits for the program's execve, as the spec's lifecycle has it.
    assert_eq!(ours[..3], theirs[..3], "kiste (left) and runc (right)");
    assert!(
        theirs[3..].iter().any(|l| l.starts_with("startContainer "))
            && theirs[3..].iter().any(|l| l.starts_with("poststart ")),
        "runc: {theirs:?}"
    );
}
