//! The build cache: what a rebuild reuses, what invalidates it, and cleanup after a
//! killed build.

mod support;
use support::build::*;
use support::*;

const DF: &str =
    "FROM busybox\nARG V=1\nCOPY a /a\nRUN echo run1 > /r1\nCOPY b /b\nRUN echo $V > /v\nENV E=1\n";

#[test]
fn rebuild_with_nothing_changed_reuses_every_step_and_keeps_the_image_id() {
    let k = kiste();
    k.busybox();
    let ctx = k.context("ctx", &[("Dockerfile", DF), ("a", "a\n"), ("b", "b\n")]);
    let first = build(&k, &ctx, &["-t", "c"]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert_eq!(cache_hits(&first), 0);
    let id1 = k.inspect("c")["Id"].clone();
    let second = build(&k, &ctx, &["-t", "c"]);
    // ARG, COPY, RUN, COPY, RUN, ENV: six steps after FROM, all cached.
    assert_eq!(cache_hits(&second), 6, "{}", stdout(&second));
    assert_eq!(k.inspect("c")["Id"], id1);
}

#[test]
fn changing_one_copy_source_invalidates_that_step_and_later_ones_only() {
    let k = kiste();
    k.busybox();
    let ctx = k.context("ctx", &[("Dockerfile", DF), ("a", "a\n"), ("b", "b\n")]);
    assert!(build(&k, &ctx, &["-t", "c"]).status.success());
    std::fs::write(ctx.join("b"), "b2\n").unwrap();
    let o = build(&k, &ctx, &["-t", "c"]);
    let out = stdout(&o);
    // ARG, COPY a, RUN hit; COPY b, RUN, ENV rebuilt.
    assert_eq!(cache_hits(&o), 3, "{out}");
    assert_eq!(k.sh("c", "cat /b"), "b2\n");
    // A changed mode is a change too, a changed mtime is not.
    let t = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(ctx.join("a"))
        .unwrap()
        .set_modified(t)
        .unwrap();
    assert_eq!(cache_hits(&build(&k, &ctx, &["-t", "c"])), 6);
}

#[test]
fn changed_build_arg_invalidates_the_steps_that_use_it() {
    let k = kiste();
    k.busybox();
    let ctx = k.context("ctx", &[("Dockerfile", DF), ("a", "a\n"), ("b", "b\n")]);
    assert!(build(&k, &ctx, &["-t", "c"]).status.success());
    let o = build(&k, &ctx, &["-t", "c", "--build-arg", "V=2"]);
    // The ARG step itself changes, and every step after it (its value is in RUN's env).
    assert_eq!(cache_hits(&o), 0, "{}", stdout(&o));
    assert_eq!(k.sh("c", "cat /v"), "2\n");
    assert_eq!(
        cache_hits(&build(&k, &ctx, &["-t", "c", "--build-arg", "V=2"])),
        6
    );
}

#[test]
fn no_cache_rebuilds_every_step() {
    let k = kiste();
    k.busybox();
    let ctx = k.context("ctx", &[("Dockerfile", "FROM busybox\nRUN --mount=type=cache,target=/c sh -c 'echo x >> /c/n; wc -l < /c/n > /count'\n")]);
    assert!(build(&k, &ctx, &["-t", "c"]).status.success());
    let o = build(&k, &ctx, &["-t", "c", "--no-cache"]);
    assert_eq!(cache_hits(&o), 0);
    // The cache mount outlived the first build.
    assert_eq!(k.sh("c", "cat /count").trim(), "2");
}

#[test]
fn source_date_epoch_gives_byte_identical_images() {
    let ids: Vec<String> = (0..2)
        .map(|_| {
            let k = kiste();
            let ctx = busybox_context(&k.dir.path().join("ctx"));
            std::fs::write(ctx.join("f"), "same\n").unwrap();
            let mut df = std::fs::read_to_string(ctx.join("Dockerfile")).unwrap();
            df.push_str("COPY f /f\nRUN echo hi > /hi\nLABEL a=b\n");
            std::fs::write(ctx.join("Dockerfile"), df).unwrap();
            let o = k
                .cmd(&["build", "-q", ctx.to_str().unwrap()])
                .env("SOURCE_DATE_EPOCH", "1700000000")
                .output()
                .unwrap();
            assert!(o.status.success(), "{}", stderr(&o));
            stdout(&o).trim().to_string()
        })
        .collect();
    assert_eq!(ids[0], ids[1]);
}

#[test]
fn killed_build_leaves_nothing_and_the_next_build_cleans_up() {
    let k = kiste();
    k.busybox();
    let ctx = k.context("ctx", &[("Dockerfile", "FROM busybox\nRUN sleep 60\n")]);
    let mut child = k
        .cmd(&["build", "-t", "slow", ctx.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let build_dir = k.root().join("build");
    let mounted = || {
        std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap()
            .lines()
            .any(|l| l.contains(build_dir.to_str().unwrap()))
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let sleeping = || {
        let o = std::process::Command::new("pgrep")
            .args(["-f", "^sleep 60$"])
            .output()
            .unwrap();
        !o.stdout.is_empty()
    };
    // Kill only once the RUN command runs (a kill during container setup is the runtime's case).
    while !mounted() || !sleeping() {
        assert!(
            std::time::Instant::now() < deadline,
            "the RUN step never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let next = k.context("ctx2", &[("Dockerfile", "FROM busybox\nRUN true\n")]);
    let o = build(&k, &next, &["-t", "next"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!mounted(), "a mount under the build dir survived");
    assert_eq!(std::fs::read_dir(&build_dir).unwrap().count(), 0);
    let images = k.ok(&["images"]);
    assert!(!images.contains("slow"), "{images}");
    let left = std::process::Command::new("pgrep")
        .args(["-f", "^sleep 60$"])
        .output()
        .unwrap();
    assert!(
        stdout(&left).trim().is_empty(),
        "the killed build's RUN process survived"
    );
}
