//! What each instruction and flag puts into the image, read back through `image inspect`
//! and containers of the built image.

mod support;
use serde_json::json;
use support::build::*;

#[test]
fn config_instructions_end_up_in_image_inspect() {
    let k = kiste();
    k.busybox();
    let df = r#"ARG BASE=busybox
FROM ${BASE} AS base
ARG WHO=world
ENV A=1 B="two words"
ENV C 3
LABEL org.k=v "x y"=z
EXPOSE 80 53/udp
WORKDIR /app
WORKDIR sub
USER 1000:1000
VOLUME ["/data"]
STOPSIGNAL SIGINT
HEALTHCHECK --interval=5s --timeout=2s --retries=4 CMD echo ok
SHELL ["/bin/sh", "-ec"]
ENTRYPOINT ["/bin/echo"]
CMD ["hello", "${WHO}"]
"#;
    let ctx = k.context("ctx", &[("Dockerfile", df)]);
    k.ok(&[
        "build",
        "-q",
        "-t",
        "cfg",
        "--label",
        "extra=1",
        ctx.to_str().unwrap(),
    ]);
    let parent = k.context(
        "parent",
        &[(
            "Dockerfile",
            "FROM busybox\nONBUILD RUN echo triggered > /onbuild\n",
        )],
    );
    k.ok(&["build", "-q", "-t", "parent", parent.to_str().unwrap()]);
    let c = &k.inspect("cfg")["Config"];
    assert_eq!(
        c["Env"],
        json!([
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "A=1",
            "B=two words",
            "C=3"
        ])
    );
    assert_eq!(c["Labels"], json!({"org.k": "v", "x y": "z", "extra": "1"}));
    assert_eq!(c["ExposedPorts"], json!({"80/tcp": {}, "53/udp": {}}));
    assert_eq!(c["WorkingDir"], "/app/sub");
    assert_eq!(c["User"], "1000:1000");
    assert_eq!(c["Volumes"], json!({"/data": {}}));
    assert_eq!(c["StopSignal"], "SIGINT");
    assert_eq!(c["Healthcheck"]["Test"], json!(["CMD-SHELL", "echo ok"]));
    assert_eq!(c["Healthcheck"]["Interval"], json!(5_000_000_000u64));
    assert_eq!(c["Healthcheck"]["Retries"], json!(4));
    assert_eq!(c["Entrypoint"], json!(["/bin/echo"]));
    // Exec-form CMD is not expanded.
    assert_eq!(c["Cmd"], json!(["hello", "${WHO}"]));
    // WORKDIR creates the directory.
    assert_eq!(
        k.ok(&["run", "--rm", "--entrypoint", "", "cfg", "pwd"]),
        "/app/sub\n"
    );
    // ONBUILD triggers run in the child build.
    let child = k.context(
        "child",
        &[("Dockerfile", "FROM parent\nRUN cat /onbuild\n")],
    );
    let o = build(&k, &child, &["-t", "child"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(k.sh("child", "cat /onbuild"), "triggered\n");
}

#[test]
fn entrypoint_resets_inherited_cmd_and_shell_form_is_wrapped() {
    let k = kiste();
    k.busybox();
    let ctx = k.context(
        "ctx",
        &[("Dockerfile", "FROM busybox\nENTRYPOINT echo hi\n")],
    );
    k.ok(&["build", "-q", "-t", "ep", ctx.to_str().unwrap()]);
    let c = &k.inspect("ep")["Config"];
    assert_eq!(c["Entrypoint"], json!(["/bin/sh", "-c", "echo hi"]));
    assert_eq!(c["Cmd"], json!(null));
}

#[test]
fn multi_stage_copy_from_stage_index_and_image_with_target() {
    let k = kiste();
    k.busybox();
    let df = "FROM busybox AS one\nRUN echo one > /one\nFROM busybox AS two\nRUN echo two > /two\n\
              FROM busybox AS final\nCOPY --from=one /one /got/\nCOPY --from=1 /two /got/\nCOPY --from=busybox /bin/busybox /bb\n\
              FROM final AS unused\nRUN false\n";
    let ctx = k.context("ctx", &[("Dockerfile", df)]);
    let o = build(&k, &ctx, &["-t", "ms", "--target", "final"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        k.sh("ms", "cat /got/one /got/two; test -x /bb && echo bb"),
        "one\ntwo\nbb\n"
    );
}

#[test]
fn copy_and_add_follow_dockers_rules() {
    let k = kiste();
    k.busybox();
    let df = "FROM busybox\nRUN mkdir -p /etc && echo 'app:x:1234:2345::/:/bin/sh' >> /etc/passwd && echo 'grp:x:2345:' >> /etc/group\n\
              COPY dir /d1\nCOPY dir/ /d2/\nCOPY *.txt /txt/\nCOPY one.txt /renamed\n\
              COPY --chown=app:grp one.txt /owned\nCOPY --chmod=741 one.txt /moded\n\
              COPY <<EOF /heredoc\nfrom heredoc\nEOF\n";
    let ctx = k.context(
        "ctx",
        &[
            ("Dockerfile", df),
            ("dir/sub/f", "f\n"),
            ("one.txt", "1\n"),
            ("two.txt", "2\n"),
            ("skip.txt", "s\n"),
            (".dockerignore", "skip.txt\n"),
        ],
    );
    let o = build(&k, &ctx, &["-t", "cp"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = k.sh(
        "cp",
        "cat /d1/sub/f /d2/sub/f; ls /txt; cat /renamed; stat -c '%u:%g %a' /owned /moded; cat /heredoc",
    );
    assert_eq!(
        out,
        "f\nf\none.txt\ntwo.txt\n1\n1234:2345 644\n0:0 741\nfrom heredoc\n"
    );
}

#[test]
fn run_mounts_bind_tmpfs_and_secret_leave_nothing_in_the_layer() {
    let k = kiste();
    k.busybox();
    let secret = k.dir.path().join("token");
    std::fs::write(&secret, "s3cr3t-value").unwrap();
    let df = "FROM busybox AS src\nRUN mkdir /opt && echo staged > /opt/s\nFROM busybox\n\
              RUN --mount=type=bind,target=/ctx cat /ctx/in > /from-ctx\n\
              RUN --mount=type=bind,from=src,source=/opt,target=/o cat /o/s > /from-stage\n\
              RUN --mount=type=tmpfs,target=/t sh -c 'echo x > /t/x; ls /t > /tmpfs'\n\
              RUN --mount=type=secret,id=tok,required=true wc -c < /run/secrets/tok > /secret-len\n\
              RUN --mount=type=secret,id=tok,env=TOK sh -c 'echo ${#TOK} > /env-len'\n\
              RUN --network=none sh -c 'ls /sys/class/net > /nets'\n";
    let ctx = k.context("ctx", &[("Dockerfile", df), ("in", "ctx-file\n")]);
    let sec = format!("id=tok,src={}", secret.display());
    let o = build(&k, &ctx, &["-t", "mnt", "--secret", &sec]);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let out = k.sh("mnt", "cat /from-ctx /from-stage /tmpfs /secret-len /env-len /nets; ls -d /ctx /o /t /run 2>&1 | wc -l");
    assert_eq!(out, "ctx-file\nstaged\nx\n12\n12\nlo\n4\n");
    let gone = k.sh("mnt", "ls /ctx /o /t /run/secrets 2>/dev/null | wc -l");
    assert_eq!(gone.trim(), "0");
    // No layer blob holds the secret.
    for e in walkdir::WalkDir::new(k.root().join("images/blobs"))
        .into_iter()
        .flatten()
    {
        if e.file_type().is_file() {
            let mut gz = flate2::read::MultiGzDecoder::new(std::fs::File::open(e.path()).unwrap());
            let mut bytes = Vec::new();
            if std::io::Read::read_to_end(&mut gz, &mut bytes).is_ok() {
                assert!(
                    !bytes.windows(12).any(|w| w == b"s3cr3t-value"),
                    "secret in {}",
                    e.path().display()
                );
            }
        }
    }
    // A missing secret marked required is an error (without required=true the mount is skipped).
    let o = build(&k, &ctx, &["-t", "mnt2", "--no-cache"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("Dockerfile:7") && stderr(&o).contains("secret tok not found"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn add_unpacks_archives_and_downloads_urls_with_checksum() {
    let k = kiste();
    k.busybox();
    let ctx = k.context("ctx", &[("src/a/one", "1\n")]);
    for (flag, name) in [("z", "a.tgz"), ("j", "a.tbz"), ("J", "a.txz")] {
        let st = std::process::Command::new("tar")
            .arg(format!("c{flag}f"))
            .arg(ctx.join(name))
            .arg("-C")
            .arg(ctx.join("src"))
            .arg("a")
            .status()
            .unwrap();
        assert!(st.success());
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match std::io::Read::read(&mut s, &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let _ = std::io::Write::write_all(
                &mut s,
                b"HTTP/1.0 200 OK\r\nContent-Length: 6\r\n\r\nserved",
            );
        }
    });
    use sha2::Digest;
    let sum = format!("{:x}", sha2::Sha256::digest(b"served"));
    let df = format!("FROM busybox\nADD a.tgz /gz/\nADD a.tbz /bz\nADD a.txz /xz/\nADD --checksum=sha256:{sum} http://127.0.0.1:{port}/f.txt /dl/\n");
    std::fs::write(ctx.join("Dockerfile"), &df).unwrap();
    let o = build(&k, &ctx, &["-t", "add"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        k.sh(
            "add",
            "cat /gz/a/one /bz/a/one /xz/a/one /dl/f.txt; stat -c %a /dl/f.txt"
        ),
        "1\n1\n1\nserved600\n"
    );
    std::fs::write(ctx.join("Dockerfile"), df.replace(&sum, &"0".repeat(64))).unwrap();
    let o = build(&k, &ctx, &["-t", "add2"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("Dockerfile:5") && stderr(&o).contains("checksum mismatch"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn quiet_iidfile_stdin_dockerfile_and_stdin_context() {
    let k = kiste();
    k.busybox();
    let ctx = k.context(
        "ctx",
        &[
            ("f", "from tar\n"),
            ("Dockerfile", "FROM busybox\nCOPY f /f\n"),
        ],
    );
    let iid = k.dir.path().join("iid");
    let out = k.ok(&[
        "build",
        "-q",
        "--iidfile",
        iid.to_str().unwrap(),
        ctx.to_str().unwrap(),
    ]);
    assert!(
        out.trim().starts_with("sha256:") && out.lines().count() == 1,
        "{out}"
    );
    assert_eq!(std::fs::read_to_string(&iid).unwrap(), out.trim());
    // -f - : the Dockerfile from stdin.
    let mut c = k.cmd(&[
        "build",
        "-q",
        "-t",
        "fromstdin",
        "-f",
        "-",
        ctx.to_str().unwrap(),
    ]);
    let o = pipe(&mut c, b"FROM busybox\nRUN echo piped > /p\n");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(k.sh("fromstdin", "cat /p"), "piped\n");
    // - : the context as a tar stream.
    let tar = std::process::Command::new("tar")
        .arg("cf")
        .arg("-")
        .arg("-C")
        .arg(&ctx)
        .arg(".")
        .output()
        .unwrap();
    let o = pipe(
        &mut k.cmd(&["build", "-q", "-t", "tarctx", "-"]),
        &tar.stdout,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(k.sh("tarctx", "cat /f"), "from tar\n");
}

fn pipe(c: &mut std::process::Command, input: &[u8]) -> std::process::Output {
    use std::io::Write;
    let mut child = c
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}
