//! `build --cache-from` (an image in the store or a registry seeds the cache, exactly by
//! step key, also after `builder prune`), `--rm=false`/`--force-rm` (intermediate
//! containers, as docker's classic builder keeps them) and `--platform` (FROM's entry of a
//! multi-platform image; a foreign RUN refused in one line without emulation).

mod support;

use std::process::Command;
use support::build::{build, cache_hits, stderr, stdout};
use support::registry::*;
use support::*;

const DOCKERFILE: &str =
    "FROM busybox\nENV A=1\nRUN echo built > /x\nCOPY f /f\nRUN cat /x /f > /y\n";

fn image_id(k: &Kiste, name: &str) -> String {
    k.ok(&["image", "inspect", "--format", "{{.Id}}", name])
        .trim()
        .to_string()
}

#[test]
fn cache_from_an_image_hits_every_step_after_the_cache_was_pruned() {
    let k = Kiste::new();
    k.busybox();
    let ctx = k.context("cf", &[("Dockerfile", DOCKERFILE), ("f", "one\n")]);
    let inline = ["--build-arg", "BUILDKIT_INLINE_CACHE=1"];
    let first = build(&k, &ctx, &[&inline[..], &["-t", "seed"]].concat());
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(
        !stdout(&first).contains("not consumed"),
        "{}",
        stdout(&first)
    );
    k.ok(&["builder", "prune", "-af"]);
    // Without --cache-from the pruned cache gives nothing.
    let cold = build(&k, &ctx, &["-t", "cold"]);
    assert_eq!(cache_hits(&cold), 0, "{}", stdout(&cold));
    k.ok(&["builder", "prune", "-af"]);
    // With it, each of the 4 steps is taken from the image, and the image is the same.
    let warm = build(
        &k,
        &ctx,
        &[&inline[..], &["--cache-from", "seed", "-t", "warm"]].concat(),
    );
    assert!(warm.status.success(), "{}", stderr(&warm));
    assert_eq!(cache_hits(&warm), 4, "{}", stdout(&warm));
    assert_eq!(image_id(&k, "warm"), image_id(&k, "seed"));
    // A changed file misses from the COPY on; the steps before it still hit.
    k.ok(&["builder", "prune", "-af"]);
    std::fs::write(ctx.join("f"), "two\n").unwrap();
    let changed = build(&k, &ctx, &["--cache-from", "seed", "-t", "changed"]);
    assert!(changed.status.success(), "{}", stderr(&changed));
    assert_eq!(cache_hits(&changed), 2, "{}", stdout(&changed));
    assert_eq!(k.sh("changed", "cat /y"), "built\ntwo\n");
    // An image built without inline cache seeds nothing, and the build says so once.
    let r = build(&k, &ctx, &["--cache-from", "cold", "-t", "none"]);
    assert!(r.status.success(), "{}", stderr(&r));
    assert_eq!(
        stdout(&r).matches("[Warning] --cache-from cold").count(),
        1,
        "{}",
        stdout(&r)
    );
}

#[test]
fn cache_from_a_registry_reference_seeds_an_empty_store() {
    let k = Kiste::new();
    let Some(reg) = Registry::start(&k.dir.path().join("registry"), "", "") else {
        return skip("docker-registry is not installed");
    };
    k.busybox();
    let seed = format!("{}/cache/app:1", reg.host());
    let ctx = k.context("cf", &[("Dockerfile", DOCKERFILE), ("f", "one\n")]);
    let out = build(
        &k,
        &ctx,
        &["--build-arg", "BUILDKIT_INLINE_CACHE=1", "-t", &seed],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    k.ok(&["push", &seed]);
    // Another store with only the same busybox: the steps come from the registry image.
    let other = Kiste::new();
    let tar = k.dir.path().join("busybox.tar");
    k.ok(&["save", "-o", tar.to_str().unwrap(), "busybox"]);
    other.ok(&["load", "-i", tar.to_str().unwrap()]);
    assert_eq!(image_id(&other, "busybox"), image_id(&k, "busybox"));
    let warm = build(&other, &ctx, &["--cache-from", &seed, "-t", "app"]);
    assert!(warm.status.success(), "{}", stderr(&warm));
    assert_eq!(cache_hits(&warm), 4, "{}", stdout(&warm));
    assert_eq!(other.sh("app", "cat /y"), "built\none\n");
}

/// Containers in docker's engine now, by id.
fn docker_containers() -> Vec<String> {
    let out = Command::new("docker")
        .args(["ps", "-aq", "--no-trunc"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn rm_false_keeps_each_run_steps_container_stopped_as_dockers_classic_builder() {
    docker::ensure_docker();
    let k = Kiste::new();
    k.busybox();
    let ctx = k.context(
        "keep",
        &[(
            "Dockerfile",
            "FROM busybox\nRUN echo a > /a\nENV B=1\nRUN echo b > /b\n",
        )],
    );
    // docker's classic builder: one stopped container per RUN, Exited (0) (and one never
    // started for each config instruction such as ENV, which kiste runs nothing for).
    let bb = busybox_context(&k.dir.path().join("docker-bb"));
    checked_output(
        Command::new("docker")
            .env("DOCKER_BUILDKIT", "0")
            .args(["build", "-q", "-t", "kiste-buildflags-busybox"])
            .arg(&bb),
    );
    let dctx = k.context(
        "dkeep",
        &[(
            "Dockerfile",
            "FROM kiste-buildflags-busybox\nRUN echo a > /a\nENV B=1\nRUN echo b > /b\n",
        )],
    );
    let before = docker_containers();
    let id = String::from_utf8(checked_output(
        Command::new("docker")
            .env("DOCKER_BUILDKIT", "0")
            .args(["build", "-q", "--no-cache", "--rm=false"])
            .arg(&dctx),
    ))
    .unwrap();
    let kept: Vec<String> = docker_containers()
        .into_iter()
        .filter(|c| !before.contains(c))
        .collect();
    let docker_status: Vec<String> = kept
        .iter()
        .map(|c| {
            let out = Command::new("docker")
                .args([
                    "inspect",
                    "--format",
                    "{{.State.Status}} {{.State.ExitCode}}",
                    c,
                ])
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        })
        .collect();
    let _ = Command::new("docker").arg("rm").args(&kept).output();
    let _ = Command::new("docker").args(["rmi", id.trim()]).output();
    let docker_status: Vec<String> = docker_status
        .into_iter()
        .filter(|s| s != "created 0")
        .collect();
    assert_eq!(docker_status, ["exited 0", "exited 0"]);

    k.ok(&[
        "build",
        "-q",
        "--rm=false",
        "-t",
        "keep",
        ctx.to_str().unwrap(),
    ]);
    let ours: Vec<String> = k
        .ok(&["ps", "-a", "--format", "{{.ID}} {{.Status}} {{.Command}}"])
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(ours.len(), docker_status.len(), "{ours:?}");
    for line in &ours {
        assert!(line.contains(" Exited (0) "), "{line}");
    }
    let a = ours.iter().find(|l| l.contains("echo a")).unwrap();
    let a_id = a.split(' ').next().unwrap();
    assert_eq!(k.ok(&["diff", a_id]).trim(), "A /a");
    assert_eq!(
        k.inspect(a_id)["Image"].as_str().unwrap(),
        image_id(&k, "busybox")
    );
    // The image under the second step is the state before it: untagged, shown by -a only.
    let b = ours.iter().find(|l| l.contains("echo b")).unwrap();
    let b_image = k.inspect(b.split(' ').next().unwrap())["Image"]
        .as_str()
        .unwrap()
        .to_string();
    let short = &b_image.trim_start_matches("sha256:")[..12];
    assert!(k.ok(&["images", "-aq"]).contains(short));
    assert!(!k.ok(&["images", "-q"]).contains(short));
    let names: Vec<String> = k.ok(&["ps", "-aq"]).lines().map(str::to_string).collect();
    let mut rm = vec!["rm"];
    rm.extend(names.iter().map(String::as_str));
    k.ok(&rm);

    // The default and --force-rm keep nothing, even when a step fails (BuildKit's way).
    let fail = k.context("fail", &[("Dockerfile", "FROM busybox\nRUN exit 3\n")]);
    for extra in [
        &[][..],
        &["--force-rm"][..],
        &["--rm=false", "--force-rm"][..],
    ] {
        let r = build(&k, &fail, extra);
        assert_eq!(r.status.code(), Some(1), "{}", stderr(&r));
        assert_eq!(k.ok(&["ps", "-aq"]), "", "{extra:?}");
    }
    // --rm=false keeps the failed step's container, with its exit code.
    let r = build(&k, &fail, &["--rm=false"]);
    assert_eq!(r.status.code(), Some(1));
    let st = k.ok(&["ps", "-a", "--format", "{{.Status}}"]);
    assert!(st.starts_with("Exited (3) "), "{st}");
}

#[test]
fn platform_picks_the_entry_of_a_multi_platform_base_and_refuses_a_foreign_run() {
    let k = Kiste::new();
    let Some(reg) = Registry::start(&k.dir.path().join("registry"), "", "") else {
        return skip("docker-registry is not installed");
    };
    let amd = format!("{}/multi:amd", reg.host());
    let arm = format!("{}/multi:arm", reg.host());
    busybox_as(&k, &amd);
    // The arm64 entry: a file only (its config says arm64; no RUN, so no emulation).
    let ctx = k.context(
        "arm",
        &[
            ("Dockerfile", "FROM scratch\nCOPY arch /arch\n"),
            ("arch", "arm64\n"),
        ],
    );
    k.ok(&[
        "build",
        "-q",
        "--platform",
        "linux/arm64",
        "-t",
        &arm,
        ctx.to_str().unwrap(),
    ]);
    assert_eq!(k.inspect(&arm)["Architecture"], "arm64");
    k.ok(&["push", &amd]);
    k.ok(&["push", &arm]);
    reg.put_index("multi", "1", &[("arm", "arm64"), ("amd", "amd64")]);
    let multi = format!("{}/multi:1", reg.host());
    let copy_only =
        format!("FROM {multi}\nARG TARGETPLATFORM\nCOPY f /f\nLABEL p=$TARGETPLATFORM\n");
    let ctx = k.context("plat", &[("Dockerfile", &copy_only), ("f", "x")]);

    // --platform linux/arm64: FROM takes the arm64 entry; COPY needs no emulation.
    let b = Kiste::new();
    b.ok(&[
        "build",
        "-q",
        "--platform",
        "linux/arm64",
        "-t",
        "a",
        ctx.to_str().unwrap(),
    ]);
    let img = &b.inspect("a");
    assert_eq!(img["Architecture"], "arm64");
    let layers = img["RootFS"]["Layers"].as_array().unwrap().len();
    assert_eq!(layers, 2, "the arm64 entry's layer and the COPY's");
    assert_eq!(img["Config"]["Labels"]["p"], "linux/arm64");
    // The host's platform (the default, or named) takes the amd64 entry.
    for extra in [&[][..], &["--platform", "linux/amd64"][..]] {
        let h = Kiste::new();
        let mut args = vec!["build", "-q", "-t", "h"];
        args.extend_from_slice(extra);
        args.push(ctx.to_str().unwrap());
        h.ok(&args);
        assert_eq!(h.inspect("h")["Architecture"], "amd64");
        assert_eq!(
            h.sh("h", "cat /arch 2>/dev/null || echo none").trim(),
            "none"
        );
    }
    // A RUN for arm64 needs emulation: refused in one line unless a handler is there.
    if std::path::Path::new("/proc/sys/fs/binfmt_misc/qemu-aarch64").exists() {
        return skip("this host emulates arm64 (binfmt_misc qemu-aarch64): a RUN would work");
    }
    let run = k.context(
        "plat-run",
        &[("Dockerfile", &format!("FROM {multi}\nRUN true\n"))],
    );
    let r = Kiste::new().run(&["build", "--platform", "linux/arm64", run.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(
        r.stderr.contains(":2: RUN for linux/arm64 needs emulation")
            && r.stderr.contains("qemu-aarch64"),
        "{}",
        r.stderr
    );
}
