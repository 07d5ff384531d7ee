//! Helpers for the `kiste oci` tests: a bundle made by hand (the busybox rootfs of
//! `runtime::sandbox` and a config.json as `runc spec` writes it, without a terminal),
//! a private state root, and runs of `kiste oci` with the container's output in files.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::runtime::{sandbox, Sandbox};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

pub struct Bundle {
    pub sb: Sandbox,
    /// The state root given with --root.
    pub state: PathBuf,
    /// linux.cgroupsPath (relative to each hierarchy's root).
    pub cgroup: String,
    pub config: serde_json::Value,
}

/// A bundle whose process runs `sh -c script`.
pub fn bundle(tag: &str, script: &str) -> Bundle {
    let sb = sandbox();
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let cgroup = format!("kiste/ocitest-{tag}-{}-{n}", std::process::id());
    let state = sb.dir.path().join("state");
    let config = serde_json::json!({
        "ociVersion": "1.0.2-dev",
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": ["sh", "-c", script],
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
            "cwd": "/",
            "capabilities": {
                "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
                "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
                "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
                "ambient": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
            },
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": "root", "readonly": true},
        "hostname": "oci-test",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
             "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "nodev", "mode=1777"]}
        ],
        "linux": {
            "cgroupsPath": format!("/{cgroup}"),
            "resources": {"devices": [{"allow": false, "access": "rwm"}]},
            "namespaces": [
                {"type": "pid"}, {"type": "network"}, {"type": "ipc"},
                {"type": "uts"}, {"type": "mount"}, {"type": "cgroup"}
            ],
            "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                "/proc/sysrq-trigger"]
        }
    });
    let b = Bundle {
        sb,
        state,
        cgroup,
        config,
    };
    b.write();
    b
}

impl Bundle {
    pub fn dir(&self) -> &Path {
        self.sb.dir.path()
    }

    pub fn write(&self) {
        self.write_config(&self.config);
    }

    /// Writes `config` as the bundle's config.json.
    pub fn write_config(&self, config: &serde_json::Value) {
        fs::write(
            self.dir().join("config.json"),
            serde_json::to_vec_pretty(config).unwrap(),
        )
        .unwrap();
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_kiste"));
        c.arg("oci").arg("--root").arg(&self.state).args(args);
        c.current_dir(self.dir());
        c
    }

    /// `kiste oci ARGS`, its output captured (for commands that start nothing).
    pub fn oci(&self, args: &[&str]) -> Output {
        self.command(args).stdin(Stdio::null()).output().unwrap()
    }

    /// `kiste oci ARGS` with stdout and stderr in files (the container inherits them):
    /// (exit code, stdout file, stderr file).
    pub fn oci_files(&self, name: &str, args: &[&str]) -> (i32, PathBuf, PathBuf) {
        let out = self.dir().join(format!("{name}.out"));
        let err = self.dir().join(format!("{name}.err"));
        let status = self
            .command(args)
            .stdin(Stdio::null())
            .stdout(fs::File::create(&out).unwrap())
            .stderr(fs::File::create(&err).unwrap())
            .status()
            .unwrap();
        (status.code().unwrap_or(-1), out, err)
    }

    /// The `state` JSON of `id`.
    pub fn state(&self, id: &str) -> serde_json::Value {
        let out = self.oci(&["state", id]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Polls `state` until its status is `want` (10 s at most).
    pub fn wait_status(&self, id: &str, want: &str) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let s = self.state(id);
            if s["status"] == want || Instant::now() > deadline {
                return s;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The container's cgroup directories that exist now.
    pub fn cgroup_dirs(&self) -> Vec<PathBuf> {
        cgroup_dirs(&self.cgroup)
    }
}

/// Every existing directory `rel` under a cgroup hierarchy.
pub fn cgroup_dirs(rel: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let top = Path::new("/sys/fs/cgroup");
    let mut roots = vec![top.to_path_buf()];
    if let Ok(rd) = fs::read_dir(top) {
        roots.extend(rd.flatten().map(|e| e.path()));
    }
    for r in roots {
        let d = r.join(rel);
        if d.is_dir() {
            out.push(d);
        }
    }
    out
}

/// The text of a file.
pub fn text(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_default()
}
