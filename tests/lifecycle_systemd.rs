//! After a reboot: `generate systemd` units (checked by systemd-analyze where it is
//! installed, and carried out by hand: their ExecStart/ExecStop command lines really
//! start and stop the container) and `start --all --filter restart-policy=always`.

mod support;
use std::process::Command;
use support::Kiste;

/// The value of `key=` in the unit (the first one).
fn field<'a>(unit: &'a str, key: &str) -> &'a str {
    unit.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key}= in\n{unit}"))
}

/// Run a unit's command line (kiste's generated lines hold no quoted words here).
fn exec_line(line: &str) -> support::Run {
    let line = line.strip_prefix('-').unwrap_or(line);
    let words: Vec<&str> = line.split_whitespace().collect();
    Command::new(words[0])
        .args(&words[1..])
        .output()
        .unwrap()
        .into()
}

fn verify(k: &Kiste, name: &str, unit: &str) {
    if !support::have("systemd-analyze") {
        support::skip("systemd-analyze is not installed: the unit's fields are checked only");
        return;
    }
    let path = k.dir.path().join(name);
    std::fs::write(&path, unit).unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .current_dir(k.dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && err.trim().is_empty(),
        "{unit}\n{err}"
    );
}

#[test]
fn a_generated_unit_starts_and_stops_the_existing_container() {
    let k = Kiste::new();
    k.busybox();
    let id = k.ok(&["create", "--name", "svc", "busybox", "sleep", "100"]);
    let id = id.trim();
    let unit = k.ok(&["generate", "systemd", "--name", "svc"]);
    assert!(unit.starts_with("# container-svc.service\n"), "{unit}");
    assert_eq!(field(&unit, "Type"), "forking");
    assert_eq!(field(&unit, "Restart"), "on-failure");
    assert_eq!(field(&unit, "TimeoutStopSec"), "70");
    assert_eq!(field(&unit, "WantedBy"), "default.target");
    verify(&k, "container-svc.service", &unit);

    let started = exec_line(field(&unit, "ExecStart"));
    assert_eq!(started.code, 0, "{}", started.stderr);
    let rec = k.inspect("svc");
    assert_eq!(rec["State"]["Status"], "running");
    // systemd follows the monitor through the PIDFile.
    let pid_file = field(&unit, "PIDFile");
    assert!(pid_file.contains(id));
    let pid: i64 = std::fs::read_to_string(pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(pid, k.monitor_pid(id));

    let stopped = exec_line(field(&unit, "ExecStop"));
    assert_eq!(stopped.code, 0, "{}", stopped.stderr);
    assert_eq!(k.inspect("svc")["State"]["Status"], "exited");
}

#[test]
fn a_new_unit_recreates_the_container_from_its_create_command() {
    let k = Kiste::new();
    k.busybox();
    k.ok(&[
        "create",
        "--name",
        "fresh",
        "-e",
        "GREETING=hi",
        "busybox",
        "sh",
        "-c",
        "echo $GREETING; sleep 100",
    ]);
    let unit = k.ok(&["generate", "systemd", "--new", "--name", "-t", "3", "fresh"]);
    assert!(field(&unit, "ExecStart").contains(" run -d "), "{unit}");
    assert!(field(&unit, "ExecStop").ends_with("stop -t 3 fresh"));
    assert_eq!(field(&unit, "TimeoutStopSec"), "63");
    // `$` is escaped for systemd; the quoted word is run through sh by hand below.
    assert!(unit.contains("\"echo $$GREETING; sleep 100\""), "{unit}");
    verify(&k, "container-fresh.service", &unit);

    let old = k.inspect("fresh")["Id"].clone();
    let pre = exec_line(field(&unit, "ExecStartPre"));
    assert_eq!(pre.code, 0, "{}", pre.stderr);
    // The run line, with the shell script as one word as systemd would pass it.
    let run = field(&unit, "ExecStart");
    let (head, _) = run.split_once(" \"").unwrap();
    let mut words: Vec<&str> = head.split_whitespace().collect();
    words.push("echo $GREETING; sleep 100");
    let started = Command::new(words[0]).args(&words[1..]).output().unwrap();
    assert!(
        started.status.success(),
        "{}",
        String::from_utf8_lossy(&started.stderr)
    );
    let rec = k.inspect("fresh");
    assert_ne!(rec["Id"], old);
    assert_eq!(rec["State"]["Status"], "running");
    k.wait_for_log("fresh", "hi", std::time::Duration::from_secs(10));
    assert_eq!(exec_line(field(&unit, "ExecStop")).code, 0);
    assert_eq!(exec_line(field(&unit, "ExecStopPost")).code, 0);
    assert_eq!(
        k.run(&["inspect", "fresh"]).code,
        1,
        "removed after the stop"
    );
}

#[test]
fn after_a_crash_start_all_brings_back_the_always_containers() {
    let k = Kiste::new();
    k.busybox();
    let id = k.ok(&[
        "run",
        "-d",
        "--name",
        "always1",
        "--restart",
        "always",
        "busybox",
        "sleep",
        "100",
    ]);
    k.ok(&["run", "-d", "--name", "plain", "busybox", "sleep", "100"]);
    let stopped = k.ok(&[
        "run",
        "-d",
        "--name",
        "stopped",
        "--restart",
        "unless-stopped",
        "busybox",
        "sleep",
        "100",
    ]);
    k.ok(&["stop", "-t", "0", "stopped"]);
    // What a reboot does to the running ones: every monitor and container gone at once.
    for name in ["always1", "plain"] {
        let id = k.inspect(name)["Id"].as_str().unwrap().to_string();
        unsafe { libc::kill(k.monitor_pid(&id) as i32, libc::SIGKILL) };
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while k.inspect("always1")["State"]["Status"] != "exited" {
        assert!(std::time::Instant::now() < deadline);
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = k.ok(&[
        "start",
        "--all",
        "--filter",
        "restart-policy=always",
        "--filter",
        "restart-policy=unless-stopped",
    ]);
    assert_eq!(out.trim(), id.trim(), "only the always container: {out}");
    assert_eq!(k.inspect("always1")["State"]["Status"], "running");
    assert_eq!(k.inspect("plain")["State"]["Status"], "exited");
    assert_eq!(k.inspect(stopped.trim())["State"]["Status"], "exited");
}
