//! Layer tars: create_layer output round-trips through import_layer_tar, is
//! deterministic, and converts overlay whiteouts and opaque directories both ways.

mod support;

use nix::sys::stat::SFlag;
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use support::store::*;

const T0: i64 = 1_600_000_000;

/// Every kind of entry a layer can hold, with exact ownership, modes and mtimes.
fn rich_tree(dir: &Path) {
    fs::create_dir_all(dir.join("usr/bin")).unwrap();
    fs::create_dir_all(dir.join("private")).unwrap();
    fs::create_dir_all(dir.join("opaque/sub")).unwrap();
    fs::write(dir.join("usr/bin/tool"), vec![7u8; 70_000]).unwrap();
    fs::set_permissions(dir.join("usr/bin/tool"), fs::Permissions::from_mode(0o4755)).unwrap();
    fs::write(dir.join("usr/bin/ping"), b"#!/bin/true\n").unwrap();
    fs::set_permissions(dir.join("usr/bin/ping"), fs::Permissions::from_mode(0o755)).unwrap();
    // security.capability v2: cap_net_raw (bit 13) permitted + effective.
    let mut cap = vec![0u8; 20];
    cap[..4].copy_from_slice(&0x0200_0001u32.to_le_bytes());
    cap[4..8].copy_from_slice(&(1u32 << 13).to_le_bytes());
    set_xattr(&dir.join("usr/bin/ping"), "security.capability", &cap);
    set_xattr(&dir.join("usr/bin/ping"), "user.note", b"pong");
    fs::write(dir.join("private/secret"), b"s").unwrap();
    fs::set_permissions(dir.join("private"), fs::Permissions::from_mode(0o700)).unwrap();
    fs::set_permissions(
        dir.join("private/secret"),
        fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    std::os::unix::fs::chown(dir.join("private"), Some(1000), Some(1001)).unwrap();
    std::os::unix::fs::chown(dir.join("private/secret"), Some(1000), Some(1001)).unwrap();
    fs::write(dir.join("empty"), b"").unwrap();
    fs::hard_link(dir.join("usr/bin/tool"), dir.join("usr/bin/tool-alias")).unwrap();
    symlink("bin/tool", dir.join("usr/tool-link")).unwrap();
    symlink("/nonexistent/absolute", dir.join("dangling")).unwrap();
    let long_target = format!("{}/x", "t".repeat(150));
    symlink(&long_target, dir.join("long-link")).unwrap();
    let deep = dir.join(format!("{}/{}", "d".repeat(120), "e".repeat(120)));
    fs::create_dir_all(&deep).unwrap();
    fs::write(deep.join("f".repeat(200)), b"deep").unwrap();
    mknod(&dir.join("gone"), SFlag::S_IFCHR, 0, 0); // overlay whiteout
    mknod(
        &dir.join("null"),
        SFlag::S_IFCHR,
        0o666,
        nix::sys::stat::makedev(1, 3),
    );
    mknod(&dir.join("fifo"), SFlag::S_IFIFO, 0o644, 0);
    set_xattr(&dir.join("opaque"), "trusted.overlay.opaque", b"y");
    fs::write(dir.join("opaque/sub/kept"), b"k").unwrap();
    for entry in walkdir::WalkDir::new(dir).contents_first(true) {
        let entry = entry.unwrap();
        set_mtime(entry.path(), T0 + entry.depth() as i64);
    }
}

#[test]
fn created_layer_round_trips_through_import() {
    let tmp = tempfile::tempdir().unwrap();
    let (s1, s2) = (
        store(&tmp.path().join("one")),
        store(&tmp.path().join("two")),
    );
    let src = tmp.path().join("src");
    rich_tree(&src);
    let before = snapshot(&src);
    let info = s1.create_layer(&src, None).unwrap();
    assert!(!src.exists(), "the source dir is moved into the store");
    let stored = s1.layer_path(&info.diff_id).unwrap();
    assert_eq!(snapshot(&stored), before, "moving the dir keeps it as is");

    let imported = s2
        .import_layer_tar(&s1.blob_path(&info.digest).unwrap())
        .unwrap();
    assert_eq!(imported, info, "a gzip blob is stored unchanged");
    let after = snapshot(&s2.layer_path(&info.diff_id).unwrap());
    for (path, node) in &before {
        assert_eq!(after.get(path), Some(node), "{}", path.display());
    }
    assert_eq!(after.len(), before.len());
    let opaque = &after[Path::new("opaque")];
    assert!(opaque
        .xattrs
        .contains(&("trusted.overlay.opaque".into(), b"y".to_vec())));
    let gone = &after[Path::new("gone")];
    assert_eq!((gone.kind, gone.rdev), ("char", 0));
    assert_eq!(
        after[Path::new("usr/bin/tool")].mode & 0o7777,
        0o4755,
        "chown must not eat setuid"
    );
}

#[test]
fn layer_tar_uses_docker_whiteout_names_and_keeps_overlay_xattrs_out() {
    let tmp = tempfile::tempdir().unwrap();
    let s = store(tmp.path());
    let src = tmp.path().join("src");
    rich_tree(&src);
    let info = s.create_layer(&src, Some(T0)).unwrap();
    let gz = fs::File::open(s.blob_path(&info.digest).unwrap()).unwrap();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(gz));
    let mut names = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        names.push(String::from_utf8_lossy(&entry.path_bytes()).into_owned());
        if let Some(exts) = entry.pax_extensions().unwrap() {
            for ext in exts {
                assert!(!ext.unwrap().key().unwrap().contains("overlay"));
            }
        }
        assert!(
            entry.header().mtime().unwrap() as i64 <= T0,
            "mtimes are clamped"
        );
    }
    assert!(names.contains(&".wh.gone".to_string()), "{names:?}");
    let opq = names
        .iter()
        .position(|n| n == "opaque/.wh..wh..opq")
        .expect("opaque marker");
    assert_eq!(names[opq - 1], "opaque/", "marker follows its directory");
    assert_eq!(names[0], "dangling");
    assert!(
        names.iter().any(|n| n.len() > 255),
        "long paths survive via PAX"
    );
}

#[test]
fn same_tree_gives_the_same_blob_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let mut blobs = Vec::new();
    for i in 0..2 {
        let s = store(&tmp.path().join(format!("s{i}")));
        let src = tmp.path().join(format!("src{i}"));
        rich_tree(&src);
        let info = s.create_layer(&src, Some(T0 + 1)).unwrap();
        blobs.push((
            info.clone(),
            fs::read(s.blob_path(&info.digest).unwrap()).unwrap(),
        ));
    }
    assert_eq!(blobs[0].0, blobs[1].0);
    assert!(blobs[0].1 == blobs[1].1, "blob bytes differ");
}

#[test]
fn docker_style_whiteouts_in_an_imported_tar_become_overlay_whiteouts() {
    let tmp = tempfile::tempdir().unwrap();
    let s = store(tmp.path());
    let tar_path = tmp.path().join("layer.tar");
    let mut b = tar::Builder::new(fs::File::create(&tar_path).unwrap());
    let mut add = |path: &str, kind: tar::EntryType, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_path(path).unwrap();
        h.set_entry_type(kind);
        h.set_size(data.len() as u64);
        h.set_mode(0o755);
        h.set_cksum();
        b.append(&h, data).unwrap();
    };
    add("etc/", tar::EntryType::Directory, b"");
    add("etc/.wh.passwd", tar::EntryType::Regular, b"");
    add("var/lib/.wh..wh..opq", tar::EntryType::Regular, b"");
    add("var/lib/new", tar::EntryType::Regular, b"n");
    add(".wh..wh.plnk", tar::EntryType::Directory, b"");
    b.into_inner().unwrap();
    let info = s.import_layer_tar(&tar_path).unwrap();
    let dir = s.layer_path(&info.diff_id).unwrap();
    let tree = snapshot(&dir);
    let wh = &tree[Path::new("etc/passwd")];
    assert_eq!((wh.kind, wh.rdev), ("char", 0));
    assert!(tree[Path::new("var/lib")]
        .xattrs
        .contains(&("trusted.overlay.opaque".into(), b"y".to_vec())));
    assert_eq!(tree[Path::new("var/lib/new")].content, b"n");
    assert!(
        !tree.keys().any(|p| p.to_string_lossy().contains(".wh.")),
        "{:?}",
        tree.keys()
    );
    // The plain tar was gzipped into the blob; the diff id is the tar's own digest.
    let raw = fs::read(&tar_path).unwrap();
    use sha2::Digest;
    let want: String = sha2::Sha256::digest(&raw)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(info.diff_id, format!("sha256:{want}"));
    assert_eq!(info.uncompressed_size, raw.len() as u64);
    assert_eq!(
        &fs::read(s.blob_path(&info.digest).unwrap()).unwrap()[..2],
        &[0x1f, 0x8b]
    );
}
