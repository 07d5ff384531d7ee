//! Shell glob patterns used by `${v#p}`, `${v##p}`, `${v%p}`, `${v%%p}`,
//! `${v/p/r}` and `${v//p/r}`. BuildKit turns these into Go regular
//! expressions; this module matches them directly with a small position-set
//! simulation, reproducing the same leftmost/shortest/longest results
//! (including that `*` and `?` never match a newline, like Go's `.`).

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Tok {
    Lit(char),
    /// `*`: any run of characters except newline.
    Any,
    /// `?`: exactly one character except newline.
    One,
}

/// Compile a pattern (escapes kept raw). `\*`, `\?`, `\\` are literal;
/// `\}` and `\/` give the plain character; any other escape is an error.
pub(super) fn compile(pat: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = pat.chars().collect();
    let mut toks = Vec::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '*' => toks.push(Tok::Any),
            '?' => toks.push(Tok::One),
            '\\' => {
                if matches!(chars.get(i), Some('}') | Some('/')) {
                    continue;
                }
                match chars.get(i) {
                    Some(&n @ ('*' | '?' | '\\')) => {
                        toks.push(Tok::Lit(n));
                        i += 1;
                    }
                    Some(&n) => return Err(format!("invalid escape '\\{n}'")),
                    None => return Err("invalid escape '\\\u{FFFD}'".into()),
                }
            }
            _ => toks.push(Tok::Lit(c)),
        }
    }
    Ok(toks)
}

/// Positions where a match of `toks` starting at `start` can end, sorted.
/// Sets are kept sparse so a failing match costs little.
fn ends(toks: &[Tok], s: &[char], start: usize) -> Vec<usize> {
    let n = s.len();
    let mut set = vec![start];
    let mut next = Vec::new();
    for t in toks {
        next.clear();
        match *t {
            Tok::Any => {
                // Extend each position up to the next newline; positions are
                // sorted, so each character is visited at most once.
                let mut covered = 0usize;
                for &p in &set {
                    if p < covered {
                        continue; // already inside an extended run
                    }
                    let mut i = p;
                    next.push(i);
                    while i < n && s[i] != '\n' {
                        i += 1;
                        next.push(i);
                    }
                    covered = i + 1;
                }
            }
            Tok::One | Tok::Lit(_) => {
                for &p in &set {
                    if p < n {
                        let ok = match *t {
                            Tok::Lit(c) => s[p] == c,
                            _ => s[p] != '\n',
                        };
                        if ok {
                            next.push(p + 1);
                        }
                    }
                }
            }
        }
        std::mem::swap(&mut set, &mut next);
        if set.is_empty() {
            break;
        }
    }
    set
}

fn prefix_end(toks: &[Tok], s: &[char], start: usize, greedy: bool) -> Option<usize> {
    let e = ends(toks, s, start);
    if greedy {
        e.last().copied()
    } else {
        e.first().copied()
    }
}

pub(super) fn trim_prefix(toks: &[Tok], value: &str, greedy: bool) -> String {
    let s: Vec<char> = value.chars().collect();
    match prefix_end(toks, &s, 0, greedy) {
        Some(end) => s[end..].iter().collect(),
        None => value.to_string(),
    }
}

pub(super) fn trim_suffix(toks: &[Tok], value: &str, greedy: bool) -> String {
    let mut s: Vec<char> = value.chars().collect();
    s.reverse();
    let rev: Vec<Tok> = toks.iter().rev().copied().collect();
    let mut out: Vec<char> = match prefix_end(&rev, &s, 0, greedy) {
        Some(end) => s[end..].to_vec(),
        None => s,
    };
    out.reverse();
    out.into_iter().collect()
}

/// Leftmost match at or after `from`, extended as far as possible.
fn find(toks: &[Tok], s: &[char], from: usize) -> Option<(usize, usize)> {
    (from..=s.len()).find_map(|a| prefix_end(toks, s, a, true).map(|b| (a, b)))
}

pub(super) fn replace(toks: &[Tok], value: &str, rep: &str, all: bool) -> String {
    let s: Vec<char> = value.chars().collect();
    if !all {
        return match find(toks, &s, 0) {
            Some((a, b)) => {
                let mut out: String = s[..a].iter().collect();
                out.push_str(rep);
                out.extend(&s[b..]);
                out
            }
            None => value.to_string(),
        };
    }
    // Go's Regexp.ReplaceAllString semantics, including `$` templates.
    let mut out = String::new();
    let (mut last_end, mut search) = (0usize, 0usize);
    while search <= s.len() {
        let Some((a, b)) = find(toks, &s, search) else {
            break;
        };
        out.extend(&s[last_end..a]);
        if b > last_end || a == 0 {
            let whole: String = s[a..b].iter().collect();
            expand_template(&mut out, rep, &whole);
        }
        last_end = b;
        search = if search < b { b } else { search + 1 };
    }
    out.extend(&s[last_end.min(s.len())..]);
    out
}

/// Go `regexp.Expand` for a pattern without groups: `$$` is `$`, `$0` /
/// `${0}` is the whole match, other names expand to nothing, and a `$` that
/// does not start a valid reference is kept.
fn expand_template(out: &mut String, template: &str, whole: &str) {
    let mut rest = template;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        rest = &rest[i + 1..];
        if let Some(r) = rest.strip_prefix('$') {
            out.push('$');
            rest = r;
            continue;
        }
        let (brace, body) = match rest.strip_prefix('{') {
            Some(b) => (true, b),
            None => (false, rest),
        };
        let name_len: usize = body
            .char_indices()
            .find(|&(_, c)| !(c.is_alphanumeric() || c == '_'))
            .map(|(i, _)| i)
            .unwrap_or(body.len());
        if name_len == 0 || (brace && !body[name_len..].starts_with('}')) {
            out.push('$');
            continue;
        }
        let name = &body[..name_len];
        rest = &body[name_len + usize::from(brace)..];
        if name == "0" {
            out.push_str(whole);
        }
    }
    out.push_str(rest);
}
