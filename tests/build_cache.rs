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

/// Whether a process runs with exactly this command line (a test's own `sleep N`).
fn running(cmdline: &str) -> bool {
    let o = std::process::Command::new("pgrep")
        .args(["-f", &format!("^{cmdline}$")])
        .output()
        .unwrap();
    !o.stdout.is_empty()
}

/// `kiste build -t TAG` of `dockerfile`, returned once its RUN `cmdline` runs (the
/// step's overlay is attached in its container only, so the host's mount table does
/// not show it).
fn build_until_running(
    k: &Kiste,
    dockerfile: &str,
    tag: &str,
    cmdline: &str,
) -> std::process::Child {
    let ctx = k.context(tag, &[("Dockerfile", dockerfile)]);
    let child = k
        .cmd(&["build", "-t", tag, ctx.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    // Kill only once the RUN command runs (a kill during container setup is the runtime's case).
    while !running(cmdline) {
        assert!(
            std::time::Instant::now() < deadline,
            "the RUN step never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child
}

fn names_in(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn killed_build_leaves_nothing_and_the_next_build_cleans_up() {
    let k = kiste();
    k.busybox();
    let build_dir = k.root().join("build");
    let mounted = || {
        std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap()
            .lines()
            .any(|l| l.contains(build_dir.to_str().unwrap()))
    };
    // The first RUN's layer blob is held unsynced in the store's tmp/ when the kill comes.
    let df = "FROM busybox\nRUN echo made > /made\nRUN sleep 60\n";
    let mut child = build_until_running(&k, df, "slow", "sleep 60");
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let next = k.context("ctx2", &[("Dockerfile", "FROM busybox\nRUN true\n")]);
    let o = build(&k, &next, &["-t", "next"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!mounted(), "a mount under the build dir survived");
    assert_eq!(std::fs::read_dir(&build_dir).unwrap().count(), 0);
    let tmp = names_in(&k.root().join("images/tmp"));
    assert!(tmp.is_empty(), "the killed build left temps: {tmp:?}");
    let images = k.ok(&["images"]);
    assert!(!images.contains("slow"), "{images}");
    assert!(
        !running("sleep 60"),
        "the killed build's RUN process survived"
    );
}

#[test]
fn a_build_stores_its_layer_blobs_and_cache_entries_only_when_it_commits() {
    let k = kiste();
    k.busybox();
    let blobs = k.root().join("images/blobs/sha256");
    let before = names_in(&blobs);
    let df = "FROM busybox\nRUN echo made > /made\nRUN sleep 59\n";
    let mut child = build_until_running(&k, df, "held", "sleep 59");
    // The first RUN is done: its blob is written but held in tmp/, and no cache entry
    // names it yet (a crash now must not leave an entry whose blob was never synced).
    let during = names_in(&blobs);
    let tmp = names_in(&k.root().join("images/tmp"));
    let cache_dir = k.root().join("build-cache");
    let named: Vec<String> = names_in(&cache_dir)
        .iter()
        .filter(|n| !n.starts_with('.'))
        .filter_map(|n| {
            let text = std::fs::read_to_string(cache_dir.join(n)).ok()?;
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            Some(v["layer"]["digest"].as_str()?.to_string())
        })
        .collect();
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(during, before, "a layer blob was named before the commit");
    assert!(
        tmp.iter().any(|n| n.ends_with("-blob")),
        "no held blob in tmp/: {tmp:?}"
    );
    for digest in &named {
        let hex = digest.trim_start_matches("sha256:");
        assert!(
            before.iter().any(|b| b == hex),
            "a cache entry names the uncommitted blob {digest}"
        );
    }
    // The same first step, committed: its blob and cache entry are stored, and a
    // rebuild takes the step from the cache.
    let ctx = k.context(
        "done",
        &[("Dockerfile", "FROM busybox\nRUN echo made > /made\n")],
    );
    let o = build(&k, &ctx, &["-t", "done"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        names_in(&blobs).len(),
        before.len() + 3,
        "layer, config, manifest"
    );
    let o = build(&k, &ctx, &["-t", "done"]);
    assert_eq!(cache_hits(&o), 1, "{}", stdout(&o));
}
