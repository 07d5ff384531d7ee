//! Error and source-position types shared by every layer: the parse
//! [`Error`] (with 1-based line and column), the [`Span`] of a node and the
//! [`Spanned`] wrapper that attaches a span and the original source text to a
//! typed value.

/// A parse or validation error. `Display` prints only the message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    /// 1-based line of the offending instruction (0 when unknown).
    pub line: usize,
    /// 1-based column (in characters) of the offending instruction.
    pub column: usize,
    /// What went wrong.
    pub message: String,
}

impl Error {
    pub(crate) fn new(line: usize, column: usize, message: impl Into<String>) -> Self {
        Error {
            line,
            column,
            message: message.into(),
        }
    }

    pub(crate) fn at(span: &Span, message: impl Into<String>) -> Self {
        Error::new(span.line, span.column, message)
    }
}

/// Where a node lives in the source: 1-based start line and column, and the
/// last physical line it consumed (continuations and heredoc bodies included).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
}

/// A typed value together with its span and the instruction's source text
/// (continuation lines joined, like BuildKit's `Node.Original`).
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned<T> {
    pub node: T,
    pub span: Span,
    pub original: String,
}
