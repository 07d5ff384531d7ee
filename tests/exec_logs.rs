//! `logs` of real containers: stdout and stderr come back apart; `--until`, `--details`,
//! `-t`, `--tail`; `--log-driver none` keeps nothing and `logs` says so as docker does;
//! `k8s-file` writes podman's line format; `--log-opt max-size/max-file` rotation by the
//! monitor keeps at most max-file files, and `logs` reads across them.

mod support;

use support::*;

fn log_dir(k: &Kiste, name: &str) -> std::path::PathBuf {
    let id = k.inspect(name)["Id"].as_str().unwrap().to_string();
    k.root().join("containers").join(id)
}

#[test]
fn logs_keep_stdout_and_stderr_apart_with_until_details_and_timestamps() {
    let k = Kiste::new();
    k.busybox();
    k.ok(&[
        "run",
        "--name",
        "both",
        "busybox",
        "sh",
        "-c",
        "echo out1; echo err1 >&2; echo out2",
    ]);
    let r = k.run(&["logs", "both"]);
    assert_eq!(
        (r.stdout.as_str(), r.stderr.as_str()),
        ("out1\nout2\n", "err1\n")
    );
    let details = k.run(&["logs", "--details", "both"]);
    assert_eq!(details.stdout, " out1\n out2\n");
    // With -t each line starts with its time; the last stdout line is out2.
    let stamped = k.ok(&["logs", "-t", "both"]);
    let (time, text) = stamped.lines().last().unwrap().split_once(' ').unwrap();
    assert!(time.starts_with("20") && time.ends_with('Z'), "{stamped}");
    assert_eq!(text, "out2");
    // --until: nothing before the run, everything before a time after it.
    assert_eq!(
        k.ok(&["logs", "--until", "2000-01-01T00:00:00Z", "both"]),
        ""
    );
    assert_eq!(
        k.ok(&["logs", "--until", "4000000000", "both"]),
        "out1\nout2\n"
    );
    let bad = k.run(&["logs", "--until", "yesterday", "both"]);
    assert_eq!(bad.code, 125, "{}", bad.stderr);
}

#[test]
fn log_driver_none_keeps_nothing_and_logs_says_so() {
    let k = Kiste::new();
    k.busybox();
    let r = k.run(&[
        "run",
        "--log-driver",
        "none",
        "--name",
        "quiet",
        "busybox",
        "echo",
        "shown",
    ]);
    assert_eq!(
        r.stdout, "shown\n",
        "the foreground run still shows its output"
    );
    assert!(!log_dir(&k, "quiet").join("container.log").exists());
    let logs = k.run(&["logs", "quiet"]);
    assert_eq!(logs.code, 1);
    assert!(
        logs.stderr
            .contains("configured logging driver does not support reading"),
        "{}",
        logs.stderr
    );
    for bad in [
        &["--log-driver", "syslog"][..],
        &["--log-opt", "color=red"][..],
        &["--log-opt", "max-file=3"][..],
        &["--log-opt", "max-size=lots"][..],
    ] {
        let mut args = vec!["run", "--rm"];
        args.extend_from_slice(bad);
        args.extend_from_slice(&["busybox", "true"]);
        assert_eq!(k.run(&args).code, 125, "{bad:?}");
    }
}

#[test]
fn k8s_file_driver_writes_podmans_format_and_reads_back() {
    let k = Kiste::new();
    k.busybox();
    k.ok(&[
        "run",
        "--log-driver",
        "k8s-file",
        "--name",
        "kube",
        "busybox",
        "sh",
        "-c",
        "echo full; echo e >&2; printf part",
    ]);
    let text = std::fs::read_to_string(log_dir(&k, "kube").join("container.log")).unwrap();
    let fields: Vec<Vec<&str>> = text.lines().map(|l| l.splitn(4, ' ').collect()).collect();
    let mut tagged: Vec<(&str, &str, &str)> = fields.iter().map(|f| (f[1], f[2], f[3])).collect();
    tagged.sort();
    assert_eq!(
        tagged,
        vec![
            ("stderr", "F", "e"),
            ("stdout", "F", "full"),
            ("stdout", "P", "part")
        ]
    );
    let r = k.run(&["logs", "kube"]);
    assert_eq!(
        (r.stdout.as_str(), r.stderr.as_str()),
        ("full\npart", "e\n")
    );
}

#[test]
fn log_opt_rotation_keeps_max_file_files_and_logs_reads_across_them() {
    let k = Kiste::new();
    k.busybox();
    k.ok(&[
        "run",
        "--name",
        "chatty",
        "--log-opt",
        "max-size=1k",
        "--log-opt",
        "max-file=3",
        "busybox",
        "sh",
        "-c",
        "i=0; while [ $i -lt 200 ]; do i=$((i+1)); echo line-$i; done",
    ]);
    let dir = log_dir(&k, "chatty");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("container.log"))
        .collect();
    files.sort();
    assert_eq!(
        files,
        ["container.log", "container.log.1", "container.log.2"]
    );
    for f in &files {
        assert!(
            std::fs::metadata(dir.join(f)).unwrap().len() <= 1024,
            "{f} is too big"
        );
    }
    let all = k.ok(&["logs", "chatty"]);
    let lines: Vec<&str> = all.lines().collect();
    assert_eq!(lines.last(), Some(&"line-200"));
    // Consecutive, oldest first, across the rotated files.
    let first: usize = lines[0].strip_prefix("line-").unwrap().parse().unwrap();
    let expected: Vec<String> = (first..=200).map(|i| format!("line-{i}")).collect();
    assert_eq!(lines, expected);
    assert_eq!(
        k.ok(&["logs", "--tail", "2", "chatty"]),
        "line-199\nline-200\n"
    );
    let log_config = &k.inspect("chatty")["HostConfig"]["LogConfig"];
    assert_eq!(log_config["Type"], "json-file");
    assert_eq!(log_config["Config"]["max-file"], "3");
}

#[test]
fn logs_follow_goes_on_across_a_rotation() {
    let k = Kiste::new();
    k.busybox();
    k.ok(&[
        "run", "-d", "--name", "rolling", "--log-opt", "max-size=1k", "--log-opt", "max-file=10",
        "busybox", "sh", "-c",
        "while [ ! -e /go ]; do sleep 0.05; done; i=0; while [ $i -lt 60 ]; do i=$((i+1)); echo line-$i; sleep 0.02; done",
    ]);
    let follower = k
        .cmd(&["logs", "-f", "rolling"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    k.ok(&["exec", "rolling", "touch", "/go"]);
    let out = follower.wait_with_output().unwrap();
    let expected: String = (1..=60).map(|i| format!("line-{i}\n")).collect();
    assert_eq!(String::from_utf8_lossy(&out.stdout), expected);
    let rotated = std::fs::read_dir(log_dir(&k, "rolling"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("container.log.")
        })
        .count();
    assert!(rotated >= 2, "the log was not rotated during the run");
}
