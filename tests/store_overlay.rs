//! Real overlay mounts (root only): 0, 1 and 300 lower layers, whiteouts, unmount.

use kiste::storage::{is_mounted, mount_overlay, unmount};
use std::fs;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

fn whiteout(path: &Path) {
    nix::sys::stat::mknod(
        path,
        nix::sys::stat::SFlag::S_IFCHR,
        nix::sys::stat::Mode::empty(),
        0,
    )
    .unwrap();
}

struct Mounted(PathBuf);
impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = unmount(&self.0);
    }
}

#[test]
fn upper_only_mount_without_lowers_works() {
    let tmp = tempfile::tempdir().unwrap();
    let (upper, work, target) = (
        tmp.path().join("upper"),
        tmp.path().join("work"),
        tmp.path().join("merged"),
    );
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
    let (upper, work, target) = (
        tmp.path().join("upper"),
        tmp.path().join("work"),
        tmp.path().join("merged"),
    );
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
    let (upper, work, target) = (
        tmp.path().join("upper"),
        tmp.path().join("work"),
        tmp.path().join("merged"),
    );
    mount_overlay(&[bottom, top], &upper, &work, &target, false).unwrap();
    let _m = Mounted(target.clone());
    assert!(!target.join("gone").exists());
    assert_eq!(fs::read_to_string(target.join("both")).unwrap(), "top");
}

#[test]
fn three_hundred_lowers_exceed_one_page_of_options_and_still_mount() {
    let tmp = tempfile::tempdir().unwrap();
    let layers_dir = tmp.path().join("a-rather-long-directory-name-for-layers");
    let lowers: Vec<PathBuf> = (0..300)
        .map(|i| {
            let d = layers_dir.join(format!("{i:064x}"));
            fs::create_dir_all(&d).unwrap();
            fs::write(d.join(format!("f{i}")), i.to_string()).unwrap();
            fs::write(d.join("top"), i.to_string()).unwrap();
            d
        })
        .collect();
    let (upper, work, target) = (
        tmp.path().join("upper"),
        tmp.path().join("work"),
        tmp.path().join("merged"),
    );
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
