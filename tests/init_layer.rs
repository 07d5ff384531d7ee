//! The start path of a container: the mount points its image lacks, and the files it
//! masks. An image is hostile: its /dev may be a symlink to a host directory, and a
//! masked file must still be covered with the container's own /dev/null, never with a
//! host file that the symlink names.

mod support;

use std::path::Path;
use support::*;

/// An image of busybox whose /dev is an absolute symlink to `host_dir`.
fn import_with_dev_symlink(k: &Kiste, host_dir: &Path, name: &str) {
    let tree = k.dir.path().join("hostile-tree");
    std::fs::create_dir_all(tree.join("bin")).unwrap();
    std::fs::copy("/bin/busybox", tree.join("bin/busybox")).expect("busybox-static is installed");
    std::os::unix::fs::symlink("busybox", tree.join("bin/sh")).unwrap();
    std::os::unix::fs::symlink("busybox", tree.join("bin/cat")).unwrap();
    std::os::unix::fs::symlink(host_dir, tree.join("dev")).unwrap();
    let tar = k.dir.path().join("hostile.tar");
    tar_dir(&tree, &tar);
    k.ok(&["import", tar.to_str().unwrap(), name]);
}

#[test]
fn a_dev_symlink_to_the_host_does_not_expose_a_host_file_over_a_masked_one() {
    let k = Kiste::new();
    let host = tempfile::tempdir().unwrap();
    let host_dir = host.path().canonicalize().unwrap();
    std::fs::write(host_dir.join("null"), "host secret\n").unwrap();
    import_with_dev_symlink(&k, &host_dir, "hostile");
    for flags in [&["--rm"][..], &[][..]] {
        let mut args = vec!["run"];
        args.extend(flags);
        args.extend(["--network", "none", "hostile", "/bin/cat", "/proc/keys"]);
        let out = k.ok(&args);
        assert_eq!(out, "", "run {flags:?}: /proc/keys shows a host file");
    }
    assert_eq!(
        std::fs::read_to_string(host_dir.join("null")).unwrap(),
        "host secret\n"
    );
    let left: Vec<_> = std::fs::read_dir(&host_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        left,
        ["null"],
        "the container wrote into the host directory"
    );
}
