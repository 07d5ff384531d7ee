// The fuzz harness shared by the libFuzzer target (`fuzz_targets/parse.rs`)
// and the pure-Rust driver (`examples/fuzz_driver.rs`), pulled in with
// `include!`. It must never panic, whatever the bytes.

/// Run every public entry point on `data`.
pub fn exercise(data: &[u8]) {
    use dockerfile_parser::shell::Lexer;

    let env: Vec<String> = vec![
        "A=a b".into(),
        "EMPTY=".into(),
        "PWD=/home".into(),
        "N=42".into(),
        "STAR=*".into(),
    ];
    // Typed layer from raw bytes (BOM, invalid UTF-8, NUL, CRLF...).
    if let Ok(df) = dockerfile_parser::parse_bytes(data) {
        let lexer = Lexer::new(df.escape);
        for a in &df.meta_args {
            let _ = dockerfile_parser::Instruction::Arg(a.node.clone()).expand(&lexer, &env);
        }
        for st in &df.stages {
            let _ = st.from.node.expand(&lexer, &env);
            for i in &st.instructions {
                let _ = i.node.expand(&lexer, &env);
                let _ = i.node.keyword();
            }
        }
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Node tree, dump and re-typing of every node.
    if let Ok(root) = dockerfile_parser::parse_nodes(text) {
        let _ = root.dump();
        for c in &root.children {
            let _ = dockerfile_parser::instruction_from_node(c);
        }
    }
    // The lexer on the raw text, with both escape tokens.
    for esc in ['\\', '`'] {
        let lexer = Lexer::new(esc);
        let _ = lexer.expand_word(text, &env);
        let _ = lexer.expand_words(text, &env);
    }
    // Only the first line for the per-line helpers, to keep runs fast.
    let line = text.lines().next().unwrap_or("");
    let _ = dockerfile_parser::heredocs_from_line(line);
    let _ = dockerfile_parser::parse_heredoc(line);
    let _ = dockerfile_parser::parse_words(line, '\\');
    let _ = dockerfile_parser::detect_directive("syntax", text);
    let _ = dockerfile_parser::parse_go_duration(line);
}
