//! `kiste cp` both ways, on stopped and running containers: docker's path rules, tar
//! streams, ownership flags, hostile symlinks in the container, and docker's errors.

mod support;

use std::io::Write;
use std::process::Stdio;
use support::Kiste;

fn setup(k: &Kiste) {
    k.busybox();
    let ctx = k.context(
        "cpimg",
        &[(
            "Dockerfile",
            "FROM busybox\nRUN mkdir -p /data/sub && echo one > /data/sub/f && chown -R 1234:5678 /data && ln -s /etc /data/etc-link && ln -s /data/sub/f /flink\n",
        )],
    );
    k.ok(&["build", "-q", "-t", "cpimg", ctx.to_str().unwrap()]);
}

#[test]
fn cp_out_of_a_stopped_container_follows_dockers_path_rules() {
    let k = Kiste::new();
    setup(&k);
    k.ok(&["create", "--name", "c1", "cpimg", "true"]);
    let out = k.dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let o = out.display().to_string();
    // Into an existing dir: under the source's name.
    k.ok(&["cp", "c1:/data", &o]);
    assert_eq!(
        std::fs::read_to_string(out.join("data/sub/f")).unwrap(),
        "one\n"
    );
    // A symlink is copied as a link, not followed onto the host.
    assert_eq!(
        std::fs::read_link(out.join("data/etc-link")).unwrap(),
        std::path::Path::new("/etc")
    );
    // Contents only with "/.", to a new name.
    k.ok(&["cp", "c1:/data/.", &format!("{o}/copy")]);
    assert!(out.join("copy/sub/f").is_file());
    // Without -a the host copy belongs to the caller; with -a it keeps its owner.
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(out.join("data/sub/f")).unwrap().uid(), 0);
    k.ok(&["cp", "-a", "c1:/data/sub/f", &format!("{o}/owned")]);
    let m = std::fs::metadata(out.join("owned")).unwrap();
    assert_eq!((m.uid(), m.gid()), (1234, 5678));
    // -L copies what a symlink points at (inside the container).
    k.ok(&["cp", "-L", "c1:/flink", &format!("{o}/followed")]);
    assert_eq!(
        std::fs::read_to_string(out.join("followed")).unwrap(),
        "one\n"
    );
    k.ok(&["cp", "c1:/flink", &format!("{o}/link")]);
    assert!(std::fs::symlink_metadata(out.join("link"))
        .unwrap()
        .file_type()
        .is_symlink());
}

#[test]
fn cp_into_stopped_and_running_containers() {
    let k = Kiste::new();
    setup(&k);
    let src = k.dir.path().join("src");
    std::fs::create_dir_all(src.join("d")).unwrap();
    std::fs::write(src.join("d/file"), "hostdata\n").unwrap();
    k.ok(&["create", "--name", "stopped", "cpimg", "cat", "/in/d/file"]);
    k.ok(&["cp", src.to_str().unwrap(), "stopped:/in"]);
    assert_eq!(k.ok(&["start", "-a", "stopped"]), "hostdata\n");

    // A stopped container's volume is written, not the path it hides.
    k.ok(&[
        "create",
        "--name",
        "withvol",
        "-v",
        "stoppedvol:/sv",
        "cpimg",
        "true",
    ]);
    k.ok(&["cp", f_path(&src).as_str(), "withvol:/sv/"]);
    assert_eq!(
        k.sh_with(&["-v", "stoppedvol:/sv"], "busybox", "cat /sv/file"),
        "hostdata\n"
    );

    k.ok(&[
        "run", "-d", "--name", "running", "-v", "vol:/vol", "cpimg", "sleep", "60",
    ]);
    let f = src.join("d/file");
    k.ok(&["cp", f.to_str().unwrap(), "running:/vol/"]);
    k.ok(&["rm", "-f", "running"]);
    // It went into the volume the running container had mounted there.
    assert_eq!(
        k.sh_with(&["-v", "vol:/vol"], "busybox", "cat /vol/file"),
        "hostdata\n"
    );
}

fn f_path(src: &std::path::Path) -> String {
    src.join("d/file").display().to_string()
}

#[test]
fn cp_tar_streams_both_ways() {
    let k = Kiste::new();
    setup(&k);
    k.ok(&["create", "--name", "c1", "cpimg", "cat", "/x/a/b"]);
    let tar = k.cmd(&["cp", "c1:/data", "-"]).output().unwrap();
    assert!(tar.status.success());
    let list = std::process::Command::new("tar")
        .args(["tv"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all(&tar.stdout)?;
            c.wait_with_output()
        })
        .unwrap();
    let list = String::from_utf8_lossy(&list.stdout);
    assert!(
        list.contains("1234/5678") && list.contains("data/sub/f"),
        "{list}"
    );

    // A tar on stdin lands in an existing directory of the container.
    let dir = k.dir.path().join("t");
    std::fs::create_dir_all(dir.join("a")).unwrap();
    std::fs::write(dir.join("a/b"), "streamed\n").unwrap();
    let tarball = k.dir.path().join("in.tar");
    support::tar_dir(&dir, &tarball);
    k.ok(&["create", "--name", "c2", "busybox", "cat", "/a/b"]);
    let mut c = k.cmd(&["cp", "-", "c2:/"]);
    c.stdin(std::fs::File::open(&tarball).unwrap());
    let r: support::Run = c.output().unwrap().into();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(k.ok(&["start", "-a", "c2"]), "streamed\n");
}

#[test]
fn cp_never_writes_outside_the_container_through_its_symlinks() {
    let k = Kiste::new();
    k.busybox();
    let outside = k.dir.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    let ctx = k.context(
        "evil",
        &[(
            "Dockerfile",
            &format!(
                "FROM busybox\nRUN ln -s /../../../../../..{o} /escape && ln -s {o}/planted /abs\n",
                o = outside.display()
            ),
        )],
    );
    k.ok(&["build", "-q", "-t", "evil", ctx.to_str().unwrap()]);
    k.ok(&["create", "--name", "c1", "evil", "true"]);
    let f = k.dir.path().join("payload");
    std::fs::write(&f, "x").unwrap();
    let _ = k.run(&["cp", f.to_str().unwrap(), "c1:/escape/payload"]);
    let _ = k.run(&["cp", f.to_str().unwrap(), "c1:/abs"]);
    let _ = k.run(&["cp", f.to_str().unwrap(), "c1:/escape/"]);
    assert_eq!(
        std::fs::read_dir(&outside).unwrap().count(),
        0,
        "cp wrote on the host"
    );
    // A tar with `..` members is refused.
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(1);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Regular);
    b.append_data(&mut h, "x", &b"x"[..]).unwrap();
    let mut bytes = b.into_inner().unwrap();
    // Patch the member name to "../../x" (tar::Builder refuses to write it).
    bytes[..7].copy_from_slice(b"../../x");
    let sum: u32 = bytes[..512]
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            if (148..156).contains(&i) {
                32
            } else {
                c as u32
            }
        })
        .sum();
    bytes[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    let mut c = k
        .cmd(&["cp", "-", "c1:/"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(&bytes).unwrap();
    let r: support::Run = c.wait_with_output().unwrap().into();
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("leaves the destination"), "{}", r.stderr);
}

#[test]
fn cp_errors_match_docker() {
    let k = Kiste::new();
    k.busybox();
    k.ok(&["create", "--name", "c1", "busybox", "true"]);
    let out = k.dir.path().join("out");
    let o = out.display().to_string();
    let r = k.run(&["cp", "c1:/nope", &o]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("Could not find the file /nope in container c1"),
        "{}",
        r.stderr
    );
    assert!(!out.exists());
    let missing = k.dir.path().join("missing");
    let r = k.run(&["cp", missing.to_str().unwrap(), "c1:/"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains(&format!(
            "lstat {}: no such file or directory",
            missing.display()
        )),
        "{}",
        r.stderr
    );
    let r = k.run(&["cp", "c1:/bin/sh", &format!("{o}/x/y")]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("invalid output path: directory"),
        "{}",
        r.stderr
    );
    let r = k.run(&["cp", "nosuch:/x", &o]);
    assert_eq!(r.code, 1);
    assert!(!out.exists());
}

#[test]
fn cp_missing_source_exit_code_is_dockers() {
    if !support::have("docker") {
        return support::skip("docker is not installed");
    }
    support::docker::ensure_docker();
    let name = format!("kiste-cp-{}", std::process::id());
    let d = std::process::Command::new("docker")
        .args(["create", "--name", &name, "busybox", "true"])
        .output()
        .unwrap();
    if !d.status.success() {
        return support::skip("docker has no busybox image");
    }
    let dr = std::process::Command::new("docker")
        .args(["cp", &format!("{name}:/nope"), "/tmp/kiste-cp-nope"])
        .output()
        .unwrap();
    let _ = std::process::Command::new("docker")
        .args(["rm", &name])
        .output();
    let k = Kiste::new();
    k.busybox();
    k.ok(&["create", "--name", "c1", "busybox", "true"]);
    let r = k.run(&["cp", "c1:/nope", "/tmp/kiste-cp-nope"]);
    assert_eq!(Some(r.code), dr.status.code());
}
