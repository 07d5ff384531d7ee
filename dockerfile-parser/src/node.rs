//! The low-level node tree, modelled on BuildKit's `parser.Node`: one child
//! of the root per instruction, its arguments as a flat `next` list, flags,
//! heredocs, the `json` attribute and line information, plus [`Node::dump`]
//! which prints BuildKit's `result` format.

use crate::quote::go_quote;

/// A heredoc as found by the parser: the body is raw (not expanded, not
/// chomped).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NodeHeredoc {
    /// Delimiter with quotes removed.
    pub name: String,
    /// Leading file-descriptor digits (`3<<EOF`), 0 if none.
    pub file_descriptor: u32,
    /// Raw body lines, each with its original line ending.
    pub content: String,
    /// False if any part of the delimiter was quoted.
    pub expand: bool,
    /// True for `<<-`.
    pub chomp: bool,
}

/// A node of the parse tree. The root has one child per instruction; an
/// instruction node has its keyword in `value` and its arguments in `next`
/// (BuildKit's `Next` chain, flattened). An ONBUILD node has one `next`
/// entry whose single child is the trigger instruction.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Node {
    /// Keyword as written (instruction nodes) or the argument text.
    pub value: String,
    /// The following arguments (BuildKit's `Next` linked list).
    pub next: Vec<Node>,
    /// Sub-nodes (root: instructions; ONBUILD argument: the trigger).
    pub children: Vec<Node>,
    /// BuildKit's `json` attribute: the arguments came from a JSON array.
    pub json: bool,
    /// The instruction's source text with continuation lines joined.
    pub original: String,
    /// Leading `--flags`, quotes removed, kept whole (`--name=value`).
    pub flags: Vec<String>,
    /// Heredocs attached to this instruction (RUN/COPY/ADD, or ONBUILD of those).
    pub heredocs: Vec<NodeHeredoc>,
    /// 1-based first physical line (0 for argument nodes).
    pub start_line: usize,
    /// 1-based last physical line consumed, including heredoc bodies.
    pub end_line: usize,
    /// 1-based column of the keyword on `start_line`.
    pub column: usize,
    /// Comment lines directly above the instruction (doc comments).
    pub prev_comment: Vec<String>,
}

impl Node {
    /// Plain argument node.
    pub(crate) fn arg(value: impl Into<String>) -> Node {
        Node {
            value: value.into(),
            ..Node::default()
        }
    }

    /// The argument values (`next` chain) as strings.
    pub fn args(&self) -> Vec<String> {
        self.next.iter().map(|n| n.value.clone()).collect()
    }

    /// Dump in BuildKit's `result` format: for the root, one
    /// `(keyword ["flags"] "arg"...)` line per instruction (no final newline).
    pub fn dump(&self) -> String {
        let mut s = String::new();
        self.dump_into(&mut s);
        s.trim_matches(|c: char| c.is_whitespace()).to_string()
    }

    fn dump_into(&self, s: &mut String) {
        s.push_str(&crate::quote::go_to_lower(&self.value));
        if !self.flags.is_empty() {
            s.push_str(" [");
            for (i, f) in self.flags.iter().enumerate() {
                if i > 0 {
                    s.push(' ');
                }
                s.push_str(&go_quote(f));
            }
            s.push(']');
        }
        for c in &self.children {
            s.push('(');
            s.push_str(&c.dump());
            s.push_str(")\n");
        }
        for n in &self.next {
            s.push(' ');
            if n.children.is_empty() {
                s.push_str(&go_quote(&n.value));
            } else {
                s.push_str(&n.dump());
            }
        }
    }
}
