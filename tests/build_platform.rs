//! Platform and proxy build args, `FROM --platform`, `COPY --link`, and the progress display
//! on a terminal.

mod support;

use support::*;

#[test]
fn platform_args_are_predefined_and_foreign_platforms_refused() {
    let k = Kiste::new();
    k.busybox();
    let ctx = k.context(
        "plat",
        &[(
            "Dockerfile",
            "FROM --platform=$BUILDPLATFORM busybox AS b\nARG TARGETPLATFORM\nARG TARGETOS TARGETARCH BUILDARCH\nRUN echo \"$TARGETPLATFORM $TARGETOS $TARGETARCH $BUILDARCH\" > /platform\nFROM busybox\nCOPY --from=b /platform /platform\n",
        )],
    );
    k.ok(&["build", "-q", "-t", "plat", ctx.to_str().unwrap()]);
    assert_eq!(
        k.ok(&["run", "--rm", "plat", "cat", "/platform"]),
        "linux/amd64 linux amd64 amd64\n"
    );
    let inspect: serde_json::Value =
        serde_json::from_str(&k.ok(&["image", "inspect", "plat"])).unwrap();
    assert_eq!(inspect[0]["Architecture"], "amd64");
    assert_eq!(inspect[0]["Os"], "linux");
    let arm = k.context(
        "arm",
        &[(
            "Dockerfile",
            "FROM busybox\nFROM --platform=linux/arm64 busybox\n",
        )],
    );
    let r = k.run(&["build", "-t", "arm", arm.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    // The local busybox is linux/amd64; the arm64 one would come from docker.io, which
    // this machine cannot reach.
    assert!(
        r.stderr.contains(":2: base image \"busybox\"")
            && r.stderr
                .contains("the local image is linux/amd64, and linux/arm64 cannot be pulled"),
        "{}",
        r.stderr
    );
}

#[test]
fn proxy_args_reach_run_without_arg_and_stay_out_of_the_image() {
    let k = Kiste::new();
    k.busybox();
    let ctx = k.context(
        "proxy",
        &[(
            "Dockerfile",
            "FROM busybox\nRUN echo \"proxy=$HTTP_PROXY\" > /seen\n",
        )],
    );
    let out = k.ok(&[
        "build",
        "--build-arg",
        "HTTP_PROXY=http://127.0.0.1:3128",
        "-t",
        "proxy",
        ctx.to_str().unwrap(),
    ]);
    assert!(
        !out.contains("were not consumed"),
        "predefined args never warn: {out}"
    );
    assert_eq!(
        k.ok(&["run", "--rm", "proxy", "cat", "/seen"]),
        "proxy=http://127.0.0.1:3128\n"
    );
    let inspect = k.ok(&["image", "inspect", "proxy"]);
    assert!(
        !inspect.contains("127.0.0.1:3128"),
        "neither env nor history keeps the proxy: {inspect}"
    );
    // A different proxy does not invalidate the cache.
    let again = k.ok(&[
        "build",
        "--build-arg",
        "HTTP_PROXY=http://127.0.0.1:9999",
        "-t",
        "proxy",
        ctx.to_str().unwrap(),
    ]);
    assert!(again.contains("Using cache"), "{again}");
}

#[test]
fn copy_link_ignores_the_base_image() {
    let k = Kiste::new();
    k.busybox();
    // /opt/app and /opt/app2 are directories in the base. Without --link, `COPY f /opt/app`
    // copies into the directory; with --link the base is not consulted (BuildKit: the
    // layer is made on an empty state), so `/opt/app2` is the destination file itself.
    let ctx = k.context(
        "link",
        &[
            ("f", "content\n"),
            ("Dockerfile", "FROM busybox\nRUN mkdir -p /opt/app /opt/app2\nCOPY f /opt/app\nCOPY --link f /opt/app2\n"),
        ],
    );
    k.ok(&["build", "-q", "-t", "linked", ctx.to_str().unwrap()]);
    let out = k.ok(&[
        "run",
        "--rm",
        "linked",
        "sh",
        "-c",
        "cat /opt/app/f; cat /opt/app2",
    ]);
    assert_eq!(out, "content\ncontent\n");
}

#[test]
fn a_terminal_shows_a_spinner_with_the_running_step() {
    let k = Kiste::new();
    k.busybox();
    let ctx = k.context(
        "tty",
        &[(
            "Dockerfile",
            "FROM busybox\nRUN sleep 4242.5; echo done-sleeping\n",
        )],
    );
    let cmd = format!(
        "{} --root {} --runroot {} build -t tty {}",
        env!("CARGO_BIN_EXE_kiste"),
        k.root().display(),
        k.runroot().display(),
        ctx.display()
    );
    let mut script = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let screen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let reader = {
        let mut out = script.stdout.take().unwrap();
        let screen = screen.clone();
        std::thread::spawn(move || {
            use std::io::Read;
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = out.read(&mut buf) {
                screen
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        })
    };
    // The step runs until the test has seen the spinner show it while its command runs;
    // then the test ends the step by stopping its sleep.
    let spinner = "] Step 2/2 : RUN sleep 4242.5";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let (seen, sleeps) = loop {
        let sleeps = processes(|cmdline| cmdline == "sleep 4242.5 ");
        let seen = screen.lock().unwrap().contains(spinner);
        if (seen && !sleeps.is_empty()) || std::time::Instant::now() > deadline {
            break (seen, sleeps);
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    for pid in &sleeps {
        unsafe { libc::kill(*pid, libc::SIGTERM) };
    }
    assert!(script.wait().unwrap().success());
    reader.join().unwrap();
    let screen = screen.lock().unwrap().clone();
    assert!(
        seen,
        "the spinner shows the running step with its elapsed time: {screen}"
    );
    assert_eq!(sleeps.len(), 1, "the RUN step's sleep ran once");
    assert!(screen.contains("done-sleeping"), "{screen}");
    // The spinner must not cost a thread: a thread in a process that forks RUN containers
    // can leave a forked child stuck on a lock, which would be left behind here.
    let root = k.root().display().to_string();
    let left = processes(|cmdline| cmdline.contains(&root));
    assert!(left.is_empty(), "processes left by the build: {left:?}");
}

/// Processes whose command line (each argument followed by a space) matches.
fn processes(matches: impl Fn(&str) -> bool) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let pid: i32 = e.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            matches(&cmdline).then_some(pid)
        })
        .collect()
}
