//! A docker engine for comparison tests: uses the running one, or starts `dockerd` (Debian's
//! docker.io) and waits for it. A test never stops the engine it started, since the next
//! test binaries share it: it writes the engine's pid to `$KISTE_TEST_DOCKERD_PIDFILE`
//! (default /tmp/kiste-tests-dockerd.pid), and scripts/test.sh stops that pid at the end.

use super::{Kiste, Run};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Where a started engine's pid is written for scripts/test.sh to stop it.
fn pid_file() -> std::path::PathBuf {
    std::env::var_os("KISTE_TEST_DOCKERD_PIDFILE")
        .map(Into::into)
        .unwrap_or_else(|| "/tmp/kiste-tests-dockerd.pid".into())
}

fn answers() -> bool {
    Command::new("docker")
        .arg("info")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Make sure `docker` answers; panics with the reason when it cannot (docker.io missing).
pub fn ensure_docker() {
    // Two tests of one binary must not both start an engine.
    static STARTING: Mutex<()> = Mutex::new(());
    let _one = STARTING.lock().unwrap_or_else(|e| e.into_inner());
    if answers() {
        return;
    }
    let log = std::fs::File::create("/tmp/kiste-tests-dockerd.log").unwrap();
    // Left running on purpose: other test binaries share it, and it outlives this test;
    // scripts/test.sh stops it by the pid written here.
    #[allow(clippy::zombie_processes)]
    let engine = Command::new("dockerd")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .stdin(Stdio::null())
        .spawn()
        .expect("dockerd is installed (apt-get install docker.io)");
    std::fs::write(pid_file(), format!("{}\n", engine.id())).unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    while !answers() {
        assert!(
            Instant::now() < deadline,
            "dockerd did not start: see /tmp/kiste-tests-dockerd.log"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The docker CLI with `args`, its exit code and output.
pub fn docker(args: &[&str]) -> Run {
    Command::new("docker").args(args).output().unwrap().into()
}

/// kiste's busybox, loaded into docker as `name` (a name no other test uses).
pub fn docker_busybox(k: &Kiste, name: &'static str) -> &'static str {
    k.ok(&["tag", "busybox", name]);
    let tar = k.dir.path().join("bb.tar");
    k.ok(&["save", "-o", tar.to_str().unwrap(), name]);
    let r = docker(&["load", "-q", "-i", tar.to_str().unwrap()]);
    assert_eq!(r.code, 0, "docker load: {}", r.stderr);
    name
}
