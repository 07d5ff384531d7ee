//! Platform selection from a multi-arch image index that the test writes into
//! docker-registry: the host's platform by default, `--platform` otherwise, and a clear
//! error naming what the index offers when the platform is not in it.

mod support;

use support::registry::*;
use support::*;

#[test]
fn platform_is_selected_from_an_image_index() {
    let k = Kiste::new();
    let Some(reg) = Registry::start(&k.dir.path().join("registry"), "", "") else {
        return skip("docker-registry is not installed");
    };
    let amd = format!("{}/multi:amd", reg.host());
    let arm = format!("{}/multi:arm", reg.host());
    busybox_as(&k, &amd);
    let ctx = k.context(
        "arm",
        &[("Dockerfile", "FROM busybox\nRUN echo arm64 > /arch\n")],
    );
    k.ok(&["build", "-q", "-t", &arm, ctx.to_str().unwrap()]);
    k.ok(&["push", &amd]);
    k.ok(&["push", &arm]);

    let index = reg.put_index("multi", "1", &[("arm", "arm64"), ("amd", "amd64")]);
    let multi = format!("{}/multi:1", reg.host());

    let host = Kiste::new();
    let out = host.ok(&["pull", &multi]);
    assert!(
        out.contains(&format!("Digest: {}", sha256(&index))),
        "{out}"
    );
    assert_eq!(
        host.sh(&multi, "cat /arch 2>/dev/null || echo none").trim(),
        "none"
    );
    let pinned = format!("{}/multi@{}", reg.host(), sha256(&index));
    let out = host.ok(&["pull", &pinned]);
    assert!(
        out.contains(&format!("Status: Image is up to date for {pinned}")),
        "{out}"
    );

    let other = Kiste::new();
    other.ok(&["pull", "--platform", "linux/arm64", &multi]);
    assert_eq!(other.sh(&multi, "cat /arch").trim(), "arm64");

    let none = Kiste::new();
    let r = none.run(&["pull", "--platform", "linux/s390x", &multi]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(
        r.stderr.contains(&multi)
            && r.stderr.contains("linux/s390x")
            && r.stderr.contains("linux/arm64, linux/amd64"),
        "{}",
        r.stderr
    );
    assert_eq!(none.ok(&["images", "-q"]), "");

    // The index digest names the pulled image from now on, without the registry.
    drop(reg);
    host.ok(&["run", "--rm", "--pull", "never", &pinned, "true"]);
    host.ok(&["run", "--rm", &pinned, "true"]);
}
