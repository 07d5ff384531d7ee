//! The mount(2) fallback for kernels without `lowerdir+`. It `chdir`s when the option
//! string is too long, so it lives alone in this test binary (one test, one thread).

mod support;

use kiste::storage::mount_legacy;
use std::fs;
use support::store::*;

#[test]
fn legacy_mount_handles_three_hundred_lowers_with_relative_paths() {
    let tmp = tempfile::tempdir().unwrap();
    let layers_dir = tmp.path().join("layers");
    let lowers = numbered_lowers(&layers_dir, 300);
    let (upper, work, target) = overlay_dirs(tmp.path());
    for d in [&upper, &work, &target] {
        fs::create_dir_all(d).unwrap();
    }
    let cwd = std::env::current_dir().unwrap();
    mount_legacy(&lowers, &upper, &work, &target, false).unwrap();
    assert_eq!(std::env::current_dir().unwrap(), cwd, "cwd is restored");
    let _mounted = Mounted(target.clone());
    assert_eq!(fs::read_to_string(target.join("f0")).unwrap(), "0");
    assert_eq!(fs::read_to_string(target.join("f299")).unwrap(), "299");
    assert_eq!(fs::read_to_string(target.join("top")).unwrap(), "299");
}
