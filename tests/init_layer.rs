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

/// The entries of the store's init layer directory (layers, markers, temps).
fn init_entries(k: &Kiste) -> Vec<String> {
    let mut out: Vec<String> = match std::fs::read_dir(k.root().join("images/init")) {
        Ok(d) => d
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    };
    out.sort();
    out
}

/// What is in container `id`'s upper dir (top level), sorted.
fn upper_of(k: &Kiste, id: &str) -> Vec<String> {
    let mut out: Vec<String> =
        std::fs::read_dir(k.root().join("containers").join(id).join("upper"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
    out.sort();
    out
}

/// The sorted member names of the tar `export` writes for `id`.
fn exported(k: &Kiste, id: &str) -> Vec<String> {
    let tar = k.cmd(&["export", id]).output().unwrap();
    assert!(
        tar.status.success(),
        "{}",
        String::from_utf8_lossy(&tar.stderr)
    );
    let mut names: Vec<String> = tar::Archive::new(&tar.stdout[..])
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .map(|n| n.trim_end_matches('/').trim_start_matches("./").to_string())
        .collect();
    names.sort();
    names
}

#[test]
fn an_rm_container_takes_its_mount_points_from_the_init_layer_and_exports_them() {
    let k = Kiste::new();
    k.busybox();
    assert!(init_entries(&k).is_empty());
    let rm = k.ok(&[
        "run",
        "-d",
        "--rm",
        "--network",
        "none",
        "busybox",
        "sleep",
        "30",
    ]);
    let rm = rm.trim();
    let init = init_entries(&k);
    assert_eq!(init.len(), 1, "{init:?}");
    let layer = k.root().join("images/init").join(&init[0]);
    for p in [
        "proc",
        "sys",
        "dev",
        "etc/hosts",
        "etc/hostname",
        "etc/resolv.conf",
    ] {
        assert!(layer.join(p).exists(), "the init layer lacks {p}");
    }
    assert_eq!(
        upper_of(&k, rm),
        Vec::<String>::new(),
        "the start wrote mount points into the upper dir"
    );
    // The container sees its files where they are bound, as before.
    let hostname = k.ok(&["exec", rm, "cat", "/etc/hostname"]);
    assert_eq!(hostname.trim(), &rm[..12]);
    // A kept container (its tree is mounted on the host) exports the same tree.
    let kept = k.ok(&["run", "-d", "--network", "none", "busybox", "sleep", "30"]);
    let kept = kept.trim();
    assert_eq!(upper_of(&k, kept), ["dev", "etc", "proc", "sys"]);
    assert_eq!(exported(&k, rm), exported(&k, kept));
    assert!(k.ok(&["diff", rm]).is_empty());
    k.ok(&["rm", "-f", rm, kept]);
}

#[test]
fn a_container_with_a_volume_makes_its_own_mount_points() {
    let k = Kiste::new();
    k.busybox();
    let id = k.ok(&[
        "run",
        "-d",
        "--rm",
        "-v",
        "/data",
        "--network",
        "none",
        "busybox",
        "sleep",
        "30",
    ]);
    let id = id.trim();
    assert_eq!(upper_of(&k, id), ["data", "dev", "etc", "proc", "sys"]);
    assert!(init_entries(&k).is_empty(), "{:?}", init_entries(&k));
    k.ok(&["rm", "-f", id]);
}

#[test]
fn rmi_and_image_prune_remove_the_init_layer_of_the_image() {
    let k = Kiste::new();
    k.busybox();
    k.ok(&["tag", "busybox", "other"]);
    k.ok(&["run", "--rm", "--network", "none", "busybox", "true"]);
    assert_eq!(init_entries(&k).len(), 1);
    // Another name for the same image: its chain, and so its init layer, stays.
    k.ok(&["rmi", "other"]);
    assert_eq!(init_entries(&k).len(), 1);
    k.ok(&["rmi", "busybox"]);
    assert!(init_entries(&k).is_empty(), "{:?}", init_entries(&k));

    k.busybox();
    k.ok(&["run", "--rm", "--network", "none", "busybox", "true"]);
    assert_eq!(init_entries(&k).len(), 1);
    k.ok(&["image", "prune", "-a", "-f"]);
    assert!(k.ok(&["images", "-q"]).trim().is_empty());
    assert!(init_entries(&k).is_empty(), "{:?}", init_entries(&k));
}

#[test]
fn concurrent_first_starts_share_one_complete_init_layer() {
    let k = Kiste::new();
    k.busybox();
    let runs: Vec<_> = (0..4)
        .map(|_| {
            k.cmd(&[
                "run",
                "--rm",
                "--network",
                "none",
                "busybox",
                "cat",
                "/etc/hostname",
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    for r in runs {
        let o = r.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(String::from_utf8_lossy(&o.stdout).trim().len(), 12);
    }
    let init = init_entries(&k);
    assert_eq!(init.len(), 1, "one layer and no temp left: {init:?}");
    let layer = k.root().join("images/init").join(&init[0]);
    assert!(layer.join("etc/resolv.conf").is_file());
}
