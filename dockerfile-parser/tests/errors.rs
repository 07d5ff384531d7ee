//! Error reporting: every error names the problem and carries the line and
//! column of the offending instruction.

use dockerfile_parser::shell::Lexer;
use dockerfile_parser::*;

fn err(src: &str) -> Error {
    parse(src).expect_err(src)
}

#[test]
fn unknown_instruction_did_you_mean() {
    let e = err("FROM x\n  RUNN echo\n");
    assert_eq!(e.message, "unknown instruction: RUNN (did you mean RUN?)");
    assert_eq!((e.line, e.column), (2, 3));
    let e = err("FORM x\n");
    assert_eq!(e.message, "unknown instruction: FORM (did you mean FROM?)");
    let e = err("FROM x\nCOPPY a b\n");
    assert!(e.message.ends_with("(did you mean COPY?)"), "{e}");
    let e = err("FROM x\nXYZZY a\n");
    assert_eq!(e.message, "unknown instruction: XYZZY");
}

#[test]
fn unterminated_heredoc() {
    let e = err("FROM x\nRUN <<EOF\necho\n");
    assert!(e.message.starts_with("unterminated heredoc"), "{e}");
    assert_eq!((e.line, e.column), (2, 1));
}

#[test]
fn invalid_flag_for_instruction() {
    let e = err("FROM x\nRUN --chown=1 true\n");
    assert!(e.message.starts_with("unknown flag: --chown"), "{e}");
    let e = err("FROM x\nCOPY --chwon=1 a b\n");
    assert_eq!(e.message, "unknown flag: --chwon (did you mean --chown?)");
    let e = err("FROM x\nWORKDIR --x=1 /a\n");
    assert_eq!(e.message, "unknown flag: --x (WORKDIR takes no flags)");
    let e = err("FROM x\nCOPY --from=a --from=b a b\n");
    assert_eq!(e.message, "duplicate flag specified: --from");
    let e = err("FROM x\nCOPY --link=maybe a b\n");
    assert!(
        e.message
            .starts_with("expecting boolean value for flag --link"),
        "{e}"
    );
    let e = err("FROM x\nCOPY --from a b\n");
    assert_eq!(e.message, "missing a value on flag: --from");
    let e = err("FROM x\nRUN --network=bridge true\n");
    assert!(
        e.message.starts_with("invalid network mode \"bridge\""),
        "{e}"
    );
    let e = err("FROM x\nRUN --security=open true\n");
    assert!(
        e.message.starts_with("security \"open\" is not valid"),
        "{e}"
    );
    let e = err("FROM x\nCOPY --link= a b\n");
    assert_eq!(e.message, "missing a value on flag: --link");
    let e = err("FROM --plat=x y\n");
    assert!(e.message.contains("did you mean --platform?"), "{e}");
}

#[test]
fn missing_arguments() {
    assert_eq!(
        err("FROM x\nUSER\n").message,
        "USER requires exactly one argument"
    );
    assert_eq!(
        err("FROM\n").message,
        "FROM requires either one or three arguments (missing the image)"
    );
    assert_eq!(
        err("FROM a b\n").message,
        "FROM requires either one or three arguments"
    );
    assert_eq!(
        err("FROM x\nHEALTHCHECK CMD\n").message,
        "Missing command after HEALTHCHECK CMD"
    );
    assert_eq!(
        err("FROM x\nHEALTHCHECK NONE x\n").message,
        "HEALTHCHECK NONE takes no arguments"
    );
    assert!(err("FROM x\nHEALTHCHECK FOO x\n")
        .message
        .starts_with("Unknown type \"FOO\" in HEALTHCHECK"));
    assert_eq!(
        err("FROM x\nSHELL\n").message,
        "SHELL requires at least one argument"
    );
    assert_eq!(
        err("FROM x\nSHELL sh -c\n").message,
        "SHELL requires the arguments to be in JSON form"
    );
    assert_eq!(
        err("FROM x\nARG =1\n").message,
        "ARG names can not be blank"
    );
    assert_eq!(
        err("FROM x\nVOLUME [\"\"]\n").message,
        "VOLUME specified can not be an empty string"
    );
}

#[test]
fn bad_mount_syntax() {
    let cases = [
        ("type=nope,target=/x", "unsupported mount type \"nope\""),
        ("type=cach,target=/x", "(did you mean cache?)"),
        (
            "type=cache,target=/x,foo=bar",
            "unexpected key 'foo' in 'foo=bar'",
        ),
        ("type=cache,targte=/x", "(did you mean target?)"),
        ("type=cache,target=/x,uid=abc", "invalid value abc for uid"),
        (
            "type=cache,target=/x,mode=999",
            "invalid value 999 for mode",
        ),
        (
            "type=bind,target=/x,mode=0755",
            "mode not allowed for \"bind\" type mounts",
        ),
        (
            "type=cache,target=/x,sharing=everyone",
            "unsupported sharing value \"everyone\"",
        ),
        (
            "type=tmpfs,target=/x,sharing=shared",
            "invalid cache sharing set for tmpfs mount",
        ),
        ("type=bind", "mount type bind requires a target"),
        (
            "type=cache,target=/x,bogus",
            "invalid field 'bogus' must be a key=value pair",
        ),
        (
            "type=cache,target=/x,required",
            "unexpected key 'required' for mount type 'cache'",
        ),
        (
            "type=bind,target=/x,size=1m",
            "unexpected key 'size' for mount type 'bind'",
        ),
        (
            "type=bind,target=/x,ro=maybe",
            "invalid value for ro: maybe",
        ),
        (
            "type=secret,id=a,from=x",
            "secret mount should not have a from",
        ),
        (
            "type=secret",
            "invalid secret mount. one of source, target required",
        ),
        (
            "type=secret,id=a,source=b",
            "both source and id can't be set",
        ),
        (
            "required,type=secret,id=a",
            "unexpected key 'required' for mount type 'bind'",
        ),
        (
            "type=cache,\\\"target=/a\\\"x",
            "extraneous or missing \" in quoted-field",
        ),
        ("type=cache,target=/a\\\"b", "bare \" in non-quoted-field"),
    ];
    for (m, want) in cases {
        let e = err(&format!("FROM x\nRUN --mount={m} true\n"));
        assert!(e.message.starts_with("invalid --mount: "), "{m}: {e}");
        assert!(e.message.contains(want), "{m}: {e}");
        assert_eq!(e.line, 2);
    }
}

#[test]
fn mandatory_variable_failures() {
    let l = Lexer::new('\\');
    let env: Vec<String> = vec!["EMPTY=".into()];
    let e = l.expand_word("${X:?must be set}", &env).unwrap_err();
    assert!(e.message.contains("X: must be set"), "{e}");
    let e = l.expand_word("${EMPTY:?}", &env).unwrap_err();
    assert!(
        e.message.contains("EMPTY: is not allowed to be empty"),
        "{e}"
    );
    let df = parse("FROM x\nWORKDIR ${DIR:?set DIR}\n").unwrap();
    let e = df.stages[0].instructions[0]
        .node
        .expand(&l, &env)
        .unwrap_err();
    assert!(e.to_string().contains("DIR: set DIR"), "{e}");
}

#[test]
fn from_missing() {
    let e = err("RUN true\nFROM x\n");
    assert!(
        e.message
            .starts_with("FROM missing: RUN comes before the first FROM"),
        "{e}"
    );
    assert_eq!(e.line, 1);
    let e = err("ARG A=1\n");
    assert!(e.message.starts_with("FROM missing"), "{e}");
    // Only ARG may come before FROM.
    assert_eq!(parse("ARG A\nFROM x\n").unwrap().meta_args.len(), 1);
}

#[test]
fn duplicate_stage_names() {
    let e = err("FROM a AS build\nFROM b AS BUILD\n");
    assert!(
        e.message.starts_with("duplicate stage name \"build\""),
        "{e}"
    );
    assert_eq!((e.line, e.column), (2, 1));
}

#[test]
fn invalid_stage_name() {
    let e = err("FROM a AS 1st\n");
    assert!(
        e.message
            .starts_with("invalid name for build stage: \"1st\""),
        "{e}"
    );
}

#[test]
fn directive_errors() {
    let e = err("# escape=x\nFROM a\n");
    assert_eq!(e.message, "invalid escape token 'x' does not match ` or \\");
    assert_eq!(e.line, 1);
    let e = err("# syntax=a\n# syntax=b\nFROM a\n");
    assert_eq!(e.message, "only one syntax parser directive can be used");
    assert_eq!(e.line, 2);
}

#[test]
fn nested_json_error_location() {
    let e = err("FROM a\n\nCMD [\"a\", [1]]\n");
    assert_eq!(
        e.message,
        "when using JSON array syntax, arrays must be comprised of strings only"
    );
    assert_eq!((e.line, e.column), (3, 1));
}

#[test]
fn empty_file() {
    assert_eq!(err("").message, "file with no instructions");
    assert_eq!(
        err("# just a comment\n\n").message,
        "file with no instructions"
    );
}

#[test]
fn error_display_is_message() {
    let e = err("FROM x\nBOGUS\n");
    assert_eq!(e.to_string(), e.message);
    let _: &dyn std::error::Error = &e;
}
