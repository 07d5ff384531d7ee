//! Real overlay mounts (root only): 0, 1 and 300 lower layers, whiteouts, unmount.

mod support;

use kiste::storage::{is_mounted, mount_overlay, unmount};
use std::fs;
use std::os::unix::fs::FileTypeExt;
use std::path::Path;
use support::store::*;

fn whiteout(path: &Path) {
    nix::sys::stat::mknod(
        path,
        nix::sys::stat::SFlag::S_IFCHR,
        nix::sys::stat::Mode::empty(),
        0,
    )
    .unwrap();
}

#[test]
fn upper_only_mount_without_lowers_works() {
    let tmp = tempfile::tempdir().unwrap();
    let (upper, work, target) = overlay_dirs(tmp.path());
    mount_overlay(&[], &upper, &work, &target, false).unwrap();
    let _m = Mounted(target.clone());
    assert!(is_mounted(&target));
    fs::write(target.join("new"), "x").unwrap();
    assert_eq!(fs::read_to_string(upper.join("new")).unwrap(), "x");
}

#[test]
fn one_lower_shows_through_and_writes_go_to_upper() {
    let tmp = tempfile::tempdir().unwrap();
    let lower = tmp.path().join("lower");
    fs::create_dir_all(lower.join("etc")).unwrap();
    fs::write(lower.join("etc/hostname"), "lower\n").unwrap();
    let (upper, work, target) = overlay_dirs(tmp.path());
    mount_overlay(std::slice::from_ref(&lower), &upper, &work, &target, false).unwrap();
    let m = Mounted(target.clone());
    assert_eq!(
        fs::read_to_string(target.join("etc/hostname")).unwrap(),
        "lower\n"
    );
    fs::remove_file(target.join("etc/hostname")).unwrap();
    let wh = fs::symlink_metadata(upper.join("etc/hostname")).unwrap();
    assert!(
        wh.file_type().is_char_device(),
        "deleting a lower file leaves a whiteout in upper"
    );
    assert!(lower.join("etc/hostname").exists());
    drop(m);
    assert!(!is_mounted(&target));
    unmount(&target).expect("unmounting twice is fine");
}

#[test]
fn whiteout_in_a_higher_layer_hides_the_lower_file_and_top_layer_wins() {
    let tmp = tempfile::tempdir().unwrap();
    let (bottom, top) = (tmp.path().join("bottom"), tmp.path().join("top"));
    fs::create_dir_all(&bottom).unwrap();
    fs::create_dir_all(&top).unwrap();
    fs::write(bottom.join("gone"), "x").unwrap();
    fs::write(bottom.join("both"), "bottom").unwrap();
    fs::write(top.join("both"), "top").unwrap();
    whiteout(&top.join("gone"));
    let (upper, work, target) = overlay_dirs(tmp.path());
    mount_overlay(&[bottom, top], &upper, &work, &target, false).unwrap();
    let _m = Mounted(target.clone());
    assert!(!target.join("gone").exists());
    assert_eq!(fs::read_to_string(target.join("both")).unwrap(), "top");
}

#[test]
fn a_layer_repeated_above_a_deletion_mounts_and_its_top_copy_wins() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, del) = (tmp.path().join("a"), tmp.path().join("del"));
    fs::create_dir_all(&a).unwrap();
    fs::write(a.join("f"), "from a\n").unwrap();
    fs::create_dir_all(&del).unwrap();
    whiteout(&del.join("f"));
    let (upper, work, target) = overlay_dirs(tmp.path());
    // a, then a layer deleting f, then the same layer a again (two steps, same change).
    mount_overlay(&[a.clone(), del, a], &upper, &work, &target, false).unwrap();
    let _m = Mounted(target.clone());
    assert_eq!(fs::read_to_string(target.join("f")).unwrap(), "from a\n");
}

#[test]
fn three_hundred_lowers_exceed_one_page_of_options_and_still_mount() {
    let tmp = tempfile::tempdir().unwrap();
    let layers_dir = tmp.path().join("a-rather-long-directory-name-for-layers");
    let lowers = numbered_lowers(&layers_dir, 300);
    let (upper, work, target) = overlay_dirs(tmp.path());
    mount_overlay(&lowers, &upper, &work, &target, false).unwrap();
    let _m = Mounted(target.clone());
    assert_eq!(fs::read_to_string(target.join("f0")).unwrap(), "0");
    assert_eq!(fs::read_to_string(target.join("f299")).unwrap(), "299");
    assert_eq!(
        fs::read_to_string(target.join("top")).unwrap(),
        "299",
        "the last lower is the top one"
    );
}

#[test]
fn image_layers_from_the_store_mount_with_whiteouts_and_opaque_dirs_applied() {
    let tmp = tempfile::tempdir().unwrap();
    let store = kiste::image::ImageStore::open(&tmp.path().join("images")).unwrap();
    let base = tmp.path().join("base");
    fs::create_dir_all(base.join("etc")).unwrap();
    fs::create_dir_all(base.join("var/cache")).unwrap();
    fs::write(base.join("etc/passwd"), "root").unwrap();
    fs::write(base.join("etc/group"), "root").unwrap();
    fs::write(base.join("var/cache/old"), "old").unwrap();
    let bottom = store.create_layer(&base, None).unwrap();

    // A docker-style layer tar: delete etc/passwd, replace var/cache wholesale.
    let tar_path = tmp.path().join("top.tar");
    let mut b = tar::Builder::new(fs::File::create(&tar_path).unwrap());
    for (path, data) in [
        ("etc/.wh.passwd", ""),
        ("var/cache/.wh..wh..opq", ""),
        ("var/cache/new", "new"),
    ] {
        let mut h = tar::Header::new_ustar();
        h.set_path(path).unwrap();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append(&h, data.as_bytes()).unwrap();
    }
    b.into_inner().unwrap();
    let top = store.import_layer_tar(&tar_path).unwrap();

    let layers = [bottom, top];
    let config = kiste::image::config::ImageConfig {
        architecture: "amd64".into(),
        os: "linux".into(),
        rootfs: kiste::image::config::RootFs {
            kind: "layers".into(),
            diff_ids: layers.iter().map(|l| l.diff_id.clone()).collect(),
        },
        ..Default::default()
    };
    let image = store.commit_image(&config, &layers, &[]).unwrap();
    let lowers = store.layer_dirs(&image).unwrap();
    let (upper, work, target) = overlay_dirs(tmp.path());
    mount_overlay(&lowers, &upper, &work, &target, false).unwrap();
    let _m = Mounted(target.clone());
    assert!(
        !target.join("etc/passwd").exists(),
        "whiteout hides the lower file"
    );
    assert_eq!(
        fs::read_to_string(target.join("etc/group")).unwrap(),
        "root"
    );
    assert!(
        !target.join("var/cache/old").exists(),
        "opaque dir hides lower contents"
    );
    assert_eq!(
        fs::read_to_string(target.join("var/cache/new")).unwrap(),
        "new"
    );
}

#[test]
fn a_container_upper_dir_becomes_a_layer_with_docker_whiteouts() {
    let tmp = tempfile::tempdir().unwrap();
    let store = kiste::image::ImageStore::open(&tmp.path().join("images")).unwrap();
    let lower = tmp.path().join("lower");
    fs::create_dir_all(lower.join("d")).unwrap();
    fs::write(lower.join("x"), "x").unwrap();
    fs::write(lower.join("d/old"), "old").unwrap();
    let (upper, work, target) = overlay_dirs(tmp.path());
    mount_overlay(std::slice::from_ref(&lower), &upper, &work, &target, false).unwrap();
    {
        let _m = Mounted(target.clone());
        fs::remove_file(target.join("x")).unwrap();
        fs::remove_dir_all(target.join("d")).unwrap();
        fs::create_dir(target.join("d")).unwrap(); // the kernel marks it opaque
        fs::write(target.join("d/new"), "new").unwrap();
    }
    let info = store.create_layer(&upper, None).unwrap();
    let gz = fs::File::open(store.blob_path(&info.digest).unwrap()).unwrap();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(gz));
    let names: Vec<String> = archive
        .entries()
        .unwrap()
        .map(|e| String::from_utf8_lossy(&e.unwrap().path_bytes()).into_owned())
        .collect();
    assert_eq!(
        names,
        vec!["d/", "d/.wh..wh..opq", "d/new", ".wh.x"]
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>()
    );
}
