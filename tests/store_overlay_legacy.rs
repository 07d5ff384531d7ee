//! The mount(2) fallback for kernels without `lowerdir+`. It `chdir`s when the option
//! string is too long, so it lives alone in this test binary (one test, one thread).

use kiste::storage::{mount_legacy, unmount};
use std::fs;
use std::path::PathBuf;

#[test]
fn legacy_mount_handles_three_hundred_lowers_with_relative_paths() {
    let tmp = tempfile::tempdir().unwrap();
    let layers_dir = tmp.path().join("layers");
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
    for d in [&upper, &work, &target] {
        fs::create_dir_all(d).unwrap();
    }
    let cwd = std::env::current_dir().unwrap();
    mount_legacy(&lowers, &upper, &work, &target, false).unwrap();
    assert_eq!(std::env::current_dir().unwrap(), cwd, "cwd is restored");
    let _mounted = Unmount(target.clone());
    assert_eq!(fs::read_to_string(target.join("f0")).unwrap(), "0");
    assert_eq!(fs::read_to_string(target.join("f299")).unwrap(), "299");
    assert_eq!(fs::read_to_string(target.join("top")).unwrap(), "299");
}

struct Unmount(PathBuf);
impl Drop for Unmount {
    fn drop(&mut self) {
        unmount(&self.0).unwrap();
    }
}
