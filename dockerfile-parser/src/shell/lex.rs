//! The scanning engine behind [`super::Lexer`]: a character scanner that
//! walks a word once, handling quotes, the escape token, `$name`, `${…}`
//! modifiers and BuildKit's `<<` heredoc marker, producing both the joined
//! result (ProcessWord) and the whitespace-split words (ProcessWords).

use std::collections::BTreeSet;

use super::pattern;
use super::{Env, ExpandError};
use crate::quote::go_quote;

/// Lexer switches used by the parser itself (all off for normal expansion).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Options {
    /// Keep quote characters in the output.
    pub raw_quotes: bool,
    /// Keep escape tokens in the output.
    pub raw_escapes: bool,
    /// Leave references to unset variables as written.
    pub skip_unset: bool,
    /// Treat quote characters as plain text (heredoc bodies).
    pub skip_process_quotes: bool,
}

type Res<T> = Result<T, String>;

pub(crate) fn process(
    source: &str,
    escape: char,
    opts: Options,
    env: &dyn Env,
) -> Result<(String, Vec<String>), ExpandError> {
    process_capture(source, escape, opts, env, &mut Matches::default())
}

/// Variable names looked up during an expansion.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Matches {
    /// Names that were set.
    pub matched: BTreeSet<String>,
    /// Names that were looked up but unset.
    pub unmatched: BTreeSet<String>,
}

pub(crate) fn process_capture(
    source: &str,
    escape: char,
    opts: Options,
    env: &dyn Env,
    matches: &mut Matches,
) -> Result<(String, Vec<String>), ExpandError> {
    let mut sc = Scanner {
        depth: 0,
        matches,
        chars: source.chars().collect(),
        pos: 0,
        escape,
        opts,
        raw_escapes: opts.raw_escapes,
        env,
    };
    let raw = opts.raw_escapes;
    sc.process_stop_on(None, raw)
        .map_err(|e| ExpandError::new(format!("failed to process {}: {}", go_quote(source), e)))
}

/// Deepest `${…}` nesting accepted (guards the stack against hostile input).
const MAX_NESTING: usize = 200;

struct Scanner<'a> {
    depth: usize,
    matches: &'a mut Matches,
    chars: Vec<char>,
    pos: usize,
    escape: char,
    opts: Options,
    raw_escapes: bool,
    env: &'a dyn Env,
}

/// Accumulates whitespace-separated words the way BuildKit's `wordsStruct`
/// does: quoted text is "raw" (never split), expanded text is split.
#[derive(Default)]
struct Words {
    buf: String,
    words: Vec<String>,
    in_word: bool,
}

impl Words {
    fn add_char(&mut self, ch: char) {
        if ch.is_whitespace() {
            if self.in_word && !self.buf.is_empty() {
                self.words.push(std::mem::take(&mut self.buf));
                self.in_word = false;
            }
        } else {
            self.add_raw_char(ch);
        }
    }
    fn add_raw_char(&mut self, ch: char) {
        self.buf.push(ch);
        self.in_word = true;
    }
    fn add_string(&mut self, s: &str) {
        for ch in s.chars() {
            self.add_char(ch);
        }
    }
    fn add_raw_string(&mut self, s: &str) {
        self.buf.push_str(s);
        self.in_word = true;
    }
    fn finish(mut self) -> Vec<String> {
        if !self.buf.is_empty() {
            self.words.push(std::mem::take(&mut self.buf));
        }
        self.words
    }
}

impl Scanner<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }
    fn next(&mut self) -> Option<char> {
        let c = self.chars.get(self.pos).copied();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    fn process_stop_on(
        &mut self,
        stop: Option<char>,
        raw_escapes: bool,
    ) -> Res<(String, Vec<String>)> {
        if self.depth >= MAX_NESTING {
            return Err("substitutions are nested too deeply".into());
        }
        let saved = self.raw_escapes;
        self.raw_escapes = raw_escapes;
        self.depth += 1;
        let r = self.stop_on_inner(stop);
        self.depth -= 1;
        self.raw_escapes = saved;
        r
    }

    fn stop_on_inner(&mut self, stop: Option<char>) -> Res<(String, Vec<String>)> {
        let mut result = String::new();
        let mut words = Words::default();
        while let Some(ch) = self.peek() {
            if Some(ch) == stop {
                self.next();
                return Ok((result, words.finish()));
            }
            let special = match ch {
                '$' => Some(self.process_dollar()?),
                '<' => Some(self.process_possible_heredoc()),
                '\'' if !self.opts.skip_process_quotes => Some(self.process_single_quote()?),
                '"' if !self.opts.skip_process_quotes => Some(self.process_double_quote()?),
                _ => None,
            };
            if let Some(tmp) = special {
                result.push_str(&tmp);
                if ch == '$' {
                    words.add_string(&tmp);
                } else {
                    words.add_raw_string(&tmp);
                }
                continue;
            }
            let mut ch = self.next().unwrap_or_default();
            if ch == self.escape {
                if self.raw_escapes {
                    words.add_raw_char(ch);
                    result.push(ch);
                }
                match self.next() {
                    None => break,
                    Some(c) => ch = c,
                }
                words.add_raw_char(ch);
            } else {
                words.add_char(ch);
            }
            result.push(ch);
        }
        if let Some(s) = stop {
            return Err(format!(
                "unexpected end of statement while looking for matching {s}"
            ));
        }
        Ok((result, words.finish()))
    }

    fn process_single_quote(&mut self) -> Res<String> {
        let mut result = String::new();
        let open = self.next().unwrap_or('\'');
        if self.opts.raw_quotes {
            result.push(open);
        }
        loop {
            match self.next() {
                None => {
                    return Err(
                        "unexpected end of statement while looking for matching single-quote"
                            .into(),
                    )
                }
                Some('\'') => {
                    if self.opts.raw_quotes {
                        result.push('\'');
                    }
                    return Ok(result);
                }
                Some(c) => result.push(c),
            }
        }
    }

    fn process_double_quote(&mut self) -> Res<String> {
        let mut result = String::new();
        let open = self.next().unwrap_or('"');
        if self.opts.raw_quotes {
            result.push(open);
        }
        loop {
            match self.peek() {
                None => {
                    return Err(
                        "unexpected end of statement while looking for matching double-quote"
                            .into(),
                    )
                }
                Some('"') => {
                    self.next();
                    if self.opts.raw_quotes {
                        result.push('"');
                    }
                    return Ok(result);
                }
                Some('$') => {
                    let v = self.process_dollar()?;
                    result.push_str(&v);
                }
                Some(_) => {
                    let mut ch = self.next().unwrap_or_default();
                    if ch == self.escape {
                        if self.raw_escapes {
                            result.push(ch);
                        }
                        match self.peek() {
                            None => continue,
                            Some(c) if c == '"' || c == '$' || c == self.escape => {
                                ch = c;
                                self.next();
                            }
                            Some(_) => {}
                        }
                    }
                    result.push(ch);
                }
            }
        }
    }

    fn process_possible_heredoc(&mut self) -> String {
        self.next();
        if self.peek() != Some('<') {
            return "<".into();
        }
        self.next();
        let mut out = String::from("<<");
        while let Some(c) = self.peek() {
            if c == '\t' || c == '\r' || c == ' ' {
                out.push(c);
                self.next();
            } else {
                break;
            }
        }
        out
    }

    fn lookup(&mut self, name: &str) -> Option<String> {
        let v = self.env.get(name);
        let set = if v.is_some() {
            &mut self.matches.matched
        } else {
            &mut self.matches.unmatched
        };
        if !set.contains(name) {
            set.insert(name.to_string());
        }
        v
    }

    fn process_name(&mut self) -> String {
        let mut name = String::new();
        while let Some(ch) = self.peek() {
            if name.is_empty() && ch.is_ascii_digit() {
                while let Some(d) = self.peek() {
                    if !d.is_ascii_digit() {
                        break;
                    }
                    name.push(d);
                    self.next();
                }
                return name;
            }
            if name.is_empty() && matches!(ch, '@' | '*' | '#' | '?' | '-' | '$' | '!' | '0') {
                self.next();
                return ch.to_string();
            }
            if !(ch.is_alphanumeric() || ch == '_') {
                break;
            }
            name.push(ch);
            self.next();
        }
        name
    }

    fn process_dollar(&mut self) -> Res<String> {
        self.next(); // '$'
        if self.peek() != Some('{') {
            let name = self.process_name();
            if name.is_empty() {
                return Ok("$".into());
            }
            return Ok(match self.lookup(&name) {
                Some(v) => v,
                None if self.opts.skip_unset => format!("${name}"),
                None => String::new(),
            });
        }
        self.next(); // '{'
        match self.peek() {
            None => return Err("syntax error: missing '}'".into()),
            Some('{') | Some('}') | Some(':') => {
                return Err("syntax error: bad substitution".into())
            }
            _ => {}
        }
        let name = self.process_name();
        let first = self.next();
        let mut chs: String = first.map(String::from).unwrap_or_else(|| "\u{FFFD}".into());
        match first {
            Some('}') => Ok(match self.lookup(&name) {
                Some(v) => v,
                None if self.opts.skip_unset => format!("${{{name}}}"),
                None => String::new(),
            }),
            Some(c @ (':' | '+' | '-' | '?' | '#' | '%')) => {
                let mut op = Some(c);
                let null_is_unset = c == ':';
                if null_is_unset {
                    op = self.next();
                    chs.push(op.unwrap_or('\u{FFFD}'));
                }
                let raw = matches!(op, Some('#') | Some('%'));
                if null_is_unset && raw {
                    return Err(format!("unsupported modifier ({chs}) in substitution"));
                }
                let (word, _) = self.sub_word('}', raw, "syntax error: missing '}'")?;
                let value = self.lookup(&name);
                if self.opts.skip_unset && value.is_none() {
                    return Ok(format!("${{{name}{chs}{word}}}"));
                }
                let set = value.is_some();
                let value = value.unwrap_or_default();
                let unset_like = !set || (null_is_unset && value.is_empty());
                match op {
                    Some('-') => Ok(if unset_like { word } else { value }),
                    Some('+') => Ok(if unset_like { String::new() } else { word }),
                    Some('?') => {
                        if !set {
                            let msg = if word.is_empty() {
                                "is not allowed to be unset"
                            } else {
                                &word
                            };
                            return Err(format!("{name}: {msg}"));
                        }
                        if null_is_unset && value.is_empty() {
                            let msg = if word.is_empty() {
                                "is not allowed to be empty"
                            } else {
                                &word
                            };
                            return Err(format!("{name}: {msg}"));
                        }
                        Ok(value)
                    }
                    Some(m @ ('#' | '%')) => {
                        let (pat, greedy) = match word.strip_prefix(m) {
                            Some(rest) => (rest.to_string(), true),
                            None => (word.clone(), false),
                        };
                        let toks = pattern::compile(&pat)
                            .map_err(|e| format!("invalid pattern ({pat}) in substitution: {e}"))?;
                        Ok(if m == '#' {
                            pattern::trim_prefix(&toks, &value, greedy)
                        } else {
                            pattern::trim_suffix(&toks, &value, greedy)
                        })
                    }
                    _ => Err(format!("unsupported modifier ({chs}) in substitution")),
                }
            }
            Some('/') => {
                let all = self.peek() == Some('/');
                if all {
                    self.next();
                }
                let (pat, _) = self.sub_word('/', true, "syntax error: missing '/' in ${}")?;
                let (rep, _) = self.sub_word('}', true, "syntax error: missing '}'")?;
                let value = self.lookup(&name);
                if self.opts.skip_unset && value.is_none() {
                    return Ok(format!("${{{name}/{pat}/{rep}}}"));
                }
                let value = value.unwrap_or_default();
                let toks = pattern::compile(&pat)
                    .map_err(|e| format!("invalid pattern ({pat}) in substitution: {e}"))?;
                Ok(pattern::replace(&toks, &value, &rep, all))
            }
            _ => Err(format!("unsupported modifier ({chs}) in substitution")),
        }
    }

    /// Read a nested word up to `stop`; an error at end of input becomes
    /// `eof_msg` (BuildKit reports a missing delimiter there).
    fn sub_word(&mut self, stop: char, raw: bool, eof_msg: &str) -> Res<(String, Vec<String>)> {
        match self.process_stop_on(Some(stop), raw) {
            Ok(r) => Ok(r),
            Err(e) => {
                if self.peek().is_none() {
                    Err(eof_msg.to_string())
                } else {
                    Err(e)
                }
            }
        }
    }
}
