//! Escape attempts against `Root`: each plants a trap inside the root that points at a
//! sentinel directory beside it, then writes through the trap and checks that the
//! sentinel is unchanged and the write landed inside the root.

use super::Root;
use std::fs;
use std::os::unix::fs::{symlink, MetadataExt};
use std::path::{Path, PathBuf};

struct Fixture {
    _tmp: tempfile::TempDir,
    root_path: PathBuf,
    sentinel: PathBuf,
    root: Root,
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let root_path = tmp.path().join("root");
    let sentinel = tmp.path().join("sentinel");
    fs::create_dir(&root_path).unwrap();
    fs::create_dir(&sentinel).unwrap();
    fs::write(sentinel.join("keep"), b"host").unwrap();
    let root = Root::open(&root_path).unwrap();
    Fixture {
        _tmp: tmp,
        root_path,
        sentinel,
        root,
    }
}

impl Fixture {
    fn assert_sentinel_untouched(&self) {
        let names: Vec<_> = fs::read_dir(&self.sentinel)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec!["keep"], "a write escaped into the sentinel dir");
        assert_eq!(fs::read(self.sentinel.join("keep")).unwrap(), b"host");
        let m = fs::metadata(self.sentinel.join("keep")).unwrap();
        assert_eq!(m.mode() & 0o7777, 0o644);
    }
    fn link(&self, name: &str, target: &Path) {
        symlink(target, self.root_path.join(name)).unwrap();
    }
}

#[test]
fn absolute_symlink_parent_resolves_inside_the_root() {
    let f = fixture();
    f.link("evil", &f.sentinel);
    // The symlink's target does not exist inside the root: no host write, an error.
    assert!(f.root.create_file("evil/file", 0o644).is_err());
    // mkdir_all follows the dangling link by creating its target inside the root.
    let made = f
        .root
        .mkdir_all("evil/sub", 0o755, |_, _, _| Ok(()))
        .unwrap();
    assert_eq!(
        Path::new(&made),
        f.sentinel.strip_prefix("/").unwrap().join("sub")
    );
    f.root.create_file("evil/sub/file", 0o644).unwrap();
    assert!(f
        .root_path
        .join(f.sentinel.strip_prefix("/").unwrap())
        .join("sub/file")
        .exists());
    f.assert_sentinel_untouched();
}

#[test]
fn dotdot_and_relative_symlinks_stop_at_the_root() {
    let f = fixture();
    f.link("up", Path::new("../../../../sentinel"));
    fs::create_dir(f.root_path.join("d")).unwrap();
    f.root.mkdir_all("up", 0o755, |_, _, _| Ok(())).unwrap();
    f.root.create_file("up/x", 0o644).unwrap();
    f.root.create_file("d/../../sentinel/y", 0o644).unwrap();
    f.root
        .mkdir_all("../../sentinel", 0o755, |_, _, _| Ok(()))
        .unwrap();
    f.root.create_file("../../sentinel/z", 0o644).unwrap();
    assert!(f.root_path.join("sentinel/x").exists());
    assert!(f.root_path.join("sentinel/y").exists());
    assert!(f.root_path.join("sentinel/z").exists());
    f.assert_sentinel_untouched();
}

#[test]
fn metadata_calls_never_follow_the_last_symlink_out() {
    let f = fixture();
    f.link("keep", &f.sentinel.join("keep"));
    f.root.lchown("keep", 12345, 12345).unwrap();
    assert!(f.root.chmod("keep", 0o777).is_err(), "chmod on a symlink");
    f.root.set_times("keep", (1, 0), (1, 0)).unwrap();
    let _ = f.root.set_xattr("keep", c"user.x", b"1");
    assert!(
        f.root.create_file("keep", 0o644).is_err(),
        "O_EXCL|O_NOFOLLOW"
    );
    f.root.remove("keep").unwrap();
    assert_eq!(fs::metadata(f.sentinel.join("keep")).unwrap().uid(), 0);
    f.assert_sentinel_untouched();
}

#[test]
fn hardlinks_cannot_reach_outside() {
    let f = fixture();
    f.link("abs", &f.sentinel.join("keep"));
    // The source resolves inside the root: /tmp/…/sentinel/keep does not exist there.
    assert!(f
        .root
        .hardlink(f.sentinel.join("keep").as_os_str(), "stolen")
        .is_err());
    // Linking a symlink links the symlink itself, not the host file.
    f.root.hardlink("abs", "alias").unwrap();
    assert!(fs::symlink_metadata(f.root_path.join("alias"))
        .unwrap()
        .file_type()
        .is_symlink());
    f.link("dir", &f.sentinel);
    assert!(f.root.hardlink("dir/keep", "stolen2").is_err());
    f.assert_sentinel_untouched();
}

#[test]
fn reading_refuses_devices_fifos_and_outside_targets() {
    let f = fixture();
    f.link("zero", Path::new("/dev/zero"));
    f.link("passwd", &f.sentinel.join("keep"));
    assert!(f.root.read("zero", 1 << 20).is_err());
    assert!(f.root.read("passwd", 1 << 20).is_err());
    nix::unistd::mkfifo(&f.root_path.join("fifo"), nix::sys::stat::Mode::S_IRWXU).unwrap();
    assert!(
        f.root.open_file("fifo").is_err(),
        "a FIFO must not be opened"
    );
    fs::write(f.root_path.join("big"), vec![b'x'; 100]).unwrap();
    assert!(f.root.read("big", 10).is_err());
    assert_eq!(f.root.read("big", 100).unwrap().len(), 100);
    fs::create_dir_all(f.root_path.join("etc")).unwrap();
    fs::write(f.root_path.join("etc/real"), b"inside").unwrap();
    f.link("alias", Path::new("/etc/real"));
    assert_eq!(f.root.read("alias", 100).unwrap(), b"inside");
}

#[test]
fn rename_and_remove_stay_inside() {
    let f = fixture();
    f.link("out", &f.sentinel);
    fs::write(f.root_path.join("a"), b"a").unwrap();
    assert!(f.root.rename("a", "out/a").is_err());
    assert!(
        f.root.remove("out/keep").is_ok(),
        "missing inside: no error"
    );
    f.root.remove("out").unwrap();
    fs::create_dir_all(f.root_path.join("tree/sub")).unwrap();
    symlink(&f.sentinel, f.root_path.join("tree/sub/link")).unwrap();
    f.root.remove("tree").unwrap();
    assert!(!f.root_path.join("tree").exists());
    f.assert_sentinel_untouched();
}

#[test]
fn host_path_resolves_symlinks_inside_the_root() {
    let f = fixture();
    fs::create_dir_all(f.root_path.join("real")).unwrap();
    f.link("abs", Path::new("/real"));
    f.link("escape", &f.sentinel);
    let canon = f.root_path.canonicalize().unwrap();
    assert_eq!(f.root.host_path("/abs/x").unwrap(), canon.join("real/x"));
    assert_eq!(
        f.root.host_path("/escape/keep").unwrap(),
        canon
            .join(f.sentinel.strip_prefix("/").unwrap())
            .join("keep")
    );
    assert_eq!(f.root.host_path("/../..").unwrap(), canon);
    assert_eq!(f.root.host_path("/new/../x").unwrap(), canon.join("x"));
    assert_eq!(
        f.root.host_path("/real/m/../../../x").unwrap(),
        canon.join("x")
    );
}

#[test]
fn mkdir_all_reports_each_new_directory_and_refuses_loops() {
    let f = fixture();
    let mut made = Vec::new();
    f.root
        .mkdir_all("/a/b/c", 0o700, |_, _, p| {
            made.push(p.to_string());
            Ok(())
        })
        .unwrap();
    assert_eq!(made, ["a", "a/b", "a/b/c"]);
    f.link("loop", Path::new("loop"));
    assert!(f.root.mkdir_all("loop/x", 0o755, |_, _, _| Ok(())).is_err());
    fs::write(f.root_path.join("file"), b"").unwrap();
    assert!(f.root.mkdir_all("file/x", 0o755, |_, _, _| Ok(())).is_err());
}

#[test]
fn tree_size_counts_the_files_below_and_follows_no_link_out() {
    let f = fixture();
    fs::write(f.root_path.join("a"), b"12345").unwrap();
    fs::create_dir_all(f.root_path.join("d/e")).unwrap();
    fs::write(f.root_path.join("d/e/b"), b"123").unwrap();
    // A link to the sentinel counts as the link itself, never what it points at.
    symlink(&f.sentinel, f.root_path.join("d/out")).unwrap();
    let link = fs::symlink_metadata(f.root_path.join("d/out"))
        .unwrap()
        .len();
    assert_eq!(f.root.dir(".").unwrap().tree_size(), 5 + 3 + link);
    f.assert_sentinel_untouched();
}
