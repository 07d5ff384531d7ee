//! The line-level parser that builds the node tree (BuildKit's
//! `parser.Parse`): it reads physical lines, handles the BOM, directives,
//! comments, line continuations (including comment and blank lines inside
//! them), dispatches each joined line to its argument parser, and reads
//! heredoc bodies. It expands nothing and validates no instruction.

use crate::directives::Directives;
use crate::error::Error;
use crate::heredoc::heredocs_from_line;
use crate::line_parsers as lp;
use crate::node::Node;
use crate::quote::go_to_lower;

/// Deepest ONBUILD nesting accepted (BuildKit has no limit; this guards the
/// stack against hostile input).
const MAX_ONBUILD_DEPTH: usize = 64;

/// The node tree plus what the parser learned along the way.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseResult {
    /// Root node: one child per instruction.
    pub ast: Node,
    /// The escape token in effect (`\` or `` ` ``).
    pub escape: char,
    /// Value of the `# syntax=` directive, if any.
    pub syntax: Option<String>,
    /// Value of the `# check=` directive, if any.
    pub check: Option<String>,
    /// Non-fatal findings (empty continuation lines).
    pub warnings: Vec<String>,
}

/// Physical lines, each with its line ending kept.
struct Lines<'a> {
    src: &'a str,
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a str;
    fn next(&mut self) -> Option<&'a str> {
        if self.src.is_empty() {
            return None;
        }
        let end = self.src.find('\n').map(|i| i + 1).unwrap_or(self.src.len());
        let (line, rest) = self.src.split_at(end);
        self.src = rest;
        Some(line)
    }
}

fn trim_newline(s: &str) -> &str {
    s.trim_end_matches(['\r', '\n'])
}

fn is_comment(s: &str) -> bool {
    s.trim_start().starts_with('#')
}

/// Remove a trailing continuation escape. Returns the line and whether the
/// instruction ends here.
fn trim_continuation(line: &str, escape: char) -> (&str, bool) {
    let t = line.trim_end_matches([' ', '\t']);
    if let Some(before) = t.strip_suffix(escape) {
        if before.is_empty() || !before.ends_with(escape) {
            return (before, false);
        }
    }
    (line, true)
}

/// Parse a whole Dockerfile into BuildKit's node tree.
pub fn parse_ast(source: &str) -> Result<ParseResult, Error> {
    let src = source.strip_prefix('\u{feff}').unwrap_or(source);
    let mut lines = Lines { src };
    let mut d = Directives::default();
    let mut root = Node::default();
    let mut current = 0usize;
    let mut comments: Vec<String> = Vec::new();
    let mut warnings = Vec::new();

    while let Some(raw) = lines.next() {
        let token = trim_newline(raw).trim_start();
        if let Some(c) = token.strip_prefix('#') {
            let c = c.trim();
            if c.is_empty() {
                comments.clear();
            } else {
                comments.push(c.to_string());
            }
        }
        let is_directive = d
            .parse_line(token)
            .map_err(|m| Error::new(current + 1, 1, m))?;
        if is_directive {
            comments.pop();
        }
        current += 1;
        let start = current;
        let column = trim_newline(raw)
            .chars()
            .take_while(|c| c.is_whitespace())
            .count()
            + 1;
        let token = if token.starts_with('#') { "" } else { token };
        let (first, mut eol) = trim_continuation(token, d.escape);
        if eol && first.is_empty() {
            continue;
        }
        let mut line = first.to_string();
        let mut empty_cont = false;
        while !eol {
            let Some(raw) = lines.next() else { break };
            current += 1;
            let t = trim_newline(raw);
            if is_comment(t) {
                continue;
            }
            if t.trim_start().is_empty() {
                empty_cont = true;
                continue;
            }
            let (part, e) = trim_continuation(t, d.escape);
            eol = e;
            line.push_str(part);
        }
        if empty_cont {
            warnings.push(format!("Empty continuation line found in: {line}"));
        }
        let mut child = new_node_from_line(&line, d.escape, comments.clone(), 0)
            .map_err(|m| Error::new(start, column, m))?;
        if can_contain_heredoc(&child) && line.contains("<<") {
            let docs = heredocs_from_line(&line).map_err(|m| Error::new(start, column, m))?;
            for mut doc in docs {
                let mut terminated = false;
                let mut content = String::new();
                for raw in lines.by_ref() {
                    current += 1;
                    let mut t = trim_newline(raw);
                    if doc.chomp {
                        t = t.trim_start_matches('\t');
                    }
                    if t == doc.name {
                        terminated = true;
                        break;
                    }
                    content.push_str(raw);
                }
                if !terminated {
                    return Err(Error::new(
                        start,
                        column,
                        format!(
                            "unterminated heredoc: no line {:?} found before the end of the file",
                            doc.name
                        ),
                    ));
                }
                doc.content = content;
                child.heredocs.push(doc);
            }
        }
        child.start_line = start;
        child.end_line = current;
        child.column = column;
        if root.children.is_empty() {
            root.start_line = start;
        }
        root.end_line = current;
        root.children.push(child);
        comments.clear();
    }
    if root.children.is_empty() {
        return Err(Error::new(current, 0, "file with no instructions"));
    }
    Ok(ParseResult {
        ast: root,
        escape: d.escape,
        syntax: d.syntax,
        check: d.check,
        warnings,
    })
}

fn can_contain_heredoc(node: &Node) -> bool {
    let mut n = node;
    if go_to_lower(&n.value) == "onbuild" {
        if let Some(c) = n.next.first().and_then(|a| a.children.first()) {
            n = c;
        }
    }
    let v = go_to_lower(&n.value);
    matches!(v.as_str(), "add" | "copy" | "run") && !n.json
}

/// Split, extract flags and dispatch one joined instruction line.
pub(crate) fn new_node_from_line(
    line: &str,
    escape: char,
    comments: Vec<String>,
    depth: usize,
) -> Result<Node, String> {
    let (cmd, flags, args) = lp::split_command(line, escape);
    let (next, json) = match go_to_lower(&cmd).as_str() {
        "add" | "copy" | "volume" => lp::parse_maybe_json_to_list(&args)?,
        "arg" => lp::parse_name_or_name_val(&args, escape),
        "cmd" | "entrypoint" | "run" | "shell" => lp::parse_maybe_json(&args)?,
        "env" => lp::parse_name_val(&args, "ENV", escape)?,
        "label" => lp::parse_name_val(&args, "LABEL", escape)?,
        "expose" | "from" => lp::parse_strings_whitespace_delimited(&args),
        "healthcheck" => lp::parse_health_config(&args)?,
        "maintainer" | "stopsignal" | "user" | "workdir" => lp::parse_string(&args),
        "onbuild" => {
            if args.is_empty() {
                (Vec::new(), false)
            } else {
                if depth >= MAX_ONBUILD_DEPTH {
                    return Err("ONBUILD instructions are nested too deeply".into());
                }
                let child = new_node_from_line(&args, escape, Vec::new(), depth + 1)?;
                let holder = Node {
                    children: vec![child],
                    ..Node::default()
                };
                (vec![holder], false)
            }
        }
        // Unknown instructions are kept with their arguments dropped.
        _ => (vec![Node::default()], false),
    };
    Ok(Node {
        value: cmd,
        next,
        json,
        original: line.to_string(),
        flags,
        prev_comment: comments,
        ..Node::default()
    })
}
