//! The build context: a directory, filtered by `.dockerignore` with docker's semantics
//! (patterns anchored at the context root, `*`, `?`, `[…]`, `**`, `!` exceptions, the last
//! matching line wins, an excluded directory still walked where an exception may keep
//! something below it, as BuildKit's fsutil walker does), and safe resolution of COPY
//! sources inside it.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
struct Pattern {
    parts: Vec<String>,
    exclusion: bool,
}

/// What a walk of the context does with one entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visit {
    /// Not excluded: copy it (a directory with everything below it that is not excluded).
    Keep,
    /// Excluded, with nothing below it that an exception could bring back.
    Skip,
    /// An excluded directory that an exception (`!dir/sub/file`) may reach into: walk it,
    /// and keep the directory only for what is kept inside it.
    Descend,
}

/// The parsed `.dockerignore`.
#[derive(Debug, Clone, Default)]
pub struct Ignore {
    patterns: Vec<Pattern>,
}

/// Lexically clean a slash path: drop ".", resolve "..", no leading "/".
pub fn clean(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            p => out.push(p),
        }
    }
    out.join("/")
}

impl Ignore {
    /// Read `<dockerfile>.dockerignore` next to the Dockerfile if present, else
    /// `<context>/.dockerignore`.
    pub fn load(context: &Path, dockerfile: Option<&Path>) -> std::io::Result<Ignore> {
        let mut candidates = Vec::new();
        if let Some(df) = dockerfile {
            let mut name = df.as_os_str().to_owned();
            name.push(".dockerignore");
            candidates.push(PathBuf::from(name));
        }
        for c in candidates {
            match std::fs::read_to_string(&c) {
                Ok(text) => return Ok(Ignore::parse(&text)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        // The context's own file is read confined to it (a symlink there cannot make
        // the build read a host file or /dev/zero).
        match crate::fs::Root::open(context).and_then(|r| r.read(".dockerignore", 16 << 20)) {
            Ok(bytes) => Ok(Ignore::parse(&String::from_utf8_lossy(&bytes))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Ignore::default()),
            Err(e) => Err(e),
        }
    }

    pub fn parse(text: &str) -> Ignore {
        let mut patterns = Vec::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (exclusion, pat) = match line.strip_prefix('!') {
                Some(p) => (true, p.trim()),
                None => (false, line),
            };
            let cleaned = clean(pat);
            if cleaned.is_empty() {
                continue;
            }
            patterns.push(Pattern {
                parts: cleaned.split('/').map(str::to_string).collect(),
                exclusion,
            });
        }
        Ignore { patterns }
    }

    /// What to do with `rel` (a clean path relative to the context root) when walking.
    pub fn visit(&self, rel: &str, is_dir: bool) -> Visit {
        if !self.excluded(rel) {
            Visit::Keep
        } else if is_dir && self.exception_may_reach_below(rel) {
            Visit::Descend
        } else {
            Visit::Skip
        }
    }

    /// fsutil's rule: an exception reaches below `dir` when its pattern starts with `dir/`;
    /// an exception with a wildcard before its end (not only a trailing `/*` or `/**`) may
    /// match anywhere, so then every excluded directory is walked.
    fn exception_may_reach_below(&self, dir: &str) -> bool {
        let dir_slash = format!("{dir}/");
        self.patterns.iter().filter(|p| p.exclusion).any(|p| {
            let pattern = p.parts.join("/");
            let fixed = pattern
                .strip_suffix("/**")
                .or_else(|| pattern.strip_suffix("/*"))
                .unwrap_or(&pattern);
            fixed.contains(['*', '?', '[', '\\']) || format!("{pattern}/").starts_with(&dir_slash)
        })
    }

    /// Whether `rel` (a clean path relative to the context root) is excluded. A path is also
    /// excluded when one of its parent directories is (docker matches parents too).
    pub fn excluded(&self, rel: &str) -> bool {
        if self.patterns.is_empty() || rel.is_empty() {
            return false;
        }
        let parts: Vec<&str> = rel.split('/').collect();
        let mut excluded = false;
        for p in &self.patterns {
            let mut matched = match_parts(&p.parts, &parts);
            if !matched {
                // A pattern matching a parent directory matches everything below it.
                matched = (1..parts.len()).any(|n| match_parts(&p.parts, &parts[..n]));
            }
            if matched {
                excluded = !p.exclusion;
            }
        }
        excluded
    }
}

/// Match path segments against pattern segments; `**` matches any number of segments.
fn match_parts(pat: &[String], path: &[&str]) -> bool {
    match pat.first() {
        None => path.is_empty(),
        Some(p) if p == "**" => (0..=path.len()).any(|i| match_parts(&pat[1..], &path[i..])),
        Some(p) => !path.is_empty() && glob_match(p, path[0]) && match_parts(&pat[1..], &path[1..]),
    }
}

/// Shell-style match of one segment: `*`, `?`, `[abc]`, `[a-z]`, `[!a]`/`[^a]`, `\x`.
pub fn glob_match(pat: &str, name: &str) -> bool {
    let p: Vec<char> = pat.chars().collect();
    let n: Vec<char> = name.chars().collect();
    fn rec(p: &[char], n: &[char]) -> bool {
        match p.first() {
            None => n.is_empty(),
            Some('*') => (0..=n.len()).any(|i| rec(&p[1..], &n[i..])),
            Some('?') => !n.is_empty() && rec(&p[1..], &n[1..]),
            Some('[') => {
                let Some(end) = p.iter().skip(1).position(|c| *c == ']').map(|e| e + 1) else {
                    return !n.is_empty() && n[0] == '[' && rec(&p[1..], &n[1..]);
                };
                if n.is_empty() {
                    return false;
                }
                let mut class = &p[1..end];
                let negate = matches!(class.first(), Some('!') | Some('^'));
                if negate {
                    class = &class[1..];
                }
                let c = n[0];
                let mut hit = false;
                let mut i = 0;
                while i < class.len() {
                    if i + 2 < class.len() && class[i + 1] == '-' {
                        hit |= class[i] <= c && c <= class[i + 2];
                        i += 3;
                    } else {
                        hit |= class[i] == c;
                        i += 1;
                    }
                }
                hit != negate && rec(&p[end + 1..], &n[1..])
            }
            Some('\\') if p.len() > 1 => !n.is_empty() && n[0] == p[1] && rec(&p[2..], &n[1..]),
            Some(c) => !n.is_empty() && n[0] == *c && rec(&p[1..], &n[1..]),
        }
    }
    rec(&p, &n)
}

pub fn has_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockerignore_follows_docker() {
        let ig = Ignore::parse("# comment\n*.md\n!README.md\nbuild/\n**/*.tmp\n/secret\n");
        assert!(ig.excluded("CHANGES.md"));
        assert!(!ig.excluded("README.md"));
        assert!(
            !ig.excluded("docs/CHANGES.md"),
            "patterns are anchored at the root"
        );
        assert!(ig.excluded("build"));
        assert!(ig.excluded("build/out/x"));
        assert!(ig.excluded("a/b/c.tmp"));
        assert!(ig.excluded("x.tmp"));
        assert!(ig.excluded("secret"));
        assert!(!ig.excluded("src/main.rs"));
        let later_wins = Ignore::parse("!a.txt\n*.txt\n");
        assert!(later_wins.excluded("a.txt"));
    }

    #[test]
    fn exceptions_below_an_ignored_parent_are_walked_to() {
        let ig = Ignore::parse("dir\n!dir/sub/file\nother/\n!other/keep\n");
        assert_eq!(ig.visit("dir", true), Visit::Descend);
        assert_eq!(ig.visit("dir/sub", true), Visit::Descend);
        assert_eq!(ig.visit("dir/sub/file", false), Visit::Keep);
        assert_eq!(ig.visit("dir/sub/nope", false), Visit::Skip);
        assert_eq!(ig.visit("dir/a", false), Visit::Skip);
        assert_eq!(
            ig.visit("dir/x", true),
            Visit::Skip,
            "no exception below dir/x"
        );
        assert_eq!(ig.visit("other/keep", true), Visit::Keep);
        assert_eq!(ig.visit("other/keep/deep/w", false), Visit::Keep);
        assert_eq!(ig.visit("other/x", false), Visit::Skip);
        let wild = Ignore::parse("logs\n!logs/**/x.log\nelse\n");
        assert_eq!(wild.visit("logs/a", true), Visit::Descend);
        assert_eq!(wild.visit("logs/a/x.log", false), Visit::Keep);
        assert_eq!(wild.visit("logs/a/y.log", false), Visit::Skip);
        assert_eq!(
            wild.visit("else", true),
            Visit::Descend,
            "a wildcard exception may match anywhere"
        );
        let trailing = Ignore::parse("a\nb\n!a/keep/*\n");
        assert_eq!(trailing.visit("a", true), Visit::Descend);
        assert_eq!(trailing.visit("b", true), Visit::Skip);
    }

    #[test]
    fn globs_match_segments() {
        assert!(glob_match("*.txt", "a.txt"));
        assert!(!glob_match("*.txt", "a.txt.bak"));
        assert!(glob_match("file?", "file1"));
        assert!(glob_match("[a-c]x", "bx"));
        assert!(!glob_match("[!a-c]x", "bx"));
    }
}
