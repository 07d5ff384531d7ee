//! Security defaults from inside a real container (root, busybox rootfs): docker's
//! capabilities, seccomp allowlist and custom profiles, no_new_privs, masked and
//! read-only paths, the minimal /dev, --read-only, --privileged, and the chroot escape.

mod support;

use kiste::runtime::Seccomp;
use support::runtime::*;

#[test]
fn default_capabilities_and_seccomp_match_docker() {
    let _g = serial();
    let sb = sandbox();
    let out = run(&sb, spec(&sb, "caps", "cat /proc/self/status"));
    assert_eq!(out.status, 0, "{}", out.stderr);
    let st = &out.stdout;
    assert_eq!(field(st, "CapEff"), Some("00000000a80425fb"));
    assert_eq!(field(st, "CapPrm"), Some("00000000a80425fb"));
    assert_eq!(field(st, "CapBnd"), Some("00000000a80425fb"));
    assert_eq!(field(st, "CapInh"), Some("0000000000000000"));
    assert_eq!(field(st, "CapAmb"), Some("0000000000000000"));
    assert_eq!(field(st, "Seccomp"), Some("2"));
    assert_eq!(field(st, "NoNewPrivs"), Some("0"));
}

#[test]
fn no_new_privileges_option_sets_the_bit() {
    let _g = serial();
    let sb = sandbox();
    let mut s = spec(&sb, "nnp", "grep NoNewPrivs /proc/self/status");
    s.security.no_new_privileges = true;
    let out = run(&sb, s);
    assert_eq!(out.stdout.trim(), "NoNewPrivs:\t1");
}

#[test]
fn unconfined_seccomp_reports_mode_0() {
    let _g = serial();
    let sb = sandbox();
    let mut s = spec(&sb, "unconfined", "grep Seccomp: /proc/self/status");
    s.security.seccomp = Seccomp::Unconfined;
    let out = run(&sb, s);
    assert_eq!(out.stdout.trim(), "Seccomp:\t0");
}

#[test]
fn chroot_breakout_lands_in_the_container_root() {
    let _g = serial();
    let sb = sandbox();
    let bin = sb.root().join("bin/breakout");
    let cc = std::process::Command::new("cc")
        .args(["-static", "-O2", "-o"])
        .arg(&bin)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/payload/breakout.c"
        ))
        .status()
        .expect("a C compiler (cc) is needed to build the breakout payload");
    assert!(cc.success());
    let out = run(&sb, spec(&sb, "breakout", "breakout; echo ---; ls /"));
    assert_eq!(out.status, 0, "{}", out.stderr);
    let (escaped, own) = out.stdout.split_once("---\n").unwrap();
    let mut escaped: Vec<&str> = escaped.lines().collect();
    escaped.sort();
    let own: Vec<&str> = own.lines().collect();
    assert_eq!(escaped, own, "the escape saw another root");
    assert!(
        !escaped.contains(&"usr") && !escaped.contains(&"work"),
        "host root reached: {escaped:?}"
    );
}

#[test]
fn default_seccomp_blocks_namespaces_and_mount() {
    let _g = serial();
    let sb = sandbox();
    let script =
        "unshare -U true; echo unshare=$?; mkdir -p /mnt; mount -t tmpfs t /mnt; echo mount=$?";
    let out = run(&sb, spec(&sb, "seccomp", script));
    assert_eq!(out.stdout, "unshare=1\nmount=1\n", "{}", out.stderr);
    assert!(
        out.stderr.contains("Operation not permitted"),
        "{}",
        out.stderr
    );
    // The same user-namespace call succeeds without the filter: the filter blocked it.
    let mut s = spec(&sb, "noseccomp", "unshare -U true; echo unshare=$?");
    s.security.seccomp = Seccomp::Unconfined;
    let out = run(&sb, s);
    assert_eq!(out.stdout, "unshare=0\n", "{}", out.stderr);
}

#[test]
fn custom_seccomp_profile_applies_and_bad_json_is_rejected() {
    let _g = serial();
    let sb = sandbox();
    let profile = kiste::runtime::Seccomp::Profile(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":13}]}"#.into(),
    );
    let mut s = spec(&sb, "profile", "mkdir /tmp/d; echo rc=$?");
    s.security.seccomp = profile;
    let out = run(&sb, s);
    assert_eq!(out.stdout, "rc=1\n");
    assert!(out.stderr.contains("Permission denied"), "{}", out.stderr);
    let mut s = spec(&sb, "badprofile", "true");
    s.security.seccomp = Seccomp::Profile("{\"defaultAction\": ".into());
    let err = try_run(&sb, &mut s).err().expect("invalid JSON must fail");
    assert!(
        err.to_string().starts_with("invalid seccomp profile"),
        "{err}"
    );
    assert_eq!(err.exit_code(), 125);
}

#[test]
fn masked_and_readonly_proc_paths() {
    let _g = serial();
    let sb = sandbox();
    let script = "wc -c < /proc/keys; wc -c < /proc/timer_list; ls -A /sys/firmware | wc -l; \
                  ls /proc/kcore 2>/dev/null | wc -l; \
                  echo 1 > /proc/sys/vm/drop_caches; echo sys=$?; echo h > /proc/sysrq-trigger; echo sysrq=$?";
    let out = run(&sb, spec(&sb, "masked", script));
    let kcore = if std::path::Path::new("/proc/kcore").exists() {
        "1"
    } else {
        "0"
    };
    assert_eq!(
        out.stdout,
        format!("0\n0\n0\n{kcore}\nsys=1\nsysrq=1\n"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("Read-only file system"),
        "{}",
        out.stderr
    );
    if kcore == "1" {
        let out = run(&sb, spec(&sb, "kcore", "wc -c < /proc/kcore"));
        assert_eq!(out.stdout, "0\n");
    }
}

#[test]
fn dev_holds_exactly_the_standard_devices() {
    let _g = serial();
    let sb = sandbox();
    let out = run(
        &sb,
        spec(
            &sb,
            "dev",
            "ls -A /dev; ls -l /dev/null /dev/zero /dev/tty | cut -c1-10",
        ),
    );
    assert_eq!(out.status, 0, "{}", out.stderr);
    let mut want = vec![
        "fd", "full", "mqueue", "null", "ptmx", "pts", "random", "shm", "stderr", "stdin",
        "stdout", "tty", "urandom", "zero",
    ];
    if std::path::Path::new("/proc/kcore").exists() {
        want.push("core");
        want.sort();
    }
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(&lines[..want.len()], &want[..]);
    assert_eq!(&lines[want.len()..], &["crw-rw-rw-"; 3]);
}

#[test]
fn readonly_rootfs_leaves_only_tmpfs_writable() {
    let _g = serial();
    let sb = sandbox();
    let mut s = spec(
        &sb,
        "ro",
        "touch /newfile; echo root=$?; touch /dev/shm/x; echo shm=$?",
    );
    s.security.readonly_rootfs = true;
    let out = run(&sb, s);
    assert_eq!(out.stdout, "root=1\nshm=0\n");
    assert!(
        out.stderr.contains("Read-only file system"),
        "{}",
        out.stderr
    );
    assert!(!sb.root().join("newfile").exists());
}

#[test]
fn privileged_gets_every_host_capability_writable_sys_and_host_devices() {
    let _g = serial();
    let sb = sandbox();
    let script = "grep -E '^Cap(Eff|Bnd):' /proc/self/status; grep Seccomp: /proc/self/status; \
                  grep ' /sys ' /proc/self/mountinfo | cut -d' ' -f6 | cut -d, -f1; ls /dev/kmsg";
    let mut s = spec(&sb, "privileged", script);
    s.security.privileged = true;
    s.security.capabilities = kiste::runtime::all_capabilities();
    s.security.seccomp = Seccomp::Unconfined;
    s.security.masked_paths.clear();
    s.security.readonly_paths.clear();
    s.cgroup.as_mut().unwrap().allow_all_devices = true;
    let out = run(&sb, s);
    assert_eq!(out.status, 0, "{}", out.stderr);
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let host_bnd = field(&status, "CapBnd").unwrap();
    assert_eq!(
        out.stdout,
        format!("CapEff:\t{host_bnd}\nCapBnd:\t{host_bnd}\nSeccomp:\t0\nrw\n/dev/kmsg\n")
    );
    // This host's bounding set lacks SYS_RESOURCE: --privileged reports it.
    let bnd = u64::from_str_radix(host_bnd, 16).unwrap();
    let missing = kiste::runtime::privileged_missing_capabilities();
    assert_eq!(
        missing.contains(&"SYS_RESOURCE".to_string()),
        bnd & (1 << 24) == 0
    );
    assert!(kiste::runtime::all_capabilities()
        .iter()
        .all(|c| !missing.contains(c)));
}

#[test]
fn capability_the_host_cannot_give_is_a_clear_error() {
    let _g = serial();
    let missing = kiste::runtime::privileged_missing_capabilities();
    let Some(cap) = missing.first() else {
        return support::skip("the host's bounding set has every capability, so none is missing");
    };
    let sb = sandbox();
    let mut s = spec(&sb, "capmissing", "true");
    s.security.capabilities.push(cap.clone());
    let err = try_run(&sb, &mut s).err().expect("must fail");
    assert_eq!(err.exit_code(), 125);
    assert!(
        err.to_string()
            .contains(&format!("cannot give the container {cap}")),
        "{err}"
    );
}
