//! Isolation and limits through the command line, checked from inside the container: each
//! flag of `kiste run` reaches the runtime and is enforced (the runtime's own tests cover
//! the mechanisms in depth; these prove the wiring and docker's output).

mod support;

use support::cgroup::{self, Knob, Layout};
use support::*;

fn sh(k: &Kiste, flags: &[&str], script: &str) -> Run {
    let mut args = vec!["run", "--rm"];
    args.extend_from_slice(flags);
    args.extend_from_slice(&["busybox", "sh", "-c", script]);
    k.run(&args)
}

fn host_ns(kind: &str) -> String {
    std::fs::read_link(format!("/proc/self/ns/{kind}"))
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

#[test]
fn namespaces_are_private_unless_host_is_asked_for() {
    let k = Kiste::new();
    k.busybox();
    let private = sh(&k, &[], "readlink /proc/self/ns/pid /proc/self/ns/ipc /proc/self/ns/uts /proc/self/ns/net /proc/self/ns/mnt /proc/self/ns/cgroup");
    for (line, kind) in private
        .stdout
        .lines()
        .zip(["pid", "ipc", "uts", "net", "mnt", "cgroup"])
    {
        assert_ne!(
            line,
            host_ns(kind),
            "{kind} namespace is the container's own"
        );
    }
    assert_eq!(
        sh(&k, &["--pid", "host"], "readlink /proc/self/ns/pid")
            .stdout
            .trim(),
        host_ns("pid")
    );
    assert_ne!(sh(&k, &["--pid", "host"], "echo $$").stdout.trim(), "1");
    assert_eq!(
        sh(&k, &["--ipc", "host"], "readlink /proc/self/ns/ipc")
            .stdout
            .trim(),
        host_ns("ipc")
    );
    let host_name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_eq!(sh(&k, &["--uts", "host"], "hostname").stdout, host_name);
    assert_eq!(
        sh(&k, &["--hostname", "inner"], "hostname").stdout,
        "inner\n"
    );
    assert_eq!(
        sh(&k, &["--network", "host"], "readlink /proc/self/ns/net")
            .stdout
            .trim(),
        host_ns("net")
    );
    let none = sh(&k, &["--network", "none"], "ls /sys/class/net");
    assert_eq!(none.stdout.split_whitespace().collect::<Vec<_>>(), ["lo"]);
    // Its own cgroup namespace (`--cgroupns private`; docker's default on v2, not v1).
    let cg = sh(&k, &["--cgroupns", "private"], "cat /proc/self/cgroup");
    assert!(
        cg.stdout.lines().all(|l| l.ends_with(":/")),
        "own cgroup is /: {}",
        cg.stdout
    );
    let userns = sh(
        &k,
        &["--userns", "map=0:100000:65536"],
        "cat /proc/self/uid_map",
    );
    assert_eq!(
        userns.stdout.split_whitespace().collect::<Vec<_>>(),
        ["0", "100000", "65536"],
        "{}",
        userns.stderr
    );
}

#[test]
fn memory_limit_oom_kills_and_is_reported_like_docker() {
    let k = Kiste::new();
    k.busybox();
    let (limit, want) = cgroup::probe(&[(Knob::MemoryLimit, "33554432")]);
    let script = format!("{limit}; x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived");
    let r = k.run(&[
        "run",
        "--name",
        "hog",
        "--memory",
        "32m",
        "--memory-swap",
        "32m",
        "busybox",
        "sh",
        "-c",
        &script,
    ]);
    assert_eq!(r.code, 137, "{}{}", r.stdout, r.stderr);
    assert_eq!(r.stdout.lines().next(), Some(want.trim()));
    assert!(!r.stdout.contains("survived"));
    assert!(k.ok(&["ps", "-a"]).contains("Exited (137)"));
    assert_eq!(k.inspect("hog")["State"]["OOMKilled"], true);
    assert_eq!(k.inspect("hog")["HostConfig"]["Memory"], 33554432);
}

#[test]
fn pids_and_cpu_limits_are_enforced() {
    let k = Kiste::new();
    k.busybox();
    let (pids, want) = cgroup::probe(&[(Knob::PidsMax, "10")]);
    let forks = sh(
        &k,
        &["--pids-limit", "10"],
        &format!("{pids}; (for i in $(seq 30); do sleep 5 & done) 2>/dev/null; set -- /proc/[0-9]*; echo $#"),
    );
    let lines: Vec<&str> = forks.stdout.lines().collect();
    assert_eq!(lines[0], want.trim());
    let n: usize = lines[1].trim().parse().unwrap();
    assert!(
        (5..=10).contains(&n),
        "the fork loop stopped at the limit: {n} processes"
    );
    let (script, want) = cgroup::probe(&[(Knob::CpuMax, "50000 100000"), (Knob::CpuShares, "512")]);
    let cpu = sh(&k, &["--cpus", "0.5", "--cpu-shares", "512"], &script);
    assert_eq!(cpu.stdout, want, "{}", cpu.stderr);
    // The quota is enforced: a busy loop spins until the kernel throttles the cgroup (the
    // event), bounded by a count of rounds rather than by a clock.
    let throttled = Knob::CpuThrottled.read(Layout::host()).unwrap();
    let busy = sh(
        &k,
        &["--cpus", "0.5"],
        &format!("n=0; until [ \"$({throttled})\" -gt 0 ] || [ $n -ge 100000 ]; do n=$((n+1)); done; {throttled}"),
    );
    let periods: u64 = busy
        .stdout
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("{}{}", busy.stdout, busy.stderr));
    assert!(
        periods > 0,
        "a busy loop under --cpus 0.5 was never throttled"
    );
}

#[test]
fn capabilities_seccomp_and_no_new_privileges_follow_docker() {
    let k = Kiste::new();
    k.busybox();
    let caps =
        "grep -E '^(CapEff|CapBnd|Seccomp|NoNewPrivs):' /proc/self/status | tr -s '\\t ' ' '";
    let d = sh(&k, &[], caps).stdout;
    assert!(d.contains("CapEff: 00000000a80425fb"), "{d}");
    assert!(d.contains("CapBnd: 00000000a80425fb"), "{d}");
    assert!(d.contains("Seccomp: 2"), "{d}");
    assert!(d.contains("NoNewPrivs: 0"), "{d}");
    let added = sh(&k, &["--cap-add", "NET_ADMIN", "--cap-drop", "chown"], caps).stdout;
    assert!(
        added.contains("CapEff: 00000000a80435fa"),
        "NET_ADMIN (bit 12) in, CHOWN (bit 0) out: {added}"
    );
    let nnp = sh(
        &k,
        &[
            "--security-opt",
            "no-new-privileges",
            "--security-opt",
            "seccomp=unconfined",
        ],
        caps,
    )
    .stdout;
    assert!(
        nnp.contains("NoNewPrivs: 1") && nnp.contains("Seccomp: 0"),
        "{nnp}"
    );
    let blocked = sh(&k, &[], "unshare -U true; echo rc=$?");
    assert!(
        blocked.stdout.contains("rc=1") || blocked.stdout.contains("rc=2"),
        "{}{}",
        blocked.stdout,
        blocked.stderr
    );
    let privileged = sh(&k, &["--privileged"], caps);
    assert_eq!(privileged.code, 0, "{}", privileged.stderr);
    assert!(privileged.stdout.contains("Seccomp: 0"));
    let host_bnd = std::fs::read_to_string("/proc/self/status").unwrap();
    let host_bnd = host_bnd
        .lines()
        .find(|l| l.starts_with("CapBnd:"))
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string();
    assert!(
        privileged.stdout.contains(&format!("CapEff: {host_bnd}")),
        "every capability the host holds: {}",
        privileged.stdout
    );
    // Capabilities the host itself lacks (here CAP_SYS_RESOURCE) are named, not fatal.
    let bnd = u64::from_str_radix(&host_bnd, 16).unwrap();
    let last: u32 = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let lacking: Vec<u32> = (0..=last).filter(|b| bnd & (1 << b) == 0).collect();
    if lacking.contains(&24) {
        assert!(
            privileged.stderr.contains("CAP_SYS_RESOURCE"),
            "{}",
            privileged.stderr
        );
    }
    assert_eq!(
        privileged.stderr.lines().count(),
        lacking.len(),
        "one warning per missing capability: {}",
        privileged.stderr
    );
    let ro = sh(&k, &["--read-only"], "touch /x 2>&1; echo rc=$?");
    assert!(
        ro.stdout.contains("Read-only file system") && ro.stdout.contains("rc=1"),
        "{}",
        ro.stdout
    );
    let ulimit = sh(
        &k,
        &["--ulimit", "nofile=512:1024"],
        "ulimit -n; ulimit -Hn",
    );
    assert_eq!(ulimit.stdout, "512\n1024\n");
}

#[test]
fn bad_isolation_flags_are_refused_before_anything_exists() {
    let k = Kiste::new();
    k.busybox();
    let profile = k.dir.path().join("bad.json");
    std::fs::write(&profile, "{ not json").unwrap();
    let seccomp = format!("seccomp={}", profile.display());
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--cap-add", "CAP_NOPE"], "CAP_NOPE"),
        (vec!["--memory", "12q"], "12q"),
        (vec!["--cpus", "4096"], "--cpus"),
        (
            vec!["--device", "/dev/does-not-exist"],
            "/dev/does-not-exist",
        ),
        (vec!["--security-opt", &seccomp], "not valid JSON"),
        (vec!["--stop-signal", "SIGNOPE"], "SIGNOPE"),
        (vec!["--ulimit", "bogus=1"], "bogus"),
        (vec!["--pid", "weird"], "--pid"),
    ];
    for (flags, needle) in cases {
        let mut args = vec!["run", "-d"];
        args.extend(flags.iter().copied());
        args.extend(["busybox", "true"]);
        let r = k.run(&args);
        assert_eq!(r.code, 125, "{flags:?}: {}", r.stderr);
        assert!(r.stderr.contains(needle), "{flags:?}: {}", r.stderr);
        assert_eq!(
            r.stderr.trim_end().lines().count(),
            1,
            "{flags:?}: {}",
            r.stderr
        );
    }
    assert_eq!(k.ok(&["ps", "-a", "-q"]), "", "nothing was created");
}

#[test]
fn cgroup_parent_and_devices_are_honoured() {
    let k = Kiste::new();
    k.busybox();
    let id = k
        .ok(&[
            "run",
            "-d",
            "--cgroup-parent",
            "kiste/cli-parent",
            "--device",
            "/dev/null:/dev/extra-null:rw",
            "busybox",
            "sleep",
            "30",
        ])
        .trim()
        .to_string();
    let dir = Layout::host().dir("memory", "kiste/cli-parent", &id);
    assert!(dir.is_dir(), "the container's cgroup is under the parent");
    let dev = k.ok(&[
        "run",
        "--rm",
        "--device",
        "/dev/null:/dev/extra-null:rw",
        "busybox",
        "sh",
        "-c",
        "ls -l /dev/extra-null; echo hi > /dev/extra-null && echo written",
    ]);
    assert!(
        dev.starts_with('c') && dev.contains("1,") && dev.contains("written"),
        "{dev}"
    );
    k.ok(&["rm", "-f", &id]);
    assert!(!dir.exists(), "removed with the container");
    // The parent itself is the user's: kiste leaves it, the test removes it (in every hierarchy).
    for parent in Layout::host().leftovers("cli-parent") {
        let _ = std::fs::remove_dir(parent);
    }
}

/// A loop device over a small file, detached on drop.
struct Loop(String);
impl Loop {
    fn new(dir: &std::path::Path) -> Loop {
        let img = dir.join("loop.img");
        std::fs::File::create(&img)
            .unwrap()
            .set_len(8 << 20)
            .unwrap();
        let out = checked_output(
            std::process::Command::new("losetup")
                .args(["-f", "--show"])
                .arg(&img),
        );
        Loop(String::from_utf8_lossy(&out).trim().to_string())
    }
}
impl Drop for Loop {
    fn drop(&mut self) {
        let _ = std::process::Command::new("losetup")
            .args(["-d", &self.0])
            .status();
    }
}

#[test]
fn memory_cpuset_and_block_io_settings_reach_the_cgroup() {
    let k = Kiste::new();
    k.busybox();
    let dev = Loop::new(k.dir.path());
    let rdev = std::fs::read_to_string(format!(
        "/sys/class/block/{}/dev",
        dev.0.trim_start_matches("/dev/")
    ))
    .unwrap();
    let rdev = rdev.trim();
    let (script, want) = cgroup::probe(&[
        (Knob::MemorySoftLimit, "33554432"),
        (Knob::Cpuset, "0"),
        (Knob::OomKillDisable, "1"),
        (Knob::IoWriteBps, &format!("{rdev} 1048576")),
        (Knob::IoReadIops, &format!("{rdev} 100")),
    ]);
    let r = sh(
        &k,
        &[
            "--memory",
            "64m",
            "--memory-reservation",
            "32m",
            "--oom-kill-disable",
            "--cpuset-cpus",
            "0",
            "--device-write-bps",
            &format!("{}:1mb", dev.0),
            "--device-read-iops",
            &format!("{}:100", dev.0),
        ],
        &script,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, want);
    // The weight goes to blkio.weight (CFQ) or blkio.bfq.weight (BFQ), whichever the kernel
    // has (in non-root cgroups such as kiste's, made by the busybox build); without either
    // kiste refuses the flag rather than ignore it.
    let has_weight = Layout::host().has_io_weight("kiste");
    let (script, _) = cgroup::probe(&[(Knob::IoWeight, "300")]);
    let weight = sh(&k, &["--blkio-weight", "300"], &script);
    if has_weight {
        assert!(
            weight.stdout.lines().any(|l| l.trim() == "300"),
            "{}{}",
            weight.stdout,
            weight.stderr
        );
    } else {
        assert_eq!(weight.code, 125);
        assert!(weight.stderr.contains("weight"), "{}", weight.stderr);
    }
}
