//! Shared helpers for the runtime integration tests (root only): a busybox rootfs in a
//! temp dir, a spec with docker's defaults, and a run-to-completion helper that captures
//! stdout/stderr in files and reaps the process.

use std::fs;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use kiste::runtime::{
    default_security, CgroupSpec, ContainerSpec, Namespaces, Resources, RuntimeError, Started,
    Stdio,
};

/// The tests fork from a multi-threaded harness; one at a time keeps each fork's copy of
/// the allocator consistent and keeps the cgroup measurements apart.
static SERIAL: Mutex<()> = Mutex::new(());

pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

pub fn require_root() {
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "the runtime integration tests must run as root"
    );
}

pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }
}

/// `root/bin` with busybox-static and a symlink for each of its applets, and `root/tmp`.
pub fn busybox_tree(root: &Path) {
    fs::create_dir_all(root.join("bin")).unwrap();
    fs::create_dir_all(root.join("tmp")).unwrap();
    fs::copy("/bin/busybox", root.join("bin/busybox"))
        .expect("busybox-static must be installed (/bin/busybox)");
    let list = std::process::Command::new("/bin/busybox")
        .arg("--list")
        .output()
        .unwrap();
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        if applet != "busybox" {
            let _ = symlink("busybox", root.join("bin").join(applet));
        }
    }
}

/// A rootfs holding busybox with every applet linked in /bin, /etc/passwd with root and
/// user 1000, /etc/group, /tmp.
pub fn sandbox() -> Sandbox {
    require_root();
    let dir = tempfile::Builder::new()
        .prefix("kiste-rt-")
        .tempdir_in("/var/tmp")
        .unwrap();
    let root = dir.path().join("root");
    busybox_tree(&root);
    for d in ["etc", "proc", "sys", "dev", "root", "home/user"] {
        fs::create_dir_all(root.join(d)).unwrap();
    }
    fs::write(
        root.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n",
    )
    .unwrap();
    fs::write(
        root.join("etc/group"),
        "root:x:0:\nwheel:x:10:root\nuser:x:1000:\n",
    )
    .unwrap();
    fs::set_permissions(
        root.join("tmp"),
        std::os::unix::fs::PermissionsExt::from_mode(0o1777),
    )
    .unwrap();
    Sandbox { dir }
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

pub fn cgroup(tag: &str) -> CgroupSpec {
    CgroupSpec {
        parent: "kiste".into(),
        name: format!(
            "rt-{tag}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ),
        resources: Resources::default(),
        devices: vec![],
        allow_all_devices: false,
        role: Default::default(),
    }
}

/// docker's defaults, every namespace private, a cgroup, stdio left to `run`.
pub fn spec(sb: &Sandbox, tag: &str, script: &str) -> ContainerSpec {
    ContainerSpec {
        id: format!("test-{tag}"),
        rootfs: sb.root(),
        rootfs_tree: None,
        args: vec!["/bin/sh".into(), "-c".into(), script.into()],
        env: vec!["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into()],
        cwd: "/".into(),
        user: String::new(),
        hostname: "box".into(),
        namespaces: Namespaces::default(),
        mounts: vec![],
        devices: vec![],
        rlimits: vec![],
        security: default_security(),
        cgroup: Some(cgroup(tag)),
        stdio: Stdio {
            stdin: 0,
            stdout: 1,
            stderr: 2,
        },
        init: false,
        oci: None,
        tuning: None,
    }
}

pub struct Outcome {
    pub started: Started,
    /// Exit code, or 128 + signal.
    pub status: i32,
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub oom_killed: bool,
}

pub struct Io {
    _null: fs::File,
    out: fs::File,
    err: fs::File,
    pub out_path: PathBuf,
    pub err_path: PathBuf,
}

pub fn io(sb: &Sandbox, spec: &mut ContainerSpec) -> Io {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let out_path = sb.dir.path().join(format!("out-{n}"));
    let err_path = sb.dir.path().join(format!("err-{n}"));
    let null = fs::File::open("/dev/null").unwrap();
    let out = fs::File::create(&out_path).unwrap();
    let err = fs::File::create(&err_path).unwrap();
    spec.stdio = Stdio {
        stdin: null.as_raw_fd(),
        stdout: out.as_raw_fd(),
        stderr: err.as_raw_fd(),
    };
    Io {
        _null: null,
        out,
        err,
        out_path,
        err_path,
    }
}

pub fn wait(pid: i32) -> (i32, Option<i32>) {
    let mut status = 0;
    let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(rc, pid, "waitpid");
    if libc::WIFSIGNALED(status) {
        let s = libc::WTERMSIG(status);
        (128 + s, Some(s))
    } else {
        (libc::WEXITSTATUS(status), None)
    }
}

/// Spawns, waits, reads the output, removes the cgroup.
pub fn run(sb: &Sandbox, mut spec: ContainerSpec) -> Outcome {
    try_run(sb, &mut spec).unwrap_or_else(|e| panic!("spawn failed: {e}"))
}

/// Removes the cgroup (killing what is left in it) when a test ends, even by a panic.
pub struct CgroupGuard(pub Option<kiste::runtime::CgroupSpec>);

impl Drop for CgroupGuard {
    fn drop(&mut self) {
        if let Some(cg) = &self.0 {
            let _ = kiste::cgroups::remove(cg);
        }
    }
}

pub fn try_run(sb: &Sandbox, spec: &mut ContainerSpec) -> Result<Outcome, RuntimeError> {
    let io = io(sb, spec);
    let _guard = CgroupGuard(spec.cgroup.clone());
    let started = kiste::runtime::spawn(spec)?;
    let (status, signal) = wait(started.pid);
    drop(io.out);
    drop(io.err);
    let oom_killed = spec.cgroup.as_ref().is_some_and(kiste::cgroups::oom_killed);
    if let Some(cg) = &spec.cgroup {
        kiste::cgroups::remove(cg).unwrap();
    }
    Ok(Outcome {
        started,
        status,
        signal,
        stdout: fs::read_to_string(&io.out_path).unwrap(),
        stderr: fs::read_to_string(&io.err_path).unwrap(),
        oom_killed,
    })
}

/// The value after "Key:" in a /proc/PID/status-like text.
pub fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines().find_map(|l| {
        l.strip_prefix(key)
            .and_then(|r| r.strip_prefix(':'))
            .map(str::trim)
    })
}

/// The host directory of `cg` for controller `ctrl`, in this host's layout.
pub fn controller_dir(ctrl: &str, cg: &CgroupSpec) -> PathBuf {
    super::cgroup::Layout::host().dir(ctrl, &cg.parent, &cg.name)
}

pub fn raw(fd: &impl AsRawFd) -> RawFd {
    fd.as_raw_fd()
}
