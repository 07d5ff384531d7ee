//! Parser-layer expectations that BuildKit asserts only in Go code
//! (`INLINE-EXPECTATIONS.md`, section "Parser layer"): one test per item.

use dockerfile_parser::{
    chomp_heredoc_content, detect_directive, heredocs_from_line, parse_ast, parse_heredoc,
    parse_nodes, parse_words, Node, NodeHeredoc,
};

fn nodes(src: &str) -> Node {
    parse_nodes(src).unwrap_or_else(|e| panic!("{src:?}: {e}"))
}

// --- Quote-aware word splitting (TestParseWords) -------------------------------

fn words(input: &str, want: &[&str]) {
    assert_eq!(parse_words(input, '\\'), want, "input {input:?}");
}

#[test]
fn words_single() {
    words("foo", &["foo"]);
}
#[test]
fn words_two() {
    words("foo bar", &["foo", "bar"]);
}
#[test]
fn words_escaped_space() {
    words("foo\\ bar", &["foo\\ bar"]);
}
#[test]
fn words_equals() {
    words("foo=bar", &["foo=bar"]);
}
#[test]
fn words_single_quotes() {
    words("foo bar 'abc xyz'", &["foo", "bar", "'abc xyz'"]);
}
#[test]
fn words_double_quotes() {
    words("foo bar \"abc xyz\"", &["foo", "bar", "\"abc xyz\""]);
}
#[test]
fn words_unicode() {
    words("àöû", &["àöû"]);
}
#[test]
fn words_unicode_quoted() {
    words("föo bàr \"âbc xÿz\"", &["föo", "bàr", "\"âbc xÿz\""]);
}

// --- ENV/LABEL node shape -------------------------------------------------------

#[test]
fn env_legacy_shape() {
    let n = nodes("ENV foo bar");
    assert_eq!(n.children[0].args(), vec!["foo", "bar", ""]);
}

#[test]
fn env_kv_shape() {
    let n = nodes("LABEL foo=bar thing=star");
    assert_eq!(
        n.children[0].args(),
        vec!["foo", "bar", "=", "thing", "star", "="]
    );
}

#[test]
fn env_without_value_is_error() {
    let e = parse_nodes("FROM x\nENV foo\n").unwrap_err();
    assert!(e.message.contains("ENV must have two arguments"), "{e}");
    assert_eq!(e.line, 2);
}

// --- Empty-continuation warnings -------------------------------------------------

#[test]
fn empty_continuation_warnings() {
    let src = "FROM x\nRUN something \\\n\n    following \\\n\n    more\n\nRUN another \\\n\n    thing\n\nRUN non-indented \\\n# Comment\nthing\n\nRUN indented \\\n    # Comment\n    thing\n\nRUN ok \\\n    fine\n";
    let r = parse_ast(src).unwrap();
    assert_eq!(r.warnings.len(), 2, "{:?}", r.warnings);
    assert_eq!(
        r.warnings[0],
        "Empty continuation line found in: RUN something     following     more"
    );
    assert_eq!(
        r.warnings[1],
        "Empty continuation line found in: RUN another     thing"
    );
}

// --- Line numbers and limits -----------------------------------------------------

#[test]
fn long_line_is_accepted() {
    // BuildKit's Go scanner rejects lines over 65535 bytes; this port
    // deliberately has no such limit.
    let src = format!("FROM x\nLABEL a={}\n", "b".repeat(65_536));
    let n = nodes(&src);
    assert_eq!(n.children[1].args()[1].len(), 65_536);
}

// --- JSON arrays ---------------------------------------------------------------------

#[test]
fn json_valid_arrays() {
    let cases: &[(&str, &[&str])] = &[
        ("[]", &[]),
        ("[\"\"]", &[""]),
        ("[\"a\",\"b\"]", &["a", "b"]),
        ("[ \"a\", \"b\" ]", &["a", "b"]),
        ("[\t\"a\",\t\"b\"\t]", &["a", "b"]),
        ("\t[\t\"a\",\t\"b\"\t]\t", &["a", "b"]),
        (
            "[\"abc 123\", \"♥\", \"☃\", \"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u0000\"]",
            &["abc 123", "♥", "☃", "\" \\ / \u{8} \u{c} \n \r \t \0"],
        ),
    ];
    for (json, want) in cases {
        let n = nodes(&format!("CMD {json}"));
        assert!(n.children[0].json, "{json}");
        assert_eq!(n.children[0].args(), *want, "{json}");
    }
}

#[test]
fn json_non_string_elements_are_errors() {
    for json in [
        "[1]",
        "[1.5]",
        "[{}]",
        "[[]]",
        "[true]",
        "[false]",
        "[null]",
        "[\"a\", {\"b\": 1}]",
    ] {
        let e = parse_nodes(&format!("CMD {json}")).unwrap_err();
        assert!(
            e.message
                .contains("arrays must be comprised of strings only"),
            "{json}: {e}"
        );
    }
}

#[test]
fn json_invalid_falls_back_to_shell_form() {
    for text in ["['a']", "[\"a\"", "[\"a]", "[\"a\",]", "[\"a\"] x"] {
        let n = nodes(&format!("CMD {text}"));
        assert!(!n.children[0].json, "{text}");
        assert_eq!(n.children[0].args(), vec![text.to_string()]);
    }
}

// --- Heredocs ----------------------------------------------------------------------

fn doc(name: &str, content: &str, expand: bool, chomp: bool, fd: u32) -> NodeHeredoc {
    NodeHeredoc {
        name: name.into(),
        file_descriptor: fd,
        content: content.into(),
        expand,
        chomp,
    }
}

/// Heredocs of the first instruction after `FROM x`.
fn heredocs_of(body: &str) -> (Node, Vec<NodeHeredoc>) {
    let n = nodes(&format!("FROM x\n{body}"));
    let hd = n.children[1].heredocs.clone();
    (n, hd)
}

#[test]
fn heredoc_not_on_user() {
    let (n, hd) = heredocs_of("USER <<INVALID\nINVALID\n");
    assert!(hd.is_empty());
    assert_eq!(n.children.len(), 3);
    assert_eq!(n.children[2].value, "INVALID");
}

#[test]
fn heredoc_empty() {
    assert_eq!(
        heredocs_of("RUN <<EMPTY\nEMPTY\n").1,
        vec![doc("EMPTY", "", true, false, 0)]
    );
}

#[test]
fn heredoc_file_descriptor() {
    assert_eq!(
        heredocs_of("RUN 3<<EMPTY2\nEMPTY2\n").1,
        vec![doc("EMPTY2", "", true, false, 3)]
    );
}

#[test]
fn heredoc_quoted_word_is_not_heredoc() {
    let (n, hd) = heredocs_of("RUN \"<<NOHEREDOC\"\nNOHEREDOC\n");
    assert!(hd.is_empty());
    assert_eq!(n.children.len(), 3);
}

#[test]
fn heredoc_indent_kept() {
    let hd = heredocs_of("RUN <<INDENT\n\tfoo\n\tbar\nINDENT\n").1;
    assert_eq!(hd, vec![doc("INDENT", "\tfoo\n\tbar\n", true, false, 0)]);
}

#[test]
fn heredoc_unindent_keeps_tabs() {
    let hd = heredocs_of("RUN <<-UNINDENT\n\tfoo\n\tbar\nUNINDENT\n").1;
    assert_eq!(hd, vec![doc("UNINDENT", "\tfoo\n\tbar\n", true, true, 0)]);
}

#[test]
fn heredoc_unindent_tabbed_terminator() {
    let hd = heredocs_of("RUN <<-UNINDENT2\n\tbaz\n\tquux\n\tUNINDENT2\n").1;
    assert_eq!(hd, vec![doc("UNINDENT2", "\tbaz\n\tquux\n", true, true, 0)]);
}

#[test]
fn heredoc_content_not_expanded() {
    let hd = heredocs_of("RUN <<-EXPAND\n\texpand $NAME\nEXPAND\n").1;
    assert_eq!(hd, vec![doc("EXPAND", "\texpand $NAME\n", true, true, 0)]);
}

#[test]
fn heredoc_quoted_no_expand() {
    let hd = heredocs_of("RUN <<-'NOEXPAND'\n\tx $NAME\nNOEXPAND\n").1;
    assert_eq!(hd, vec![doc("NOEXPAND", "\tx $NAME\n", false, true, 0)]);
}

#[test]
fn heredoc_delimiter_may_be_keyword() {
    let hd = heredocs_of("RUN <<COPY\nCOPY x y\nCOPY\n").1;
    assert_eq!(hd, vec![doc("COPY", "COPY x y\n", true, false, 0)]);
}

#[test]
fn heredoc_comment_lines_are_content() {
    let hd = heredocs_of("RUN <<COMMENT\n# a comment\nCOMMENT\n").1;
    assert_eq!(hd, vec![doc("COMMENT", "# a comment\n", true, false, 0)]);
}

#[test]
fn heredoc_with_flags() {
    let (n, hd) = heredocs_of("RUN --mount=type=cache,target=/foo <<MOUNT\nls\nMOUNT\n");
    assert_eq!(n.children[1].flags, vec!["--mount=type=cache,target=/foo"]);
    assert_eq!(hd, vec![doc("MOUNT", "ls\n", true, false, 0)]);
}

#[test]
fn heredoc_two_files() {
    let hd = heredocs_of("COPY <<FILE1 <<FILE2 /dest\ncontent 1\nFILE1\ncontent 2\nFILE2\n").1;
    assert_eq!(
        hd,
        vec![
            doc("FILE1", "content 1\n", true, false, 0),
            doc("FILE2", "content 2\n", true, false, 0)
        ]
    );
}

#[test]
fn heredoc_each_ends_at_own_delimiter() {
    let hd = heredocs_of("COPY <<X <<Y /dest\nY\nX\nX\nY\n").1;
    assert_eq!(
        hd,
        vec![
            doc("X", "Y\n", true, false, 0),
            doc("Y", "X\n", true, false, 0)
        ]
    );
}

#[test]
fn heredoc_quotes_in_body_kept() {
    let hd = heredocs_of("COPY <<EOF /quotes\n\"quoted\" 'single'\nEOF\n").1;
    assert_eq!(
        hd,
        vec![doc("EOF", "\"quoted\" 'single'\n", true, false, 0)]
    );
}

#[test]
fn heredoc_text_after_delimiter() {
    let hd = heredocs_of("RUN <<COMPLEX python3\nprint(1)\nCOMPLEX\n").1;
    assert_eq!(hd, vec![doc("COMPLEX", "print(1)\n", true, false, 0)]);
}

#[test]
fn heredoc_name_with_dot() {
    assert_eq!(
        heredocs_of("COPY <<file.txt /dest\nx\nfile.txt\n").1[0].name,
        "file.txt"
    );
}

#[test]
fn heredoc_partly_quoted() {
    assert_eq!(
        heredocs_of("RUN <<eo'f'\neof\n").1,
        vec![doc("eof", "", false, false, 0)]
    );
}

#[test]
fn heredoc_escaped_quote_expands() {
    assert_eq!(
        heredocs_of("RUN <<eo\\'f\neo'f\n").1,
        vec![doc("eo'f", "", true, false, 0)]
    );
}

#[test]
fn heredoc_quoted_and_escaped() {
    assert_eq!(
        heredocs_of("RUN <<'e'o\\'f\neo'f\n").1,
        vec![doc("eo'f", "", false, false, 0)]
    );
}

#[test]
fn heredoc_quoted_with_space() {
    assert_eq!(
        heredocs_of("RUN <<'one two'\none two\n").1,
        vec![doc("one two", "", false, false, 0)]
    );
}

#[test]
fn heredoc_dollar_never_expanded() {
    assert_eq!(
        heredocs_of("RUN <<$EOF\n$EOF\n").1,
        vec![doc("$EOF", "", true, false, 0)]
    );
}

#[test]
fn heredoc_spaces_after_marker() {
    assert_eq!(heredocs_of("RUN <<  EOF\nEOF\n").1[0].name, "EOF");
    assert_eq!(heredocs_of("RUN <<  EOF  > foo\nEOF\n").1[0].name, "EOF");
}

#[test]
fn heredoc_not_in_json_form() {
    let (n, hd) = heredocs_of("RUN [\"<<EOF\"]\nEOF\n");
    assert!(hd.is_empty());
    assert_eq!(n.children.len(), 3);
    assert!(heredocs_of("RUN [\"<<'EOF'\"]\n").1.is_empty());
}

#[test]
fn heredoc_in_onbuild() {
    let (n, hd) = heredocs_of("ONBUILD RUN <<EOF\necho hi\nEOF\n");
    assert_eq!(hd, vec![doc("EOF", "echo hi\n", true, false, 0)]);
    assert_eq!(n.children.len(), 2);
}

#[test]
fn heredoc_unterminated_is_error() {
    let e = parse_nodes("FROM x\nRUN <<EOF\necho\n").unwrap_err();
    assert!(e.message.contains("unterminated heredoc"), "{e}");
    assert_eq!(e.line, 2);
}

#[test]
fn heredoc_terminator_ignores_crlf() {
    let hd = heredocs_of("RUN <<EOF\r\necho\r\nEOF\r\n").1;
    assert_eq!(hd, vec![doc("EOF", "echo\r\n", true, false, 0)]);
}

#[test]
fn parse_heredoc_names_eof() {
    for w in [
        "<<EOF",
        "<<'EOF'",
        "<<\"EOF\"",
        "<<-EOF",
        "<<-'EOF'",
        "<<-\"EOF\"",
        "<<EO\"F\"",
        "<< EOF",
        "<<- EOF",
    ] {
        assert_eq!(parse_heredoc(w).unwrap().unwrap().name, "EOF", "{w}");
    }
}

#[test]
fn parse_heredoc_unbalanced_quotes_error() {
    for w in ["<<'EOF", "<<\"EOF", "<<EOF'", "<<EOF\""] {
        assert!(parse_heredoc(w).is_err(), "{w}");
    }
}

#[test]
fn parse_heredoc_not_heredocs() {
    for w in ["", "EOF", "<<", "<<-", "<EOF", "<<<EOF", "<<EOF sh"] {
        assert_eq!(parse_heredoc(w), Ok(None), "{w}");
    }
}

fn names(line: &str) -> Vec<String> {
    heredocs_from_line(line)
        .unwrap()
        .into_iter()
        .map(|h| h.name)
        .collect()
}

#[test]
fn line_heredoc_dash_after_space() {
    assert_eq!(names("RUN << -EOF"), vec!["-EOF"]);
}

#[test]
fn line_heredoc_fd() {
    assert_eq!(names("RUN 4<<EOF"), vec!["EOF"]);
}

#[test]
fn line_two_heredocs() {
    assert_eq!(names("RUN <<EOF <<EOF2"), vec!["EOF", "EOF2"]);
}

#[test]
fn line_quoted_markers() {
    assert!(names("RUN '<<EOF'").is_empty());
    assert!(names("RUN \"<<EOF\"").is_empty());
}

#[test]
fn line_detection_uses_backslash_even_with_backtick_escape() {
    let n = nodes("# escape=`\nFROM x\nRUN <<eo\\'f\neo'f\n");
    assert_eq!(n.children[1].heredocs[0].name, "eo'f");
}

#[test]
fn chomp_removes_leading_tabs() {
    assert_eq!(
        chomp_heredoc_content("\thello\n\tworld\n"),
        "hello\nworld\n"
    );
}

// --- Directives -------------------------------------------------------------------------

#[test]
fn directive_unknown_key_ends_block() {
    let r = parse_ast("#escape=\\\n# key = FOO bar\n# syntax=x\nFROM y\n").unwrap();
    assert_eq!(r.escape, '\\');
    assert_eq!(r.syntax, None);
}

#[test]
fn directive_keys_case_insensitive() {
    assert_eq!(parse_ast("# EScape=`\nFROM y\n").unwrap().escape, '`');
}

#[test]
fn detect_syntax_with_comment_suffix() {
    let d = detect_directive(
        "syntax",
        "# syntax = dockerfile:experimental // opts\nFROM x\n",
    )
    .unwrap();
    assert_eq!(d.reference, "dockerfile:experimental");
    assert_eq!(d.value, "dockerfile:experimental // opts");
    assert_eq!(d.line, 1);
}

#[test]
fn detect_syntax_after_shebang() {
    let d = detect_directive("syntax", "#!/usr/bin/env docker-build\n# syntax=foo\n").unwrap();
    assert_eq!((d.reference.as_str(), d.line), ("foo", 2));
    assert!(detect_directive("syntax", "#!/usr/bin/env x\n\n# syntax=foo\n").is_none());
}

#[test]
fn detect_syntax_slash_comment() {
    assert_eq!(
        detect_directive("syntax", "//syntax=foo\n")
            .unwrap()
            .reference,
        "foo"
    );
    assert_eq!(
        detect_directive("syntax", "#!/x\n//syntax=foo\n")
            .unwrap()
            .reference,
        "foo"
    );
}

#[test]
fn detect_syntax_json() {
    assert_eq!(
        detect_directive("syntax", "{\"syntax\": \"foo\", \"x\": 1}")
            .unwrap()
            .reference,
        "foo"
    );
    assert!(detect_directive("syntax", "{\"syntax\": \"foo\"").is_none());
    assert!(detect_directive("syntax", "{\"syntax\": \"foo\"}\nFROM x\n").is_none());
}

#[test]
fn detect_syntax_ignores_bom() {
    assert_eq!(
        detect_directive("syntax", "\u{feff}# syntax=foo\n")
            .unwrap()
            .reference,
        "foo"
    );
}

#[test]
fn detect_check_directive() {
    let d = detect_directive("check", "# check = skip=all // opts\n").unwrap();
    assert_eq!(d.reference, "skip=all");
    assert_eq!(d.value, "skip=all // opts");
    assert!(detect_directive("check", "//check=skip=all\n").is_none());
}
