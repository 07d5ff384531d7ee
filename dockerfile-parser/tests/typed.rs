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
    assert_eq!(
        i[7].node,
        Instruction::Expose(vec!["80".into(), "443/udp".into()])
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
