//! `kiste oci` on a bundle made by hand (busybox rootfs, a config.json as `runc spec`
//! writes it): the created state is real (the process exists, blocked before execve),
//! start releases it, state follows it to stopped, delete leaves nothing; run in the
//! foreground exits with the container's status; kill by name and number; list; and
//! every bad input ends with exit 1, a message, and nothing left behind; `run` makes no
//! exec fifo and has its state and pid file written before its program runs.

mod support;

use support::oci::*;
use support::runtime::serial;

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn create_blocks_before_exec_start_runs_delete_leaves_nothing() {
    let _g = serial();
    let b = bundle("life", "echo started; exit 0");
    let pidfile = b.dir().join("pid");
    let pidarg = pidfile.to_str().unwrap();
    let (code, out, err) = b.oci_files("create", &["create", "--pid-file", pidarg, "c1"]);
    assert_eq!(code, 0, "{}", text(&err));
    let st = b.state("c1");
    assert_eq!(st["status"], "created");
    assert_eq!(st["id"], "c1");
    let pid: i32 = text(&pidfile).trim().parse().unwrap();
    assert_eq!(st["pid"], pid);
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    // Still kiste, not the user's program: nothing has been exec'd.
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap();
    assert!(exe.ends_with("kiste"), "{}", exe.display());
    assert_eq!(text(&out), "");
    assert!(b.state.join("c1/exec.fifo").exists());
    assert!(!b.cgroup_dirs().is_empty(), "no cgroup {}", b.cgroup);

    let start = b.oci(&["start", "c1"]);
    assert!(start.status.success(), "{}", stderr(&start));
    assert!(!b.state.join("c1/exec.fifo").exists());
    let st = b.wait_status("c1", "stopped");
    assert_eq!(st["status"], "stopped", "{st}");
    assert_eq!(st["pid"], 0);
    assert_eq!(text(&out), "started\n");
    // A second start of a stopped container is refused.
    assert_eq!(b.oci(&["start", "c1"]).status.code(), Some(1));

    let del = b.oci(&["delete", "c1"]);
    assert!(del.status.success(), "{}", stderr(&del));
    assert!(!b.state.join("c1").exists());
    assert_eq!(b.cgroup_dirs(), Vec::<std::path::PathBuf>::new());
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(b.dir().to_str().unwrap()), "{mounts}");
}

#[test]
fn run_in_the_foreground_exits_with_the_containers_status() {
    let _g = serial();
    let b = bundle("run", "echo out; echo err >&2; exit 7");
    let (code, out, err) = b.oci_files("run", &["run", "r1"]);
    assert_eq!(code, 7, "{}", text(&err));
    assert_eq!(text(&out), "out\n");
    assert!(text(&err).contains("err"));
    assert!(!b.state.join("r1").exists(), "run without --keep deletes");
    assert!(b.cgroup_dirs().is_empty());
}

#[test]
fn kill_takes_signal_names_and_numbers() {
    let _g = serial();
    for (n, sig) in ["KILL", "SIGTERM", "9", "15"].iter().enumerate() {
        let b = bundle("kill", "trap 'exit 0' TERM; sleep 30 & wait");
        let id = format!("k{n}");
        let (code, _, err) = b.oci_files("run", &["run", "--detach", &id]);
        assert_eq!(code, 0, "{}", text(&err));
        assert_eq!(b.state(&id)["status"], "running");
        let k = b.oci(&["kill", &id, sig]);
        assert!(k.status.success(), "{sig}: {}", stderr(&k));
        assert_eq!(b.wait_status(&id, "stopped")["status"], "stopped", "{sig}");
        assert!(b.oci(&["delete", &id]).status.success());
        assert!(b.cgroup_dirs().is_empty());
    }
}

#[test]
fn delete_force_kills_a_running_container_and_list_shows_them() {
    let _g = serial();
    let b = bundle("list", "sleep 30");
    for id in ["la", "lb"] {
        let (code, _, err) = b.oci_files(id, &["run", "-d", id]);
        assert_eq!(code, 0, "{}", text(&err));
    }
    let q = b.oci(&["list", "-q"]);
    assert_eq!(String::from_utf8_lossy(&q.stdout), "la\nlb\n");
    let table = String::from_utf8_lossy(&b.oci(&["list"]).stdout).into_owned();
    assert!(
        table.starts_with("ID          PID         STATUS      BUNDLE"),
        "{table}"
    );
    assert!(table.lines().nth(1).unwrap().contains("running"), "{table}");
    let json: serde_json::Value =
        serde_json::from_slice(&b.oci(&["list", "--format", "json"]).stdout).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 2);
    assert_eq!(json[0]["id"], "la");
    // A running container is not deleted without --force.
    assert_eq!(b.oci(&["delete", "la"]).status.code(), Some(1));
    for id in ["la", "lb"] {
        let d = b.oci(&["delete", "--force", id]);
        assert!(d.status.success(), "{}", stderr(&d));
    }
    assert_eq!(String::from_utf8_lossy(&b.oci(&["list", "-q"]).stdout), "");
    assert!(b.cgroup_dirs().is_empty());
    // --force on an id that does not exist is not an error, as in runc.
    assert!(b.oci(&["delete", "--force", "la"]).status.success());
}

#[test]
fn state_has_the_keys_runc_prints() {
    let _g = serial();
    let b = bundle("keys", "sleep 30");
    let (code, _, err) = b.oci_files("create", &["create", "s1"]);
    assert_eq!(code, 0, "{}", text(&err));
    let ours = b.state("s1");
    let runc_root = b.dir().join("runc-state");
    let runc = |args: &[&str]| {
        std::process::Command::new("runc")
            .arg("--root")
            .arg(&runc_root)
            .args(args)
            .current_dir(b.dir())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
    };
    if runc(&["--version"]).map(|s| !s.success()).unwrap_or(true) {
        b.oci(&["delete", "--force", "s1"]);
        support::skip("runc is not installed");
        return;
    }
    // runc in its own cgroup, as it would be.
    let mut config = b.config.clone();
    config["linux"]["cgroupsPath"] = serde_json::json!(format!("/{}-runc", b.cgroup));
    b.write_config(&config);
    assert!(runc(&["create", "r1"]).unwrap().success());
    let out = std::process::Command::new("runc")
        .arg("--root")
        .arg(&runc_root)
        .args(["state", "r1"])
        .output()
        .unwrap();
    let theirs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let _ = runc(&["delete", "--force", "r1"]);
    b.oci(&["delete", "--force", "s1"]);
    let keys =
        |v: &serde_json::Value| -> Vec<String> { v.as_object().unwrap().keys().cloned().collect() };
    assert_eq!(keys(&ours), keys(&theirs), "ours {ours} runc {theirs}");
    assert_eq!(ours["status"], theirs["status"]);
    assert_eq!(ours["bundle"], theirs["bundle"]);
    assert_eq!(ours["rootfs"], theirs["rootfs"]);
    assert_eq!(ours["ociVersion"], theirs["ociVersion"]);
}

#[test]
fn a_foreground_run_forwards_signals_to_the_container() {
    let _g = serial();
    let b = bundle(
        "fwd",
        "trap 'echo got TERM; exit 9' TERM; echo ready; sleep 30 & wait",
    );
    let out = b.dir().join("fwd.out");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_kiste"))
        .args(["oci", "--root"])
        .arg(&b.state)
        .args(["run", "f"])
        .current_dir(b.dir())
        .stdout(std::fs::File::create(&out).unwrap())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !text(&out).contains("ready") && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    // SAFETY: signalling the kiste oci run we spawned.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(9), "{}", text(&out));
    assert!(text(&out).contains("got TERM"));
    assert!(b.cgroup_dirs().is_empty());
}

#[test]
fn run_records_its_state_and_pid_file_before_the_program_and_makes_no_exec_fifo() {
    let _g = serial();
    let mut b = bundle("runrec", "exit 3");
    let pidfile = b.dir().join("pid");
    let seen = b.dir().join("seen");
    // A prestart hook runs before pivot_root, so before the program: it copies what the
    // state directory and the pid file hold at that moment.
    let script = format!(
        "cat > {seen}.stdin; ls {state}/rr > {seen}.ls; cat {state}/rr/state.json > {seen}.state; cat {pid} > {seen}.pid",
        seen = seen.display(),
        state = b.state.display(),
        pid = pidfile.display()
    );
    b.config["hooks"] = serde_json::json!({
        "prestart": [{"path": "/bin/sh", "args": ["sh", "-c", script], "timeout": 10}]
    });
    b.write();
    let (code, _, err) = b.oci_files(
        "rr",
        &["run", "--pid-file", pidfile.to_str().unwrap(), "rr"],
    );
    assert_eq!(code, 3, "{}", text(&err));
    let pid: i32 = text(&pidfile).trim().parse().unwrap();
    assert_eq!(text(&seen.with_extension("pid")).trim(), pid.to_string());
    let rec: serde_json::Value =
        serde_json::from_str(&text(&seen.with_extension("state"))).unwrap();
    assert_eq!(rec["id"], "rr");
    assert_eq!(rec["pid"], pid);
    let listed = text(&seen.with_extension("ls"));
    assert!(!listed.contains("exec.fifo"), "{listed}");
    let stdin: serde_json::Value =
        serde_json::from_str(&text(&seen.with_extension("stdin"))).unwrap();
    assert_eq!(stdin["pid"], pid);
    assert!(!b.state.join("rr").exists(), "run without --keep deletes");
}
