//! A build killed or interrupted in the middle of a RUN step: the step's processes die
//! with the build; SIGINT and SIGTERM clean up and exit 130 and 143; after a SIGKILL any
//! kiste command (not only the next build) removes what the build left: its scratch dir,
//! overlay mounts and cgroups.

mod support;

use std::path::PathBuf;
use std::process::Child;
use std::time::Duration;
use support::*;

/// Gone or a zombie nobody reaps (PID 1 here need not reap orphans).
fn dead(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| s[s.rfind(')').unwrap() + 1..].trim_start().starts_with('Z'))
        .unwrap_or(true)
}

/// The host pid of a live process whose command line is exactly `argv`.
fn find_process(argv: &[&str]) -> Option<i32> {
    let want = argv.join("\0") + "\0";
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: i32 = e.file_name().to_str()?.parse().ok()?;
        let cmd = std::fs::read(e.path().join("cmdline")).ok()?;
        (cmd == want.as_bytes() && !dead(pid)).then_some(pid)
    })
}

/// The build's scratch dirs under the store.
fn scratch_dirs(k: &Kiste) -> Vec<PathBuf> {
    std::fs::read_dir(k.root().join("build"))
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

/// Start a build whose RUN step sleeps; wait until that step's process runs. The
/// build, the step's host pid and the cgroup names the build recorded.
fn build_in_run_step(k: &Kiste, seconds: &str) -> (Child, i32, Vec<String>) {
    k.busybox();
    let ctx = k.context(
        "slow",
        &[(
            "Dockerfile",
            &format!("FROM busybox\nRUN [\"sleep\", \"{seconds}\"]\n"),
        )],
    );
    let child = k
        .cmd(&["build", "-t", "slow", ctx.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut pid = None;
    wait_until("the RUN step to run", Duration::from_secs(20), || {
        pid = find_process(&["sleep", seconds]);
        pid.is_some()
    });
    let cgroups: Vec<String> = scratch_dirs(k)
        .iter()
        .filter_map(|d| std::fs::read_to_string(d.join("cgroups")).ok())
        .flat_map(|t| t.lines().map(str::to_string).collect::<Vec<_>>())
        .collect();
    assert!(!cgroups.is_empty(), "the build recorded its RUN cgroup");
    (child, pid.unwrap(), cgroups)
}

fn assert_build_left_nothing(k: &Kiste, step: i32, cgroups: &[String]) {
    assert!(dead(step), "the RUN step {step} still runs");
    assert!(k.mounts().is_empty(), "mounts left: {:?}", k.mounts());
    assert!(
        scratch_dirs(k).is_empty(),
        "build dirs left: {:?}",
        scratch_dirs(k)
    );
    for name in cgroups {
        assert!(cgroup_left(name).is_empty(), "cgroup {name} left");
    }
    assert!(
        !k.ok(&["images"]).contains("slow"),
        "no image from an interrupted build"
    );
}

#[test]
fn a_killed_build_takes_its_run_step_along_and_any_command_cleans_up() {
    let k = Kiste::new();
    let (mut build, step, cgroups) = build_in_run_step(&k, "3101");
    unsafe { libc::kill(build.id() as i32, libc::SIGKILL) };
    build.wait().unwrap();
    wait_until(
        "the RUN step to die with its build",
        Duration::from_secs(20),
        || dead(step),
    );
    assert!(
        !scratch_dirs(&k).is_empty(),
        "the killed build left its dir"
    );
    // Not a build: any command cleans up after a dead build.
    k.ok(&["ps", "-a"]);
    assert_build_left_nothing(&k, step, &cgroups);
}

#[test]
fn sigterm_ends_a_build_with_143_and_cleans_up() {
    let k = Kiste::new();
    let (mut build, step, cgroups) = build_in_run_step(&k, "3102");
    unsafe { libc::kill(build.id() as i32, libc::SIGTERM) };
    let status = build.wait().unwrap();
    assert_eq!(status.code(), Some(143), "128 + SIGTERM");
    assert_build_left_nothing(&k, step, &cgroups);
}

#[test]
fn sigint_ends_a_build_with_130_and_cleans_up() {
    let k = Kiste::new();
    let (mut build, step, cgroups) = build_in_run_step(&k, "3103");
    unsafe { libc::kill(build.id() as i32, libc::SIGINT) };
    let status = build.wait().unwrap();
    assert_eq!(status.code(), Some(130), "128 + SIGINT");
    assert_build_left_nothing(&k, step, &cgroups);
}
