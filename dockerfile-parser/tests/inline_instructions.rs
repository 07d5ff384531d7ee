//! Instruction-layer expectations that BuildKit asserts only in Go code
//! (`INLINE-EXPECTATIONS.md`, section "Instruction layer"): one test per item.

use std::time::Duration;

use dockerfile_parser::*;

fn err(src: &str) -> Error {
    parse(src).expect_err(src)
}

fn first(src: &str) -> Instruction {
    let df = parse(src).unwrap_or_else(|e| panic!("{src:?}: {e}"));
    df.stages[0].instructions[0].node.clone()
}

#[test]
fn exactly_one_argument() {
    for kw in ["MAINTAINER", "WORKDIR", "USER", "STOPSIGNAL"] {
        let e = err(&format!("FROM x\n{kw}\n"));
        assert_eq!(e.message, format!("{kw} requires exactly one argument"));
        assert_eq!((e.line, e.column), (2, 1));
    }
}

#[test]
fn at_least_one_argument() {
    for kw in ["ENV", "LABEL", "ONBUILD", "HEALTHCHECK", "EXPOSE", "VOLUME"] {
        let e = err(&format!("FROM x\n{kw}\n"));
        assert_eq!(
            e.message,
            format!("{kw} requires at least one argument"),
            "{kw}"
        );
    }
}

#[test]
fn copy_add_need_destination() {
    for kw in ["ADD", "COPY"] {
        let e = err(&format!("FROM x\n{kw} arg1\n"));
        assert!(e.message.starts_with(&format!("{kw} requires at least two arguments, but only one was provided. Destination could not be determined")), "{e}");
    }
    let e = err("FROM x\nCOPY \\\n  \n");
    assert!(
        e.message.contains("Destination could not be determined"),
        "{e}"
    );
}

#[test]
fn env_label_args_not_multiple_of_three() {
    let mut n = parse_nodes("ENV a=b").unwrap().children.remove(0);
    n.next.pop();
    let e = instruction_from_node(&n).unwrap_err();
    assert_eq!(e.message, "Bad input to ENV, too many arguments");
    let e = err("FROM x\nENV =x\n");
    assert_eq!(e.message, "ENV names can not be blank");
    let e = err("FROM x\nLABEL =x\n");
    assert_eq!(e.message, "LABEL names can not be blank");
}

#[test]
fn onbuild_forbidden_triggers() {
    assert!(err("FROM x\nONBUILD FROM y\n")
        .message
        .contains("FROM isn't allowed as an ONBUILD trigger"));
    assert!(err("FROM x\nONBUILD MAINTAINER me\n")
        .message
        .contains("MAINTAINER isn't allowed as an ONBUILD trigger"));
    assert_eq!(
        err("FROM x\nONBUILD ONBUILD RUN y\n").message,
        "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"
    );
}

#[test]
fn flags_validated_per_instruction() {
    let e = err("FROM x\nMAINTAINER --boo x\n");
    assert!(e.message.starts_with("unknown flag: --boo"), "{e}");
    assert_eq!(e.line, 2);
}

#[test]
fn unknown_instruction_keeps_case() {
    assert!(err("FOO bar\n")
        .message
        .starts_with("unknown instruction: FOO"));
    assert!(err("foo bar\n")
        .message
        .starts_with("unknown instruction: foo"));
}

#[test]
fn healthcheck_shell_form_is_cmd_shell() {
    match first("FROM x\nHEALTHCHECK CMD hello world\n") {
        Instruction::Healthcheck(h) => {
            assert_eq!(
                h.test,
                HealthTest::Cmd(ShellOrExec::Shell("hello world".into()))
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn healthcheck_duration_minimum() {
    let e = err("FROM x\nHEALTHCHECK --interval=50ns CMD true\n");
    assert!(e.message.contains("cannot be less than 1ms"), "{e}");
    for v in ["0ms", "1ms"] {
        match first(&format!("FROM x\nHEALTHCHECK --interval={v} CMD true\n")) {
            Instruction::Healthcheck(h) => {
                assert_eq!(
                    h.interval,
                    Some(Duration::from_millis(if v == "0ms" { 0 } else { 1 }))
                )
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn doc_comments_gathered_and_cleared() {
    let root = parse_nodes("# one\n# two\n\n# three\nARG a\n# lost\n#\n# kept\nARG b\n").unwrap();
    assert_eq!(root.children[0].prev_comment, vec!["one", "two", "three"]);
    assert_eq!(root.children[1].prev_comment, vec!["kept"]);
}

#[test]
fn doc_comment_describes_arg_or_stage() {
    let root = parse_nodes(
        "# foo sets foo\n# bar is bar\nARG foo bar=1\n# base the base stage\nFROM x AS base\n",
    )
    .unwrap();
    assert_eq!(
        doc_comment(&root.children[0], "foo").as_deref(),
        Some("sets foo")
    );
    assert_eq!(
        doc_comment(&root.children[0], "bar").as_deref(),
        Some("is bar")
    );
    assert_eq!(
        doc_comment(&root.children[1], "base").as_deref(),
        Some("the base stage")
    );
    assert_eq!(doc_comment(&root.children[0], "baz"), None);
}

#[test]
fn copy_heredoc_destination_is_error() {
    let e = err("FROM x\nCOPY /foo <<EOF\nbar\nEOF\n");
    assert_eq!(e.message, "COPY cannot accept a heredoc as a destination");
}

#[test]
fn copy_mixes_inline_and_file_sources() {
    match first("FROM x\nCOPY <<EOF foo.txt /bar\nhello\nEOF\n") {
        Instruction::Copy(c) => {
            assert_eq!(c.sources, vec!["foo.txt"]);
            assert_eq!(c.dest, "/bar");
            assert_eq!(c.heredocs.len(), 1);
            assert_eq!(c.heredocs[0].name, "EOF");
            assert_eq!(c.heredocs[0].content, "hello\n");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn copy_chomped_heredoc_has_tabs_removed() {
    match first("FROM x\nCOPY <<-EOF /dest\n\tTESTING\n\tEOF\n") {
        Instruction::Copy(c) => {
            assert_eq!(c.heredocs[0].content, "TESTING\n");
            assert!(c.heredocs[0].chomp);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn run_chomped_heredoc_keeps_tabs() {
    match first("FROM x\nRUN <<-EOF\n\techo hi\nEOF\n") {
        Instruction::Run(r) => {
            assert_eq!(r.heredocs[0].content, "\techo hi\n");
            assert!(r.heredocs[0].chomp);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn run_heredoc_command_line_is_raw() {
    match first("FROM x\nRUN <<'EOF' | python\nprint(1)\nEOF\n") {
        Instruction::Run(r) => {
            assert_eq!(r.command, ShellOrExec::Shell("<<'EOF' | python".into()));
            assert!(!r.heredocs[0].expand);
        }
        other => panic!("{other:?}"),
    }
}
