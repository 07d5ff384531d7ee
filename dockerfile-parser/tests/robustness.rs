//! Bad input never panics: random bytes, NUL, CRLF, a BOM, invalid UTF-8,
//! deep nesting, and every saved fuzzer regression input.

include!("../fuzz/harness.rs");

use dockerfile_parser::*;

#[test]
fn bom_is_dropped() {
    let df = parse_bytes(b"\xEF\xBB\xBF# syntax=x\nFROM a\n").unwrap();
    assert_eq!(df.syntax.as_deref(), Some("x"));
    assert_eq!(df.stages[0].from.span.column, 1);
    assert!(parse("\u{feff}FROM a\n").is_ok());
}

#[test]
fn crlf_matches_lf() {
    let lf = "FROM x\nRUN a \\\n  b\nCOPY <<EOF /d\nhi\nEOF\n";
    let crlf = lf.replace('\n', "\r\n");
    assert_eq!(
        parse_nodes(&crlf).unwrap().dump(),
        parse_nodes(lf).unwrap().dump()
    );
    let df = parse(&crlf).unwrap();
    let Instruction::Run(r) = &df.stages[0].instructions[0].node else {
        panic!()
    };
    assert_eq!(r.command, ShellOrExec::Shell("a   b".into()));
    let Instruction::Copy(c) = &df.stages[0].instructions[1].node else {
        panic!()
    };
    assert_eq!(c.heredocs[0].content, "hi\r\n");
}

#[test]
fn nul_bytes_are_text() {
    let root = parse_nodes("FROM x\nRUN a\0b\n").unwrap();
    assert_eq!(root.dump(), "(from \"x\")\n(run \"a\\x00b\")");
}

#[test]
fn invalid_utf8_is_an_error_with_position() {
    let e = parse_bytes(b"FROM x\nRUN ab\xff\n").unwrap_err();
    assert_eq!((e.line, e.column), (2, 7));
    assert!(e.message.contains("invalid UTF-8"), "{e}");
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let src = format!("FROM x\nWORKDIR {}\n", "${a:-".repeat(10_000));
    let df = parse(&src).unwrap();
    let l = shell::Lexer::default();
    let e = df.stages[0].instructions[0]
        .node
        .expand(&l, &shell::NoEnv)
        .unwrap_err();
    assert!(e.message.contains("nested too deeply"), "{e}");
    let e = parse(&format!("FROM x\n{}RUN x\n", "ONBUILD ".repeat(10_000))).unwrap_err();
    assert!(e.message.contains("nested too deeply"), "{e}");
    // Deep JSON falls back to shell form like Go's decoder (max depth 10000).
    let root = parse_nodes(&format!("CMD {}", "[".repeat(50_000))).unwrap();
    assert!(!root.children[0].json);
}

#[test]
fn random_bytes_never_panic() {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let alphabet: &[&[u8]] = &[
        b"FROM ",
        b"RUN ",
        b"COPY ",
        b"ONBUILD ",
        b"ENV ",
        b"HEALTHCHECK ",
        b"\n",
        b"\r\n",
        b"\\",
        b"`",
        b"\"",
        b"'",
        b"$",
        b"${",
        b"}",
        b"<<",
        b"EOF",
        b"-",
        b"--mount=",
        b"[",
        b"]",
        b"#",
        b"\0",
        b"\xff",
        b"\xef\xbb\xbf",
        b" ",
        b"\t",
        b"=",
        b",",
        b"a",
        b"\xc3\xa9",
    ];
    for _ in 0..3000 {
        let len = (next() % 64) as usize;
        let mut data = Vec::new();
        for _ in 0..len {
            if next() % 4 == 0 {
                data.push(next() as u8);
            } else {
                data.extend_from_slice(alphabet[(next() % alphabet.len() as u64) as usize]);
            }
        }
        exercise(&data);
    }
}

#[test]
fn fuzz_regressions() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let data = std::fs::read(e.unwrap().path()).unwrap();
        exercise(&data);
        n += 1;
    }
    assert!(n > 0);
}

#[test]
fn only_one_bom_is_dropped() {
    // Go drops one BOM; a second one is part of the keyword.
    let e = parse_bytes(b"\xEF\xBB\xBF\xEF\xBB\xBFFROM a\n").unwrap_err();
    assert!(e.message.starts_with("unknown instruction"), "{e}");
    let e = parse_bytes(b"\xEF\xBB\xBFFROM \xff\n").unwrap_err();
    assert_eq!((e.line, e.column), (1, 6));
}

#[test]
fn keyword_case_follows_go_lowercasing() {
    // The Kelvin sign lowercases to `k` (Go's strings.ToLower), so this is
    // HEALTHCHECK; the long s does not lowercase to `s`, so this is unknown.
    let df = parse("FROM a\nHEALTHCHEC\u{212a} NONE\n").unwrap();
    assert_eq!(df.stages[0].instructions[0].node.keyword(), "HEALTHCHECK");
    assert!(parse("FROM a\n\u{17f}HELL [\"a\"]\n").is_err());
    // `AS` is compared with Go's EqualFold.
    assert_eq!(
        parse("FROM a a\u{17f} b\n").unwrap().stages[0]
            .name
            .as_deref(),
        Some("b")
    );
}
