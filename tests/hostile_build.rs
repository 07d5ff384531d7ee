//! Hostile Dockerfiles, contexts and archives against `kiste build`: each test plants a
//! trap aimed at a sentinel directory under /tmp (unique per test, its files owned by
//! uid 12345) and checks after the build, whether it failed or not, that the sentinel's
//! names, contents, modes and owners are exactly as before. Where the build succeeds,
//! the test also checks where the write landed inside the image.

mod support;

use std::collections::BTreeMap;
use std::os::unix::fs::{symlink, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};
use support::Kiste;

const OWNER: u32 = 12345;

struct Sentinel {
    dir: tempfile::TempDir,
    before: BTreeMap<PathBuf, String>,
}

impl Sentinel {
    fn new() -> Sentinel {
        let dir = tempfile::Builder::new()
            .prefix("kiste-sentinel-")
            .tempdir_in("/tmp")
            .unwrap();
        let p = dir.path();
        std::fs::create_dir(p.join("sub")).unwrap();
        std::fs::write(p.join("keep"), "host file\n").unwrap();
        std::fs::write(p.join("sub/deep"), "deep\n").unwrap();
        std::fs::write(p.join("passwd"), "evil:x:4242:4242::/:/bin/sh\n").unwrap();
        std::fs::write(p.join("group"), "evil:x:4242:\n").unwrap();
        for f in ["", "sub", "keep", "sub/deep", "passwd", "group"] {
            std::os::unix::fs::lchown(p.join(f), Some(OWNER), Some(OWNER)).unwrap();
        }
        let mut s = Sentinel {
            dir,
            before: BTreeMap::new(),
        };
        s.before = s.snapshot();
        s
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn p(&self) -> String {
        self.path().to_str().unwrap().to_string()
    }

    /// Every entry below the sentinel with its type, mode, owner and content.
    fn snapshot(&self) -> BTreeMap<PathBuf, String> {
        let mut out = BTreeMap::new();
        for e in walkdir::WalkDir::new(self.path()) {
            let e = e.unwrap();
            let m = e.path().symlink_metadata().unwrap();
            let content = if m.is_file() {
                std::fs::read_to_string(e.path()).unwrap()
            } else if m.file_type().is_symlink() {
                std::fs::read_link(e.path()).unwrap().display().to_string()
            } else {
                String::new()
            };
            out.insert(
                e.path().to_path_buf(),
                format!("{:o} {}:{} {content:?}", m.mode(), m.uid(), m.gid()),
            );
        }
        out
    }

    fn assert_untouched(&self, what: &str) {
        assert_eq!(
            self.snapshot(),
            self.before,
            "{what}: the build changed the host outside the store"
        );
    }
}

/// `kiste build -t TAG CTX`, killed (and the test failed) if it takes over two minutes:
/// a read of /dev/zero must not hang a build.
fn build(k: &Kiste, ctx: &Path, tag: &str) -> Output {
    let mut child = k
        .cmd(&["build", "-t", tag, ctx.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("build of {tag} hung");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn setup() -> (Kiste, Sentinel) {
    let k = Kiste::new();
    k.busybox();
    (k, Sentinel::new())
}

/// A tar archive at `path` from (name, kind) members.
enum Member<'a> {
    File(&'a str, &'a str),
    Dir(&'a str),
    Symlink(&'a str, &'a str),
    Hardlink(&'a str, &'a str),
}

fn write_tar(path: &Path, members: &[Member]) {
    let mut b = tar::Builder::new(std::fs::File::create(path).unwrap());
    for m in members {
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        h.set_mtime(1_600_000_000);
        let (name, body): (&str, &[u8]) = match m {
            Member::File(n, c) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(c.len() as u64);
                (n, c.as_bytes())
            }
            Member::Dir(n) => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(0o755);
                h.set_size(0);
                (n, &[])
            }
            Member::Symlink(n, t) | Member::Hardlink(n, t) => {
                h.set_entry_type(if matches!(m, Member::Symlink(..)) {
                    tar::EntryType::Symlink
                } else {
                    tar::EntryType::Link
                });
                h.set_size(0);
                h.set_link_name_literal(t).unwrap();
                (n, &[])
            }
        };
        // Raw names: the tar crate's own setters refuse `..` and absolute paths.
        let raw = &mut h.as_old_mut().name;
        raw.fill(0);
        raw[..name.len()].copy_from_slice(name.as_bytes());
        h.set_cksum();
        b.append(&h, body).unwrap();
    }
    b.finish().unwrap();
}

fn ctx_with(k: &Kiste, name: &str, df: &str) -> PathBuf {
    k.context(name, &[("Dockerfile", df)])
}

#[test]
fn multi_source_copy_cannot_follow_a_symlink_planted_by_an_earlier_source() {
    let (k, s) = setup();
    let ctx = ctx_with(&k, "ctx", "FROM busybox\nCOPY d1/ d2/ /\n");
    std::fs::create_dir_all(ctx.join("d1")).unwrap();
    std::fs::create_dir_all(ctx.join("d2/evil")).unwrap();
    symlink(s.path(), ctx.join("d1/evil")).unwrap();
    std::fs::write(ctx.join("d2/evil/keep"), "pwned\n").unwrap();
    let o = build(&k, &ctx, "a1");
    s.assert_untouched("COPY d1/ d2/ /");
    // BuildKit refuses to copy a directory onto a symlink.
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("cannot copy to non-directory: /evil"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn globs_trailing_slashes_and_parents_cannot_follow_a_planted_symlink() {
    let (k, s) = setup();
    for (i, df) in [
        "FROM busybox\nCOPY d* /\n",
        "FROM busybox\nCOPY d1 d2/ /\n",
        "FROM busybox\nCOPY d1/evil d2/evil/keep /x/\n",
        "FROM busybox\nCOPY --parents d1/evil d2/evil/keep /\n",
        "FROM busybox\nCOPY d1/evil /x\nCOPY d2/evil/keep /x/\n",
        "FROM busybox\nCOPY d1/evil /x\nCOPY d2/evil /x/\n",
    ]
    .iter()
    .enumerate()
    {
        let ctx = ctx_with(&k, &format!("ctx{i}"), df);
        std::fs::create_dir_all(ctx.join("d1")).unwrap();
        std::fs::create_dir_all(ctx.join("d2/evil")).unwrap();
        symlink(s.path(), ctx.join("d1/evil")).unwrap();
        std::fs::write(ctx.join("d2/evil/keep"), "pwned\n").unwrap();
        let _ = build(&k, &ctx, &format!("g{i}"));
        s.assert_untouched(df);
    }
}

#[test]
fn a_symlink_from_an_earlier_layer_redirects_copy_only_inside_the_image() {
    let (k, s) = setup();
    let df = format!(
        "FROM busybox\nRUN ln -s {} /x\nCOPY f /x/keep\nCOPY f /x/new\n",
        s.p()
    );
    let ctx = k.context("ctx", &[("Dockerfile", &df), ("f", "pwned\n")]);
    let o = build(&k, &ctx, "layered");
    s.assert_untouched("symlink from a RUN layer");
    assert!(o.status.success(), "{}", stderr(&o));
    // As in docker: the symlink is followed inside the image.
    assert_eq!(
        k.sh("layered", &format!("cat {0}/keep {0}/new", s.p())),
        "pwned\npwned\n"
    );
}

#[test]
fn add_of_an_archive_and_a_directory_cannot_write_through_the_archives_symlink() {
    let (k, s) = setup();
    let ctx = ctx_with(&k, "ctx", "FROM busybox\nADD x.tar d3/ /\n");
    write_tar(
        &ctx.join("x.tar"),
        &[Member::Symlink("evil", s.path().to_str().unwrap())],
    );
    std::fs::create_dir_all(ctx.join("d3/evil")).unwrap();
    std::fs::write(ctx.join("d3/evil/keep"), "pwned\n").unwrap();
    let _ = build(&k, &ctx, "a2");
    s.assert_untouched("ADD x.tar d3/ /");
}

#[test]
fn copy_from_a_stage_cannot_follow_a_symlink_made_by_run() {
    let (k, s) = setup();
    let df = format!(
        "FROM busybox AS src\nRUN mkdir -p /d1 /d2/evil && ln -s {} /d1/evil && echo pwned > /d2/evil/keep\n\
         FROM busybox\nCOPY --from=src /d1/ /d2/ /\n",
        s.p()
    );
    let ctx = ctx_with(&k, "ctx", &df);
    let _ = build(&k, &ctx, "a3");
    s.assert_untouched("COPY --from=stage /d1/ /d2/ /");
    // Several --from sources with globs.
    let df2 = df.replace("COPY --from=src /d1/ /d2/ /", "COPY --from=src /d* /\n");
    let ctx2 = ctx_with(&k, "ctx2", &df2);
    let _ = build(&k, &ctx2, "a3b");
    s.assert_untouched("COPY --from=src /d* /");
}

#[test]
fn add_chown_of_absolute_members_chowns_only_inside_the_image() {
    let (k, s) = setup();
    let ctx = ctx_with(&k, "ctx", "FROM busybox\nADD --chown=1:1 x.tar /\n");
    let keep = format!("{}/keep", s.p());
    let sub = format!("{}/sub/", s.p());
    write_tar(
        &ctx.join("x.tar"),
        &[Member::Dir(&sub), Member::File(&keep, "from the archive\n")],
    );
    let o = build(&k, &ctx, "a4");
    s.assert_untouched("ADD --chown of absolute members");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        k.sh("a4", &format!("stat -c %u:%g {keep}; cat {keep}")),
        "1:1\nfrom the archive\n"
    );
}

#[test]
fn chown_by_name_reads_the_images_passwd_never_the_hosts() {
    let (k, s) = setup();
    // /etc/passwd and /etc/group are absolute symlinks to the sentinel's files: inside
    // the image they lead nowhere, so the name "evil" is unknown.
    let df = format!(
        "FROM busybox\nRUN mkdir -p /etc && ln -sf {0}/passwd /etc/passwd && ln -sf {0}/group /etc/group\n\
         COPY --chown=evil:evil f /f\n",
        s.p()
    );
    let ctx = k.context("ctx", &[("Dockerfile", &df), ("f", "x")]);
    let o = build(&k, &ctx, "a5");
    s.assert_untouched("--chown through a symlinked passwd");
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("unable to find user evil"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn chown_by_name_refuses_a_passwd_that_is_a_device_and_does_not_hang() {
    let (k, s) = setup();
    for (i, target) in ["/dev/zero", "/dev/stdin"].iter().enumerate() {
        let df = format!(
            "FROM busybox\nRUN mkdir -p /etc /dev && ln -sf {target} /etc/passwd\n\
             COPY --chown=someone f /f\n"
        );
        let ctx = k.context(&format!("ctx{i}"), &[("Dockerfile", &df), ("f", "x")]);
        let o = build(&k, &ctx, &format!("zero{i}"));
        assert!(!o.status.success(), "{target}");
        assert!(stderr(&o).contains("--chown=someone"), "{}", stderr(&o));
    }
    s.assert_untouched("--chown with /etc/passwd -> /dev/zero");
}

#[test]
fn a_symlink_named_as_a_source_copies_its_target_resolved_inside_the_context() {
    let (k, s) = setup();
    let ctx = k.context(
        "ctx",
        &[
            ("Dockerfile", "FROM busybox\nCOPY rel abs dirlink/ /out/\n"),
            ("real", "inside the context\n"),
            ("dir/a", "a\n"),
        ],
    );
    symlink("real", ctx.join("rel")).unwrap();
    symlink("/real", ctx.join("abs")).unwrap();
    symlink("/dir", ctx.join("dirlink")).unwrap();
    let o = build(&k, &ctx, "links");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        k.sh(
            "links",
            "cat /out/rel /out/abs /out/a; test -L /out/rel || echo regular"
        ),
        "inside the context\ninside the context\na\nregular\n"
    );
    // A source symlink that leads out of the context is not found, never read.
    let ctx2 = k.context("ctx2", &[("Dockerfile", "FROM busybox\nCOPY out /out\n")]);
    symlink(s.path().join("keep"), ctx2.join("out")).unwrap();
    let o = build(&k, &ctx2, "out");
    assert!(!o.status.success());
    s.assert_untouched("COPY of a symlink leading out");
}

#[test]
fn archive_member_with_dotdot_is_an_error_naming_the_archive_and_member() {
    let (k, s) = setup();
    let ctx = ctx_with(&k, "ctx", "FROM busybox\nADD x.tar /d/\n");
    let evil = format!("../../../../../..{}/keep", s.p());
    write_tar(&ctx.join("x.tar"), &[Member::File(&evil, "pwned\n")]);
    let o = build(&k, &ctx, "dotdot");
    s.assert_untouched("ADD with a .. member");
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("x.tar") && err.contains(&evil), "{err}");
}

#[test]
fn archive_hardlinks_and_symlinked_parents_stay_inside_the_destination() {
    let (k, s) = setup();
    let keep = format!("{}/keep", s.p());
    let cases: Vec<(&str, Vec<Member>)> = vec![
        ("hardlink-abs", vec![Member::Hardlink("stolen", &keep)]),
        (
            "hardlink-via-symlink",
            vec![
                Member::Symlink("out", s.path().to_str().unwrap()),
                Member::Hardlink("stolen", "out/keep"),
            ],
        ),
        (
            "symlinked-parent",
            vec![
                Member::Symlink("out", s.path().to_str().unwrap()),
                Member::File("out/keep", "pwned\n"),
                Member::File("out/sub/deep", "pwned\n"),
            ],
        ),
        (
            "relative-escape",
            vec![
                Member::Symlink("up", "../../../../../../../../.."),
                Member::File("up/tmp/pwned", "pwned\n"),
            ],
        ),
        (
            "whiteouts",
            vec![
                Member::Symlink("out", s.path().to_str().unwrap()),
                Member::File("out/.wh.keep", ""),
                Member::File("out/.wh..wh..opq", ""),
                Member::File(".wh.out", ""),
            ],
        ),
    ];
    for (name, members) in cases {
        let df = "FROM busybox\nADD x.tar /d/\nADD x.tar /\n";
        let ctx = ctx_with(&k, name, df);
        write_tar(&ctx.join("x.tar"), &members);
        let _ = build(&k, &ctx, name);
        s.assert_untouched(name);
    }
    assert!(!Path::new("/tmp/pwned").exists());
}

#[test]
fn run_mount_bind_of_a_context_symlink_shows_the_context_not_the_host() {
    let (k, s) = setup();
    let df = "FROM busybox\nRUN --mount=type=bind,source=out,target=/m cat /m/keep > /seen; true\n\
              RUN --mount=type=bind,source=out,target=/m,rw sh -c 'echo pwned > /m/keep'; true\n";
    let ctx = ctx_with(&k, "ctx", df);
    symlink(s.path(), ctx.join("out")).unwrap();
    let _ = build(&k, &ctx, "mnt");
    s.assert_untouched("RUN --mount=type=bind of a symlink");
}

#[test]
fn run_mount_targets_and_workdir_through_symlinks_stay_in_the_container() {
    let (k, s) = setup();
    let df = format!(
        "FROM busybox\nRUN ln -s {0} /t && ln -s {0}/sub /w\n\
         RUN --mount=type=tmpfs,target=/t/keep true\n\
         RUN --mount=type=cache,target=/t/sub/deep true\n\
         WORKDIR /w/new\nRUN pwd > here\n",
        s.p()
    );
    let ctx = ctx_with(&k, "ctx", &df);
    let _ = build(&k, &ctx, "targets");
    s.assert_untouched("RUN --mount targets and WORKDIR through symlinks");
}

#[test]
fn the_dockerfile_and_dockerignore_of_a_context_are_read_inside_it() {
    let (k, s) = setup();
    let ctx = k.context("ctx", &[("f", "x")]);
    symlink(s.path().join("keep"), ctx.join("Dockerfile")).unwrap();
    let o = build(&k, &ctx, "df");
    assert!(!o.status.success());
    assert!(!stderr(&o).contains("host file"), "{}", stderr(&o));
    let ctx2 = k.context(
        "ctx2",
        &[("Dockerfile", "FROM busybox\nCOPY f /f\n"), ("f", "x")],
    );
    symlink("/dev/zero", ctx2.join(".dockerignore")).unwrap();
    let o = build(&k, &ctx2, "ignore");
    assert!(o.status.success(), "{}", stderr(&o));
    s.assert_untouched("Dockerfile and .dockerignore symlinks");
}
