//! `kiste oci` commands beyond create/start, on a hand-written busybox bundle: `exec`
//! (status, pid file, detach, a terminal over --console-socket), `ps`, `pause`/`resume`
//! (state says "paused"), `features`, and `--log`/`--log-format json` error lines as
//! containerd and conmon read them.

mod support;

use std::io::{IoSliceMut, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::oci_clients::bundle;
use support::Kiste;

/// A detached container of a bundle, deleted (forced) on drop.
struct Running {
    state: PathBuf,
    id: String,
}

fn oci(state: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kiste"));
    c.arg("oci").arg("--root").arg(state);
    c.stdin(Stdio::null());
    c
}

fn out(c: &mut Command) -> support::Run {
    c.output().unwrap().into()
}

impl Running {
    /// `run -d` of a bundle whose process sleeps; stdio on /dev/null.
    fn start(k: &Kiste, id: &str) -> Running {
        let dir = k.dir.path().join(format!("bundle-{id}"));
        bundle(&dir, id, &["sleep", "300"], false);
        let state = k.dir.path().join("oci-state");
        let st = oci(&state)
            .args(["run", "-d", "-b"])
            .arg(&dir)
            .arg(id)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success(), "kiste oci run -d {id} failed");
        Running {
            state,
            id: id.to_string(),
        }
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = oci(&self.state);
        c.args(args);
        c
    }

    fn ok(&self, args: &[&str]) -> String {
        let r = out(&mut self.cmd(args));
        assert_eq!(r.code, 0, "kiste oci {args:?}: {}{}", r.stdout, r.stderr);
        r.stdout
    }

    fn state(&self) -> serde_json::Value {
        serde_json::from_str(&self.ok(&["state", &self.id])).unwrap()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.cmd(&["delete", "--force", &self.id]).output();
    }
}

#[test]
fn exec_runs_in_the_container_and_returns_its_status() {
    let k = Kiste::new();
    let b = Running::start(&k, "exec-status");
    let hostname = b.ok(&["exec", &b.id, "hostname"]);
    assert_eq!(hostname.trim(), "bundled");
    // The same pid namespace: the container's first process is pid 1 there.
    let init = b.ok(&[
        "exec",
        &b.id,
        "sh",
        "-c",
        "cat /proc/1/cmdline | tr '\\0' ' '",
    ]);
    assert_eq!(init.trim(), "sleep 300");
    let r = out(&mut b.cmd(&["exec", &b.id, "sh", "-c", "exit 7"]));
    assert_eq!(r.code, 7);
    let env = b.ok(&[
        "exec",
        "--env",
        "GREETING=hi",
        "--cwd",
        "/tmp",
        &b.id,
        "sh",
        "-c",
        "echo $GREETING $PWD",
    ]);
    assert_eq!(env.trim(), "hi /tmp");
}

#[test]
fn exec_detached_writes_its_pid_file() {
    let k = Kiste::new();
    let b = Running::start(&k, "exec-detach");
    let pid_file = k.dir.path().join("exec.pid");
    // The detached process keeps kiste's stdio: give it none, or waiting for output
    // would wait for the process.
    let st = b
        .cmd(&[
            "exec",
            "--detach",
            "--pid-file",
            pid_file.to_str().unwrap(),
            &b.id,
        ])
        .args(["sleep", "200"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    assert_eq!(String::from_utf8_lossy(&cmdline), "sleep\x00200\x00");
    // It is in the container's cgroup: ps lists it.
    let pids: Vec<i32> = serde_json::from_str(&b.ok(&["ps", "--format", "json", &b.id])).unwrap();
    assert!(pids.contains(&pid), "{pids:?} lacks {pid}");
}

/// Accepts one connection on `listener` and receives the fd sent over it.
fn receive_fd(listener: &UnixListener) -> OwnedFd {
    let (conn, _) = listener.accept().unwrap();
    let mut buf = [0u8; 64];
    let mut iov = [IoSliceMut::new(&mut buf)];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let msg = nix::sys::socket::recvmsg::<()>(
        conn.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        nix::sys::socket::MsgFlags::empty(),
    )
    .unwrap();
    for c in msg.cmsgs().unwrap() {
        if let nix::sys::socket::ControlMessageOwned::ScmRights(fds) = c {
            // SAFETY: the fd just received is ours.
            return unsafe { OwnedFd::from_raw_fd(fds[0]) };
        }
    }
    panic!("no fd received");
}

#[test]
fn exec_tty_sends_a_container_terminal_over_the_console_socket() {
    let k = Kiste::new();
    let b = Running::start(&k, "exec-tty");
    let sock = k.dir.path().join("console.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    let mut child = b
        .cmd(&[
            "exec",
            "--tty",
            "--console-socket",
            sock.to_str().unwrap(),
            &b.id,
        ])
        .args(["sh", "-c", "tty; echo done"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let master = receive_fd(&listener);
    let mut screen = String::new();
    let mut file = std::fs::File::from(master);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !screen.contains("done") && Instant::now() < deadline {
        let mut buf = [0u8; 256];
        match file.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => screen.push_str(&String::from_utf8_lossy(&buf[..n])),
        }
    }
    assert!(child.wait().unwrap().success());
    // The container's own devpts: its first terminal.
    assert!(screen.contains("/dev/pts/0"), "{screen}");
}

#[test]
fn pause_freezes_and_state_says_paused_until_resume() {
    let k = Kiste::new();
    let b = Running::start(&k, "pause-me");
    assert_eq!(b.state()["status"], "running");
    b.ok(&["pause", &b.id]);
    assert_eq!(b.state()["status"], "paused");
    let pid = b.state()["pid"].as_i64().unwrap();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let st = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .trim_start()
        .chars()
        .next()
        .unwrap();
    assert!(st == 'D' || st == 'S', "frozen task state {st}");
    // A second pause is refused, as runc's.
    assert_eq!(out(&mut b.cmd(&["pause", &b.id])).code, 1);
    b.ok(&["resume", &b.id]);
    assert_eq!(b.state()["status"], "running");
    assert_eq!(out(&mut b.cmd(&["resume", &b.id])).code, 1);
}

#[test]
fn ps_lists_the_containers_processes() {
    let k = Kiste::new();
    let b = Running::start(&k, "ps-me");
    let pid = b.state()["pid"].as_i64().unwrap() as i32;
    let pids: Vec<i32> = serde_json::from_str(&b.ok(&["ps", "--format", "json", &b.id])).unwrap();
    assert_eq!(pids, vec![pid]);
    let table = b.ok(&["ps", &b.id]);
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].contains("PID"), "{table}");
    assert_eq!(lines.len(), 2, "{table}");
    assert!(lines[1].contains("sleep 300"), "{table}");
}

#[test]
fn features_describe_what_kiste_runs() {
    let r = out(oci(Path::new("/nonexistent")).arg("features"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let f: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(f["ociVersionMin"], "1.0.0");
    let caps = f["linux"]["capabilities"].as_array().unwrap();
    assert!(caps.iter().any(|c| c == "CAP_SYS_ADMIN"));
    let actions = f["linux"]["seccomp"]["actions"].as_array().unwrap();
    assert!(actions.iter().any(|a| a == "SCMP_ACT_ERRNO"));
    assert!(f["linux"]["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n == "user"));
}

#[test]
fn errors_go_to_the_log_in_json_and_exit_1() {
    let k = Kiste::new();
    let log = k.dir.path().join("log.json");
    let r = out(oci(&k.dir.path().join("state"))
        .arg("--log")
        .arg(&log)
        .args(["--log-format", "json", "pause", "no-such-box"]));
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("no-such-box"), "{}", r.stderr);
    let text = std::fs::read_to_string(&log).unwrap();
    let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(last["level"], "error");
    assert!(
        last["msg"].as_str().unwrap().contains("no-such-box"),
        "{last}"
    );
    assert!(last["time"].as_str().unwrap().ends_with('Z'));
    // Text format: logrus's line.
    let log = k.dir.path().join("log.txt");
    let r = out(oci(&k.dir.path().join("state"))
        .arg("--log")
        .arg(&log)
        .args(["ps", "no-such-box"]));
    assert_eq!(r.code, 1);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.starts_with("time=\""), "{text}");
    assert!(text.contains("level=error msg="), "{text}");
}

#[test]
fn run_with_a_terminal_sends_the_container_console_over_the_socket() {
    let k = Kiste::new();
    let dir = k.dir.path().join("bundle-tty");
    bundle(
        &dir,
        "run-tty",
        &["sh", "-c", "tty; ls -l /dev/console; echo done; sleep 300"],
        true,
    );
    let sock = k.dir.path().join("console.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    let b = Running {
        state: k.dir.path().join("oci-state"),
        id: "run-tty".into(),
    };
    let st = b
        .cmd(&[
            "run",
            "-d",
            "--console-socket",
            sock.to_str().unwrap(),
            "-b",
        ])
        .arg(&dir)
        .arg(&b.id)
        .status()
        .unwrap();
    assert!(st.success());
    let mut file = std::fs::File::from(receive_fd(&listener));
    let mut screen = String::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !screen.contains("done") && Instant::now() < deadline {
        let mut buf = [0u8; 256];
        match file.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => screen.push_str(&String::from_utf8_lossy(&buf[..n])),
        }
    }
    assert!(screen.contains("/dev/pts/0"), "{screen}");
    // /dev/console is the terminal too (bound over it, as runc does).
    assert!(screen.contains("136,"), "{screen}");
    // Without the socket, a terminal is refused and nothing is left.
    let r = out(b.cmd(&["create", "-b"]).arg(&dir).arg("no-socket"));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("console-socket"), "{}", r.stderr);
    assert!(!b.state.join("no-socket").exists());
}

#[test]
fn update_writes_new_limits_to_the_containers_cgroup() {
    if !support::cgroup_v1_or_skip() {
        return;
    }
    let k = Kiste::new();
    let b = Running::start(&k, "update-me");
    b.ok(&["update", "--memory", "64m", "--pids-limit", "20", &b.id]);
    let read = |ctrl: &str, file: &str| {
        std::fs::read_to_string(format!("/sys/fs/cgroup/{ctrl}/kiste/{}/{file}", b.id))
            .unwrap()
            .trim()
            .to_string()
    };
    assert_eq!(read("memory", "memory.limit_in_bytes"), "67108864");
    assert_eq!(read("pids", "pids.max"), "20");
    // The spec's resources on stdin, as containerd passes them.
    let mut child = b
        .cmd(&["update", "--resources", "-", &b.id])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(br#"{"memory":{"limit":50331648},"pids":{"limit":30}}"#)
        .unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(read("memory", "memory.limit_in_bytes"), "50331648");
    assert_eq!(read("pids", "pids.max"), "30");
    // cpuset mems are written too; a node the host lacks is the kernel's refusal, by file.
    b.ok(&[
        "update",
        "--cpuset-mems",
        "0",
        "--cpu-quota",
        "20000",
        &b.id,
    ]);
    assert_eq!(read("cpuset", "cpuset.mems"), "0");
    assert_eq!(read("cpu", "cpu.cfs_quota_us"), "20000");
    let r = out(&mut b.cmd(&["update", "--cpuset-mems", "63", &b.id]));
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("cpuset.mems"), "{}", r.stderr);
}

/// runc 1.1's other `update` flags: `--cpu-share` (its spelling), the real-time period
/// and runtime (cgroup v1 cpu.rt_*, where the kernel has real-time group scheduling),
/// and the Intel RDT schemas, refused with runc's words where resctrl lacks them.
#[test]
fn update_takes_runcs_cpu_share_realtime_and_rdt_flags() {
    if !support::cgroup_v1_or_skip() {
        return;
    }
    let k = Kiste::new();
    let b = Running::start(&k, "update-rt");
    let read = |ctrl: &str, file: &str| {
        std::fs::read_to_string(format!("/sys/fs/cgroup/{ctrl}/kiste/{}/{file}", b.id))
            .unwrap()
            .trim()
            .to_string()
    };
    b.ok(&["update", "--cpu-share", "512", &b.id]);
    assert_eq!(read("cpu", "cpu.shares"), "512");
    let rt = [
        "update",
        "--cpu-rt-period",
        "100000",
        "--cpu-rt-runtime",
        "1000",
    ];
    if Path::new("/sys/fs/cgroup/cpu/cpu.rt_runtime_us").exists() {
        b.ok(&[&rt[..], &[b.id.as_str()]].concat());
        assert_eq!(read("cpu", "cpu.rt_period_us"), "100000");
        assert_eq!(read("cpu", "cpu.rt_runtime_us"), "1000");
        // A runtime longer than its period is the kernel's refusal, named by file.
        let r = out(&mut b.cmd(&["update", "--cpu-rt-runtime", "200000", &b.id]));
        assert_eq!(r.code, 1, "{}", r.stderr);
        assert!(r.stderr.contains("cpu.rt_runtime_us"), "{}", r.stderr);
        assert_eq!(read("cpu", "cpu.rt_runtime_us"), "1000");
    } else {
        let r = out(&mut b.cmd(&[&rt[..], &[b.id.as_str()]].concat()));
        assert_eq!(r.code, 1, "{}", r.stderr);
        assert!(r.stderr.contains("CONFIG_RT_GROUP_SCHED"), "{}", r.stderr);
    }
    for (flag, value, dir, words) in [
        (
            "--l3-cache-schema",
            "L3:0=f",
            "L3",
            "Intel RDT/CAT: l3 cache schema is not enabled",
        ),
        (
            "--mem-bw-schema",
            "MB:0=70",
            "MB",
            "Intel RDT/MBA: memory bandwidth schema is not enabled",
        ),
    ] {
        let r = out(&mut b.cmd(&["update", flag, value, &b.id]));
        assert_eq!(r.code, 1, "{flag}: {}", r.stderr);
        let info = Path::new("/sys/fs/resctrl/info").join(dir);
        let want = if info.is_dir() {
            "no Intel RDT group"
        } else {
            words
        };
        assert!(r.stderr.contains(want), "{flag}: {}", r.stderr);
    }
    assert_eq!(b.state()["status"], "running");
}
