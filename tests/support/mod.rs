//! The one home of the integration tests' helpers. This file: a private kiste store per
//! test, the busybox base image built the way a user would (FROM scratch + busybox-static),
//! small probes for what a container leaves behind (mounts, processes, ports), and `skip`.
//! Submodules, by the tests that use them: `build` (build output and cache hits), `store`
//! (image store fixtures and tree snapshots), `runtime` (a busybox sandbox and
//! `runtime::spawn`), `cgroup` (reads a container's cgroup in v1 or v2 layout), `docker`
//! (a docker engine for comparisons), `context` (a private config dir for contexts),
//! `registry` (docker-registry, a fake registry whose answers a test can spoil, images
//! built in memory for it).
#![allow(dead_code)]

pub mod build;
pub mod cgroup;
pub mod context;
pub mod docker;
pub mod netns;
pub mod oci;
pub mod oci_clients;
pub mod plugin;
pub mod registry;
pub mod rootless;
pub mod runtime;
pub mod store;
pub mod tty;

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Polls `cond` every 20 ms until it holds; fails the test, naming `what`, when it still
/// does not after `timeout`.
pub fn wait_until(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what} ({timeout:?})"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub struct Kiste {
    pub dir: tempfile::TempDir,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Kiste {
    pub fn new() -> Kiste {
        let dir = tempfile::Builder::new()
            .prefix("kiste-test-")
            .tempdir()
            .unwrap();
        Kiste { dir }
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    pub fn runroot(&self) -> PathBuf {
        self.dir.path().join("run")
    }

    pub fn command(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_kiste"));
        c.arg("--root")
            .arg(self.root())
            .arg("--runroot")
            .arg(self.runroot());
        c.stdin(Stdio::null());
        c.env_remove("SOURCE_DATE_EPOCH");
        c
    }

    /// kiste with `args`, to adjust (env, stdin…) before running.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = self.command();
        c.args(args);
        c
    }

    /// The output of `script` run by sh in a fresh container of `image`.
    pub fn sh(&self, image: &str, script: &str) -> String {
        self.ok(&["run", "--rm", image, "sh", "-c", script])
    }
    /// The output of `script` run by sh in a fresh container of `image`, with `flags`
    /// before the image.
    pub fn sh_with(&self, flags: &[&str], image: &str, script: &str) -> String {
        let mut a = vec!["run", "--rm"];
        a.extend(flags);
        a.extend([image, "sh", "-c", script]);
        self.ok(&a)
    }

    /// Run kiste with `args`; whatever the outcome.
    pub fn run(&self, args: &[&str]) -> Run {
        self.command().args(args).output().unwrap().into()
    }

    /// Run kiste with `args`; it must succeed; its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let r = self.run(args);
        assert_eq!(r.code, 0, "kiste {args:?} failed: {}{}", r.stdout, r.stderr);
        r.stdout
    }

    /// Build the busybox base image as `busybox` (the README's recipe).
    pub fn busybox(&self) {
        let ctx = busybox_context(&self.dir.path().join("busybox-ctx"));
        self.ok(&["build", "-q", "-t", "busybox", ctx.to_str().unwrap()]);
    }

    /// A build context in the test's directory with these files.
    pub fn context(&self, name: &str, files: &[(&str, &str)]) -> PathBuf {
        let ctx = self.dir.path().join(name);
        for (path, content) in files {
            let p = ctx.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, content).unwrap();
        }
        std::fs::create_dir_all(&ctx).unwrap();
        ctx
    }

    /// The pid of container `id`'s monitor, as its record in the store names it.
    pub fn monitor_pid(&self, id: &str) -> i64 {
        let path = self
            .root()
            .join("containers")
            .join(id)
            .join("container.json");
        let record: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        record["state"]["monitor_pid"].as_i64().unwrap()
    }

    /// A container's record, as `inspect` prints it.
    pub fn inspect(&self, what: &str) -> serde_json::Value {
        let out = self.ok(&["inspect", what]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        v[0].clone()
    }

    /// Wait until `ps -a` shows the container as exited.
    pub fn wait_exited(&self, what: &str, timeout: Duration) {
        wait_until(&format!("container {what} to exit"), timeout, || {
            self.inspect(what)["State"]["Status"] == "exited"
        });
    }

    /// Wait until the container's log (stdout and stderr) shows `text`.
    pub fn wait_for_log(&self, what: &str, text: &str, timeout: Duration) {
        wait_until(
            &format!("container {what} to log {text:?}"),
            timeout,
            || {
                let logs = self.run(&["logs", what]);
                logs.stdout.contains(text) || logs.stderr.contains(text)
            },
        );
    }

    /// Mount points under this test's store.
    pub fn mounts(&self) -> Vec<String> {
        let base = self.dir.path().to_string_lossy().into_owned();
        std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap()
            .lines()
            .filter_map(|l| l.split(' ').nth(4).map(str::to_string))
            .filter(|m| m.starts_with(&base))
            .collect()
    }
}

impl Drop for Kiste {
    fn drop(&mut self) {
        // Leave nothing behind even when a test failed midway.
        let ids = self.run(&["ps", "-a", "-q", "--no-trunc"]).stdout;
        for id in ids.lines() {
            let _ = self.run(&["rm", "-f", id]);
        }
        for m in self.mounts().iter().rev() {
            let _ = Command::new("umount").arg("-l").arg(m).status();
        }
    }
}

/// A build context for the busybox base image: Debian's busybox-static, FROM scratch.
pub fn busybox_context(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::copy("/bin/busybox", dir.join("busybox")).expect("busybox-static is installed");
    std::fs::write(
        dir.join("Dockerfile"),
        "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\",\"--install\",\"-s\",\"/bin\"]\nCMD [\"/bin/sh\"]\n",
    )
    .unwrap();
    dir.to_path_buf()
}

/// Run a host command (docker, tar, losetup…) that must succeed; its stdout. A failure
/// panics with the command and its stderr.
pub fn checked_output(cmd: &mut Command) -> Vec<u8> {
    let o = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        o.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout
}

/// Pack directory `dir` into the tarball `tar` (for `kiste import` / `docker import`).
pub fn tar_dir(dir: &Path, tar: &Path) {
    let st = Command::new("tar")
        .arg("-C")
        .arg(dir)
        .arg("-cf")
        .arg(tar)
        .arg(".")
        .status()
        .unwrap();
    assert!(st.success(), "tar of {}", dir.display());
}

/// A TCP port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Whether something listens on `port` (any address).
pub fn port_in_use(port: u16) -> bool {
    TcpListener::bind(("0.0.0.0", port)).is_err()
}

/// GET / over HTTP/1.0 from 127.0.0.1:port, retrying while the server comes up.
pub fn http_get(port: u16) -> String {
    use std::io::{Read, Write};
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let attempt = (|| -> std::io::Result<String> {
            let mut s = TcpStream::connect(("127.0.0.1", port))?;
            s.set_read_timeout(Some(Duration::from_secs(3)))?;
            s.write_all(b"GET / HTTP/1.0\r\n\r\n")?;
            let mut out = String::new();
            s.read_to_string(&mut out)?;
            if out.is_empty() {
                return Err(std::io::Error::other("empty answer"));
            }
            Ok(out)
        })();
        match attempt {
            Ok(body) => return body,
            Err(e) if Instant::now() > deadline => panic!("GET http://127.0.0.1:{port}/: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// The repository's testdata directory.
pub fn testdata(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(rel)
}

/// The cgroup directories of this container left in any hierarchy (v1 or v2).
pub fn cgroup_left(id: &str) -> Vec<PathBuf> {
    cgroup::Layout::host().leftovers(id)
}

pub fn process_alive(pid: i64) -> bool {
    pid > 0 && Path::new(&format!("/proc/{pid}")).exists()
}

/// True on a cgroup v1 host. On a v2 host records the running test as skipped (it reads v1
/// files; the qemu test covers the runtime on v2) and is false: the caller returns.
pub fn cgroup_v1_or_skip() -> bool {
    if cgroup::Layout::host() == cgroup::Layout::V1 {
        return true;
    }
    skip("reads cgroup v1 files; on cgroup v2 the runtime is checked by runtime_cgroup_v2_qemu");
    false
}

/// Mark the running test as skipped: it cannot run on this machine, for `reason`. Call it and
/// return. The line goes to stderr and to `$KISTE_SKIP_LOG`, from which `scripts/test.sh`
/// counts the test as skipped (not passed) in its summary and prints the reason.
pub fn skip(reason: &str) {
    skip_log(reason)
}

#[path = "skip.rs"]
mod skip_impl;
pub use skip_impl::skip_log;

/// Whether a command is on the PATH.
pub fn have(tool: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
