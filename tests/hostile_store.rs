//! The store is private: an unprivileged host user cannot walk into kiste's root or
//! runroot, cannot run a setuid file from an image layer, nor one that container root
//! made (in the upper dir or through the mounted rootfs), and cannot read a container's
//! log. A store made with looser modes (by an older kiste) is tightened on open.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::*;

const USER: &str = "kistetest";

/// An unprivileged host user to attack with; created when missing. None when it cannot be.
fn attacker() -> Option<&'static str> {
    let exists = Command::new("id").arg(USER).output().ok()?.status.success();
    if !exists {
        let made = Command::new("useradd")
            .args(["--system", "--no-create-home", "--shell", "/bin/sh", USER])
            .status()
            .ok()?;
        // Another test may have made it in between.
        let exists = Command::new("id").arg(USER).output().ok()?.status.success();
        if !made.success() && !exists {
            return None;
        }
    }
    Some(USER)
}

/// Whether `user` can stat `path` (and so reach it).
fn user_reaches(user: &str, path: &Path) -> bool {
    Command::new("runuser")
        .args(["-u", user, "--", "test", "-e"])
        .arg(path)
        .status()
        .unwrap()
        .success()
}

/// The exit status of `path argv…` run as `user`.
fn user_runs(user: &str, path: &Path, argv: &[&str]) -> bool {
    Command::new("runuser")
        .args(["-u", user, "--"])
        .arg(path)
        .args(argv)
        .output()
        .unwrap()
        .status
        .success()
}

fn find_named(dir: &Path, name: &str) -> Option<PathBuf> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .flatten()
        .find(|e| e.file_name() == name)
        .map(|e| e.path().to_path_buf())
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

#[test]
fn an_unprivileged_user_cannot_reach_the_store_its_setuid_files_or_logs() {
    let Some(user) = attacker() else {
        return skip("cannot create the unprivileged user kistetest (useradd)");
    };
    let k = Kiste::new();
    // Only kiste's own modes protect the store: the test's temp dir is open to all.
    std::fs::set_permissions(k.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    k.busybox();
    let ctx = k.context(
        "suid",
        &[(
            "Dockerfile",
            "FROM busybox\nRUN cp /bin/busybox /layer-suid && chmod 4755 /layer-suid\n",
        )],
    );
    k.ok(&["build", "-q", "-t", "suid", ctx.to_str().unwrap()]);
    let id = k
        .ok(&[
            "run",
            "-d",
            "suid",
            "sh",
            "-c",
            "cp /bin/busybox /root-suid && chmod 4755 /root-suid && echo secret && sleep 300",
        ])
        .trim()
        .to_string();
    let upper = k.root().join("containers").join(&id).join("upper");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !upper.join("root-suid").exists() || !k.ok(&["logs", &id]).contains("secret") {
        assert!(std::time::Instant::now() < deadline, "the container ran");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let rootfs = k.runroot().join("containers").join(&id).join("rootfs");
    let from_layer = find_named(&k.root().join("images"), "layer-suid").unwrap();
    let log = k.root().join("containers").join(&id).join("container.log");
    // The setuid files exist and work for root: the attacks below are real.
    assert!(mode(&from_layer) & 0o4000 != 0 && mode(&upper.join("root-suid")) & 0o4000 != 0);
    assert!(rootfs.join("root-suid").exists());

    for dir in [k.root(), k.runroot().join("containers")] {
        let listed = Command::new("runuser")
            .args(["-u", user, "--", "ls"])
            .arg(&dir)
            .output()
            .unwrap();
        assert!(!listed.status.success(), "{user} lists {}", dir.display());
    }
    for target in [
        &from_layer,
        &upper.join("root-suid"),
        &rootfs.join("root-suid"),
    ] {
        assert!(
            !user_reaches(user, target),
            "{user} reaches {}",
            target.display()
        );
        assert!(
            !user_runs(user, target, &["id", "-u"]),
            "{user} runs {}",
            target.display()
        );
    }
    assert!(!user_reaches(user, &log), "{user} reaches the log");
    assert_eq!(mode(&log), 0o600, "the log is its owner's");
    assert_eq!(mode(&k.root()), 0o700);
    k.ok(&["rm", "-f", &id]);
}

#[test]
fn a_store_with_loose_modes_is_made_private_on_open() {
    let k = Kiste::new();
    k.busybox();
    let id = k
        .ok(&["run", "-d", "busybox", "sh", "-c", "echo hi; sleep 300"])
        .trim()
        .to_string();
    let loose = std::fs::Permissions::from_mode(0o755);
    let log = k.root().join("containers").join(&id).join("container.log");
    for p in [
        k.root(),
        k.root().join("images"),
        k.root().join("images/layers"),
        k.root().join("containers"),
        k.runroot(),
        k.runroot().join("containers"),
    ] {
        std::fs::set_permissions(&p, loose.clone()).unwrap();
    }
    std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o644)).unwrap();
    k.ok(&["ps"]);
    assert_eq!(mode(&k.root()), 0o700);
    assert_eq!(mode(&k.root().join("images")), 0o700);
    assert_eq!(mode(&k.root().join("images/layers")), 0o700);
    assert_eq!(mode(&k.root().join("containers")), 0o700);
    assert_eq!(mode(&k.runroot()), 0o711);
    assert_eq!(mode(&k.runroot().join("containers")), 0o711);
    k.ok(&["stop", "-t", "0", &id]);
    k.ok(&["start", &id]);
    assert_eq!(mode(&log), 0o600, "a log is made private when reopened");
    k.ok(&["rm", "-f", &id]);
}
