//! `manifest create|add|annotate|inspect|push|rm` against Debian's docker-registry on
//! loopback: two busybox images (one labelled and annotated as arm64) made into a list,
//! pushed to another repository, then pulled per platform; the pushed list as skopeo and
//! docker's CLI read it; and the errors, with docker's messages and exit codes.

mod support;
use support::registry::{busybox_as, Registry};
use support::Kiste;

/// A registry holding busybox as `bb:amd` and a labelled copy as `bb:arm`; the two
/// references.
fn two_images(k: &Kiste) -> Option<(Registry, String, String)> {
    let Some(reg) = Registry::start(&k.dir.path().join("registry"), "", "") else {
        support::skip("docker-registry is not installed (apt-get install docker-registry)");
        return None;
    };
    let amd = format!("{}/bb:amd", reg.host());
    let arm = format!("{}/bb:arm", reg.host());
    busybox_as(k, &amd);
    let ctx = k.context("arm", &[("Dockerfile", "FROM busybox\nLABEL arch=arm64\n")]);
    k.ok(&["build", "-q", "-t", &arm, ctx.to_str().unwrap()]);
    k.ok(&["push", "-q", &amd]);
    k.ok(&["push", "-q", &arm]);
    Some((reg, amd, arm))
}

#[test]
fn a_list_made_annotated_and_pushed_serves_each_platform() {
    let k = Kiste::new();
    let Some((reg, amd, arm)) = two_images(&k) else {
        return;
    };
    let list = format!("{}/multi:1", reg.host());
    assert_eq!(
        k.ok(&["manifest", "create", &list, &amd, &arm]),
        format!("Created manifest list {list}\n")
    );
    k.ok(&[
        "manifest",
        "annotate",
        "--arch",
        "arm64",
        "--variant",
        "v8",
        &list,
        &arm,
    ]);
    let local: serde_json::Value =
        serde_json::from_str(&k.ok(&["manifest", "inspect", &list])).unwrap();
    // kiste pushes OCI manifests, so the list is an OCI index.
    assert_eq!(
        local["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    let platforms: Vec<String> = local["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let p = &m["platform"];
            format!("{}/{}/{}", p["os"], p["architecture"], p["variant"])
        })
        .collect();
    assert_eq!(
        platforms,
        ["\"linux\"/\"amd64\"/null", "\"linux\"/\"arm64\"/\"v8\""]
    );
    let pushed = k.ok(&["manifest", "push", "--purge", &list]);
    let pushed_digest = pushed.lines().last().unwrap();
    assert!(pushed_digest.starts_with("sha256:"), "{pushed}");
    // Both images came from repository bb: linked into multi first, as docker says.
    assert_eq!(
        pushed
            .lines()
            .filter(|l| l.starts_with("Pushed ref "))
            .count(),
        2,
        "{pushed}"
    );
    // --purge: the local list is gone; inspect now reads the registry's copy.
    let r = k.run(&["manifest", "rm", &list]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let from_registry = k.ok(&["manifest", "inspect", &list]);
    let (raw, digest) = reg.get_json(
        "/v2/multi/manifests/1",
        "application/vnd.oci.image.index.v1+json",
    );
    assert_eq!(Some(digest.as_str()), pushed.lines().last());
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&from_registry).unwrap(),
        raw
    );
    assert_eq!(raw["manifests"], local["manifests"]);

    // Each platform pulls its own image.
    let arm_id = k.ok(&["image", "inspect", "-f", "{{.Id}}", &arm]);
    let amd_id = k.ok(&["image", "inspect", "-f", "{{.Id}}", &amd]);
    for (platform, want) in [("linux/arm64", &arm_id), ("linux/amd64", &amd_id)] {
        let other = Kiste::new();
        other.ok(&["pull", "-q", "--platform", platform, &list]);
        let got = other.ok(&["image", "inspect", "-f", "{{.Id}}", &list]);
        assert_eq!(&got, want, "{platform}");
    }

    if support::have("skopeo") {
        let out = std::process::Command::new("skopeo")
            .args(["inspect", "--raw", "--tls-verify=false"])
            .arg(format!("docker://{list}"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v, raw);
    } else {
        support::skip("skopeo is not installed: the list is not read back by skopeo");
    }
    // docker's CLI reads registries itself for `manifest inspect`: same text.
    let docker = std::process::Command::new("docker")
        .args(["manifest", "inspect", "--insecure", &list])
        .output();
    match docker {
        Ok(out) if out.status.success() => {
            assert_eq!(String::from_utf8_lossy(&out.stdout), from_registry);
        }
        _ => support::skip("docker's CLI cannot run `manifest inspect` here"),
    }
}

#[test]
fn add_amend_and_inspect_of_one_image_follow_docker_and_podman() {
    let k = Kiste::new();
    let Some((reg, amd, arm)) = two_images(&k) else {
        return;
    };
    let list = format!("{}/l:1", reg.host());
    k.ok(&["manifest", "create", &list, &amd]);
    // A second create needs --amend, as docker's.
    let r = k.run(&["manifest", "create", &list, &arm]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("refusing to amend an existing manifest list with no --amend flag"),
        "{}",
        r.stderr
    );
    k.ok(&["manifest", "create", "--amend", &list, &amd]);
    // podman's add sets the platform as it adds.
    let digest = k.ok(&["manifest", "add", "--arch", "arm64", &list, &arm]);
    let v: serde_json::Value =
        serde_json::from_str(&k.ok(&["manifest", "inspect", &list])).unwrap();
    let entries = v["manifests"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{v}");
    assert_eq!(entries[1]["digest"], digest.trim());
    assert_eq!(entries[1]["platform"]["architecture"], "arm64");
    // One image of the list, and an image straight from the registry.
    let one: serde_json::Value =
        serde_json::from_str(&k.ok(&["manifest", "inspect", &list, &arm])).unwrap();
    assert_eq!(one["Descriptor"]["digest"], digest.trim());
    let image: serde_json::Value =
        serde_json::from_str(&k.ok(&["manifest", "inspect", &amd])).unwrap();
    assert_eq!(
        image["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    let (raw, _) = reg.get_json(
        "/v2/bb/manifests/amd",
        "application/vnd.oci.image.manifest.v1+json",
    );
    assert_eq!(image["layers"], raw["layers"]);
    assert_eq!(image["config"]["digest"], raw["config"]["digest"]);
    let verbose: serde_json::Value =
        serde_json::from_str(&k.ok(&["manifest", "inspect", "-v", &amd])).unwrap();
    assert_eq!(verbose["Descriptor"]["platform"]["architecture"], "amd64");
    assert!(
        verbose["OCIManifest"]["config"]["digest"].is_string(),
        "{verbose}"
    );
    k.ok(&["manifest", "rm", &list]);
}

#[test]
fn docker_v2_images_make_a_docker_manifest_list() {
    let k = Kiste::new();
    let Some((reg, amd, _)) = two_images(&k) else {
        return;
    };
    if !support::have("skopeo") {
        return support::skip("skopeo is not installed: no docker v2 manifest to list");
    }
    // skopeo rewrites the image with a Docker v2 schema 2 manifest.
    let v2 = format!("{}/bb:v2s2", reg.host());
    let out = std::process::Command::new("skopeo")
        .args([
            "copy",
            "--format",
            "v2s2",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
        ])
        .arg(format!("docker://{amd}"))
        .arg(format!("docker://{v2}"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list = format!("{}/d:1", reg.host());
    k.ok(&["manifest", "create", &list, &v2]);
    let pushed = k.ok(&["manifest", "push", &list]);
    let (raw, digest) = reg.get_json(
        "/v2/d/manifests/1",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    );
    assert_eq!(Some(digest.as_str()), pushed.lines().last());
    assert_eq!(
        raw["mediaType"],
        "application/vnd.docker.distribution.manifest.list.v2+json"
    );
    assert_eq!(
        raw["manifests"][0]["mediaType"],
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    // docker's CLI (its own HOME, for its list store) makes the same list, byte for byte:
    // the same digest; and prints an image as kiste does.
    let home = k.dir.path().join("docker-home");
    std::fs::create_dir_all(&home).unwrap();
    let docker = |args: &[&str]| {
        std::process::Command::new("docker")
            .args(args)
            .env("HOME", &home)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
    };
    let theirs = format!("{}/dd:1", reg.host());
    let Some(_) = docker(&["manifest", "create", "--insecure", &theirs, &v2]) else {
        return support::skip("docker's CLI cannot run `manifest create` here");
    };
    let docker_push = docker(&["manifest", "push", "--insecure", &theirs]).unwrap();
    assert_eq!(
        docker_push.lines().last(),
        pushed.lines().last(),
        "{docker_push}"
    );
    // Both name the image they linked into the list's repository first.
    let linked = |out: &str, repo: &str| out.replace(&format!("/{repo}@"), "/REPO@");
    assert_eq!(linked(&docker_push, "dd"), linked(&pushed, "d"));
    let image = docker(&["manifest", "inspect", "--insecure", &v2]).unwrap();
    assert_eq!(image, k.ok(&["manifest", "inspect", &v2]));
    let list = docker(&["manifest", "inspect", "--insecure", &theirs]).unwrap();
    assert_eq!(list, k.ok(&["manifest", "inspect", &theirs]));
}

#[test]
fn manifest_errors_name_the_list_and_the_image() {
    let k = Kiste::new();
    let Some((reg, amd, arm)) = two_images(&k) else {
        return;
    };
    let list = format!("{}/e:1", reg.host());
    k.ok(&["manifest", "create", &list, &amd]);
    let r = k.run(&["manifest", "annotate", "--arch", "arm64", &list, &arm]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains(&format!(
            "manifest for image {arm} does not exist in {list}"
        )),
        "{}",
        r.stderr
    );
    let r = k.run(&["manifest", "annotate", "--arch", "z80", &list, &amd]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr
            .contains("unsupported os/arch combination: linux/z80"),
        "{}",
        r.stderr
    );
    k.ok(&["manifest", "push", &list]);
    // A list cannot go into a list.
    let r = k.run(&["manifest", "create", &format!("{}/f:1", reg.host()), &list]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("is a manifest list"), "{}", r.stderr);
    let r = k.run(&["manifest", "rm", "nosuch:1"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("No such manifest: nosuch:1"),
        "{}",
        r.stderr
    );
    let r = k.run(&["manifest", "push", "nosuch:1"]);
    assert_eq!(r.code, 1);
    let port = support::free_port();
    let r = k.run(&[
        "manifest",
        "create",
        &format!("127.0.0.1:{port}/x:1"),
        &format!("127.0.0.1:{port}/y:1"),
    ]);
    assert_eq!(r.code, 1);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!("127.0.0.1:{port}")),
        "{}",
        r.stderr
    );
}
