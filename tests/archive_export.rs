//! `export` writes a container's merged root as `docker export` does (a deleted file
//! absent, an added one present, hard links and file capabilities kept), for a stopped
//! container (mounted privately for the export, nothing left mounted) and a running
//! one; `import --change` sets the config as `docker import --change` does; save and
//! export never write a tar to a terminal.

mod support;

use support::docker;

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::*;

/// Entry names of a tar file, without a trailing `/`.
fn entries(tar: &[u8]) -> BTreeSet<String> {
    let mut a = tar::Archive::new(tar);
    a.entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            e.path()
                .unwrap()
                .display()
                .to_string()
                .trim_end_matches('/')
                .to_string()
        })
        .collect()
}

fn hard_link_target(tar: &[u8], name: &str) -> Option<String> {
    let mut a = tar::Archive::new(tar);
    a.entries().unwrap().map(|e| e.unwrap()).find_map(|e| {
        (e.path().unwrap().display().to_string() == name
            && e.header().entry_type() == tar::EntryType::Link)
            .then(|| e.link_name().unwrap().unwrap().display().to_string())
    })
}

const CHANGES: &str = "echo added > /added && rm /bin/ls && mkdir /d && ln /added /d/hard";

#[test]
fn export_writes_the_merged_root_like_docker_export() {
    let k = Kiste::new();
    k.busybox();
    k.ok(&["run", "--name", "c1", "busybox", "sh", "-c", CHANGES]);
    let mine = k.cmd(&["export", "c1"]).output().unwrap();
    assert!(
        mine.status.success(),
        "{}",
        String::from_utf8_lossy(&mine.stderr)
    );
    let names = entries(&mine.stdout);
    assert!(
        names.contains("added") && names.contains("bin/busybox"),
        "{names:?}"
    );
    assert!(!names.contains("bin/ls"), "a deleted file is absent");
    assert_eq!(
        hard_link_target(&mine.stdout, "d/hard").as_deref(),
        Some("added")
    );
    assert!(
        k.mounts().is_empty(),
        "nothing left mounted: {:?}",
        k.mounts()
    );
    let tmp = k.root().join("images/tmp");
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0, "no temp left");
    // -o writes the same tar.
    let file = k.dir.path().join("c1.tar");
    k.ok(&["export", "-o", file.to_str().unwrap(), "c1"]);
    assert_eq!(entries(&std::fs::read(&file).unwrap()), names);

    if Command::new("docker").arg("--version").output().is_err() {
        skip("docker.io is not installed: export checked without the docker comparison");
        return;
    }
    docker::ensure_docker();
    let name = format!("kiste-archive-export-{}", std::process::id());
    // Saved under a tag of its own, so the shared daemon's busybox is untouched.
    let tmp_tag = format!("{name}-img");
    k.ok(&["tag", "busybox", &tmp_tag]);
    let mut save = k
        .cmd(&["save", &tmp_tag])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let loaded = Command::new("docker")
        .arg("load")
        .stdin(save.stdout.take().unwrap())
        .output()
        .unwrap();
    assert!(save.wait().unwrap().success() && loaded.status.success());
    let run = Command::new("docker")
        .args(["run", "--name", &name, &tmp_tag, "sh", "-c", CHANGES])
        .output()
        .unwrap();
    let theirs = Command::new("docker")
        .args(["export", &name])
        .output()
        .unwrap();
    let _ = Command::new("docker").args(["rm", "-f", &name]).output();
    let _ = Command::new("docker")
        .args(["rmi", "-f", &tmp_tag])
        .output();
    assert!(run.status.success() && theirs.status.success());
    let docker_names = entries(&theirs.stdout);
    let bin = |s: &BTreeSet<String>| -> BTreeSet<String> {
        s.iter()
            .filter(|n| n.starts_with("bin/") || !n.contains('/'))
            .cloned()
            .collect()
    };
    // docker adds /.dockerenv; both add their own mount points (dev, proc, sys, etc).
    let ours: BTreeSet<String> = bin(&names)
        .into_iter()
        .filter(|n| n != "etc" && n != "dev" && n != "proc" && n != "sys")
        .collect();
    let docker: BTreeSet<String> = bin(&docker_names)
        .into_iter()
        .filter(|n| !matches!(n.as_str(), ".dockerenv" | "etc" | "dev" | "proc" | "sys"))
        .collect();
    assert_eq!(ours, docker);
    assert_eq!(
        hard_link_target(&theirs.stdout, "d/hard").as_deref(),
        Some("added")
    );
}

#[test]
fn export_of_a_running_container_reads_its_live_root() {
    let k = Kiste::new();
    k.busybox();
    let id = k.ok(&[
        "run",
        "-d",
        "busybox",
        "sh",
        "-c",
        "echo live > /live; exec sleep 60",
    ]);
    let id = id.trim();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = k.cmd(&["export", id]).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        if entries(&out.stdout).contains("live") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "/live never showed in the export"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let mounts = k.mounts().len();
    k.ok(&["rm", "-f", id]);
    assert_eq!(mounts, 1, "only the container's own mount");
}

const IMPORT_CHANGES: &[&str] = &[
    "CMD echo hi",
    "ENTRYPOINT [\"/bin/sh\", \"-c\"]",
    "ENV A=1 B=\"two words\"",
    "EXPOSE 8080 53/udp",
    "LABEL org.example=yes",
    "USER 1000",
    "VOLUME /data",
    "WORKDIR /srv/app",
    "ONBUILD RUN true",
];

/// The config fields `--change` sets, with null, {} and [] treated alike.
fn changed_fields(config: &serde_json::Value) -> Vec<(String, serde_json::Value)> {
    [
        "Cmd",
        "Entrypoint",
        "Env",
        "ExposedPorts",
        "Labels",
        "User",
        "Volumes",
        "WorkingDir",
        "OnBuild",
    ]
    .iter()
    .map(|f| {
        let v = config[f].clone();
        let empty = v.is_null()
            || v.as_str() == Some("")
            || v.as_array().is_some_and(|a| a.is_empty())
            || v.as_object().is_some_and(|o| o.is_empty());
        (
            f.to_string(),
            if empty { serde_json::Value::Null } else { v },
        )
    })
    .collect()
}

#[test]
fn import_with_changes_sets_the_config_like_docker_import() {
    let k = Kiste::new();
    let rootfs = k.dir.path().join("rootfs");
    std::fs::create_dir_all(rootfs.join("bin")).unwrap();
    std::fs::copy("/bin/busybox", rootfs.join("bin/busybox")).unwrap();
    std::os::unix::fs::symlink("busybox", rootfs.join("bin/sh")).unwrap();
    let tarball = k.dir.path().join("rootfs.tar");
    tar_dir(&rootfs, &tarball);
    let mut args = vec!["import".to_string(), "-m".into(), "a message".into()];
    for c in IMPORT_CHANGES {
        args.extend(["--change".to_string(), c.to_string()]);
    }
    let mut kiste_args = args.clone();
    // kiste takes STOPSIGNAL too, as docker does since 23.0 (20.10 refuses it).
    kiste_args.extend(["--change", "STOPSIGNAL SIGINT", "-", "imported:1"].map(String::from));
    let refs: Vec<&str> = kiste_args.iter().map(String::as_str).collect();
    checked_output(k.cmd(&refs).stdin(std::fs::File::open(&tarball).unwrap()));
    let mine = k.inspect("imported:1");
    assert_eq!(
        k.ok(&["run", "--rm", "imported:1", "echo $A $B"]).trim(),
        "1 two words"
    );
    assert_eq!(mine["Config"]["StopSignal"], "SIGINT");
    let history = k.ok(&["history", "imported:1"]);
    assert!(history.contains("a message"), "{history}");

    if Command::new("docker").arg("--version").output().is_err() {
        skip("docker.io is not installed: import checked without the docker comparison");
        return;
    }
    docker::ensure_docker();
    let name = format!("kiste-archive-import-{}:1", std::process::id());
    let mut docker_args = args.clone();
    docker_args.extend([tarball.display().to_string(), name.clone()]);
    let made = Command::new("docker").args(&docker_args).output().unwrap();
    let inspected = Command::new("docker")
        .args(["image", "inspect", &name])
        .output()
        .unwrap();
    let _ = Command::new("docker").args(["rmi", "-f", &name]).output();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let theirs: serde_json::Value = serde_json::from_slice(&inspected.stdout).unwrap();
    assert_eq!(
        changed_fields(&mine["Config"]),
        changed_fields(&theirs[0]["Config"])
    );
}

#[test]
fn export_keeps_file_capabilities_as_docker_export_does() {
    let k = Kiste::new();
    k.busybox();
    k.ok(&[
        "run",
        "--name",
        "caps",
        "busybox",
        "cp",
        "/bin/busybox",
        "/ping",
    ]);
    let id = k.inspect("caps")["Id"].as_str().unwrap().to_string();
    let file = k.root().join("containers").join(&id).join("upper/ping");
    assert!(
        file.is_file(),
        "{} (the container's upper dir)",
        file.display()
    );
    // vfs_cap_data revision 2 with cap_net_raw (13) permitted.
    let mut cap = [0u8; 20];
    cap[..4].copy_from_slice(&0x0200_0000u32.to_le_bytes());
    cap[4..8].copy_from_slice(&(1u32 << 13).to_le_bytes());
    let path = std::ffi::CString::new(file.to_str().unwrap()).unwrap();
    // SAFETY: valid C strings and buffer.
    let rc = unsafe {
        libc::setxattr(
            path.as_ptr(),
            c"security.capability".as_ptr(),
            cap.as_ptr().cast(),
            cap.len(),
            0,
        )
    };
    assert_eq!(rc, 0, "{}", std::io::Error::last_os_error());
    let out = k.cmd(&["export", "caps"]).output().unwrap();
    assert!(out.status.success());
    let mut archive = tar::Archive::new(&out.stdout[..]);
    let mut found = None;
    for e in archive.entries().unwrap() {
        let mut e = e.unwrap();
        if e.path().unwrap().to_str() == Some("ping") {
            found = e
                .pax_extensions()
                .unwrap()
                .expect("a PAX header")
                .map(|x| x.unwrap())
                .find(|x| x.key() == Ok("SCHILY.xattr.security.capability"))
                .map(|x| x.value_bytes().to_vec());
        }
    }
    assert_eq!(found.as_deref(), Some(&cap[..]));
}

#[test]
fn save_and_export_refuse_to_write_a_tar_to_a_terminal() {
    if Command::new("script").arg("--version").output().is_err() {
        skip("util-linux script (to get a terminal) is not installed");
        return;
    }
    let k = Kiste::new();
    k.busybox();
    k.ok(&["create", "--name", "ctr", "busybox"]);
    let kiste = format!(
        "{} --root {} --runroot {}",
        env!("CARGO_BIN_EXE_kiste"),
        k.root().display(),
        k.runroot().display()
    );
    for verb in ["save busybox", "export ctr"] {
        let out = Command::new("script")
            .args(["-qec", &format!("{kiste} {verb}"), "/dev/null"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(125), "{verb}: {text}");
        assert!(
            text.contains("cowardly refusing to save to a terminal"),
            "{verb}: {text}"
        );
        assert!(text.len() < 200, "{verb}: no tar on the terminal: {text}");
    }
}
