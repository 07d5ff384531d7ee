//! Image flags around builds and registries: `builder prune --filter/--keep-storage` by
//! the cache records' metadata, `rmi --no-prune` (untagged parents stay), `push
//! --all-tags` to a local registry, `import --platform`; compared with docker where its
//! engine can run them here without touching what other tests share (its build cache).

mod support;

use std::process::Command;
use support::build::{build, cache_hits, stdout};
use support::registry::*;
use support::*;

fn lines(s: &str) -> usize {
    s.lines().filter(|l| !l.is_empty()).count()
}

#[test]
fn builder_prune_filters_and_keep_storage_choose_records_by_their_metadata() {
    let k = Kiste::new();
    k.busybox();
    let a = k.context(
        "a",
        &[("Dockerfile", "FROM busybox\nENV A=1\nRUN echo a > /a\n")],
    );
    let b = k.context(
        "b",
        &[(
            "Dockerfile",
            "FROM busybox\nRUN --mount=type=cache,target=/c (cat /c/n 2>/dev/null || echo new) > /seen; echo kept > /c/n\n",
        )],
    );
    assert!(build(&k, &a, &["--label", "team=a"]).status.success());
    assert!(build(&k, &b, &["--label", "team=b"]).status.success());
    // label=: only team a's two step records go.
    let out = k.ok(&["builder", "prune", "-f", "--filter", "label=team=a"]);
    assert!(out.starts_with("Deleted build cache objects:\n"), "{out}");
    assert_eq!(lines(&out) - 2, 2, "{out}");
    assert_eq!(cache_hits(&build(&k, &a, &["--label", "team=a"])), 0);
    let again = build(&k, &b, &["--label", "team=b"]);
    assert_eq!(cache_hits(&again), 1, "{}", stdout(&again));
    // until=1h: everything was used just now, so nothing is old enough.
    let out = k.ok(&["builder", "prune", "-f", "--filter", "until=1h"]);
    assert_eq!(out, "Total reclaimed space: 0B\n");
    // type=exec.cachemount: the cache mount goes, the step records stay.
    let out = k.ok(&["builder", "prune", "-f", "--filter", "type=exec.cachemount"]);
    assert_eq!(lines(&out) - 2, 1, "{out}");
    let fresh = build(&k, &b, &["--no-cache", "-t", "b"]);
    assert!(fresh.status.success());
    assert_eq!(k.sh("b", "cat /seen").trim(), "new");
    // --keep-storage 1: no record fits (each holds at least its file), so all go.
    let out = k.ok(&["builder", "prune", "-f", "--keep-storage", "1"]);
    assert!(lines(&out) > 2, "{out}");
    assert_eq!(
        k.ok(&["builder", "prune", "-f", "--keep-storage", "0"]),
        "Total reclaimed space: 0B\n"
    );
    // A big enough --keep-storage keeps every record.
    assert!(build(&k, &a, &[]).status.success());
    let out = k.ok(&["builder", "prune", "-f", "--keep-storage", "1g"]);
    assert_eq!(out, "Total reclaimed space: 0B\n");
    assert_eq!(cache_hits(&build(&k, &a, &[])), 2);
    // An unknown filter: docker's daemon's words, exit 125, nothing removed.
    let r = k.run(&["builder", "prune", "-f", "--filter", "foo=1"]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("Invalid filter 'foo'"), "{}", r.stderr);
    docker::ensure_docker();
    let theirs = Command::new("docker")
        .args(["builder", "prune", "-f", "--filter", "foo=1"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&theirs.stderr).contains("Invalid filter 'foo'"));
    assert_eq!(cache_hits(&build(&k, &a, &[])), 2);
}

#[test]
fn rmi_removes_untagged_parents_unless_no_prune_as_docker_does() {
    docker::ensure_docker();
    let k = Kiste::new();
    k.busybox();
    // docker's classic builder leaves an untagged parent image for every step.
    let bb = busybox_context(&k.dir.path().join("docker-bb"));
    checked_output(
        Command::new("docker")
            .env("DOCKER_BUILDKIT", "0")
            .args(["build", "-q", "-t", "kiste-buildflags-busybox"])
            .arg(&bb),
    );
    let dctx = k.context(
        "d",
        &[(
            "Dockerfile",
            "FROM kiste-buildflags-busybox\nRUN echo a > /a\nRUN echo b > /b\nRUN echo c > /c\n",
        )],
    );
    let docker = |args: &[&str]| {
        let o = Command::new("docker")
            .env("DOCKER_BUILDKIT", "0")
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let tag = format!("kiste-bf-noprune-{}", std::process::id());
    let d = dctx.to_str().unwrap();
    docker(&["build", "-q", "--no-cache", "-t", &tag, d]);
    let parent_of = |img: &str| {
        docker(&["image", "inspect", "--format", "{{.Parent}}", img])
            .trim()
            .to_string()
    };
    let exists = |img: &str| {
        !docker(&["image", "inspect", "-f", "{{.Id}}", img])
            .trim()
            .is_empty()
    };
    let parent = parent_of(&tag);
    let grand = parent_of(&parent);
    let out = docker(&["rmi", "--no-prune", &tag]);
    assert!(out.contains("Deleted:"), "{out}");
    assert!(exists(&parent) && exists(&grand));
    // Without --no-prune the untagged parents go with the image.
    docker(&["tag", &parent, &tag]);
    docker(&["rmi", &tag]);
    assert!(!exists(&parent) && !exists(&grand));

    // kiste: build --rm=false leaves an untagged parent under the second RUN.
    let ctx = k.context(
        "k",
        &[(
            "Dockerfile",
            "FROM busybox\nRUN echo a > /a\nRUN echo b > /b\n",
        )],
    );
    k.ok(&[
        "build",
        "-q",
        "--rm=false",
        "-t",
        "x",
        ctx.to_str().unwrap(),
    ]);
    let ids: Vec<String> = k.ok(&["ps", "-aq"]).lines().map(str::to_string).collect();
    let mut rm = vec!["rm"];
    rm.extend(ids.iter().map(String::as_str));
    k.ok(&rm);
    let all_before = lines(&k.ok(&["images", "-aq"]));
    let out = k.ok(&["rmi", "--no-prune", "x"]);
    assert_eq!(out.matches("Deleted:").count(), 1, "{out}");
    assert_eq!(lines(&k.ok(&["images", "-aq"])), all_before - 1);
    // The same image again (a cached build), removed without --no-prune: its untagged
    // parent goes too; the tagged busybox stays.
    k.ok(&["build", "-q", "-t", "x", ctx.to_str().unwrap()]);
    let out = k.ok(&["rmi", "x"]);
    assert_eq!(out.matches("Deleted:").count(), 2, "{out}");
    assert_eq!(k.ok(&["images", "-aq"]).lines().count(), 1);
    assert!(k.run(&["image", "inspect", "busybox"]).code == 0);
}

#[test]
fn push_all_tags_pushes_every_tag_of_the_repository() {
    let k = Kiste::new();
    let Some(reg) = Registry::start(&k.dir.path().join("registry"), "", "") else {
        return skip("docker-registry is not installed");
    };
    k.busybox();
    let repo = format!("{}/app", reg.host());
    k.ok(&["tag", "busybox", &format!("{repo}:1")]);
    k.ok(&["tag", "busybox", &format!("{repo}:2")]);
    k.ok(&["tag", "busybox", &format!("{}/other:1", reg.host())]);
    k.ok(&["push", "--all-tags", "--disable-content-trust", &repo]);
    let (tags, _) = reg.get_json("/v2/app/tags/list", "application/json");
    let mut got: Vec<String> = tags["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    got.sort();
    assert_eq!(got, ["1", "2"]);
    let (catalog, _) = reg.get_json("/v2/_catalog", "application/json");
    assert_eq!(catalog["repositories"], serde_json::json!(["app"]));
    // A tag with --all-tags, and a repository with no local tag: docker's words.
    let tagged = format!("{repo}:1");
    let r = k.run(&["image", "push", "-a", &tagged]);
    assert_eq!(r.code, 1);
    let theirs = Command::new("docker")
        .args(["push", "-a", &tagged])
        .output()
        .unwrap();
    let theirs = String::from_utf8_lossy(&theirs.stderr).trim().to_string();
    assert_eq!(theirs, "tag can't be used with --all-tags/-a");
    assert!(r.stderr.contains(&theirs), "{}", r.stderr);
    let r = k.run(&["push", "--all-tags", &format!("{}/none", reg.host())]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("An image does not exist locally with the tag"),
        "{}",
        r.stderr
    );
}

#[test]
fn import_platform_sets_the_images_architecture() {
    let k = Kiste::new();
    let tar = k.dir.path().join("rootfs.tar");
    let ctx = busybox_context(&k.dir.path().join("rootfs"));
    tar_dir(&ctx, &tar);
    let t = tar.to_str().unwrap();
    let id = k.ok(&["import", "--platform", "linux/arm64", t, "arm"]);
    let img = k.inspect(id.trim());
    assert_eq!(
        (img["Os"].as_str(), img["Architecture"].as_str()),
        (Some("linux"), Some("arm64"))
    );
    k.ok(&["image", "import", "--platform", "linux/amd64", t, "amd"]);
    assert_eq!(k.inspect("amd")["Architecture"], "amd64");
    // What docker's daemon refuses, in its words; nothing is stored.
    let before = k.ok(&["images", "-aq"]);
    for (platform, why) in [
        ("windows/amd64", "operating system is not supported"),
        ("bad/x/y/z", "cannot parse platform specifier"),
        ("linux/nosuch", "unsupported os/arch combination"),
        ("linux/arm/v7", "os and architecture only"),
    ] {
        let r = k.run(&["import", "--platform", platform, t]);
        assert_eq!(r.code, 125, "{platform}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
        assert!(
            r.stderr.contains(why) && r.stderr.contains("--platform"),
            "{}",
            r.stderr
        );
    }
    assert_eq!(k.ok(&["images", "-aq"]), before);
    docker::ensure_docker();
    let theirs = Command::new("docker")
        .args(["import", "--platform", "windows/amd64", t])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&theirs.stderr).contains("operating system is not supported"));
}
