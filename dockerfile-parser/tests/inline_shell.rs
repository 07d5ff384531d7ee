//! Shell-lexer expectations that BuildKit asserts only in Go code
//! (`INLINE-EXPECTATIONS.md`, section "Shell lexer"): one test per item.

use std::collections::BTreeMap;

use dockerfile_parser::shell::{Env, Lexer};

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn word(input: &str, e: &dyn Env) -> Result<String, String> {
    Lexer::new('\\')
        .expand_word(input, e)
        .map_err(|e| e.message)
}

// --- Mandatory variables -------------------------------------------------

#[test]
fn mandatory_colon_question_plain() {
    let e = env(&[("ARG", "x"), ("VAR", "plain")]);
    assert_eq!(word("${VAR:?message here$ARG}", &e).unwrap(), "plain");
}

#[test]
fn mandatory_colon_question_empty() {
    let e = env(&[("ARG", "x"), ("VAR", "")]);
    let err = word("${VAR:?message here$ARG}", &e).unwrap_err();
    assert!(err.contains("message herex"), "{err}");
}

#[test]
fn mandatory_colon_question_unset() {
    let e = env(&[("ARG", "x")]);
    let err = word("${VAR:?message here$ARG}", &e).unwrap_err();
    assert!(err.contains("message herex"), "{err}");
}

#[test]
fn mandatory_question_plain() {
    let e = env(&[("ARG", "x"), ("VAR", "plain")]);
    assert_eq!(word("${VAR?message here$ARG}", &e).unwrap(), "plain");
}

#[test]
fn mandatory_question_empty() {
    let e = env(&[("ARG", "x"), ("VAR", "")]);
    assert_eq!(word("${VAR?message here$ARG}", &e).unwrap(), "");
}

#[test]
fn mandatory_question_unset() {
    let e = env(&[("ARG", "x")]);
    let err = word("${VAR?message here$ARG}", &e).unwrap_err();
    assert!(err.contains("message herex"), "{err}");
}

#[test]
fn mandatory_default_messages() {
    let e = env(&[("E", "")]);
    assert!(word("${U?}", &e)
        .unwrap_err()
        .contains("is not allowed to be unset"));
    assert!(word("${U:?}", &e)
        .unwrap_err()
        .contains("is not allowed to be unset"));
    assert!(word("${E:?}", &e)
        .unwrap_err()
        .contains("is not allowed to be empty"));
}

// --- Modifiers, patterns and replacement (TestProcessWithMatches) ----------

fn check(input: &str, pairs: &[(&str, &str)], want: &str) {
    let got = word(input, &env(pairs));
    assert_eq!(got.as_deref(), Ok(want), "input {input:?} env {pairs:?}");
}

fn check_err(input: &str, pairs: &[(&str, &str)]) {
    let got = word(input, &env(pairs));
    assert!(got.is_err(), "input {input:?} should fail, got {got:?}");
}

#[test]
fn unused_variable_is_unmatched() {
    let (w, m) = Lexer::new('\\')
        .expand_word_with_matches("x ${UNUSED}", &env(&[]))
        .unwrap();
    assert_eq!(w, "x ");
    assert!(m.unmatched.contains("UNUSED"));
    assert!(m.matched.is_empty());
}

#[test]
fn dash_modifier() {
    check(
        "${FOO-aaa} ${BAR-bbb} ${BAZ-ccc}",
        &[("FOO", "xxx"), ("BAR", "")],
        "xxx  ccc",
    );
}

#[test]
fn colon_dash_modifier() {
    check(
        "${FOO:-aaa} ${BAR:-bbb} ${BAZ:-ccc}",
        &[("FOO", "xxx"), ("BAR", "")],
        "xxx bbb ccc",
    );
}

#[test]
fn colon_dash_empty_word() {
    check("${FOO:-}", &[("FOO", "xxx")], "xxx");
    check("${FOO:-}", &[], "");
}

#[test]
fn plus_modifier() {
    check(
        "${FOO+aaa} ${BAR+bbb} ${BAZ+ccc}",
        &[("FOO", "xxx"), ("BAR", "")],
        "aaa bbb ",
    );
}

#[test]
fn colon_plus_modifier() {
    check(
        "${FOO:+aaa} ${BAR:+bbb} ${BAZ:+ccc}",
        &[("FOO", "xxx"), ("BAR", "")],
        "aaa  ",
    );
}

#[test]
fn question_modifier() {
    let e = [("FOO", "xxx"), ("BAR", "")];
    check("${FOO?aaa}", &e, "xxx");
    check("${BAR?bbb}", &e, "");
    check_err("${BAZ?ccc}", &e);
}

#[test]
fn colon_question_modifier() {
    let e = [("FOO", "xxx"), ("BAR", "")];
    check("${FOO:?aaa}", &e, "xxx");
    check_err("${BAR:?bbb}", &e);
    check_err("${BAZ:?ccc}", &e);
    check_err("${BAZ:?}", &e);
}

#[test]
fn assignment_forms_unsupported() {
    for e in [&[][..], &[("FOO", "x")][..]] {
        check_err("${FOO=aaa}", e);
        check_err("${FOO=:aaa}", e);
        check_err("${FOO=}", e);
        check_err("${FOO:=aaa}", e);
    }
}

#[test]
fn prefix_regex_metacharacters_are_literal() {
    check(
        r"${FOO#()[]{\}^$.\*\?|\\}",
        &[("FOO", r"()[]{}^$.*?|\x")],
        "x",
    );
}

#[test]
fn longest_suffix_escaped_star() {
    check(r"${FOO%%\**}", &[("FOO", "xx**")], "xx");
}

#[test]
fn prefix_star_x_star_y() {
    check("${FOO#*x*y}", &[("FOO", "xxyy")], "y");
}

#[test]
fn shortest_prefix_star_is_empty() {
    check("${FOO#*}", &[("FOO", "xxyy")], "xxyy");
}

#[test]
fn prefix_pattern_from_variable() {
    check("${FOO#$BAR}", &[("FOO", "xxyy"), ("BAR", "x")], "xyy");
    check("${FOO#$BAR}", &[("FOO", "xxyy"), ("BAR", "")], "xxyy");
}

#[test]
fn empty_patterns_change_nothing() {
    for p in ["${FOO#}", "${FOO##}", "${FOO%}"] {
        check(p, &[("FOO", "xxyy")], "xxyy");
    }
}

#[test]
fn longest_prefix_star_x() {
    check("${FOO##*x}", &[("FOO", "xxyy")], "yy");
}

#[test]
fn prefix_question_and_escaped_question() {
    check(r"${FOO#?\?}", &[("FOO", "???y")], "?y");
}

#[test]
fn suffix_between_defaults() {
    check("${ABC:-.}${FOO%x}${ABC:-.}", &[("FOO", "xxyy")], ".xxyy.");
}

#[test]
fn longest_suffix_with_escaped_stars() {
    check(r"${FOO%%\**\*}", &[("FOO", "a***yy*")], "a");
}

#[test]
fn longest_suffix_empty_variable_pattern() {
    check("${FOO%%$BAR}", &[("FOO", "xxyy"), ("BAR", "")], "xxyy");
}

#[test]
fn colon_with_hash_or_percent_is_error() {
    for p in ["${FOO:#}", "${FOO:##}", "${FOO:%}", "${FOO:%%}"] {
        check_err(p, &[("FOO", "xxyy")]);
    }
}

#[test]
fn replace_escaped_star_needle() {
    check(
        "${FOO/$NEEDLE/.} - ${FOO//$NEEDLE/.}",
        &[("FOO", "/foo*/*/*.txt"), ("NEEDLE", r"\*/")],
        "/foo.*/*.txt - /foo..*.txt",
    );
}

#[test]
fn replace_with_empty_replacement() {
    check(
        "${FOO/$NEEDLE/} - ${FOO//$NEEDLE/}",
        &[("FOO", "/tmp/tmp/bar.txt"), ("NEEDLE", "/tmp")],
        "/tmp/bar.txt - /bar.txt",
    );
}

#[test]
fn replace_question_needle() {
    check(
        "${FOO/$NEEDLE/$REPLACEMENT} - ${FOO//$NEEDLE/$REPLACEMENT}",
        &[
            ("FOO", "/a/foo/b/c.txt"),
            ("NEEDLE", "/?/"),
            ("REPLACEMENT", "/"),
        ],
        "/foo/b/c.txt - /foo/c.txt",
    );
}

#[test]
fn replace_url_scheme() {
    check(
        "${FOO/$NEEDLE/$REPLACEMENT}",
        &[
            ("FOO", "http://google.de"),
            ("NEEDLE", "http://"),
            ("REPLACEMENT", "https://"),
        ],
        "https://google.de",
    );
}

#[test]
fn replace_escaped_slashes() {
    check(
        r"${FOO//\//\/}",
        &[("FOO", "/tmp/foo.txt")],
        r"\/tmp\/foo.txt",
    );
}

#[test]
fn replace_empty_needle_inserts_at_start() {
    check("${FOO/$BAR/ww}", &[("FOO", "xxyy"), ("BAR", "")], "wwxxyy");
}

#[test]
fn replace_missing_slash_is_error() {
    check_err("${FOO//ww}", &[("FOO", "xxyy")]);
    check_err("${FOO//}", &[("FOO", "xxyy")]);
}

#[test]
fn replace_all_empty() {
    check("${FOO///}", &[("FOO", "xxyy")], "xxyy");
    check("${FOO///}", &[], "");
}

// --- Glob rules --------------------------------------------------------------

#[test]
fn glob_star_and_question() {
    check("${FOO#a*c}", &[("FOO", "abbbcd")], "d");
    check("${FOO#a?c}", &[("FOO", "abcd")], "d");
    check("${FOO#a?c}", &[("FOO", "abbcd")], "abbcd");
}

#[test]
fn glob_escaped_literals() {
    check(r"${FOO#\*\?\\}", &[("FOO", r"*?\x")], "x");
}

#[test]
fn glob_brace_and_slash_escapes() {
    check(r"${FOO#a\}}", &[("FOO", "a}b")], "b");
    check(r"${FOO/\//-}", &[("FOO", "a/b")], "a-b");
}

#[test]
fn glob_other_escapes_are_errors() {
    check_err(r"${FOO#\a}", &[("FOO", "a")]);
    check_err(r"${FOO/a\x/b}", &[("FOO", "a")]);
}

#[test]
fn glob_shortest_and_longest() {
    let e = [("FOO", "a.b.c")];
    check("${FOO#*.}", &e, "b.c");
    check("${FOO##*.}", &e, "c");
    check("${FOO%.*}", &e, "a.b");
    check("${FOO%%.*}", &e, "a");
}

#[test]
fn glob_replace_is_greedy_unanchored() {
    check("${FOO/b*b/X}", &[("FOO", "abcbdb")], "aX");
    check("${FOO//o/0}", &[("FOO", "foo boo")], "f00 b00");
}

// --- Platform-style release name ---------------------------------------------

const RELEASE: &str =
    "something-${VERSION}.${TARGETOS}-${TARGETARCH}${TARGETVARIANT:+-${TARGETVARIANT}}.tar.gz";

#[test]
fn release_name_arm_v7() {
    let e = [
        ("VERSION", "v1.2.3"),
        ("TARGETOS", "linux"),
        ("TARGETARCH", "arm"),
        ("TARGETVARIANT", "v7"),
    ];
    check(RELEASE, &e, "something-v1.2.3.linux-arm-v7.tar.gz");
}

#[test]
fn release_name_arm64_empty_variant() {
    let e = [
        ("VERSION", "v1.2.3"),
        ("TARGETOS", "linux"),
        ("TARGETARCH", "arm64"),
        ("TARGETVARIANT", ""),
    ];
    check(RELEASE, &e, "something-v1.2.3.linux-arm64.tar.gz");
}

#[test]
fn release_name_arm64_unset_variant() {
    let e = [
        ("VERSION", "v1.2.3"),
        ("TARGETOS", "linux"),
        ("TARGETARCH", "arm64"),
    ];
    check(RELEASE, &e, "something-v1.2.3.linux-arm64.tar.gz");
}

// --- Name rules ----------------------------------------------------------------

#[test]
fn name_reads_letters_digits_underscore() {
    check("$A_1b-", &[("A_1b", "v")], "v-");
}

#[test]
fn name_starting_with_digit_reads_digits() {
    check("$999aaa", &[("999", "n"), ("999aaa", "no")], "naaa");
}

#[test]
fn special_parameters_are_one_char_and_empty() {
    for p in ["@", "*", "#", "?", "-", "$", "!", "0"] {
        check(&format!("${p}x"), &[], "x");
    }
}

#[test]
fn dollar_without_name_is_literal() {
    check("$.", &[], "$.");
    check("a$", &[], "a$");
}

#[test]
fn bad_braces_are_errors() {
    for p in ["${}", "${:}", "${{x}", "${x"] {
        check_err(p, &[]);
    }
}

#[test]
fn last_entry_wins() {
    let e: Vec<String> = vec!["A=1".into(), "A=2".into()];
    assert_eq!(word("$A", &e).unwrap(), "2");
    let p: Vec<(String, String)> = vec![("A".into(), "1".into()), ("A".into(), "2".into())];
    assert_eq!(word("$A", &p).unwrap(), "2");
}

#[test]
fn names_are_case_sensitive_on_linux() {
    check("$pwd", &[("PWD", "/home")], "");
}
