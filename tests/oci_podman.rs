//! podman runs containers with kiste as its OCI runtime (`podman --runtime DIR/kiste-oci`):
//! conmon calls `kiste-oci create --bundle --pid-file [--console-socket]`, `start`,
//! `state`, `kill`, `delete` and `exec --process --detach [--tty --console-socket]`.
//! Every test uses a private podman store (--root/--runroot/--tmpdir in its own
//! directory, the vfs driver) with the busybox image kiste saved and podman loaded, so
//! nothing touches the host's podman store. podman needs /etc/containers/containers.conf
//! as scripts/setup.sh writes it (rlimits within this machine's hard limits, cgroupfs).

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::oci_clients::{busybox_archive, unmount_below};
use support::tty::Term;
use support::{skip, Kiste};

/// A private podman with kiste as its runtime; its containers and mounts go on drop.
struct Podman {
    dir: PathBuf,
    runtime: PathBuf,
}

impl Podman {
    fn new(k: &Kiste) -> Option<Podman> {
        if !support::have("podman") || !support::have("conmon") {
            skip("podman (with conmon) is not installed");
            return None;
        }
        if !Path::new("/etc/containers/containers.conf").exists() {
            skip("podman needs /etc/containers/containers.conf here (scripts/setup.sh)");
            return None;
        }
        let dir = k.dir.path().join("podman");
        std::fs::create_dir_all(dir.join("tmp")).unwrap();
        // The state root rides in the runtime itself: podman's cleanup process (conmon's
        // exit command) calls `delete` without podman's --runtime-flag options.
        let runtime = k.dir.path().join("kiste-oci-podman");
        let script = format!(
            "#!/bin/sh\nexec {} oci --root {} \"$@\"\n",
            env!("CARGO_BIN_EXE_kiste"),
            dir.join("oci-state").display()
        );
        std::fs::write(&runtime, script).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o755)).unwrap();
        let p = Podman { runtime, dir };
        let tar = busybox_archive(k, k.dir.path());
        p.ok(&["load", "-q", "-i", tar.to_str().unwrap()]);
        Some(p)
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("podman");
        c.arg("--root")
            .arg(self.dir.join("root"))
            .arg("--runroot")
            .arg(self.dir.join("run"))
            .arg("--tmpdir")
            .arg(self.dir.join("tmp"))
            .args(["--storage-driver", "vfs", "--cgroup-manager", "cgroupfs"])
            .args(["--events-backend", "file"])
            .arg("--runtime")
            .arg(&self.runtime)
            .args(args)
            .stdin(Stdio::null());
        c
    }

    fn run(&self, args: &[&str]) -> support::Run {
        self.cmd(args).output().unwrap().into()
    }

    fn ok(&self, args: &[&str]) -> String {
        let r = self.run(args);
        assert_eq!(
            r.code, 0,
            "podman {args:?} failed: {}{}",
            r.stdout, r.stderr
        );
        r.stdout
    }

    /// kiste's state directory of a podman container (present while podman has it).
    fn state_dir(&self, id: &str) -> PathBuf {
        self.dir.join("oci-state").join(id)
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = self.run(&["rm", "-af", "-t", "0"]);
        let _ = self.run(&["rmi", "-af"]);
        unmount_below(&self.dir);
    }
}

#[test]
fn podman_run_rm_prints_through_kiste() {
    let k = Kiste::new();
    let Some(p) = Podman::new(&k) else {
        return;
    };
    let out = p.ok(&["run", "--rm", "--network", "none", "busybox", "echo", "hi"]);
    assert_eq!(out.trim(), "hi");
    let code = p.run(&[
        "run",
        "--rm",
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        "exit 3",
    ]);
    assert_eq!(code.code, 3, "{}", code.stderr);
    assert!(p.ok(&["ps", "-aq"]).trim().is_empty());
}

#[test]
fn podman_run_detached_then_stop_and_rm() {
    let k = Kiste::new();
    let Some(p) = Podman::new(&k) else {
        return;
    };
    let id = p.ok(&["run", "-d", "--network", "none", "busybox", "sleep", "300"]);
    let id = id.trim();
    assert_eq!(
        p.ok(&["inspect", "--format", "{{.State.Status}}", id])
            .trim(),
        "running"
    );
    assert!(p.state_dir(id).join("state.json").exists());
    // busybox sleep as pid 1 ignores SIGTERM: podman kills it after the timeout.
    p.ok(&["stop", "-t", "1", id]);
    assert_eq!(
        p.ok(&["inspect", "--format", "{{.State.Status}}", id])
            .trim(),
        "exited"
    );
    p.ok(&["rm", id]);
    // podman's cleanup process (started by conmon at the exit) may still be running its
    // `kiste oci delete` when `podman rm` returns: the state must go, soon.
    support::wait_until(
        &format!("kiste's state of {id} to go"),
        std::time::Duration::from_secs(10),
        || !p.state_dir(id).exists(),
    );
}

#[test]
fn podman_run_tty_gets_the_console_socket_terminal() {
    let k = Kiste::new();
    let Some(p) = Podman::new(&k) else {
        return;
    };
    let out = p.ok(&[
        "run",
        "--rm",
        "-t",
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        "tty; [ -t 0 ] && [ -t 1 ] && echo both-terminals",
    ]);
    assert!(out.contains("/dev/pts/0"), "{out}");
    assert!(out.contains("both-terminals"), "{out}");
}

#[test]
fn podman_exec_joins_the_container() {
    let k = Kiste::new();
    let Some(p) = Podman::new(&k) else {
        return;
    };
    let id = p.ok(&[
        "run",
        "-d",
        "--network",
        "none",
        "--hostname",
        "boxed",
        "busybox",
        "sleep",
        "300",
    ]);
    let id = id.trim();
    let out = p.ok(&[
        "exec",
        id,
        "sh",
        "-c",
        "hostname; cat /proc/1/cmdline | tr '\\0' ' '",
    ]);
    assert!(out.contains("boxed"), "{out}");
    assert!(out.contains("sleep 300"), "{out}");
    let code = p.run(&["exec", id, "sh", "-c", "exit 7"]);
    assert_eq!(code.code, 7, "{}", code.stderr);
    let tty = p.ok(&["exec", "-t", id, "tty"]);
    assert!(tty.contains("/dev/pts/"), "{tty}");
    let mut term = Term::spawn_command(p.cmd(&["exec", "-it", id, "sh"]), 24, 80);
    term.write(b"echo in-$((40+2))\n");
    term.expect("in-42", Duration::from_secs(30));
    term.write(b"exit\n");
    assert_eq!(term.wait(Duration::from_secs(30)), 0, "{}", term.screen);
}

#[test]
fn podman_memory_limit_is_seen_inside() {
    let k = Kiste::new();
    let Some(p) = Podman::new(&k) else {
        return;
    };
    let out = p.ok(&[
        "run", "--rm", "--network", "none", "--memory", "32m", "busybox", "sh", "-c",
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max",
    ]);
    assert_eq!(out.trim(), "33554432");
}

#[test]
fn podman_publish_reaches_busybox_nc() {
    let k = Kiste::new();
    let Some(p) = Podman::new(&k) else {
        return;
    };
    if !support::have("slirp4netns") {
        skip("slirp4netns is not installed (podman's -p on loopback needs it here)");
        return;
    }
    let port = support::free_port();
    // podman's default bridge (netavark) publishes with DNAT, which loopback connections
    // here do not pass (route_localnet is off); slirp4netns forwards from a real socket.
    let publish = format!("127.0.0.1:{port}:80");
    let id = p.ok(&[
        "run",
        "-d",
        "--network",
        "slirp4netns",
        "-p",
        &publish,
        "busybox",
        "sh",
        "-c",
        "while true; do echo hello-from-kiste | nc -l -p 80; done",
    ]);
    let id = id.trim();
    let deadline = Instant::now() + Duration::from_secs(30);
    let reply = loop {
        let got = std::net::TcpStream::connect(("127.0.0.1", port))
            .ok()
            .and_then(|mut s| {
                use std::io::Read;
                s.set_read_timeout(Some(Duration::from_secs(3))).ok()?;
                let mut buf = String::new();
                s.read_to_string(&mut buf).ok()?;
                Some(buf)
            });
        match got {
            Some(text) if text.contains("hello-from-kiste") => break text,
            _ if Instant::now() > deadline => panic!("no reply on port {port}"),
            _ => std::thread::sleep(Duration::from_millis(100)),
        }
    };
    assert!(reply.contains("hello-from-kiste"));
    p.ok(&["rm", "-f", "-t", "0", id]);
}
