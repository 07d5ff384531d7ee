//! Heredoc detection (`<<EOF`, `<<-EOF`, `3<<EOF`, quoted delimiters) in an
//! instruction line, following BuildKit: the line is lexed with raw quotes
//! and escapes, every word of the form `[digits]<<[-][blanks]word` is a
//! heredoc, and quoting any part of the delimiter turns expansion off.

use crate::node::NodeHeredoc;
use crate::shell::{Lexer, NoEnv, Options};

/// Parse a single word as a heredoc marker. `Ok(None)` means "not a
/// heredoc"; an unbalanced quote in the delimiter is an error.
pub fn parse_heredoc(src: &str) -> Result<Option<NodeHeredoc>, String> {
    let digits = src.len() - src.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let Some(after) = src[digits..].strip_prefix("<<") else {
        return Ok(None);
    };
    let (chomp, after) = match after.strip_prefix('-') {
        Some(a) => (true, a),
        None => (false, after),
    };
    let rest = after.trim_start_matches(['\t', '\n', '\x0c', '\r', ' ']);
    if rest.is_empty() || rest.contains('<') {
        return Ok(None);
    }
    let fd: u32 = src[..digits].parse().unwrap_or(0);
    let lexer = Lexer::new('\\');
    let opts = Options {
        skip_unset: true,
        ..Options::default()
    };
    let (_, words) = lexer
        .process_with(rest, opts, &NoEnv)
        .map_err(|e| e.message)?;
    if words.len() != 1 {
        return Ok(None);
    }
    let raw_opts = Options {
        raw_quotes: true,
        ..opts
    };
    let (_, raw_words) = lexer
        .process_with(rest, raw_opts, &NoEnv)
        .map_err(|e| e.message)?;
    if raw_words.len() != words.len() {
        return Err(format!(
            "internal lexing of heredoc produced inconsistent results: {rest}"
        ));
    }
    let count = |s: &str| s.chars().filter(|&c| c == '\'' || c == '"').count();
    let name = words.into_iter().next().unwrap_or_default();
    let expand = count(&name) == count(&raw_words[0]);
    Ok(Some(NodeHeredoc {
        name,
        file_descriptor: fd,
        content: String::new(),
        expand,
        chomp,
    }))
}

/// All heredoc markers on an instruction line, in order. Detection always
/// uses `\` as the escape character.
pub fn heredocs_from_line(line: &str) -> Result<Vec<NodeHeredoc>, String> {
    let opts = Options {
        raw_quotes: true,
        raw_escapes: true,
        skip_unset: true,
        skip_process_quotes: false,
    };
    let words = Lexer::new('\\')
        .process_with(line, opts, &NoEnv)
        .map(|(_, w)| w)
        .unwrap_or_default();
    let mut docs = Vec::new();
    for w in words {
        if let Some(h) = parse_heredoc(&w)? {
            docs.push(h);
        }
    }
    Ok(docs)
}

/// Remove leading tabs from every line (what consumers do for `<<-`).
pub fn chomp_heredoc_content(src: &str) -> String {
    let mut out = String::with_capacity(src.len());
    for line in src.split_inclusive('\n') {
        out.push_str(line.trim_start_matches('\t'));
    }
    out
}
