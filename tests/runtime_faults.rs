//! A start never lies: a child that panics, aborts or is killed at any step before execve is a
//! setup error (exit 125, a message naming the container), never a started container,
//! and it leaves nothing behind (no process, no cgroup). The faults come from the
//! `fault-injection` feature (`KISTE_FAULT=STEP:panic|kill`); scripts/test.sh runs this
//! file with `--features fault-injection`.
#![cfg(feature = "fault-injection")]

mod support;

use kiste::runtime::fault::STEPS;
use support::runtime::*;

/// The pids of this test process's children (of any of its threads).
fn children_of_me() -> Vec<String> {
    let me = std::process::id();
    let mut out = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{me}/task"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let list = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
        out.extend(list.split_whitespace().map(String::from));
    }
    out
}

/// SIGKILLs the process named `fault-STEP` (it waits there) once it shows up. The killer
/// is a shell, not a thread: a thread running while the runtime forks could hold the
/// allocator's lock in the child.
fn kill_when_at(step: &str) -> std::process::Child {
    // The kernel keeps 15 bytes of a process name.
    let mut name = format!("fault-{step}");
    name.truncate(15);
    let script = format!(
        "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); for p in /proc/[0-9]*; do \
         if [ \"$(cat $p/comm 2>/dev/null)\" = {name} ]; then kill -9 ${{p#/proc/}}; exit 0; fi; \
         done; done; exit 1"
    );
    std::process::Command::new("/bin/busybox")
        .args(["sh", "-c", &script])
        .spawn()
        .unwrap()
}

fn assert_setup_error_at_every_step(action: &str) {
    let _g = serial();
    let sb = sandbox();
    for step in STEPS {
        let mut s = spec(&sb, &format!("fault-{action}-{step}"), "echo ran");
        let cg = s.cgroup.clone().unwrap();
        std::env::set_var("KISTE_FAULT", format!("{step}:{action}"));
        let killer = (action == "kill").then(|| kill_when_at(step));
        let result = try_run(&sb, &mut s);
        std::env::remove_var("KISTE_FAULT");
        if let Some(mut k) = killer {
            assert!(k.wait().unwrap().success(), "no child reached {step}");
        }
        let err = match result {
            Ok(out) => panic!(
                "{action} at {step}: reported as started, exit {} ({:?})",
                out.status, out.stdout
            ),
            Err(e) => e,
        };
        assert_eq!(err.exit_code(), 125, "{action} at {step}: {err}");
        let msg = err.to_string();
        assert!(msg.contains(&s.id), "{action} at {step}: {msg}");
        let why = match action {
            "kill" => "was killed by SIGKILL during setup",
            // The container's init ignores its own SIGABRT: abort() ends in a SIGSEGV.
            "abort" => "during setup, before exec",
            _ => "fault injected at",
        };
        assert!(msg.contains(why), "{action} at {step}: {msg}");
        assert_eq!(children_of_me(), Vec::<String>::new(), "{action} at {step}");
        for ctrl in ["memory", "pids", "cpu", "devices", "unified"] {
            let dir = controller_dir(ctrl, &cg);
            assert!(!dir.exists(), "{action} at {step}: {} left", dir.display());
        }
    }
}

#[test]
fn a_child_killed_at_any_setup_step_is_a_setup_error_125() {
    assert_setup_error_at_every_step("kill");
}

#[test]
fn a_child_that_panics_at_any_setup_step_is_a_setup_error_125() {
    assert_setup_error_at_every_step("panic");
}

/// What a panic is in the release build (`panic = "abort"`): no unwinding, no message from
/// the child, only its death before `Exec`.
#[test]
fn a_child_that_aborts_at_any_setup_step_is_a_setup_error_125() {
    assert_setup_error_at_every_step("abort");
}
