//! Typed-layer tests: stages, global ARGs, instruction fields, spans and
//! expansion through `Instruction::expand`.

use std::collections::HashMap;

use dockerfile_parser::shell::Lexer;
use dockerfile_parser::*;

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn common_instructions() {
    let src = "# syntax=docker/dockerfile:1\nARG BASE=alpine\nFROM --platform=$P ${BASE}:3 AS Build\nRUN echo hi \\\n  there\nCMD [\"a\", \"b\"]\nENTRYPOINT run me\nCOPY --from=x --chown=1:1 a b /dst/\nADD --link x y\nENV A=1 B=\"two words\"\nWORKDIR /w\nEXPOSE 80 443/udp\nLABEL k=v\nUSER me\nVOLUME [\"/v\"]\nSTOPSIGNAL SIGKILL\nSHELL [\"/bin/bash\", \"-c\"]\nFROM scratch\n";
    let df = parse(src).unwrap();
    assert_eq!(df.syntax.as_deref(), Some("docker/dockerfile:1"));
    assert_eq!(df.meta_args.len(), 1);
    assert_eq!(
        df.meta_args[0].node.args,
        vec![("BASE".into(), Some("alpine".into()))]
    );
    assert_eq!(df.stages.len(), 2);
    let s = &df.stages[0];
    assert_eq!(s.name.as_deref(), Some("build"));
    assert_eq!(s.from.node.image, "${BASE}:3");
    assert_eq!(s.from.node.platform.as_deref(), Some("$P"));
    assert_eq!(s.from.node.alias.as_deref(), Some("Build"));
    assert_eq!(
        s.from.span,
        Span {
            line: 3,
            column: 1,
            end_line: 3
        }
    );
    let i = &s.instructions;
    match &i[0].node {
        Instruction::Run(r) => assert_eq!(r.command, ShellOrExec::Shell("echo hi   there".into())),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        i[0].span,
        Span {
            line: 4,
            column: 1,
            end_line: 5
        }
    );
    assert_eq!(i[0].original, "RUN echo hi   there");
    assert_eq!(
        i[1].node,
        Instruction::Cmd(ShellOrExec::Exec(vec!["a".into(), "b".into()]))
    );
    assert_eq!(
        i[2].node,
        Instruction::Entrypoint(ShellOrExec::Shell("run me".into()))
    );
    match &i[3].node {
        Instruction::Copy(c) => {
            assert_eq!(c.sources, vec!["a", "b"]);
            assert_eq!(c.dest, "/dst/");
            assert_eq!(c.from.as_deref(), Some("x"));
            assert_eq!(c.chown.as_deref(), Some("1:1"));
        }
        other => panic!("{other:?}"),
    }
    match &i[4].node {
        Instruction::Add(a) => assert!(a.link),
        other => panic!("{other:?}"),
    }
    let lexer = Lexer::new(df.escape);
    let e = i[5].node.expand(&lexer, &env(&[])).unwrap();
    assert_eq!(
        e,
        Instruction::Env(vec![
            ("A".into(), "1".into()),
            ("B".into(), "two words".into())
        ])
    );
    assert_eq!(i[6].node, Instruction::Workdir("/w".into()));
    // BuildKit sorts the ports.
    assert_eq!(
        i[7].node,
        Instruction::Expose(vec!["443/udp".into(), "80".into()])
    );
    assert_eq!(i[9].node, Instruction::User("me".into()));
    assert_eq!(i[10].node, Instruction::Volume(vec!["/v".into()]));
    assert_eq!(i[11].node, Instruction::StopSignal("SIGKILL".into()));
    assert_eq!(
        i[12].node,
        Instruction::Shell(vec!["/bin/bash".into(), "-c".into()])
    );
    assert_eq!(i[12].node.keyword(), "SHELL");
    let from = s
        .from
        .node
        .expand(&lexer, &env(&[("BASE", "debian"), ("P", "linux/arm64")]))
        .unwrap();
    assert_eq!(from.image, "debian:3");
    assert_eq!(from.platform.as_deref(), Some("linux/arm64"));
}

#[test]
fn escape_directive_backtick() {
    let df = parse("# escape=`\nFROM x\nRUN a `\n  b\nWORKDIR c:\\windows\n").unwrap();
    assert_eq!(df.escape, '`');
    let i = &df.stages[0].instructions;
    assert_eq!(
        i[0].node,
        Instruction::Run(Run {
            command: ShellOrExec::Shell("a   b".into()),
            heredocs: vec![],
            mounts: vec![],
            network: None,
            security: None,
        })
    );
    assert_eq!(i[1].node, Instruction::Workdir("c:\\windows".into()));
}

#[test]
fn lexer_basics() {
    let l = Lexer::new('\\');
    let e = env(&[("A", "x y"), ("E", "")]);
    assert_eq!(
        l.expand_word("$A-${A}-${B:-d}-${E:-f}", &e).unwrap(),
        "x y-x y-d-f"
    );
    assert_eq!(
        l.expand_words("a $A 'q r'", &e).unwrap(),
        vec!["a", "x", "y", "q r"]
    );
}

fn only(src: &str) -> Instruction {
    let df = parse(&format!("FROM x\n{src}")).unwrap_or_else(|e| panic!("{src:?}: {e}"));
    df.stages[0].instructions[0].node.clone()
}

#[test]
fn run_flags_and_mounts() {
    let Instruction::Run(r) = only("RUN --mount=type=cache,target=/root/.cache,id=pip,sharing=locked,mode=0755,uid=1000 \\\n    --mount=type=secret,id=tok,required,env=TOK \\\n    --mount=target=/src,from=build,rw \\\n    --mount=type=tmpfs,dst=/tmp,size=64m \\\n    --mount=type=ssh \\\n    --network=none --security=insecure make\n") else {
        panic!()
    };
    assert_eq!(r.command, ShellOrExec::Shell("make".into()));
    assert_eq!(r.network, Some(RunNetwork::None));
    assert_eq!(r.security, Some(RunSecurity::Insecure));
    let m = &r.mounts;
    assert_eq!(m.len(), 5);
    assert_eq!(m[0].kind, MountKind::Cache);
    assert_eq!(m[0].target.as_deref(), Some("/root/.cache"));
    assert_eq!(m[0].id.as_deref(), Some("pip"));
    assert_eq!(m[0].sharing.as_deref(), Some("locked"));
    assert_eq!(m[0].mode, Some(0o755));
    assert_eq!(m[0].uid, Some(1000));
    assert!(!m[0].readonly);
    assert_eq!(m[1].kind, MountKind::Secret);
    assert!(m[1].required);
    assert_eq!(m[1].env.as_deref(), Some("TOK"));
    assert_eq!(m[2].kind, MountKind::Bind);
    assert_eq!(m[2].from.as_deref(), Some("build"));
    assert!(!m[2].readonly);
    assert_eq!(m[3].kind, MountKind::Tmpfs);
    assert_eq!(m[3].size, Some(64 << 20));
    assert_eq!(m[4].kind, MountKind::Ssh);
    assert_eq!(
        m[0].raw,
        "type=cache,target=/root/.cache,id=pip,sharing=locked,mode=0755,uid=1000"
    );
}

#[test]
fn run_mount_expansion() {
    let Instruction::Run(r) = only("RUN --mount=type=cache,target=$DIR,uid=$UID true\n") else {
        panic!()
    };
    assert_eq!(r.mounts[0].uid, None);
    let Instruction::Run(e) = Instruction::Run(r)
        .expand(&Lexer::default(), &env(&[("DIR", "/c"), ("UID", "7")]))
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(e.mounts[0].target.as_deref(), Some("/c"));
    assert_eq!(e.mounts[0].uid, Some(7));
    let i = only("RUN --mount=from=$X,target=/a true\n");
    assert!(i.expand(&Lexer::default(), &env(&[("X", "y")])).is_err());
}

#[test]
fn run_exec_form_and_heredoc() {
    assert_eq!(
        only("RUN [\"echo\", \"hi\"]\n"),
        Instruction::Run(Run {
            command: ShellOrExec::Exec(vec!["echo".into(), "hi".into()]),
            heredocs: vec![],
            mounts: vec![],
            network: None,
            security: None
        })
    );
    let Instruction::Run(r) = only("RUN <<EOF bash\necho $HOME\nEOF\n") else {
        panic!()
    };
    assert_eq!(r.command, ShellOrExec::Shell("<<EOF bash".into()));
    assert_eq!(
        r.heredocs,
        vec![Heredoc {
            name: "EOF".into(),
            content: "echo $HOME\n".into(),
            expand: true,
            chomp: false
        }]
    );
}

#[test]
fn copy_all_flags() {
    let Instruction::Copy(c) = only("COPY --from=build --chown=app:app --chmod=0644 --link --exclude=*.md --exclude=.git --parents=true [\"a b\", \"/d/\"]\n") else {
        panic!()
    };
    assert_eq!(c.sources, vec!["a b"]);
    assert_eq!(c.dest, "/d/");
    assert_eq!(c.from.as_deref(), Some("build"));
    assert_eq!(c.chown.as_deref(), Some("app:app"));
    assert_eq!(c.chmod.as_deref(), Some("0644"));
    assert!(c.link && c.parents);
    assert_eq!(c.exclude, vec!["*.md", ".git"]);
}

#[test]
fn add_all_flags() {
    let Instruction::Add(a) = only("ADD --keep-git-dir --checksum=sha256:abc --unpack=false --chown=1 --chmod=755 --link=false --exclude=x https://e.com/a.git /src\n") else {
        panic!()
    };
    assert!(a.keep_git_dir && !a.link);
    assert_eq!(a.checksum.as_deref(), Some("sha256:abc"));
    assert_eq!(a.unpack, Some(false));
    assert_eq!(a.chown.as_deref(), Some("1"));
    assert_eq!(a.chmod.as_deref(), Some("755"));
    assert_eq!(a.exclude, vec!["x"]);
    assert_eq!(a.sources, vec!["https://e.com/a.git"]);
    let Instruction::Add(a) = only("ADD a b\n") else {
        panic!()
    };
    assert_eq!(a.unpack, None);
}

#[test]
fn healthcheck_options() {
    let Instruction::Healthcheck(h) = only("HEALTHCHECK --interval=1m30s --timeout=3s --start-period=500ms --start-interval=2s --retries=4 CMD [\"curl\", \"-f\", \"x\"]\n") else {
        panic!()
    };
    assert_eq!(
        h.test,
        HealthTest::Cmd(ShellOrExec::Exec(vec![
            "curl".into(),
            "-f".into(),
            "x".into()
        ]))
    );
    assert_eq!(h.interval, Some(std::time::Duration::from_secs(90)));
    assert_eq!(h.timeout, Some(std::time::Duration::from_secs(3)));
    assert_eq!(h.start_period, Some(std::time::Duration::from_millis(500)));
    assert_eq!(h.start_interval, Some(std::time::Duration::from_secs(2)));
    assert_eq!(h.retries, Some(4));
    let Instruction::Healthcheck(h) = only("healthcheck none\n") else {
        panic!()
    };
    assert_eq!(h.test, HealthTest::None);
    assert!(parse("FROM x\nHEALTHCHECK --retries=-1 CMD x\n").is_err());
    assert!(parse("FROM x\nHEALTHCHECK --interval=-1s CMD x\n").is_err());
}

#[test]
fn onbuild_typed() {
    let i = only("ONBUILD COPY --from=x a /b\n");
    let Instruction::Onbuild(inner, text) = i else {
        panic!()
    };
    assert_eq!(text, "COPY --from=x a /b");
    let Instruction::Copy(c) = *inner else {
        panic!()
    };
    assert_eq!(c.from.as_deref(), Some("x"));
    let Instruction::Onbuild(inner, text) = only("onbuild RUN <<EOF\necho hi\nEOF\n") else {
        panic!()
    };
    assert_eq!(text, "RUN <<EOF\necho hi\nEOF");
    let Instruction::Run(r) = *inner else {
        panic!()
    };
    assert_eq!(r.heredocs[0].content, "echo hi\n");
}

#[test]
fn case_insensitive_keywords_and_as() {
    let df = parse("from alpine as Base\nrun true\nFrom base AS second\n").unwrap();
    assert_eq!(df.stages[0].name.as_deref(), Some("base"));
    assert_eq!(df.stages[1].index, 1);
    assert_eq!(df.stages[1].from.node.image, "base");
    assert_eq!(df.stages[0].instructions[0].node.keyword(), "RUN");
}

#[test]
fn env_label_arg_maintainer_forms() {
    assert_eq!(
        only("ENV A B C\n"),
        Instruction::Env(vec![("A".into(), "B C".into())])
    );
    assert_eq!(
        only("LABEL \"a b\"=\"c d\"\n"),
        Instruction::Label(vec![("\"a b\"".into(), "\"c d\"".into())])
    );
    let l = Lexer::default();
    assert_eq!(
        only("LABEL \"a b\"=\"c $X\"\n")
            .expand(&l, &env(&[("X", "y")]))
            .unwrap(),
        Instruction::Label(vec![("a b".into(), "c y".into())])
    );
    assert_eq!(
        only("ARG a b=\"x y\"\n"),
        Instruction::Arg(Arg {
            args: vec![("a".into(), None), ("b".into(), Some("\"x y\"".into()))]
        })
    );
    assert_eq!(
        only("ARG b=\"$X y\"\n")
            .expand(&l, &env(&[("X", "1")]))
            .unwrap(),
        Instruction::Arg(Arg {
            args: vec![("b".into(), Some("1 y".into()))]
        })
    );
    assert_eq!(
        only("MAINTAINER Me <me@x>\n"),
        Instruction::Maintainer("Me <me@x>".into())
    );
}

#[test]
fn expand_per_instruction() {
    let l = Lexer::default();
    let e = env(&[
        ("D", "/data"),
        ("P", "80 443"),
        ("U", "app"),
        ("S", "TERM"),
        ("F", "a.txt"),
    ]);
    assert_eq!(
        only("WORKDIR $D/x\n").expand(&l, &e).unwrap(),
        Instruction::Workdir("/data/x".into())
    );
    assert_eq!(
        only("USER ${U}:${U}\n").expand(&l, &e).unwrap(),
        Instruction::User("app:app".into())
    );
    assert_eq!(
        only("STOPSIGNAL SIG$S\n").expand(&l, &e).unwrap(),
        Instruction::StopSignal("SIGTERM".into())
    );
    assert_eq!(
        only("EXPOSE $P 8080/tcp\n").expand(&l, &e).unwrap(),
        Instruction::Expose(vec!["80".into(), "443".into(), "8080/tcp".into()])
    );
    assert_eq!(
        only("VOLUME $D /v\n").expand(&l, &e).unwrap(),
        Instruction::Volume(vec!["/data".into(), "/v".into()])
    );
    // Not expanded: RUN, CMD, ENTRYPOINT, SHELL, HEALTHCHECK.
    for src in [
        "RUN echo $D\n",
        "CMD echo $D\n",
        "ENTRYPOINT [\"$D\"]\n",
        "SHELL [\"$D\"]\n",
        "HEALTHCHECK CMD $D\n",
    ] {
        let i = only(src);
        assert_eq!(i.expand(&l, &e).unwrap(), i, "{src}");
    }
    let Instruction::Copy(c) =
        only("COPY --chown=$U --chmod=$S $F \"$D/bc\" <<EOF <<'RAW' $D/\n$U\nEOF\n$U\nRAW\n")
            .expand(&l, &e)
            .unwrap()
    else {
        panic!()
    };
    assert_eq!(c.sources, vec!["a.txt", "/data/bc"]);
    assert_eq!(c.dest, "/data/");
    assert_eq!(c.chown.as_deref(), Some("app"));
    assert_eq!(c.chmod.as_deref(), Some("TERM"));
    assert_eq!(c.heredocs[0].content, "app\n");
    assert_eq!(c.heredocs[1].content, "$U\n");
    assert!(only("COPY --from=$U a b\n").expand(&l, &e).is_err());
    // Heredoc bodies keep their quotes (BuildKit's SkipProcessQuotes).
    let Instruction::Copy(c) = only("COPY <<EOF /f\n\"$U\" '$U' \\$U\nEOF\n")
        .expand(&l, &e)
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(c.heredocs[0].content, "\"app\" 'app' $U\n");
    // ARG keys are not expanded, default values are.
    assert_eq!(
        only("ARG $U=$U\n").expand(&l, &e).unwrap(),
        Instruction::Arg(Arg {
            args: vec![("$U".into(), Some("app".into()))]
        })
    );
    let Instruction::Add(a) = only("ADD --checksum=$S $F $D\n").expand(&l, &e).unwrap() else {
        panic!()
    };
    assert_eq!(
        (
            a.checksum.as_deref(),
            a.sources[0].as_str(),
            a.dest.as_str()
        ),
        (Some("TERM"), "a.txt", "/data")
    );
}
