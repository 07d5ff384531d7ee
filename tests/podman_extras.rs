//! podman's extras for CI scripts: `container exists`/`image exists` (exit 0 or 1, no
//! output), `ps --noheading`, `stop --all`, `rm --all` and `--ignore` on rm and stop.

mod support;

use support::Kiste;

#[test]
fn exists_answers_with_the_exit_code_only() {
    let k = Kiste::new();
    k.busybox();
    k.ok(&["create", "--name", "web", "busybox", "true"]);
    let yes = k.run(&["container", "exists", "web"]);
    assert_eq!((yes.code, yes.stdout.as_str()), (0, ""));
    let no = k.run(&["container", "exists", "nope"]);
    assert_eq!(
        (no.code, no.stdout.as_str(), no.stderr.as_str()),
        (1, "", "")
    );
    assert_eq!(k.run(&["image", "exists", "busybox"]).code, 0);
    let no = k.run(&["image", "exists", "nope:1"]);
    assert_eq!(
        (no.code, no.stdout.as_str(), no.stderr.as_str()),
        (1, "", "")
    );
}

#[test]
fn stop_all_and_rm_all_clear_the_store() {
    let k = Kiste::new();
    k.busybox();
    k.ok(&["create", "--name", "idle", "busybox", "true"]);
    let id = k.ok(&["run", "-d", "--name", "busy", "busybox", "sleep", "300"]);
    // stop --all stops only the running one and prints its id.
    assert_eq!(k.ok(&["stop", "--all", "-t", "1"]), id);
    assert_eq!(k.ok(&["ps", "-q"]), "");
    assert_eq!(k.ok(&["rm", "--all"]).lines().count(), 2);
    assert_eq!(k.ok(&["ps", "-aq"]), "");
    let r = k.run(&["rm", "--all", "web"]);
    assert_eq!(r.code, 125, "--all and names conflict: {}", r.stdout);
}

#[test]
fn ignore_skips_missing_containers_only() {
    let k = Kiste::new();
    k.busybox();
    k.ok(&["create", "--name", "web", "busybox", "true"]);
    let r = k.run(&["rm", "nope", "web"]);
    assert_eq!(r.code, 1, "without --ignore a missing name fails");
    assert_eq!(r.stdout, "web\n");
    k.ok(&["create", "--name", "web2", "busybox", "true"]);
    assert_eq!(k.ok(&["rm", "-i", "nope", "web2"]), "web2\n");
    assert_eq!(k.ok(&["stop", "--ignore", "nope"]), "");
}

#[test]
fn ps_noheading_drops_the_header_line() {
    let k = Kiste::new();
    k.busybox();
    k.ok(&["create", "--name", "web", "busybox", "true"]);
    let out = k.ok(&["ps", "-a", "--noheading"]);
    assert_eq!(out.lines().count(), 1);
    assert!(out.trim_end().ends_with("web"), "{out}");
    let t = k.ok(&["ps", "-a", "--noheading", "--format", "table {{.Names}}"]);
    assert_eq!(t, "web\n");
}

#[test]
fn ps_sort_and_start_all() {
    let k = Kiste::new();
    k.busybox();
    for name in ["bb", "cc", "aa"] {
        k.ok(&["create", "--name", name, "busybox", "sleep", "300"]);
    }
    let names = |sort: &str| k.ok(&["ps", "-a", "--sort", sort, "--format", "{{.Names}}"]);
    assert_eq!(names("created"), "aa\ncc\nbb\n", "newest first");
    assert_eq!(names("names"), "aa\nbb\ncc\n");
    assert_eq!(k.run(&["ps", "--sort", "colour"]).code, 125);
    assert_eq!(k.ok(&["start", "--all"]).lines().count(), 3);
    assert_eq!(k.ok(&["ps", "-q"]).lines().count(), 3);
    assert_eq!(k.ok(&["start", "--all"]), "", "nothing is left to start");
    k.ok(&["rm", "-f", "--all"]);
}

#[test]
fn untag_removes_names_and_keeps_the_image() {
    let k = Kiste::new();
    k.busybox();
    k.ok(&["tag", "busybox", "one:1"]);
    k.ok(&["tag", "busybox", "two:2"]);
    let id = k.ok(&["images", "-q", "--no-trunc", "busybox"]);
    k.ok(&["untag", "busybox", "one:1"]);
    assert_eq!(k.run(&["image", "exists", "one:1"]).code, 1);
    assert_eq!(k.run(&["image", "exists", "two:2"]).code, 0);
    let r = k.run(&["untag", "busybox", "nope:1"]);
    assert_eq!(r.code, 125, "a name the image does not have: {}", r.stderr);
    k.ok(&["image", "untag", "two:2"]);
    assert_eq!(
        k.ok(&["images", "-q", "--no-trunc", "-f", "dangling=true"]),
        id
    );
}
