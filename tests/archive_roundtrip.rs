//! kiste's own archives: save → load keeps image ids, tags and (OCI) manifest digests
//! for several images in one archive, in both formats; an image saved by id loads
//! untagged; the layout docker 25 writes loads too; a failed save leaves no file.

mod support;

use std::process::Stdio;
use support::*;

fn id_of(k: &Kiste, name: &str) -> String {
    k.ok(&["images", "-q", "--no-trunc", name])
        .trim()
        .to_string()
}

/// The manifest digest of `image` in `k`'s store: the one its oci-archive's index names.
/// (`images --digests` shows only registry digests, as docker's.)
fn digest_of(k: &Kiste, image: &str) -> String {
    let file = k.dir.path().join("digest-of.tar");
    let output = format!("--output={}", file.display());
    k.ok(&["save", "--format=oci-archive", &output, image]);
    let index = checked_output(
        std::process::Command::new("tar")
            .arg("-xOf")
            .arg(&file)
            .arg("index.json"),
    );
    let index: serde_json::Value = serde_json::from_slice(&index).unwrap();
    index["manifests"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn save_then_load_keeps_ids_and_tags_of_several_images_in_both_formats() {
    let k = Kiste::new();
    k.busybox();
    let ctx = k.context(
        "second",
        &[(
            "Dockerfile",
            "FROM busybox\nRUN echo two > /two\nCMD [\"cat\", \"/two\"]\n",
        )],
    );
    k.ok(&["build", "-q", "-t", "second:v2", ctx.to_str().unwrap()]);
    k.ok(&["tag", "busybox", "other/name:x"]);
    let (bb, second) = (id_of(&k, "busybox"), id_of(&k, "second:v2"));
    for format in ["docker-archive", "oci-archive"] {
        let file = k.dir.path().join(format!("{format}.tar"));
        k.ok(&[
            "save",
            "--format",
            format,
            "-o",
            file.to_str().unwrap(),
            "busybox",
            "second:v2",
            "other/name:x",
        ]);
        let k2 = Kiste::new();
        let out = k2.ok(&["load", "-i", file.to_str().unwrap()]);
        for tag in ["busybox:latest", "second:v2", "other/name:x"] {
            assert!(
                out.contains(&format!("Loaded image: {tag}\n")),
                "{format}: {out}"
            );
        }
        assert_eq!(id_of(&k2, "busybox"), bb, "{format}");
        assert_eq!(id_of(&k2, "other/name:x"), bb, "{format}");
        assert_eq!(id_of(&k2, "second:v2"), second, "{format}");
        if format == "oci-archive" {
            assert_eq!(
                digest_of(&k2, "second:v2"),
                digest_of(&k, "second:v2"),
                "manifest kept"
            );
        }
        assert_eq!(k2.ok(&["run", "--rm", "second:v2"]).trim(), "two");
    }
}

#[test]
fn an_image_saved_by_id_loads_untagged_from_stdin() {
    let k = Kiste::new();
    k.busybox();
    let id = id_of(&k, "busybox");
    let k2 = Kiste::new();
    let mut save = k
        .cmd(&["save", &id])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = k2
        .cmd(&["load", "-q"])
        .stdin(save.stdout.take().unwrap())
        .output()
        .unwrap();
    assert!(save.wait().unwrap().success());
    let out: Run = out.into();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, format!("Loaded image ID: {id}\n"));
    assert_eq!(k2.ok(&["images", "-q", "--no-trunc"]).trim(), id);
}

#[test]
fn save_of_an_unknown_image_fails_and_leaves_no_file() {
    let k = Kiste::new();
    let file = k.dir.path().join("out.tar");
    let r = k.run(&["save", "-o", file.to_str().unwrap(), "nope:1"]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("nope:1"), "{}", r.stderr);
    let mut left: Vec<String> = std::fs::read_dir(k.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["root", "run"], "only the store (root and runroot)");
}

/// Rewrites a docker 20.10 archive in the layout docker 25 writes: every file under
/// `blobs/sha256/<its digest>`, `manifest.json` pointing there, plus `oci-layout`.
fn as_docker25_layout(archive: &[u8]) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut files: std::collections::HashMap<String, Vec<u8>> = Default::default();
    let mut a = tar::Archive::new(archive);
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        if e.header().entry_type() == tar::EntryType::Regular {
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut data).unwrap();
            files.insert(e.path().unwrap().display().to_string(), data);
        }
    }
    let manifest: serde_json::Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
    let blob = |name: &str| format!("blobs/sha256/{:x}", Sha256::digest(&files[name]));
    let entry = &manifest[0];
    let new_manifest = serde_json::json!([{
        "Config": blob(entry["Config"].as_str().unwrap()),
        "RepoTags": entry["RepoTags"],
        "Layers": entry["Layers"].as_array().unwrap().iter()
            .map(|l| blob(l.as_str().unwrap())).collect::<Vec<_>>(),
    }]);
    let mut out = tar::Builder::new(Vec::new());
    let mut add = |path: &str, data: &[u8]| {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        out.append_data(&mut h, path, data).unwrap();
    };
    let mut names: Vec<&String> = files
        .keys()
        .filter(|n| n.ends_with(".json") || n.ends_with(".tar"))
        .collect();
    names.sort();
    for name in names.into_iter().filter(|n| *n != "manifest.json") {
        add(&blob(name), &files[name.as_str()]);
    }
    add("manifest.json", new_manifest.to_string().as_bytes());
    add("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#);
    out.into_inner().unwrap()
}

#[test]
fn an_archive_in_docker_25_layout_loads() {
    let k = Kiste::new();
    k.busybox();
    let saved = k.cmd(&["save", "busybox"]).output().unwrap();
    assert!(saved.status.success());
    let file = k.dir.path().join("docker25.tar");
    std::fs::write(&file, as_docker25_layout(&saved.stdout)).unwrap();
    let k2 = Kiste::new();
    let out = k2.ok(&["load", "-i", file.to_str().unwrap()]);
    assert_eq!(out, "Loaded image: busybox:latest\n");
    assert_eq!(id_of(&k2, "busybox"), id_of(&k, "busybox"));
    assert_eq!(k2.sh("busybox", "echo ok").trim(), "ok");
}

#[test]
fn a_layer_saved_once_and_linked_from_another_image_loads_for_both() {
    use sha2::{Digest, Sha256};
    let k = Kiste::new();
    k.busybox();
    let saved = k.cmd(&["save", "busybox"]).output().unwrap();
    assert!(saved.status.success());
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut a = tar::Archive::new(&saved.stdout[..]);
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        if e.header().entry_type() == tar::EntryType::Regular {
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut data).unwrap();
            files.push((e.path().unwrap().display().to_string(), data));
        }
    }
    let get = |name: &str| files.iter().find(|(n, _)| n == name).unwrap().1.clone();
    let manifest: serde_json::Value = serde_json::from_slice(&get("manifest.json")).unwrap();
    let layers: Vec<String> = manifest[0]["Layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect();
    // A second image: the same layers, another config; its layers are symlinks to the
    // first image's, as docker save writes a layer it has written before.
    let mut config: serde_json::Value =
        serde_json::from_slice(&get(manifest[0]["Config"].as_str().unwrap())).unwrap();
    config["config"]["Labels"] = serde_json::json!({"second": "yes"});
    let config2 = serde_json::to_vec(&config).unwrap();
    let config2_name = format!("{:x}.json", Sha256::digest(&config2));
    let linked: Vec<String> = (0..layers.len())
        .map(|i| format!("link{i}/layer.tar"))
        .collect();
    let mut new_manifest = manifest.clone();
    new_manifest
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "Config": config2_name, "RepoTags": ["second:linked"], "Layers": linked,
        }));
    let mut out = tar::Builder::new(Vec::new());
    for (name, data) in files.iter().filter(|(n, _)| n != "manifest.json") {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        out.append_data(&mut h, name, &data[..]).unwrap();
    }
    for (link, target) in linked.iter().zip(&layers) {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        out.append_link(&mut h, link, format!("../{target}"))
            .unwrap();
    }
    for (name, data) in [
        (config2_name.as_str(), config2.clone()),
        ("manifest.json", serde_json::to_vec(&new_manifest).unwrap()),
    ] {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        out.append_data(&mut h, name, &data[..]).unwrap();
    }
    let file = k.dir.path().join("linked.tar");
    std::fs::write(&file, out.into_inner().unwrap()).unwrap();
    let k2 = Kiste::new();
    let loaded = k2.ok(&["load", "-i", file.to_str().unwrap()]);
    assert_eq!(
        loaded,
        "Loaded image: busybox:latest\nLoaded image: second:linked\n"
    );
    assert_eq!(k2.sh("second:linked", "echo linked").trim(), "linked");
    assert_eq!(
        k2.inspect("second:linked")["Config"]["Labels"]["second"],
        "yes"
    );
}
