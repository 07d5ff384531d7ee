//! Read Dockerfiles exactly as Docker's BuildKit does, as a pure library
//! (no I/O). Three layers:
//!
//! * [`parse_nodes`] / [`parse_ast`]: BuildKit's node tree (`parser.Parse`),
//!   printable in BuildKit's `result` format with [`Node::dump`];
//! * [`parse`] / [`parse_bytes`]: the typed [`Dockerfile`] with stages,
//!   global ARGs and [`Instruction`] values, each with a [`Span`];
//! * [`shell::Lexer`]: BuildKit's word expansion, used by
//!   [`Instruction::expand`] and [`From::expand`].

mod convert;
mod directives;
mod duration;
mod error;
mod expand;
mod flags;
mod heredoc;
mod instructions;
mod json;
mod line_parsers;
mod mount;
mod node;
mod parser;
mod quote;
pub mod shell;
mod stages;
mod suggest;

pub use convert::{instruction_from_node, TypedNode, KEYWORDS};
pub use directives::{detect_directive, DetectedDirective};
pub use duration::parse_go_duration;
pub use error::{Error, Span, Spanned};
pub use heredoc::{chomp_heredoc_content, heredocs_from_line, parse_heredoc};
pub use instructions::{
    Add, Arg, Copy, Dockerfile, From, HealthTest, Healthcheck, Heredoc, Instruction, MountKind,
    Run, RunMount, RunNetwork, RunSecurity, ShellOrExec, Stage,
};
pub use line_parsers::parse_words;
pub use node::{Node, NodeHeredoc};
pub use parser::{parse_ast, ParseResult};
pub use quote::go_quote;
pub use stages::doc_comment;

/// Parse a Dockerfile into the typed layer.
pub fn parse(source: &str) -> Result<Dockerfile, Error> {
    stages::build(parser::parse_ast(source)?)
}

/// Like [`parse`], from raw bytes: a UTF-8 BOM is dropped and invalid UTF-8
/// is an error that names the line.
pub fn parse_bytes(source: &[u8]) -> Result<Dockerfile, Error> {
    parse(bytes_to_str(source)?)
}

/// Parse into BuildKit's node tree (the root node; one child per instruction).
pub fn parse_nodes(source: &str) -> Result<Node, Error> {
    parser::parse_ast(source).map(|r| r.ast)
}

/// Check that `source` is UTF-8. A leading BOM is kept (the parsers drop
/// it) but does not count in the reported column.
pub fn bytes_to_str(source: &[u8]) -> Result<&str, Error> {
    std::str::from_utf8(source).map_err(|e| {
        let bom = if source.starts_with(b"\xEF\xBB\xBF") {
            3
        } else {
            0
        };
        let good = &source[bom.min(e.valid_up_to())..e.valid_up_to()];
        let line = good.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = good.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let column = String::from_utf8_lossy(&good[line_start..]).chars().count() + 1;
        Error::new(
            line,
            column,
            format!(
                "invalid UTF-8 at line {line}, column {column}: Dockerfiles must be UTF-8 text"
            ),
        )
    })
}
