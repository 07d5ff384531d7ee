//! Bad input: each gives a clear error naming the Dockerfile line, exit code 1, and
//! stores nothing.

mod support;
use support::build::*;
use support::*;

fn fails_at(
    k: &Kiste,
    name: &str,
    df: &str,
    files: &[(&str, &str)],
    line: usize,
    needle: &str,
    extra: &[&str],
) {
    let mut all = vec![("Dockerfile", df)];
    all.extend_from_slice(files);
    let ctx = k.context(name, &all);
    let before = k.ok(&["images", "-q", "--no-trunc"]);
    let o = build(k, &ctx, extra);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{name}: {err}");
    assert!(
        err.contains(&format!("Dockerfile:{line}")),
        "{name}: no line {line} in: {err}"
    );
    assert!(
        err.to_lowercase().contains(&needle.to_lowercase()),
        "{name}: no \"{needle}\" in: {err}"
    );
    assert_eq!(
        k.ok(&["images", "-q", "--no-trunc"]),
        before,
        "{name}: an image was stored"
    );
    assert_eq!(
        std::fs::read_dir(k.root().join("build"))
            .map(|d| d.count())
            .unwrap_or(0),
        0,
        "{name}: scratch left"
    );
}

#[test]
fn bad_input_fails_with_file_and_line_and_stores_nothing() {
    let k = kiste();
    k.busybox();
    fails_at(
        &k,
        "unknown-stage",
        "FROM busybox\nCOPY --from=nope /x /x\n",
        &[],
        2,
        "nope",
        &[],
    );
    fails_at(
        &k,
        "cycle",
        "FROM busybox AS a\nCOPY --from=b /x /x\nFROM busybox AS b\n",
        &[],
        2,
        "circular",
        &[],
    );
    fails_at(
        &k,
        "outside",
        "FROM busybox\nCOPY ../x /x\n",
        &[],
        2,
        "outside",
        &[],
    );
    fails_at(
        &k,
        "unknown-user",
        "FROM busybox\nCOPY f /f\nCOPY --chown=nobody9 f /g\n",
        &[("f", "f")],
        3,
        "unable to find user nobody9",
        &[],
    );
    fails_at(
        &k,
        "bad-chmod",
        "FROM busybox\nCOPY --chmod=99z f /f\n",
        &[("f", "f")],
        2,
        "chmod",
        &[],
    );
    fails_at(
        &k,
        "unset-var",
        "FROM busybox\nARG X\nRUN echo ${X:?must be set}\n",
        &[],
        3,
        "must be set",
        &[],
    );
    fails_at(
        &k,
        "failing-run",
        "FROM busybox\nRUN echo some output; exit 3\n",
        &[],
        2,
        "returned a non-zero code: 3",
        &[],
    );
    fails_at(
        &k,
        "missing-file",
        "FROM busybox\nCOPY nothere /x\n",
        &[],
        2,
        "nothere",
        &[],
    );
}

#[test]
fn copy_of_a_symlink_leading_out_of_the_context_fails() {
    let k = kiste();
    k.busybox();
    for (name, df) in [
        ("file", "FROM busybox\nCOPY out /out\n"),
        ("dir", "FROM busybox\nCOPY dirlink/passwd /p\n"),
    ] {
        let ctx = k.context(name, &[("Dockerfile", df)]);
        std::os::unix::fs::symlink("/etc/shadow", ctx.join("out")).unwrap();
        std::os::unix::fs::symlink("/etc", ctx.join("dirlink")).unwrap();
        let o = build(&k, &ctx, &["-t", "esc"]);
        assert_eq!(o.status.code(), Some(1), "{name}: {}", stdout(&o));
        assert!(
            stderr(&o).contains("Dockerfile:2"),
            "{name}: {}",
            stderr(&o)
        );
    }
    assert!(k.ok(&["images"]).lines().all(|l| !l.starts_with("esc")));
}
