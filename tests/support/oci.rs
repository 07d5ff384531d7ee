//! Helpers for the `kiste oci` tests: the one builder of test bundles (a busybox rootfs
//! and a config.json as `runc spec` writes it, with `Options` for what the tests vary),
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

/// What the bundles of the tests differ in; everything else is `runc spec`'s default.
pub struct Options<'a> {
    /// `root.path`, relative to the bundle.
    pub root: &'a str,
    pub readonly: bool,
    /// The capabilities in the ambient set too.
    pub ambient: bool,
    /// /dev/shm, /dev/mqueue and /tmp besides /proc, /dev, /dev/pts, /sys and its cgroups.
    pub extra_mounts: bool,
    /// A cgroup namespace besides pid, network, ipc, uts and mount.
    pub cgroupns: bool,
    pub terminal: bool,
    pub hostname: &'a str,
    /// linux.cgroupsPath.
    pub cgroups_path: String,
}

/// A config.json running `args`, as `runc spec` writes it (its ociVersion too: `kiste oci
/// state` reports the bundle's, runc its own) with `o`'s changes.
pub fn config(args: &[&str], o: &Options) -> serde_json::Value {
    let caps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];
    let mut capabilities =
        serde_json::json!({"bounding": caps, "effective": caps, "permitted": caps});
    if o.ambient {
        capabilities["ambient"] = serde_json::json!(caps);
    }
    let mut mounts = vec![
        serde_json::json!({"destination": "/proc", "type": "proc", "source": "proc"}),
        serde_json::json!({"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
            "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]}),
        serde_json::json!({"destination": "/dev/pts", "type": "devpts", "source": "devpts",
            "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]}),
    ];
    if o.extra_mounts {
        mounts.push(
            serde_json::json!({"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
            "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]}),
        );
        mounts.push(
            serde_json::json!({"destination": "/dev/mqueue", "type": "mqueue",
            "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]}),
        );
    }
    mounts.push(
        serde_json::json!({"destination": "/sys", "type": "sysfs", "source": "sysfs",
        "options": ["nosuid", "noexec", "nodev", "ro"]}),
    );
    mounts.push(
        serde_json::json!({"destination": "/sys/fs/cgroup", "type": "cgroup",
        "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}),
    );
    if o.extra_mounts {
        mounts.push(
            serde_json::json!({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
            "options": ["nosuid", "nodev", "mode=1777"]}),
        );
    }
    let mut namespaces: Vec<_> = ["pid", "network", "ipc", "uts", "mount"]
        .iter()
        .map(|t| serde_json::json!({"type": t}))
        .collect();
    if o.cgroupns {
        namespaces.push(serde_json::json!({"type": "cgroup"}));
    }
    serde_json::json!({
        "ociVersion": "1.0.2-dev",
        "process": {
            "terminal": o.terminal,
            "user": {"uid": 0, "gid": 0},
            "args": args,
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
            "cwd": "/",
            "capabilities": capabilities,
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": o.root, "readonly": o.readonly},
        "hostname": o.hostname,
        "mounts": mounts,
        "linux": {
            "cgroupsPath": o.cgroups_path,
            "resources": {"devices": [{"allow": false, "access": "rwm"}]},
            "namespaces": namespaces,
            "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                "/proc/sysrq-trigger"]
        }
    })
}

/// A bundle (the busybox sandbox, a read-only root named `root`) whose process runs
/// `sh -c script` with ambient capabilities, in a cgroup and a cgroup namespace of its own.
pub fn bundle(tag: &str, script: &str) -> Bundle {
    let sb = sandbox();
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let cgroup = format!("kiste/ocitest-{tag}-{}-{n}", std::process::id());
    let state = sb.dir.path().join("state");
    let config = config(
        &["sh", "-c", script],
        &Options {
            root: "root",
            readonly: true,
            ambient: true,
            extra_mounts: true,
            cgroupns: true,
            terminal: false,
            hostname: "oci-test",
            cgroups_path: format!("/{cgroup}"),
        },
    );
    let b = Bundle {
        sb,
        state,
        cgroup,
        config,
    };
    b.write();
    b
}

/// A bundle at `DIR` as `runc spec` makes it: `rootfs/` (writable) holds busybox-static
/// with its applets, the process runs `args` with `terminal` as given, in the cgroup
/// `/kiste/ID`.
pub fn bundle_at(dir: &Path, id: &str, args: &[&str], terminal: bool) -> PathBuf {
    super::runtime::busybox_tree(&dir.join("rootfs"));
    let config = config(
        args,
        &Options {
            root: "rootfs",
            readonly: false,
            ambient: false,
            extra_mounts: false,
            cgroupns: false,
            terminal,
            hostname: "bundled",
            cgroups_path: format!("/kiste/{id}"),
        },
    );
    fs::write(dir.join("config.json"), config.to_string()).unwrap();
    dir.to_path_buf()
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
