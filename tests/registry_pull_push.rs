//! kiste against a real registry (Debian's docker-registry on a loopback port, plain
//! http): push then pull round trip with docker's output lines; an image pushed by
//! skopeo (zstd and gzip layers) pulled and run by kiste; an image pushed by kiste
//! pulled and run by podman and by docker.

mod support;

use std::path::Path;
use std::process::Command;
use support::registry::*;
use support::*;

fn registry(k: &Kiste) -> Option<Registry> {
    let r = Registry::start(&k.dir.path().join("registry"), "", "");
    if r.is_none() {
        skip("docker-registry is not installed (apt-get install docker-registry)");
    }
    r
}

/// A registry (see `registry`) with busybox pushed to it as `HOST/path`; the image's name.
fn pushed_busybox(k: &Kiste, path: &str) -> Option<(Registry, String)> {
    let reg = registry(k)?;
    let name = format!("{}/{path}", reg.host());
    busybox_as(k, &name);
    k.ok(&["push", &name]);
    Some((reg, name))
}

#[test]
fn push_then_pull_round_trip_over_plain_http() {
    let k = Kiste::new();
    let Some(reg) = registry(&k) else { return };
    let name = format!("{}/round/bb:1", reg.host());
    busybox_as(&k, &name);
    let digest_file = k.dir.path().join("digest");
    let out = k.ok(&["push", &name, "--digestfile", digest_file.to_str().unwrap()]);
    assert!(
        out.contains(&format!(
            "The push refers to repository [{}/round/bb]",
            reg.host()
        )),
        "{out}"
    );
    assert!(out.contains(": Pushed"), "{out}");
    let digest = std::fs::read_to_string(&digest_file).unwrap();
    assert!(
        out.contains(&format!("1: digest: {digest} size: ")),
        "{out}"
    );
    let again = k.ok(&["push", &name]);
    assert!(again.contains(": Layer already exists"), "{again}");
    // Another repository of the same registry: the blobs are mounted, not uploaded.
    let other = format!("{}/other/bb:1", reg.host());
    k.ok(&["tag", &name, &other]);
    let mounted = k.ok(&["push", &other]);
    assert_eq!(
        mounted.matches(": Mounted from round/bb").count(),
        2,
        "{mounted}"
    );

    let k2 = Kiste::new();
    let out = k2.ok(&["pull", &name]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "1: Pulling from round/bb", "{out}");
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.ends_with(": Pull complete"))
            .count(),
        2,
        "{out}"
    );
    assert!(
        lines.contains(&format!("Digest: {digest}").as_str()),
        "{out}"
    );
    assert!(
        lines.contains(&format!("Status: Downloaded newer image for {name}").as_str()),
        "{out}"
    );
    assert_eq!(lines.last().unwrap(), &name);
    // The same image id as the pushed one: the config bytes are kept as they are.
    let id = |k: &Kiste| {
        k.ok(&["images", "-q", "--no-trunc", &name])
            .trim()
            .to_string()
    };
    assert_eq!(id(&k), id(&k2));
    assert_eq!(k2.sh(&name, "echo pulled-ok").trim(), "pulled-ok");

    let out = k2.ok(&["pull", &name]);
    assert!(
        out.contains(&format!("Status: Image is up to date for {name}")),
        "{out}"
    );
    assert!(!out.contains("Pull complete"), "{out}");
    let quiet = k2.ok(&["pull", "-q", &name]);
    assert_eq!(quiet.trim(), name);
    assert_eq!(k2.ok(&["image", "pull", "-q", &name]).trim(), name);

    // By digest: the same image, nothing fetched again.
    let by_digest = format!("{}/round/bb@{digest}", reg.host());
    let out = k2.ok(&["pull", &by_digest]);
    assert!(!out.contains("Pull complete"), "{out}");
}

#[test]
fn run_and_create_pull_a_missing_image_unless_told_never() {
    let k = Kiste::new();
    let Some((_reg, name)) = pushed_busybox(&k, "auto/bb:1") else {
        return;
    };

    let k2 = Kiste::new();
    let never = k2.run(&["run", "--rm", "--pull", "never", &name, "true"]);
    assert_eq!(never.code, 125, "{}", never.stderr);
    assert!(never.stderr.contains(&name), "{}", never.stderr);
    let r = k2.run(&["run", "--rm", &name, "echo", "auto-pulled"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.trim(), "auto-pulled");
    assert!(
        r.stderr
            .contains(&format!("Unable to find image '{name}' locally")),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("Pull complete"), "{}", r.stderr);
    let r = k2.run(&["create", "--pull", "always", &name]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("Image is up to date"), "{}", r.stderr);
}

/// An OCI layout with one layer: busybox as /bin/busybox and /bin/sh, and `marker` in
/// /marker (skopeo reuses a blob it already pushed in another compression otherwise).
fn busybox_oci_layout(dir: &Path, marker: &str) {
    let busybox = std::fs::read("/bin/busybox").expect("busybox-static is installed");
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(busybox.len() as u64);
    h.set_mode(0o755);
    h.set_entry_type(tar::EntryType::Regular);
    b.append_data(&mut h, "bin/busybox", &busybox[..]).unwrap();
    let mut l = tar::Header::new_gnu();
    l.set_size(0);
    l.set_mode(0o777);
    l.set_entry_type(tar::EntryType::Symlink);
    b.append_link(&mut l, "bin/sh", "busybox").unwrap();
    let mut m = tar::Header::new_gnu();
    m.set_size(marker.len() as u64);
    m.set_mode(0o644);
    m.set_entry_type(tar::EntryType::Regular);
    b.append_data(&mut m, "marker", marker.as_bytes()).unwrap();
    let tar = b.into_inner().unwrap();
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |bytes: &[u8]| {
        let d = sha256(bytes);
        std::fs::write(blobs.join(&d[7..]), bytes).unwrap();
        d
    };
    let layer = put(&tar);
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "config": {"Cmd": ["/bin/sh"], "Env": ["PATH=/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [layer]}
    }))
    .unwrap();
    let config_digest = put(&config);
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer, "size": tar.len()}]
    }))
    .unwrap();
    let manifest_digest = put(&manifest);
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let index = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifest_digest, "size": manifest.len(),
            "annotations": {"org.opencontainers.image.ref.name": "1"}}]
    });
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
}

#[test]
fn images_pushed_by_skopeo_in_zstd_and_gzip_are_pulled_and_run() {
    if !have("skopeo") {
        return skip("skopeo is not installed (apt-get install skopeo)");
    }
    let k = Kiste::new();
    let Some(reg) = registry(&k) else { return };
    for format in ["zstd", "gzip"] {
        let layout = k.dir.path().join(format!("layout-{format}"));
        busybox_oci_layout(&layout, format);
        let dest = format!("{}/skopeo/{format}:1", reg.host());
        checked_output(
            Command::new("skopeo")
                .args([
                    "copy",
                    "--dest-tls-verify=false",
                    "--dest-compress-format",
                    format,
                ])
                .arg(format!("oci:{}:1", layout.display()))
                .arg(format!("docker://{dest}")),
        );
        let (manifest, _) = reg.get_json(
            &format!("/v2/skopeo/{format}/manifests/1"),
            "application/vnd.oci.image.manifest.v1+json",
        );
        let media_type = manifest["layers"][0]["mediaType"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(media_type.ends_with(format), "{media_type}");
        let out = k.ok(&["pull", &dest]);
        assert!(out.contains("Pull complete"), "{out}");
        assert_eq!(
            k.sh(&dest, "echo from-$0; read m < /marker; echo $m"),
            format!("from-sh\n{format}\n")
        );
    }
}

#[test]
fn image_pushed_by_kiste_runs_in_podman_and_docker() {
    let k = Kiste::new();
    let Some((_reg, name)) = pushed_busybox(&k, "interop/bb:1") else {
        return;
    };
    let mut ran = 0;
    if have("podman") && Path::new("/etc/containers/containers.conf").exists() {
        let store = k.dir.path().join("podman");
        let podman = |args: &[&str]| {
            Command::new("podman")
                .arg("--root")
                .arg(store.join("root"))
                .arg("--runroot")
                .arg(store.join("run"))
                .args(args)
                .output()
                .unwrap()
        };
        let out = podman(&["pull", "--tls-verify=false", &name]);
        assert!(
            out.status.success(),
            "podman pull: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = podman(&[
            "run",
            "--rm",
            "--network",
            "none",
            &name,
            "echo",
            "podman-ok",
        ]);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "podman-ok",
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let _ = podman(&["rmi", "-a", "-f"]);
        ran += 1;
    }
    let docker_up = have("docker")
        && Command::new("docker")
            .arg("info")
            .output()
            .is_ok_and(|o| o.status.success());
    if docker_up {
        checked_output(Command::new("docker").args(["pull", &name]));
        let out = Command::new("docker")
            .args([
                "run",
                "--rm",
                "--network",
                "none",
                &name,
                "echo",
                "docker-ok",
            ])
            .output()
            .unwrap();
        let _ = Command::new("docker").args(["rmi", "-f", &name]).output();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "docker-ok",
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        ran += 1;
    }
    if ran == 0 {
        skip("neither podman (with /etc/containers/containers.conf) nor a running dockerd");
    }
}

#[test]
fn large_layers_are_pushed_in_chunks_and_come_back_whole() {
    let k = Kiste::new();
    let Some(reg) = registry(&k) else { return };
    k.busybox();
    let ctx = k.dir.path().join("big");
    std::fs::create_dir_all(&ctx).unwrap();
    let data = noise(12 << 20); // over the 8 MiB chunk size
    std::fs::write(ctx.join("big"), &data).unwrap();
    std::fs::write(ctx.join("Dockerfile"), "FROM busybox\nCOPY big /big\n").unwrap();
    let name = format!("{}/big:1", reg.host());
    k.ok(&["build", "-q", "-t", &name, ctx.to_str().unwrap()]);
    k.ok(&["push", &name]);
    let log = std::fs::read_to_string(reg.dir.join("registry.log")).unwrap();
    assert!(
        log.contains("http.request.method=PATCH"),
        "no chunked upload in the registry's log"
    );

    let k2 = Kiste::new();
    k2.ok(&["pull", "-q", &name]);
    let sum = k2.sh(&name, "sha256sum /big");
    assert_eq!(
        format!("sha256:{}", sum.split_whitespace().next().unwrap()),
        sha256(&data)
    );
}
