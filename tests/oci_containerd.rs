//! containerd runs containers with kiste as its runc binary: the path Kubernetes nodes
//! take (containerd → containerd-shim-runc-v2 → `kiste-oci --root … --log … --log-format
//! json create|start|state|kill|delete`). Each test starts Debian's containerd with its
//! own root, state, socket and config (no CRI plugin), imports the busybox image that
//! kiste saved, runs `ctr run --runc-binary DIR/kiste-oci`, and stops containerd (by its
//! pid) and whatever shim it left, then removes its directories.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::oci_clients::{busybox_archive, kiste_oci, pids_mentioning, stop_pid, unmount_below};
use support::tty::Term;
use support::{skip, Kiste};

const IMAGE: &str = "docker.io/library/busybox:latest";

/// A private containerd, stopped and cleaned up on drop.
struct Containerd {
    dir: PathBuf,
    socket: PathBuf,
    runtime: PathBuf,
    child: Child,
}

impl Containerd {
    /// Starts containerd in `dir` and imports kiste's busybox image; None (after a skip)
    /// when this machine has no containerd.
    fn start(k: &Kiste) -> Option<Containerd> {
        if !support::have("containerd") || !support::have("ctr") {
            skip("containerd and ctr are not installed (Debian's containerd package)");
            return None;
        }
        if !support::have("containerd-shim-runc-v2") {
            skip("containerd-shim-runc-v2 is not installed");
            return None;
        }
        let dir = k.dir.path().join("containerd");
        std::fs::create_dir_all(&dir).unwrap();
        let socket = dir.join("c.sock");
        let config = dir.join("config.toml");
        std::fs::write(
            &config,
            format!(
                "version = 2\nroot = \"{d}/root\"\nstate = \"{d}/state\"\n\
                 disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n\
                 [grpc]\n  address = \"{s}\"\n[ttrpc]\n  address = \"{s}.ttrpc\"\n\
                 [debug]\n  address = \"\"\n[metrics]\n  address = \"\"\n",
                d = dir.display(),
                s = socket.display()
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.join("containerd.log")).unwrap();
        let child = Command::new("containerd")
            .arg("--config")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let runtime = kiste_oci(k.dir.path());
        let c = Containerd {
            dir,
            socket,
            runtime,
            child,
        };
        c.wait_ready();
        let tar = busybox_archive(k, k.dir.path());
        c.ok(&["images", "import", tar.to_str().unwrap()]);
        Some(c)
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let up = self.socket.exists()
                && self
                    .ctr(&["version"])
                    .output()
                    .is_ok_and(|o| o.status.success());
            if up {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "containerd did not answer on {}: {}",
                self.socket.display(),
                std::fs::read_to_string(self.dir.join("containerd.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn ctr(&self, args: &[&str]) -> Command {
        let mut c = Command::new("ctr");
        c.arg("--address").arg(&self.socket).args(args);
        c.stdin(Stdio::null());
        c
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.ctr(args).output().unwrap();
        assert!(
            out.status.success(),
            "ctr {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `ctr run --rm` with kiste as the runc binary and its state below this test's dir.
    fn run_args<'a>(&'a self, flags: &[&'a str], id: &'a str, cmd: &[&'a str]) -> Vec<String> {
        let mut a: Vec<String> = vec![
            "run".into(),
            "--rm".into(),
            "--runc-binary".into(),
            self.runtime.display().to_string(),
            "--runc-root".into(),
            self.dir.join("runc-state").display().to_string(),
        ];
        a.extend(flags.iter().map(|s| s.to_string()));
        a.push(IMAGE.into());
        a.push(id.into());
        a.extend(cmd.iter().map(|s| s.to_string()));
        a
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        stop_pid(self.child.id() as i32, Duration::from_secs(5));
        let _ = self.child.wait();
        // Shims started for this containerd carry its socket path on their command line.
        for pid in pids_mentioning(&self.socket.display().to_string()) {
            stop_pid(pid, Duration::from_secs(2));
        }
        unmount_below(&self.dir);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The memory limit as the container reads it from its cgroup (v1 or v2 file).
const READ_LIMIT: &str = "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null \
                          || cat /sys/fs/cgroup/memory.max";

#[test]
fn ctr_run_with_kiste_as_runc_prints_and_exits() {
    let k = Kiste::new();
    let Some(c) = Containerd::start(&k) else {
        return;
    };
    let args = c.run_args(&[], "hello", &["echo", "hello from kiste-oci"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(c.ok(&args).trim(), "hello from kiste-oci");
    // --rm deleted the task and the container; kiste's state is gone too.
    assert!(!c.ok(&["containers", "ls", "-q"]).contains("hello"));
    assert!(!c.dir.join("runc-state/default/hello").exists());
}

#[test]
fn ctr_run_memory_limit_is_seen_inside() {
    let k = Kiste::new();
    let Some(c) = Containerd::start(&k) else {
        return;
    };
    // containerd's default spec mounts no cgroupfs: ask for one, as `docker run` has.
    let args = c.run_args(
        &[
            "--memory-limit",
            "33554432",
            "--mount",
            "type=cgroup,src=cgroup,dst=/sys/fs/cgroup,options=ro:nosuid:noexec:nodev",
        ],
        "limited",
        &["sh", "-c", READ_LIMIT],
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(c.ok(&args).trim(), "33554432");
}

#[test]
fn ctr_run_tty_gets_a_terminal_through_the_console_socket() {
    let k = Kiste::new();
    let Some(c) = Containerd::start(&k) else {
        return;
    };
    let args = c.run_args(&["--tty"], "terminal", &["sh", "-c", "tty; echo done"]);
    let mut cmd = Command::new("ctr");
    cmd.arg("--address").arg(&c.socket).args(&args);
    let mut term = Term::spawn_command(cmd, 27, 91);
    term.expect("done", Duration::from_secs(30));
    assert_eq!(term.wait(Duration::from_secs(30)), 0, "{}", term.screen);
    // The terminal is the container's own (its devpts), as runc makes it.
    assert!(term.screen.contains("/dev/pts/0"), "{}", term.screen);
}

#[test]
fn a_failed_create_reaches_ctr_through_the_json_log() {
    let k = Kiste::new();
    let Some(c) = Containerd::start(&k) else {
        return;
    };
    let args = c.run_args(&[], "missing", &["/no/such/program"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = c.ctr(&args).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    // The shim read kiste's last error line from log.json and ctr printed it.
    assert!(err.contains("/no/such/program"), "{err}");
    assert!(!Path::new(&c.dir.join("runc-state/default/missing")).exists());
}
