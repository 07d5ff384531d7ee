//! cgroup limits seen from inside and outside a real container (root, cgroup v1 host):
//! each test gets its own cgroup under kiste's subtree and checks that the kernel
//! enforces the limit, not only that a file was written.

mod support;

use std::time::{Duration, Instant};

use kiste::runtime::{Device, DeviceRate};
use support::cgroup::{probe, Knob, Layout};
use support::runtime::*;

#[test]
fn memory_limit_oom_kills_the_container() {
    let _g = serial();
    let sb = sandbox();
    let mut s = spec(
        &sb,
        "oom",
        "x=$(head -c 300000000 /dev/zero | tr '\\0' a); echo survived ${#x}",
    );
    s.cgroup.as_mut().unwrap().resources.memory = Some(32 * 1024 * 1024);
    let out = run(&sb, s);
    assert_eq!(
        out.signal,
        Some(libc::SIGKILL),
        "status {} out {}",
        out.status,
        out.stdout
    );
    assert!(out.oom_killed, "oom_killed() must report the kill");
    assert!(!out.stdout.contains("survived"));
}

#[test]
fn memory_settings_reach_the_v1_files() {
    if !support::cgroup_v1_or_skip() {
        return;
    }
    let _g = serial();
    let sb = sandbox();
    let script = "cd /sys/fs/cgroup/memory; cat memory.limit_in_bytes memory.memsw.limit_in_bytes \
                  memory.soft_limit_in_bytes; grep oom_kill_disable memory.oom_control";
    let mut s = spec(&sb, "memfiles", script);
    let r = &mut s.cgroup.as_mut().unwrap().resources;
    r.memory = Some(64 << 20);
    r.memory_swap = Some(96 << 20);
    r.memory_reservation = Some(32 << 20);
    r.oom_kill_disable = true;
    let out = run(&sb, s);
    assert_eq!(
        out.stdout,
        format!(
            "{}\n{}\n{}\noom_kill_disable 1\n",
            64 << 20,
            96 << 20,
            32 << 20
        ),
        "{}",
        out.stderr
    );
    // Without --memory-swap, docker lets the container swap as much as its memory.
    let mut s = spec(
        &sb,
        "memsw-default",
        "cat /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes",
    );
    s.cgroup.as_mut().unwrap().resources.memory = Some(64 << 20);
    assert_eq!(run(&sb, s).stdout, format!("{}\n", 128 << 20));
}

#[test]
fn pids_limit_stops_a_fork_loop() {
    if !support::cgroup_v1_or_skip() {
        return;
    }
    let _g = serial();
    let sb = sandbox();
    // The inner shell forks until the limit refuses, then exits; its sleeps stay.
    let script = "sh -c 'i=0; while [ $i -lt 40 ]; do sleep 5 & i=$((i+1)); done'; \
                  read cur < /sys/fs/cgroup/pids/pids.current; read ev < /sys/fs/cgroup/pids/pids.events; \
                  echo $cur; echo $ev; kill -9 -1";
    let mut s = spec(&sb, "pids", script);
    s.cgroup.as_mut().unwrap().resources.pids_limit = Some(10);
    let out = run(&sb, s);
    assert!(out.stderr.contains("can't fork"), "{}", out.stderr);
    // Outer shell + 8 sleeps remain once the inner shell gave up at 10.
    assert_eq!(out.stdout, "9\nmax 1\n", "{}", out.stderr);
}

#[test]
fn cpus_half_a_core_throttles_a_busy_loop() {
    let _g = serial();
    let sb = sandbox();
    let (quota, want) = probe(&[(Knob::CpuMax, "50000 100000")]);
    // The loop spins until the kernel throttles the cgroup (the event), bounded by a count
    // of rounds rather than by a clock.
    let throttled = Knob::CpuThrottled.read(Layout::host()).unwrap();
    let script = format!(
        "{quota}; n=0; until [ \"$({throttled})\" -gt 0 ] || [ $n -ge 100000 ]; do n=$((n+1)); done; {throttled}"
    );
    let mut s = spec(&sb, "cpus", &script);
    s.cgroup.as_mut().unwrap().resources.cpus = Some(0.5);
    let out = run(&sb, s);
    let (limits, periods) = out.stdout.split_at(want.len().min(out.stdout.len()));
    assert_eq!(limits, want, "{}", out.stderr);
    let periods: u64 = periods
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("{}", out.stdout));
    assert!(periods > 0, "a busy loop under 0.5 CPU was never throttled");
}

#[test]
fn cpu_shares_and_cpuset_are_written() {
    if !support::cgroup_v1_or_skip() {
        return;
    }
    let _g = serial();
    let sb = sandbox();
    let mut s = spec(&sb, "shares", "cat /sys/fs/cgroup/cpu/cpu.shares /sys/fs/cgroup/cpuset/cpuset.cpus; grep Cpus_allowed_list /proc/self/status");
    let r = &mut s.cgroup.as_mut().unwrap().resources;
    r.cpu_shares = Some(512);
    r.cpuset_cpus = Some("1".into());
    let out = run(&sb, s);
    assert_eq!(
        out.stdout, "512\n1\nCpus_allowed_list:\t1\n",
        "{}",
        out.stderr
    );
}

#[test]
fn device_cgroup_denies_nodes_made_with_mknod() {
    let _g = serial();
    let sb = sandbox();
    let script = "mknod /tmp/mem c 1 1 && echo made; head -c1 /tmp/mem >/dev/null; echo mem=$?; \
                  mknod /tmp/null2 c 1 3 && echo x > /tmp/null2; echo null=$?";
    let out = run(&sb, spec(&sb, "devices", script));
    assert_eq!(out.stdout, "made\nmem=1\nnull=0\n", "{}", out.stderr);
    assert!(
        out.stderr.contains("Operation not permitted"),
        "{}",
        out.stderr
    );
}

/// A loop device over a file, detached when dropped.
struct Loop {
    path: String,
}

impl Loop {
    fn new(backing: &std::path::Path) -> Loop {
        std::fs::write(backing, vec![0u8; 16 << 20]).unwrap();
        let out = std::process::Command::new("losetup")
            .args(["-f", "--show"])
            .arg(backing)
            .output()
            .expect("losetup (util-linux) is needed");
        assert!(
            out.status.success(),
            "losetup: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Loop {
            path: String::from_utf8(out.stdout).unwrap().trim().to_string(),
        }
    }

    fn device(&self) -> Device {
        use std::os::unix::fs::MetadataExt;
        let rdev = std::fs::metadata(&self.path).unwrap().rdev();
        Device {
            host_path: self.path.clone().into(),
            container_path: "/dev/xvdb".into(),
            kind: 'b',
            major: libc::major(rdev),
            minor: libc::minor(rdev),
            permissions: "rwm".into(),
            mode: 0o660,
            uid: 0,
            gid: 0,
        }
    }
}

impl Drop for Loop {
    fn drop(&mut self) {
        let _ = std::process::Command::new("losetup")
            .args(["-d", &self.path])
            .status();
    }
}

#[test]
fn device_write_bps_throttles_a_passed_device() {
    let _g = serial();
    let sb = sandbox();
    let lo = Loop::new(&sb.dir.path().join("disk.img"));
    let dev = lo.device();
    let mut s = spec(&sb, "wbps", "dd if=/dev/zero of=/dev/xvdb bs=256k count=12 oflag=direct 2>&1 | tail -1; ls -l /dev/xvdb | cut -c1");
    s.devices = vec![dev.clone()];
    let cg = s.cgroup.as_mut().unwrap();
    cg.devices = vec![dev.clone()];
    cg.resources.device_write_bps = vec![DeviceRate {
        major: dev.major,
        minor: dev.minor,
        rate: 1 << 20,
    }];
    let t0 = Instant::now();
    let out = run(&sb, s);
    let took = t0.elapsed();
    assert_eq!(out.status, 0, "{} {}", out.stdout, out.stderr);
    assert!(out.stdout.ends_with("b\n"), "{}", out.stdout);
    // 3 MiB at 1 MiB/s: about 3 s; unthrottled it takes milliseconds.
    assert!(
        took > Duration::from_millis(1800),
        "3 MiB written in {took:?}: not throttled ({})",
        out.stdout
    );
    assert!(took < Duration::from_secs(20), "{took:?}");
}

#[test]
fn device_not_passed_is_denied_even_as_root() {
    let _g = serial();
    let sb = sandbox();
    let lo = Loop::new(&sb.dir.path().join("disk2.img"));
    let d = lo.device();
    let script = format!(
        "mknod /tmp/blk b {} {} && head -c1 /tmp/blk >/dev/null; echo rc=$?",
        d.major, d.minor
    );
    let out = run(&sb, spec(&sb, "nodev", &script));
    assert_eq!(out.stdout, "rc=1\n");
    assert!(
        out.stderr.contains("Operation not permitted"),
        "{}",
        out.stderr
    );
}

#[test]
fn blkio_weight_without_a_weight_file_is_a_clear_error() {
    if !support::cgroup_v1_or_skip() {
        return;
    }
    let _g = serial();
    let sb = sandbox();
    // The root cgroup never has the weight files; kiste's parent shows what children get.
    let parent = std::path::Path::new("/sys/fs/cgroup/blkio/kiste");
    let has = ["blkio.weight", "blkio.bfq.weight"]
        .iter()
        .any(|f| parent.join(f).exists());
    std::fs::create_dir_all(parent).unwrap();
    let mut s = spec(
        &sb,
        "bw",
        "cat /sys/fs/cgroup/blkio/blkio.weight /sys/fs/cgroup/blkio/blkio.bfq.weight 2>/dev/null",
    );
    s.cgroup.as_mut().unwrap().resources.blkio_weight = Some(300);
    let cg = s.cgroup.clone().unwrap();
    match try_run(&sb, &mut s) {
        Ok(out) => {
            assert!(has);
            assert!(out.stdout.contains("300"), "{}", out.stdout);
        }
        Err(e) => {
            assert!(!has, "{e}");
            assert!(e.to_string().contains("cannot apply --blkio-weight"), "{e}");
            assert!(
                !controller_dir("memory", &cg).exists(),
                "failed start left its cgroup"
            );
        }
    }
}

#[test]
fn detect_sees_this_hosts_layout() {
    let unified_root = nix::sys::statfs::statfs("/sys/fs/cgroup")
        .unwrap()
        .filesystem_type()
        .0
        == 0x6367_7270;
    let want = if unified_root {
        kiste::cgroups::CgroupLayout::V2
    } else {
        kiste::cgroups::CgroupLayout::V1
    };
    assert_eq!(kiste::cgroups::detect(), want);
}

#[test]
fn remove_kills_a_fork_loop_and_leaves_nothing() {
    let _g = serial();
    let sb = sandbox();
    let mut s = spec(&sb, "forkloop", "while :; do sleep 100 & usleep 5000; done");
    s.cgroup.as_mut().unwrap().resources.pids_limit = Some(1000);
    let cg = s.cgroup.clone().unwrap();
    let io = io(&sb, &mut s);
    let _guard = CgroupGuard(Some(cg.clone()));
    let started = kiste::runtime::spawn(&s).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while kiste::cgroups::pids(&cg).len() <= 5 {
        assert!(Instant::now() < deadline, "the loop did not fork");
        std::thread::sleep(Duration::from_millis(10));
    }
    kiste::cgroups::remove(&cg).unwrap();
    let (_, sig) = wait(started.pid);
    assert_eq!(sig, Some(libc::SIGKILL));
    assert!(kiste::cgroups::pids(&cg).is_empty());
    for ctrl in ["memory", "pids", "freezer"] {
        assert!(!controller_dir(ctrl, &cg).exists(), "{ctrl} left behind");
    }
    drop(io);
}

/// On v1 the cgroup is made after the clone, while the child creates its namespaces: a
/// limit the host refuses there (a CPU it does not have) still fails the start with the
/// limit's error, and leaves no cgroup and no process behind.
#[test]
fn a_cgroup_refused_after_the_clone_fails_the_start_and_leaves_nothing() {
    if !support::cgroup_v1_or_skip() {
        return;
    }
    let _g = serial();
    let sb = sandbox();
    let mut s = spec(&sb, "late-cpuset", "echo ran");
    s.cgroup.as_mut().unwrap().resources.cpuset_cpus = Some("4095".into());
    let cg = s.cgroup.clone().unwrap();
    let err = match try_run(&sb, &mut s) {
        Ok(out) => panic!("started with cpuset 4095: {}", out.stdout),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("cpuset"), "{err}");
    for ctrl in ["memory", "pids", "devices", "cpuset"] {
        assert!(
            !controller_dir(ctrl, &cg).exists(),
            "failed start left its {ctrl} cgroup"
        );
    }
    // The cloned child was killed and reaped: this process has no child left.
    // SAFETY: waitpid without blocking, for any child.
    let rc = unsafe { libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG) };
    assert_eq!(rc, -1, "a child is left");
    assert_eq!(
        std::io::Error::last_os_error().raw_os_error(),
        Some(libc::ECHILD)
    );
}

/// The child is moved off its parent's CPU while the two work side by side; the program
/// still runs wherever its caller may run.
#[test]
fn the_container_may_run_on_every_cpu_its_caller_may() {
    if !support::cgroup_v1_or_skip() {
        return;
    }
    let _g = serial();
    let sb = sandbox();
    let own = std::fs::read_to_string("/proc/self/status").unwrap();
    let own = own
        .lines()
        .find(|l| l.starts_with("Cpus_allowed_list:"))
        .unwrap()
        .to_string();
    let out = run(
        &sb,
        spec(&sb, "cpus", "grep Cpus_allowed_list /proc/self/status"),
    );
    assert_eq!(out.stdout.trim_end(), own, "{}", out.stderr);
}
