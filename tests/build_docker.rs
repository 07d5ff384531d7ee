//! Same result as docker, measured: every case under `testdata/build/<case>/` is built by
//! kiste and by docker (dockerd 20.10: BuildKit through the Engine API, or the classic
//! builder when the case has a `builder` file saying `classic`, e.g. for `.dockerignore`,
//! which BuildKit-over-API does not apply). The final filesystems (path, type, mode,
//! owner, size, content hash, symlink target) and the image config fields are compared.
//! The test starts `dockerd` if `docker info` fails (and leaves it running); without
//! docker (Debian's docker.io, which scripts/setup.sh installs) it fails.
//! `KISTE_BUILD_CASES=a,b` runs only those cases.

mod support;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use support::build::*;
use support::docker;
use support::*;

#[derive(Debug, Clone, PartialEq)]
struct Entry {
    kind: char,
    mode: u32,
    uid: u64,
    gid: u64,
    size: u64,
    sha: String,
    link: String,
}
type Tree = BTreeMap<String, Entry>;

const CONFIG_FIELDS: &[&str] = &[
    "Env",
    "Cmd",
    "Entrypoint",
    "WorkingDir",
    "User",
    "ExposedPorts",
    "Labels",
    "Volumes",
    "StopSignal",
    "Healthcheck",
    "OnBuild",
    "Shell",
];

fn add_file(tree: &mut Tree, rel: &str, e: Entry) {
    tree.insert(rel.to_string(), e);
}

fn remove_below(tree: &mut Tree, rel: &str, keep_self: bool) {
    let prefix = format!("{rel}/");
    tree.retain(|k, _| !(k.starts_with(&prefix) || (!keep_self && k == rel)));
}

/// Apply a docker-archive layer tar (whiteouts as `.wh.` files).
fn apply_tar(tree: &mut Tree, data: &[u8]) {
    let mut entries = Vec::new();
    let mut ar = tar::Archive::new(data);
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let path = e
            .path()
            .unwrap()
            .to_string_lossy()
            .trim_start_matches("./")
            .trim_end_matches('/')
            .to_string();
        let h = e.header().clone();
        let mut content = Vec::new();
        e.read_to_end(&mut content).unwrap();
        entries.push((path, h, content));
    }
    for (path, _, _) in &entries {
        if let Some(dir) = path.strip_suffix(".wh..wh..opq") {
            remove_below(tree, dir.trim_end_matches('/'), true);
        }
    }
    for (path, h, content) in entries {
        let (dir, name) = path
            .rsplit_once('/')
            .map(|(d, n)| (format!("{d}/"), n))
            .unwrap_or((String::new(), path.as_str()));
        if name == ".wh..wh..opq" {
            continue;
        }
        if let Some(gone) = name.strip_prefix(".wh.") {
            remove_below(tree, &format!("{dir}{gone}"), false);
            continue;
        }
        let t = h.entry_type();
        let (kind, link, size, sha) = if t.is_dir() {
            ('d', String::new(), 0, String::new())
        } else if t.is_symlink() {
            (
                'l',
                h.link_name()
                    .unwrap()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
                0,
                String::new(),
            )
        } else if t.is_hard_link() {
            let target = h
                .link_name()
                .unwrap()
                .unwrap()
                .to_string_lossy()
                .trim_start_matches("./")
                .to_string();
            let mut e = tree.get(&target).cloned().expect("hardlink target");
            e.mode = h.mode().unwrap() & 0o7777;
            add_file(tree, &path, e);
            continue;
        } else {
            (
                'f',
                String::new(),
                content.len() as u64,
                format!("{:x}", Sha256::digest(&content)),
            )
        };
        if kind != 'd' {
            remove_below(tree, &path, false);
        }
        let e = Entry {
            kind,
            mode: h.mode().unwrap() & 0o7777,
            uid: h.uid().unwrap(),
            gid: h.gid().unwrap(),
            size,
            sha,
            link,
        };
        add_file(tree, &path, e);
    }
}

fn is_opaque(p: &Path) -> bool {
    let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
    let mut buf = [0u8; 4];
    let n = unsafe {
        libc::lgetxattr(
            c.as_ptr(),
            c"trusted.overlay.opaque".as_ptr(),
            buf.as_mut_ptr().cast(),
            4,
        )
    };
    n == 1 && buf[0] == b'y'
}

/// Apply one of kiste's extracted layer dirs (overlay format).
fn apply_dir(tree: &mut Tree, root: &Path) {
    for e in walkdir::WalkDir::new(root).min_depth(1).sort_by_file_name() {
        let e = e.unwrap();
        let rel = e
            .path()
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let m = std::fs::symlink_metadata(e.path()).unwrap();
        let ft = m.file_type();
        if ft.is_char_device() && m.rdev() == 0 {
            remove_below(tree, &rel, false);
            continue;
        }
        if ft.is_dir() && is_opaque(e.path()) {
            remove_below(tree, &rel, true);
        }
        let (kind, link, size, sha) = if ft.is_dir() {
            ('d', String::new(), 0, String::new())
        } else if ft.is_symlink() {
            (
                'l',
                std::fs::read_link(e.path())
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
                0,
                String::new(),
            )
        } else {
            let data = std::fs::read(e.path()).unwrap();
            (
                'f',
                String::new(),
                data.len() as u64,
                format!("{:x}", Sha256::digest(&data)),
            )
        };
        if kind != 'd' {
            remove_below(tree, &rel, false);
        }
        add_file(
            tree,
            &rel,
            Entry {
                kind,
                mode: m.mode() & 0o7777,
                uid: m.uid() as u64,
                gid: m.gid() as u64,
                size,
                sha,
                link,
            },
        );
    }
}

/// docker's view: `docker save`, layers applied in order, plus the config.
fn docker_image(tag: &str, tmp: &Path) -> (Tree, Value) {
    let dir = tmp.join(format!("save-{tag}"));
    std::fs::create_dir_all(&dir).unwrap();
    let tar_path = dir.join("img.tar");
    checked_output(
        Command::new("docker")
            .args(["save", "-o"])
            .arg(&tar_path)
            .arg(tag),
    );
    checked_output(
        Command::new("tar")
            .arg("xf")
            .arg(&tar_path)
            .arg("-C")
            .arg(&dir),
    );
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let mut tree = Tree::new();
    for l in manifest[0]["Layers"].as_array().unwrap() {
        apply_tar(
            &mut tree,
            &std::fs::read(dir.join(l.as_str().unwrap())).unwrap(),
        );
    }
    let config: Value = serde_json::from_slice(
        &std::fs::read(dir.join(manifest[0]["Config"].as_str().unwrap())).unwrap(),
    )
    .unwrap();
    (tree, config)
}

fn kiste_image(k: &Kiste, tag: &str) -> (Tree, Value) {
    let inspect = k.inspect(tag);
    let mut tree = Tree::new();
    for diff in inspect["RootFS"]["Layers"].as_array().unwrap() {
        let hex = diff.as_str().unwrap().trim_start_matches("sha256:");
        apply_dir(&mut tree, &k.root().join("images/layers").join(hex));
    }
    (tree, inspect)
}

/// Empty lists/maps/strings and null mean the same thing in a config.
fn norm(v: &Value) -> Value {
    match v {
        Value::Array(a) if a.is_empty() => Value::Null,
        Value::Object(o) if o.is_empty() => Value::Null,
        Value::String(s) if s.is_empty() => Value::Null,
        other => other.clone(),
    }
}

fn docker_build(case: &Path, tag: &str, tmp: &Path) {
    let classic =
        std::fs::read_to_string(case.join("builder")).is_ok_and(|b| b.trim() == "classic");
    let target = std::fs::read_to_string(case.join("target"))
        .ok()
        .map(|t| t.trim().to_string());
    if classic {
        let mut c = Command::new("docker");
        c.env("DOCKER_BUILDKIT", "0")
            .args(["build", "-q", "-t", tag]);
        if let Some(t) = &target {
            c.args(["--target", t]);
        }
        checked_output(c.arg(case));
        return;
    }
    let tar = tmp.join(format!("{tag}.tar"));
    checked_output(
        Command::new("tar")
            .arg("--format=ustar")
            .arg("-cf")
            .arg(&tar)
            .arg("-C")
            .arg(case)
            .arg("."),
    );
    let mut url = format!("http://localhost/v1.41/build?version=2&t={tag}&dockerfile=Dockerfile");
    if let Some(t) = &target {
        url.push_str(&format!("&target={t}"));
    }
    let out = checked_output(
        Command::new("curl")
            .args([
                "-s",
                "--unix-socket",
                "/var/run/docker.sock",
                "-X",
                "POST",
                "-H",
                "Content-Type: application/x-tar",
                "--data-binary",
            ])
            .arg(format!("@{}", tar.display()))
            .arg(&url),
    );
    let text = String::from_utf8_lossy(&out);
    assert!(
        !text.contains("\"error\""),
        "docker (BuildKit) failed on {}: {text}",
        case.display()
    );
}

/// Differences a case documents in `allowed-differences`: lines "PATH # reason" (a
/// trailing `/` covers the tree below) or "config.FIELD # reason".
fn allowed(case: &Path) -> Vec<String> {
    std::fs::read_to_string(case.join("allowed-differences"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            l.split('#')
                .next()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        })
        .collect()
}

/// `$KISTE_BUILD_CASES` (comma-separated case names) narrows the run while working on a
/// case; unset, every case runs.
fn selected(case: &Path) -> bool {
    let name = case.file_name().unwrap_or_default().to_string_lossy();
    std::env::var("KISTE_BUILD_CASES").map_or(true, |only| only.split(',').any(|c| c == name))
}

#[test]
fn kiste_builds_the_same_images_as_docker() {
    docker::ensure_docker();
    let k = kiste();
    let tmp = k.dir.path().to_path_buf();
    let bb = busybox_context(&tmp.join("busybox-ctx"));
    k.ok(&["build", "-q", "-t", "busybox", bb.to_str().unwrap()]);
    checked_output(
        Command::new("docker")
            .env("DOCKER_BUILDKIT", "0")
            .args(["build", "-q", "-t", "busybox"])
            .arg(&bb),
    );
    let cases_root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/build");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&cases_root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("Dockerfile").is_file())
        .filter(|p| selected(p))
        .collect();
    cases.sort();
    let mut problems = Vec::new();
    let (mut compared_fields, mut dockerfiles) = (0usize, 0usize);
    for case in cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let tag = format!("kiste-compare-{name}");
        let mut args = vec!["build", "-q", "-t", tag.as_str()];
        let target = std::fs::read_to_string(case.join("target"))
            .ok()
            .map(|t| t.trim().to_string());
        if let Some(t) = &target {
            args.extend(["--target", t.as_str()]);
        }
        args.push(case.to_str().unwrap());
        k.ok(&args);
        docker_build(&case, &tag, &tmp);
        dockerfiles += 1;
        let (kt, kc) = kiste_image(&k, &tag);
        let (dt, dc) = docker_image(&tag, &tmp);
        let skip = allowed(&case);
        // An entry names one path, or everything below it when it ends with '/'.
        let ok_path = |p: &str| {
            skip.iter().any(|s| {
                let s = s.trim_start_matches('/');
                p == s.trim_end_matches('/') || (s.ends_with('/') && p.starts_with(s))
            })
        };
        for (p, d) in &dt {
            compared_fields += 7;
            match kt.get(p) {
                None if !ok_path(p) => {
                    problems.push(format!("{name}: /{p} only in docker's image: {d:?}"))
                }
                Some(e) if e != d && !ok_path(p) => {
                    problems.push(format!("{name}: /{p}: kiste {e:?} docker {d:?}"))
                }
                _ => {}
            }
        }
        for p in kt.keys().filter(|p| !dt.contains_key(*p) && !ok_path(p)) {
            problems.push(format!("{name}: /{p} only in kiste's image"));
        }
        for f in CONFIG_FIELDS {
            compared_fields += 1;
            let (a, b) = (norm(&kc["Config"][f]), norm(&dc["config"][f]));
            if a != b && !skip.iter().any(|s| s == &format!("config.{f}")) {
                problems.push(format!("{name}: Config.{f}: kiste {a} docker {b}"));
            }
        }
        for (kf, df) in [("Architecture", "architecture"), ("Os", "os")] {
            compared_fields += 1;
            if kc[kf] != dc[df] {
                problems.push(format!("{name}: {kf}: kiste {} docker {}", kc[kf], dc[df]));
            }
        }
    }
    eprintln!("compared {dockerfiles} Dockerfiles, {compared_fields} fields");
    assert!(dockerfiles > 0, "no case selected");
    assert!(
        problems.is_empty(),
        "{} differences:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
