//! Word expansion exactly as BuildKit's shell lexer (`shell/lex.go`) does it:
//! the public [`Lexer`] with [`Lexer::expand_word`] (ProcessWord) and
//! [`Lexer::expand_words`] (ProcessWords), the [`Env`] lookup trait and the
//! [`ExpandError`] type. The scanning engine lives in `lex`, glob patterns for
//! `${v#p}`, `${v%p}` and `${v/p/r}` in `pattern`.

mod lex;
mod pattern;

use std::collections::{BTreeMap, HashMap};

pub use lex::Matches;
pub(crate) use lex::Options;

/// Variable lookup used during expansion. `None` means "unset", which is
/// different from set-but-empty (`Some("")`).
pub trait Env {
    fn get(&self, name: &str) -> Option<String>;
}

impl Env for HashMap<String, String> {
    fn get(&self, name: &str) -> Option<String> {
        HashMap::get(self, name).cloned()
    }
}

impl Env for BTreeMap<String, String> {
    fn get(&self, name: &str) -> Option<String> {
        BTreeMap::get(self, name).cloned()
    }
}

impl Env for [(String, String)] {
    fn get(&self, name: &str) -> Option<String> {
        self.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }
}

impl Env for Vec<(String, String)> {
    fn get(&self, name: &str) -> Option<String> {
        Env::get(self.as_slice(), name)
    }
}

/// `"K=V"` entries; the last entry for a name wins. An entry without `=`
/// sets the name to the empty string.
impl Env for Vec<String> {
    fn get(&self, name: &str) -> Option<String> {
        self.iter().rev().find_map(|e| {
            let (k, v) = e.split_once('=').unwrap_or((e.as_str(), ""));
            (k == name).then(|| v.to_string())
        })
    }
}

impl Env for [String] {
    fn get(&self, name: &str) -> Option<String> {
        self.iter().rev().find_map(|e| {
            let (k, v) = e.split_once('=').unwrap_or((e.as_str(), ""));
            (k == name).then(|| v.to_string())
        })
    }
}

/// An environment with no variables at all.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoEnv;

impl Env for NoEnv {
    fn get(&self, _name: &str) -> Option<String> {
        None
    }
}

/// Why an expansion failed (bad substitution, `${X:?msg}`, unbalanced quote…).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ExpandError {
    pub message: String,
}

impl ExpandError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        ExpandError {
            message: message.into(),
        }
    }
}

/// BuildKit's shell lexer for a given escape token (`\` or `` ` ``).
#[derive(Debug, Clone, PartialEq)]
pub struct Lexer {
    escape: char,
}

impl Default for Lexer {
    fn default() -> Self {
        Lexer::new('\\')
    }
}

impl Lexer {
    pub fn new(escape: char) -> Self {
        Lexer { escape }
    }

    /// The escape token this lexer uses.
    pub fn escape(&self) -> char {
        self.escape
    }

    /// Expand variables and remove quotes, giving one string (ProcessWord).
    pub fn expand_word(&self, word: &str, env: &dyn Env) -> Result<String, ExpandError> {
        lex::process(word, self.escape, Options::default(), env).map(|(w, _)| w)
    }

    /// Expand and split on unquoted whitespace (ProcessWords).
    pub fn expand_words(&self, word: &str, env: &dyn Env) -> Result<Vec<String>, ExpandError> {
        lex::process(word, self.escape, Options::default(), env).map(|(_, ws)| ws)
    }

    /// Like [`Lexer::expand_word`], also reporting which variables were
    /// looked up and whether they were set (BuildKit's
    /// `ProcessWordWithMatches`, used for linting).
    pub fn expand_word_with_matches(
        &self,
        word: &str,
        env: &dyn Env,
    ) -> Result<(String, Matches), ExpandError> {
        let mut m = Matches::default();
        let (w, _) = lex::process_capture(word, self.escape, Options::default(), env, &mut m)?;
        Ok((w, m))
    }

    /// Expand with explicit lexer options (raw quotes, raw escapes, keeping
    /// unset variables); used for heredoc detection.
    pub(crate) fn process_with(
        &self,
        word: &str,
        opts: Options,
        env: &dyn Env,
    ) -> Result<(String, Vec<String>), ExpandError> {
        lex::process(word, self.escape, opts, env)
    }
}
