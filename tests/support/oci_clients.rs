//! For the tests of real OCI runtime clients (podman, containerd) and of `oci_ops`: kiste's binary as
//! `kiste-oci` (a symlink, the name under which it speaks runc's command line), the
//! busybox image as a docker-archive made by `kiste save`, and the cleanup of what a
//! client leaves behind in a test's directory (mounts below it, processes it started).

use super::Kiste;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// `DIR/kiste-oci`, a symlink to the kiste binary under test.
pub fn kiste_oci(dir: &Path) -> PathBuf {
    let link = dir.join("kiste-oci");
    if !link.exists() {
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_kiste"), &link).unwrap();
    }
    link
}

/// The busybox image built by kiste, saved as a docker-archive at `DIR/busybox.tar`.
pub fn busybox_archive(k: &Kiste, dir: &Path) -> PathBuf {
    k.busybox();
    let tar = dir.join("busybox.tar");
    k.ok(&["save", "-o", tar.to_str().unwrap(), "busybox"]);
    tar
}

/// The pids whose command line mentions `needle` (e.g. a private socket path): the
/// processes a client started for this test, such as containerd's shims.
pub fn pids_mentioning(needle: &str) -> Vec<i32> {
    let me = std::process::id() as i32;
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        if pid != me && String::from_utf8_lossy(&cmdline).contains(needle) {
            out.push(pid);
        }
    }
    out
}

/// SIGTERM to `pid`, SIGKILL after `grace`; returns once it is gone.
pub fn stop_pid(pid: i32, grace: Duration) {
    // SAFETY: signals to a process this test started.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let deadline = Instant::now() + grace;
    while super::process_alive(pid as i64) && !is_zombie(pid) {
        if Instant::now() > deadline {
            // SAFETY: as above.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit_once(')')
                .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
        })
        .unwrap_or(true)
}

/// Detaches every mount at or below `dir`, deepest first.
pub fn unmount_below(dir: &Path) {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let prefix = dir.to_string_lossy().into_owned();
    let mut points: Vec<String> = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4).map(str::to_string))
        .filter(|p| p.starts_with(&prefix))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for p in points {
        let c = std::ffi::CString::new(p).unwrap();
        // SAFETY: umount2 of a path string.
        unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
    }
}

/// A bundle at `DIR` for `kiste oci` (the one builder in `oci`).
#[allow(unused_imports)]
pub use super::oci::bundle_at as bundle;
