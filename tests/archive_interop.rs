//! Archives moved between kiste and the real tools, both ways: `kiste save | docker load`
//! and `docker save | kiste load`, the same with podman (private store), and the OCI
//! layout read by podman and skopeo. Each loaded image must run. Images in docker get
//! names unique to the test and are removed however the test ends.

mod support;

use support::docker;

use std::path::Path;
use std::process::{Command, Stdio};
use support::*;

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// `kiste ARGS | TOOL TOOL_ARGS`: both must succeed; the tool's stdout.
fn pipe(k: &Kiste, args: &[&str], tool: &mut Command) -> String {
    let mut save = k.cmd(args).stdout(Stdio::piped()).spawn().unwrap();
    let out = tool.stdin(save.stdout.take().unwrap()).output().unwrap();
    assert!(save.wait().unwrap().success(), "kiste {args:?} failed");
    assert!(
        out.status.success(),
        "{tool:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `TOOL … | kiste ARGS`: both must succeed; kiste's stdout.
fn pipe_into(tool: &mut Command, k: &Kiste, args: &[&str]) -> String {
    let mut src = tool.stdout(Stdio::piped()).spawn().unwrap();
    let out = k
        .cmd(args)
        .stdin(src.stdout.take().unwrap())
        .output()
        .unwrap();
    assert!(src.wait().unwrap().success(), "{tool:?} failed");
    let r: Run = out.into();
    assert_eq!(r.code, 0, "kiste {args:?}: {}", r.stderr);
    r.stdout
}

fn sh(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Docker images named by this test, removed on drop.
struct DockerImages(Vec<String>);

impl Drop for DockerImages {
    fn drop(&mut self) {
        for name in &self.0 {
            let _ = Command::new("docker")
                .args(["rmi", "-f", name])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

fn unique(what: &str) -> String {
    format!("kiste-archive-{what}-{}", std::process::id())
}

fn docker_ready() -> bool {
    if !have("docker") || !have("dockerd") {
        skip("docker.io is not installed");
        return false;
    }
    docker::ensure_docker();
    true
}

#[test]
fn kiste_save_loads_in_docker_and_runs() {
    if !docker_ready() {
        return;
    }
    let k = Kiste::new();
    k.busybox();
    let name = unique("to-docker");
    let _cleanup = DockerImages(vec![format!("{name}:latest")]);
    k.ok(&["tag", "busybox", &name]);
    let out = pipe(&k, &["save", &name], Command::new("docker").arg("load"));
    assert!(
        out.contains(&format!("Loaded image: {name}:latest")),
        "{out}"
    );
    let id = k.ok(&["images", "-q", "--no-trunc", &name]);
    let docker_id = sh("docker", &["image", "inspect", "-f", "{{.Id}}", &name]);
    assert_eq!(docker_id.trim(), id.trim(), "docker keeps kiste's image id");
    let ran = sh(
        "docker",
        &["run", "--rm", &name, "sh", "-c", "echo from-kiste"],
    );
    assert_eq!(ran.trim(), "from-kiste");
}

#[test]
fn docker_save_loads_in_kiste_with_docker_ids_and_runs() {
    if !docker_ready() {
        return;
    }
    let k = Kiste::new();
    // docker's own image: a busybox rootfs by `docker import`, then a classic-builder RUN.
    let rootfs = k.dir.path().join("rootfs");
    std::fs::create_dir_all(rootfs.join("bin")).unwrap();
    std::fs::copy("/bin/busybox", rootfs.join("bin/busybox")).unwrap();
    for applet in ["sh", "cat"] {
        std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(applet)).unwrap();
    }
    let tarball = k.dir.path().join("rootfs.tar");
    tar_dir(&rootfs, &tarball);
    let (base, top) = (unique("docker-base"), unique("docker-top"));
    let _cleanup = DockerImages(vec![base.clone(), top.clone()]);
    sh("docker", &["import", tarball.to_str().unwrap(), &base]);
    let ctx = k.context(
        "ctx",
        &[(
            "Dockerfile",
            &format!("FROM {base}\nRUN echo made-by-docker > /f\nCMD [\"cat\", \"/f\"]\n"),
        )],
    );
    sh(
        "docker",
        &["build", "-q", "-t", &top, ctx.to_str().unwrap()],
    );
    let out = pipe_into(
        Command::new("docker").args(["save", &top, &base]),
        &k,
        &["load"],
    );
    assert!(
        out.contains(&format!("Loaded image: {top}:latest")),
        "{out}"
    );
    assert!(
        out.contains(&format!("Loaded image: {base}:latest")),
        "{out}"
    );
    for name in [&top, &base] {
        let docker_id = sh("docker", &["image", "inspect", "-f", "{{.Id}}", name]);
        let kiste_id = k.ok(&["images", "-q", "--no-trunc", name]);
        assert_eq!(
            kiste_id.trim(),
            docker_id.trim(),
            "{name} keeps docker's id"
        );
    }
    assert_eq!(k.ok(&["run", "--rm", &top]).trim(), "made-by-docker");
}

fn podman(store: &Path) -> Command {
    let mut c = Command::new("podman");
    c.arg("--root")
        .arg(store.join("root"))
        .arg("--runroot")
        .arg(store.join("runroot"))
        .arg("--cgroup-manager")
        .arg("cgroupfs");
    c
}

fn podman_ready() -> bool {
    if !have("podman") {
        skip("podman is not installed (scripts/setup.sh installs it)");
        return false;
    }
    if !Path::new("/etc/containers/containers.conf").exists() {
        skip("podman needs /etc/containers/containers.conf here (scripts/setup.sh writes it)");
        return false;
    }
    true
}

fn podman_ok(store: &Path, args: &[&str]) -> String {
    let out = podman(store).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "podman {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn archives_move_between_kiste_and_podman_both_ways_and_run() {
    if !podman_ready() {
        return;
    }
    let k = Kiste::new();
    k.busybox();
    let store = k.dir.path().join("podman");
    // kiste → podman, docker-archive on a pipe.
    let out = pipe(&k, &["save", "busybox"], podman(&store).arg("load"));
    assert!(out.contains("busybox:latest"), "{out}");
    let ran = podman_ok(
        &store,
        &[
            "run",
            "--rm",
            "--network",
            "none",
            "localhost/busybox",
            "echo",
            "in-podman",
        ],
    );
    assert_eq!(ran.trim(), "in-podman");
    // podman → kiste, in both of podman's formats.
    for format in ["docker-archive", "oci-archive"] {
        let file = k.dir.path().join(format!("podman-{format}.tar"));
        podman_ok(
            &store,
            &[
                "save",
                "--format",
                format,
                "-o",
                file.to_str().unwrap(),
                "localhost/busybox:latest",
            ],
        );
        let k2 = Kiste::new();
        let out = k2.ok(&["load", "-i", file.to_str().unwrap()]);
        assert!(
            out.contains("Loaded image: localhost/busybox:latest"),
            "{format}: {out}"
        );
        assert_eq!(
            k2.sh("localhost/busybox", "echo from-podman").trim(),
            "from-podman"
        );
    }
}

#[test]
fn oci_archive_is_read_by_podman_and_skopeo() {
    if !podman_ready() {
        return;
    }
    if !have("skopeo") {
        skip("skopeo is not installed (scripts/setup.sh installs it)");
        return;
    }
    let k = Kiste::new();
    k.busybox();
    let file = k.dir.path().join("bb-oci.tar");
    k.ok(&[
        "save",
        "--format",
        "oci-archive",
        "-o",
        file.to_str().unwrap(),
        "busybox",
    ]);
    let spec = format!("oci-archive:{}", file.display());
    let inspected: serde_json::Value =
        serde_json::from_str(&sh("skopeo", &["inspect", &spec])).unwrap();
    let id = k.ok(&["images", "-q", "--no-trunc", "busybox"]);
    let raw_config: serde_json::Value =
        serde_json::from_str(&sh("skopeo", &["inspect", "--config", "--raw", &spec])).unwrap();
    assert_eq!(
        raw_config["rootfs"]["diff_ids"].as_array().unwrap().len(),
        2
    );
    assert_eq!(
        inspected["Layers"].as_array().unwrap().len(),
        2,
        "{inspected}"
    );
    // skopeo picks the image by its ref.name annotation, the tag.
    let dir = k.dir.path().join("skopeo-dir");
    sh(
        "skopeo",
        &[
            "copy",
            &format!("{spec}:latest"),
            &format!("dir:{}", dir.display()),
        ],
    );
    assert!(dir.join("manifest.json").exists());
    let store = k.dir.path().join("podman");
    let out = podman_ok(&store, &["load", "-i", file.to_str().unwrap()]);
    assert!(out.contains("docker.io/library/busybox:latest"), "{out}");
    let podman_id = podman_ok(&store, &["image", "inspect", "-f", "{{.Id}}", "busybox"]);
    assert_eq!(
        format!("sha256:{}", podman_id.trim()),
        id.trim(),
        "podman keeps the id"
    );
    let ran = podman_ok(
        &store,
        &["run", "--rm", "--network", "none", "busybox", "echo", "oci"],
    );
    assert_eq!(ran.trim(), "oci");
}

#[test]
fn a_zstd_oci_archive_from_skopeo_loads_runs_and_saves_as_docker_archive() {
    if !have("skopeo") {
        skip("skopeo is not installed (scripts/setup.sh installs it)");
        return;
    }
    let k = Kiste::new();
    k.busybox();
    let gz = k.dir.path().join("gz.tar");
    let zst = k.dir.path().join("zstd.tar");
    k.ok(&[
        "save",
        "--format",
        "oci-archive",
        "-o",
        gz.to_str().unwrap(),
        "busybox",
    ]);
    sh(
        "skopeo",
        &[
            "copy",
            "--dest-compress",
            "--dest-compress-format",
            "zstd",
            &format!("oci-archive:{}", gz.display()),
            &format!("oci-archive:{}:busybox:zstd", zst.display()),
        ],
    );
    let k2 = Kiste::new();
    let out = k2.ok(&["load", "-i", zst.to_str().unwrap()]);
    assert!(out.contains("Loaded image: busybox:zstd"), "{out}");
    assert_eq!(k2.sh("busybox:zstd", "echo zstd").trim(), "zstd");
    // The stored zstd blobs are decompressed for a docker-archive.
    let k3 = Kiste::new();
    let mut save = k2
        .cmd(&["save", "busybox:zstd"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let loaded = k3
        .cmd(&["load"])
        .stdin(save.stdout.take().unwrap())
        .output()
        .unwrap();
    assert!(save.wait().unwrap().success() && loaded.status.success());
    assert_eq!(k3.sh("busybox:zstd", "echo again").trim(), "again");
}
