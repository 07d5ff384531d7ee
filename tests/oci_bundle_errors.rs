//! Bad input to `kiste oci`, as runc treats it: one clear line on stderr, exit status 1,
//! and nothing left behind (no state directory, no cgroup, no mount).

mod support;

use support::oci::*;
use support::runtime::serial;

/// Runs `args`, expects exit 1 with a message naming `needle`, and no trace of `id`.
fn fails_cleanly(b: &Bundle, args: &[&str], id: &str, needle: &str) {
    let out = b.oci(args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
    assert!(err.starts_with("kiste oci: "), "{args:?}: {err}");
    assert!(err.contains(needle), "{args:?}: {err:?} lacks {needle:?}");
    assert!(!b.state.join(id).exists(), "{args:?} left its state dir");
    assert!(
        b.cgroup_dirs().is_empty(),
        "{args:?} left {:?}",
        b.cgroup_dirs()
    );
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mounts.contains(b.dir().to_str().unwrap()),
        "{args:?} left a mount"
    );
}

#[test]
fn a_bundle_without_config_json_is_refused() {
    let _g = serial();
    let b = bundle("noconfig", "true");
    std::fs::remove_file(b.dir().join("config.json")).unwrap();
    fails_cleanly(&b, &["create", "x"], "x", "config.json");
}

#[test]
fn invalid_json_and_an_unknown_major_version_are_refused() {
    let _g = serial();
    let b = bundle("badjson", "true");
    std::fs::write(b.dir().join("config.json"), "{ not json").unwrap();
    fails_cleanly(&b, &["create", "x"], "x", "invalid config");
    let mut c = b.config.clone();
    c["ociVersion"] = serde_json::json!("2.0.0");
    b.write_config(&c);
    fails_cleanly(&b, &["run", "x"], "x", "unsupported ociVersion \"2.0.0\"");
}

#[test]
fn an_existing_id_is_refused_and_the_first_container_stays() {
    let _g = serial();
    let b = bundle("exists", "sleep 30");
    let (code, _, err) = b.oci_files("c", &["create", "dup"]);
    assert_eq!(code, 0, "{}", text(&err));
    let again = b.oci(&["create", "dup"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("container with id exists: dup"));
    assert_eq!(b.state("dup")["status"], "created");
    assert!(b.oci(&["delete", "dup"]).status.success());
    assert!(b.cgroup_dirs().is_empty());
}

#[test]
fn unknown_and_invalid_ids_are_refused() {
    let _g = serial();
    let b = bundle("ids", "true");
    for verb in ["state", "start", "kill", "delete"] {
        fails_cleanly(
            &b,
            &[verb, "nosuch"],
            "nosuch",
            "container does not exist: nosuch",
        );
    }
    for id in ["../escape", "a/b", ".."] {
        fails_cleanly(&b, &["create", id], id, "invalid container id");
    }
}

#[test]
fn a_bad_signal_is_refused_and_the_container_goes_on() {
    let _g = serial();
    let b = bundle("badsig", "sleep 30");
    let (code, _, err) = b.oci_files("r", &["run", "-d", "s"]);
    assert_eq!(code, 0, "{}", text(&err));
    for sig in ["NOPE", "SIGFOO", "0", "99"] {
        let k = b.oci(&["kill", "s", sig]);
        assert_eq!(k.status.code(), Some(1), "{sig}");
        assert!(
            String::from_utf8_lossy(&k.stderr).contains("invalid signal"),
            "{sig}"
        );
    }
    assert_eq!(b.state("s")["status"], "running");
    assert!(b.oci(&["delete", "-f", "s"]).status.success());
    assert!(b.cgroup_dirs().is_empty());
}

#[test]
fn a_namespace_path_must_be_a_namespace_of_its_type() {
    let _g = serial();
    let b = bundle("nspath", "true");
    for (path, needle) in [
        ("/etc/hostname", "not a namespace"),
        ("/proc/self/ns/net", "not a pid namespace"),
    ] {
        let mut c = b.config.clone();
        c["linux"]["namespaces"][0] = serde_json::json!({"type": "pid", "path": path});
        b.write_config(&c);
        fails_cleanly(&b, &["create", "n"], "n", needle);
    }
}

#[test]
fn a_mount_through_a_symlink_that_leaves_the_rootfs_is_refused() {
    let _g = serial();
    let b = bundle("escape", "true");
    std::os::unix::fs::symlink("../../../../../../tmp", b.sb.root().join("evil")).unwrap();
    let mut c = b.config.clone();
    c["mounts"].as_array_mut().unwrap().push(serde_json::json!(
        {"destination": "/evil/x", "type": "tmpfs", "source": "tmpfs"}
    ));
    b.write_config(&c);
    fails_cleanly(&b, &["create", "m"], "m", "leaves the rootfs");
    assert!(!std::path::Path::new("/tmp/x").exists());
}

#[test]
fn a_program_that_does_not_exist_fails_create_and_leaves_nothing() {
    let _g = serial();
    let b = bundle("noprog", "true");
    let mut c = b.config.clone();
    c["process"]["args"] = serde_json::json!(["/no/such/program"]);
    b.write_config(&c);
    fails_cleanly(&b, &["create", "p"], "p", "/no/such/program");
}
