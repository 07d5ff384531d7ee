//! Per-instruction argument parsers of the node-tree layer (BuildKit's
//! `line_parsers.go` rules): splitting the keyword from its arguments,
//! extracting leading `--flags`, quote-aware word splitting for ENV/LABEL/ARG,
//! whitespace splitting, exec-form JSON with shell fallback, and HEALTHCHECK.

use crate::json::{parse_array, JsonArray};
use crate::node::Node;

/// Argument nodes plus whether they came from a JSON array.
pub(crate) type Parsed = (Vec<Node>, bool);

pub(crate) const NOT_STRING_ARRAY: &str =
    "when using JSON array syntax, arrays must be comprised of strings only";

/// BuildKit's `reWhitespace`: `[\t\v\f\r ]`.
pub(crate) fn is_sep(c: char) -> bool {
    matches!(c, '\t' | '\x0b' | '\x0c' | '\r' | ' ')
}

/// Split a joined instruction line into keyword, flags and trimmed arguments.
pub(crate) fn split_command(line: &str, escape: char) -> (String, Vec<String>, String) {
    let t = line.trim();
    match t.find(is_sep) {
        None => (t.to_string(), Vec::new(), String::new()),
        Some(i) => {
            let cmd = &t[..i];
            let rest = t[i..].trim_start_matches(is_sep);
            let (args, flags) = extract_builder_flags(rest, escape);
            (cmd.to_string(), flags, args.trim().to_string())
        }
    }
}

/// Take the leading `--flag` words off `line`. Quotes are removed and the
/// escape token escapes the next character; a bare `--` ends the flags.
pub(crate) fn extract_builder_flags(line: &str, escape: char) -> (&str, Vec<String>) {
    #[derive(PartialEq)]
    enum Phase {
        Spaces,
        Word,
        Quote(char),
    }
    let mut words = Vec::new();
    let mut phase = Phase::Spaces;
    let mut word = String::new();
    let mut blank_ok = false;
    let mut it = line.char_indices().peekable();
    loop {
        let Some((pos, ch)) = it.next() else {
            if phase != Phase::Spaces && word != "--" && (blank_ok || !word.is_empty()) {
                words.push(word);
            }
            return ("", words);
        };
        if phase == Phase::Spaces {
            if ch.is_whitespace() {
                continue;
            }
            if !(ch == '-' && line[pos + 1..].starts_with('-')) {
                return (&line[pos..], words);
            }
            phase = Phase::Word;
        }
        match phase {
            Phase::Word => {
                if ch.is_whitespace() {
                    phase = Phase::Spaces;
                    if word == "--" {
                        return (&line[pos..], words);
                    }
                    if blank_ok || !word.is_empty() {
                        words.push(std::mem::take(&mut word));
                    }
                    word.clear();
                    blank_ok = false;
                    continue;
                }
                if ch == '\'' || ch == '"' {
                    phase = Phase::Quote(ch);
                    blank_ok = true;
                    continue;
                }
                let mut c = ch;
                if ch == escape {
                    match it.next() {
                        None => continue,
                        Some((_, n)) => c = n,
                    }
                }
                word.push(c);
            }
            Phase::Quote(q) => {
                if ch == q {
                    phase = Phase::Word;
                    continue;
                }
                let mut c = ch;
                if ch == escape {
                    match it.next() {
                        None => {
                            phase = Phase::Word;
                            continue;
                        }
                        Some((_, n)) => c = n,
                    }
                }
                word.push(c);
            }
            Phase::Spaces => unreachable!(),
        }
    }
}

/// Quote-aware word split (ENV, LABEL, ARG). Quotes and escapes stay in the
/// words.
pub fn parse_words(rest: &str, escape: char) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut blank_ok = false;
    let mut it = rest.chars().peekable();
    while let Some(ch) = it.next() {
        if !in_word && quote.is_none() {
            if ch.is_whitespace() {
                continue;
            }
            in_word = true;
        }
        if let Some(q) = quote {
            let mut c = ch;
            if ch == q {
                quote = None;
            } else if ch == escape && q != '\'' {
                match it.next() {
                    None => {
                        quote = None;
                        continue;
                    }
                    Some(n) => {
                        word.push(ch);
                        c = n;
                    }
                }
            }
            word.push(c);
            continue;
        }
        if ch.is_whitespace() {
            in_word = false;
            if blank_ok || !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            blank_ok = false;
            continue;
        }
        let mut c = ch;
        if ch == '\'' || ch == '"' {
            quote = Some(ch);
            blank_ok = true;
        } else if ch == escape {
            match it.next() {
                None => continue,
                Some(n) => {
                    word.push(ch);
                    c = n;
                }
            }
        }
        word.push(c);
    }
    if (in_word || quote.is_some()) && (blank_ok || !word.is_empty()) {
        words.push(word);
    }
    words
}

/// ENV and LABEL: `k=v ...` gives `k v =` triples, the legacy `k rest`
/// form gives `k rest ""`.
pub(crate) fn parse_name_val(rest: &str, key: &str, escape: char) -> Result<Parsed, String> {
    let words = parse_words(rest, escape);
    if words.is_empty() {
        return Ok((Vec::new(), false));
    }
    if !words[0].contains('=') {
        let Some(i) = rest.find(is_sep) else {
            return Err(format!("{key} must have two arguments"));
        };
        let k = &rest[..i];
        let v = rest[i..].trim_start_matches(is_sep);
        return Ok((vec![Node::arg(k), Node::arg(v), Node::arg("")], false));
    }
    let mut out = Vec::with_capacity(words.len() * 3);
    for w in words {
        let Some((k, v)) = w.split_once('=') else {
            return Err(format!(
                "Syntax error - can't find = in {}. Must be of the form: name=value",
                crate::quote::go_quote(&w)
            ));
        };
        out.push(Node::arg(k));
        out.push(Node::arg(v));
        out.push(Node::arg("="));
    }
    Ok((out, false))
}

/// ARG: each quote-aware word is one argument.
pub(crate) fn parse_name_or_name_val(rest: &str, escape: char) -> Parsed {
    (
        parse_words(rest, escape)
            .into_iter()
            .map(Node::arg)
            .collect(),
        false,
    )
}

/// FROM, EXPOSE (and the non-JSON fallback of ADD/COPY/VOLUME).
pub(crate) fn parse_strings_whitespace_delimited(rest: &str) -> Parsed {
    if rest.is_empty() {
        return (Vec::new(), false);
    }
    (
        rest.split(is_sep)
            .filter(|s| !s.is_empty())
            .map(Node::arg)
            .collect(),
        false,
    )
}

/// MAINTAINER, USER, WORKDIR, STOPSIGNAL: the whole rest is one argument.
pub(crate) fn parse_string(rest: &str) -> Parsed {
    if rest.is_empty() {
        return (Vec::new(), false);
    }
    (vec![Node::arg(rest)], false)
}

/// RUN, CMD, ENTRYPOINT, SHELL: JSON array or the verbatim rest.
pub(crate) fn parse_maybe_json(rest: &str) -> Result<Parsed, String> {
    if rest.is_empty() {
        return Ok((Vec::new(), false));
    }
    match parse_array(rest) {
        JsonArray::Strings(v) => Ok((v.into_iter().map(Node::arg).collect(), true)),
        JsonArray::NotStrings => Err(NOT_STRING_ARRAY.into()),
        JsonArray::Invalid => Ok((vec![Node::arg(rest)], false)),
    }
}

/// ADD, COPY, VOLUME: JSON array or whitespace-separated words.
pub(crate) fn parse_maybe_json_to_list(rest: &str) -> Result<Parsed, String> {
    match parse_array(rest) {
        JsonArray::Strings(v) => Ok((v.into_iter().map(Node::arg).collect(), true)),
        JsonArray::NotStrings => Err(NOT_STRING_ARRAY.into()),
        JsonArray::Invalid => Ok(parse_strings_whitespace_delimited(rest)),
    }
}

/// HEALTHCHECK: the type word (`CMD`, `NONE`…) then a CMD-like rest.
pub(crate) fn parse_health_config(rest: &str) -> Result<Parsed, String> {
    let sep = rest.find(char::is_whitespace).unwrap_or(rest.len());
    if sep == 0 {
        return Ok((Vec::new(), false));
    }
    let typ = &rest[..sep];
    let cmd = rest[sep..].trim_start();
    let (mut nodes, json) = parse_maybe_json(cmd)?;
    nodes.insert(0, Node::arg(typ));
    Ok((nodes, json))
}
