//! COPY/ADD attributes compared with docker's BuildKit (dockerd 20.10, through the Engine
//! API as tests/build_docker.rs does): existing destination directories (named and
//! implicit) keep their owner and mode, new parents are 0755 root, setuid/setgid bits
//! survive (the classic builder strips them: moby 36239), dangling symlinks in an ADDed
//! directory or archive stay links, archive members keep their owner and mode, and files
//! hardlinked in a copied directory stay hardlinked. Both
//! images are read back with `stat` in a container. `user.*` xattrs from an ADDed archive
//! are checked in kiste's layer only: docker's own layer export drops every xattr but
//! security.capability, so its saved image cannot show them (BuildKit's unpack keeps
//! them: `BestEffortXattrs` in solver/llbsolver/file/unpack.go).

mod support;
use std::io::Write;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::process::Command;
use support::build::*;
use support::docker;
use support::*;

const PATHS: &[&str] = &[
    "/opt/app",
    "/opt/app/file",
    "/srv",
    "/srv/a",
    "/srv/a/b",
    "/srv/a/b/f",
    "/bin2",
    "/bin2/suid",
    "/bin2/sgid",
    "/d2",
    "/d2/dangling",
    "/x",
    "/x/dl",
    "/x/withx",
    "/x/sub",
    "/srv/dl",
    "/srv/sub",
];

const DOCKERFILE: &str = "FROM busybox
RUN mkdir -p /opt/app /srv/a && chown 1:2 /opt/app && chmod 750 /opt/app && chown 3:3 /srv /srv/a && chmod 700 /srv && chmod 711 /srv/a
COPY d/ /opt/app/
COPY f /srv/a/b/f
COPY suid sgid /bin2/
ADD d2/ /d2/
ADD x.tar /x/
ADD x.tar /srv/
COPY hl/ /hl/
";

/// A tar with a dangling absolute symlink, a setuid file carrying `user.foo`, and a
/// 0700 directory owned by 5:6.
fn archive(path: &Path) {
    let mut b = tar::Builder::new(std::fs::File::create(path).unwrap());
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_path("dl").unwrap();
    h.set_link_name("/missing/target").unwrap();
    h.set_mode(0o777);
    h.set_size(0);
    h.set_cksum();
    b.append(&h, std::io::empty()).unwrap();
    b.append_pax_extensions([("SCHILY.xattr.user.foo", b"bar".as_slice())])
        .unwrap();
    let mut h = tar::Header::new_ustar();
    h.set_path("withx").unwrap();
    h.set_mode(0o4755);
    h.set_size(6);
    h.set_cksum();
    b.append(&h, b"xattr\n".as_slice()).unwrap();
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Directory);
    h.set_path("sub/").unwrap();
    h.set_mode(0o700);
    h.set_uid(5);
    h.set_gid(6);
    h.set_size(0);
    h.set_cksum();
    b.append(&h, std::io::empty()).unwrap();
    b.into_inner().unwrap().flush().unwrap();
}

fn context(k: &Kiste) -> std::path::PathBuf {
    let ctx = k.context(
        "ctx",
        &[
            ("Dockerfile", DOCKERFILE),
            ("d/file", "hi\n"),
            ("f", "f\n"),
            ("suid", "s\n"),
            ("sgid", "g\n"),
        ],
    );
    for (f, mode) in [("suid", 0o4755), ("sgid", 0o2711)] {
        std::fs::set_permissions(ctx.join(f), std::fs::Permissions::from_mode(mode)).unwrap();
    }
    std::fs::create_dir_all(ctx.join("hl")).unwrap();
    std::fs::write(ctx.join("hl/a"), "linked\n").unwrap();
    std::fs::hard_link(ctx.join("hl/a"), ctx.join("hl/b")).unwrap();
    std::fs::create_dir_all(ctx.join("d2")).unwrap();
    symlink("/nowhere", ctx.join("d2/dangling")).unwrap();
    archive(&ctx.join("x.tar"));
    ctx
}

fn run(cmd: &mut Command) -> String {
    let o = cmd.output().unwrap();
    assert!(
        o.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Build `ctx` with BuildKit through the Engine API (ustar context: dockerd misreads PAX).
fn buildkit(ctx: &Path, tag: &str, tmp: &Path) {
    let tar = tmp.join(format!("{tag}.tar"));
    run(Command::new("tar")
        .args(["--format=ustar", "-cf"])
        .arg(&tar)
        .arg("-C")
        .arg(ctx)
        .arg("."));
    let out = run(Command::new("curl")
        .args(["-s", "--unix-socket", "/var/run/docker.sock", "-X", "POST"])
        .args(["-H", "Content-Type: application/x-tar", "--data-binary"])
        .arg(format!("@{}", tar.display()))
        .arg(format!(
            "http://localhost/v1.41/build?version=2&t={tag}&dockerfile=Dockerfile"
        )));
    assert!(!out.contains("\"error\""), "BuildKit failed: {out}");
}

fn stat_script() -> String {
    format!(
        "for p in {}; do stat -c '%n %a %u:%g %F' $p; done; stat -c '%n %h' /hl/a /hl/b",
        PATHS.join(" ")
    )
}

#[test]
fn copy_and_add_keep_the_attributes_buildkit_keeps() {
    docker::ensure_docker();
    let k = kiste();
    let tmp = k.dir.path().to_path_buf();
    let bb = busybox_context(&tmp.join("busybox-ctx"));
    k.ok(&["build", "-q", "-t", "busybox", bb.to_str().unwrap()]);
    run(Command::new("docker")
        .env("DOCKER_BUILDKIT", "0")
        .args(["build", "-q", "-t", "busybox"])
        .arg(&bb));
    let ctx = context(&k);
    let tag = "kiste-build-docker-copy";
    k.ok(&["build", "-q", "-t", tag, ctx.to_str().unwrap()]);
    buildkit(&ctx, tag, &tmp);
    let theirs = run(Command::new("docker").args(["run", "--rm", tag, "sh", "-c", &stat_script()]));
    let ours = k.sh(tag, &stat_script());
    let _ = Command::new("docker").args(["rmi", "-f", tag]).output();
    assert_eq!(ours, theirs, "kiste (left) and BuildKit (right) differ");
    // Spot checks, so a change on both sides cannot hide what this test is about.
    for line in [
        "/opt/app 750 1:2 directory",
        "/srv 700 3:3 directory",
        "/bin2/suid 4755 0:0 regular file",
        "/bin2/sgid 2711 0:0 regular file",
        "/d2/dangling 777 0:0 symbolic link",
        "/x/sub 700 5:6 directory",
        "/hl/b 2",
    ] {
        assert!(ours.lines().any(|l| l == line), "{line} in:\n{ours}");
    }
}

#[test]
fn add_keeps_user_xattrs_from_an_archive() {
    let k = kiste();
    k.busybox();
    let ctx = context(&k);
    k.ok(&["build", "-q", "-t", "xattrs", ctx.to_str().unwrap()]);
    let inspect = k.inspect("xattrs");
    let mut found = Vec::new();
    for diff in inspect["RootFS"]["Layers"].as_array().unwrap() {
        let hex = diff.as_str().unwrap().trim_start_matches("sha256:");
        let p = k.root().join("images/layers").join(hex).join("x/withx");
        if !p.exists() {
            continue;
        }
        let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
        let mut buf = [0u8; 16];
        // SAFETY: valid C strings and buffer.
        let n = unsafe {
            libc::lgetxattr(
                c.as_ptr(),
                c"user.foo".as_ptr(),
                buf.as_mut_ptr().cast(),
                buf.len(),
            )
        };
        found.push(if n < 0 {
            Vec::new()
        } else {
            buf[..n as usize].to_vec()
        });
    }
    assert_eq!(found, vec![b"bar".to_vec()]);
}
