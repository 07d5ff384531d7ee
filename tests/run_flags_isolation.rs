//! `run`/`create`'s `--uts`, `--privileged` and `--env-file`, checked inside the
//! container and against docker's engine where it can run them here (docker's
//! `--privileged` cannot: this machine's bounding set lacks CAP_SYS_RESOURCE).

mod support;

use std::process::Command;
use support::*;

fn docker_image(k: &Kiste) -> Option<&'static str> {
    if !have("docker") {
        skip("docker is not installed: no comparison");
        return None;
    }
    support::docker::ensure_docker();
    const NAME: &str = "kiste-runflags-iso:1";
    k.ok(&["tag", "busybox", NAME]);
    let tar = k.dir.path().join("bb.tar");
    k.ok(&["save", "-o", tar.to_str().unwrap(), NAME]);
    let st = Command::new("docker")
        .args(["load", "-q", "-i", tar.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(st.status.success());
    Some(NAME)
}

fn docker(args: &[&str]) -> (i32, String, String) {
    let o = Command::new("docker").args(args).output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn uts_host_shares_the_hosts_hostname_and_refuses_a_hostname_as_docker() {
    let k = Kiste::new();
    k.busybox();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_eq!(k.sh_with(&["--uts", "host"], "busybox", "hostname"), host);
    let id = k.ok(&["create", "--uts", "host", "busybox", "hostname"]);
    assert_eq!(k.ok(&["start", "-a", id.trim()]), host);
    assert_eq!(k.inspect(id.trim())["HostConfig"]["UTSMode"], "host");
    // Its own namespace: the id's first 12 characters.
    let own = k.ok(&["create", "busybox", "hostname"]);
    assert_eq!(k.ok(&["start", "-a", own.trim()]).trim(), &own.trim()[..12]);
    let before = k.ok(&["ps", "-a", "-q"]);
    let r = k.run(&["run", "--uts", "host", "-h", "other", "busybox", "hostname"]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr.contains("\"other\"")
            && r.stderr
                .contains("conflicting options: hostname and the UTS mode"),
        "{}",
        r.stderr
    );
    assert_eq!(k.ok(&["ps", "-a", "-q"]), before, "nothing created");

    let Some(image) = docker_image(&k) else {
        return;
    };
    let (code, out, err) = docker(&["run", "--rm", "--uts", "host", image, "hostname"]);
    assert_eq!((code, out.as_str()), (0, host.as_str()), "{err}");
    let (code, _, err) = docker(&[
        "run", "--rm", "--uts", "host", "-h", "other", image, "hostname",
    ]);
    assert_eq!(code, 125);
    assert!(
        err.contains("conflicting options: hostname and the UTS mode"),
        "{err}"
    );
}

/// The capability sets of /proc/self/status: (CapBnd, CapEff).
fn caps(status: &str) -> (String, String) {
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    (field("CapBnd:"), field("CapEff:"))
}

#[test]
fn privileged_gets_every_capability_the_host_has_its_devices_and_a_writable_sys() {
    let k = Kiste::new();
    k.busybox();
    let host = caps(&std::fs::read_to_string("/proc/self/status").unwrap());
    let script = "cat /proc/self/status; echo devices:$(ls /dev | wc -l); \
                  awk '$2 == \"/sys\" { print \"sys:\" substr($4, 1, 2) }' /proc/mounts";
    let r = k.run(&["run", "--rm", "--privileged", "busybox", "sh", "-c", script]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let inside = caps(&r.stdout);
    assert_eq!(
        inside,
        (host.0.clone(), host.0.clone()),
        "all the host's capabilities"
    );
    assert!(r.stdout.contains("sys:rw"), "{}", r.stdout);
    let host_devices = std::fs::read_dir("/dev").unwrap().count();
    let devices: usize = r
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("devices:"))
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        devices > 20 && devices + 10 >= host_devices,
        "{devices} of {host_devices}"
    );
    // Without it: docker's default set, the standard devices, /sys read-only.
    let plain = k.sh("busybox", script);
    assert_eq!(
        caps(&plain).1,
        "00000000a80425fb",
        "docker's default capabilities"
    );
    assert!(
        plain.contains("sys:ro") && plain.contains("devices:"),
        "{plain}"
    );
    let id = k.ok(&["create", "--privileged", "busybox", "true"]);
    assert_eq!(k.inspect(id.trim())["HostConfig"]["Privileged"], true);

    let Some(image) = docker_image(&k) else {
        return;
    };
    // docker's default set is the same; its --privileged cannot start here.
    let (code, out, err) = docker(&["run", "--rm", image, "sh", "-c", script]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(caps(&out).1, caps(&plain).1);
}

#[test]
fn env_file_lines_set_the_environment_of_run_and_create_as_docker() {
    let k = Kiste::new();
    k.busybox();
    let file = k.dir.path().join("env");
    std::fs::write(
        &file,
        "# a comment\n  LEADING=spaces\nPLAIN=value with spaces\nEMPTY=\nKISTE_BARE_SET\nKISTE_BARE_UNSET\n\nOVER=file\n",
    )
    .unwrap();
    let f = file.to_str().unwrap();
    let show =
        "env | grep -E '^(LEADING|PLAIN|EMPTY|KISTE_BARE_SET|KISTE_BARE_UNSET|OVER)=' | sort";
    let run = |args: &[&str]| {
        let r: Run = k
            .cmd(args)
            .env("KISTE_BARE_SET", "fromhost")
            .env_remove("KISTE_BARE_UNSET")
            .output()
            .unwrap()
            .into();
        assert_eq!(r.code, 0, "{}", r.stderr);
        r.stdout
    };
    let want =
        "EMPTY=\nKISTE_BARE_SET=fromhost\nLEADING=spaces\nOVER=flag\nPLAIN=value with spaces\n";
    let ours = run(&[
        "run",
        "--rm",
        "--env-file",
        f,
        "-e",
        "OVER=flag",
        "busybox",
        "sh",
        "-c",
        show,
    ]);
    assert_eq!(ours, want, "-e overrides the file");
    let id = run(&[
        "create",
        "--env-file",
        f,
        "-e",
        "OVER=flag",
        "busybox",
        "sh",
        "-c",
        show,
    ]);
    assert_eq!(k.ok(&["start", "-a", id.trim()]), want, "kept for start");
    let r = k.run(&[
        "run",
        "--rm",
        "--env-file",
        "/nonexistent/env",
        "busybox",
        "true",
    ]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("/nonexistent/env"), "{}", r.stderr);

    let Some(image) = docker_image(&k) else {
        return;
    };
    let o = Command::new("docker")
        .args([
            "run",
            "--rm",
            "--env-file",
            f,
            "-e",
            "OVER=flag",
            image,
            "sh",
            "-c",
            show,
        ])
        .env("KISTE_BARE_SET", "fromhost")
        .env_remove("KISTE_BARE_UNSET")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout), ours);
    let (code, _, _) = docker(&[
        "run",
        "--rm",
        "--env-file",
        "/nonexistent/env",
        image,
        "true",
    ]);
    assert_eq!(code, 125);
}
