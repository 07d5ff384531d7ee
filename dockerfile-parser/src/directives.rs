//! Parser directives (`# syntax=`, `# escape=`, `# check=`) read from the top
//! of a Dockerfile, with BuildKit's rules: keys are case-insensitive, a key
//! may appear once, and the block ends at the first line that is not a known
//! directive.

/// State of the directive block while the file is being read.
#[derive(Debug, Clone)]
pub(crate) struct Directives {
    pub escape: char,
    pub syntax: Option<String>,
    pub check: Option<String>,
    done: bool,
    seen: Vec<String>,
}

impl Default for Directives {
    fn default() -> Self {
        Directives {
            escape: '\\',
            syntax: None,
            check: None,
            done: false,
            seen: Vec::new(),
        }
    }
}

fn is_re_space(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\x0c' | '\r' | ' ')
}

/// Match `#\s*key\s*=\s*value` (leading `#` and whitespace already known to
/// be present). Returns the key and value.
pub(crate) fn match_directive(line: &str, prefix: &str) -> Option<(String, String)> {
    let rest = line.strip_prefix(prefix)?;
    let rest = rest.trim_start();
    let key_len = rest
        .char_indices()
        .find(|&(i, c)| {
            if i == 0 {
                !c.is_ascii_alphabetic()
            } else {
                !c.is_ascii_alphanumeric()
            }
        })
        .map(|(i, _)| i)
        .unwrap_or(rest.len());
    if key_len == 0 {
        return None;
    }
    let key = &rest[..key_len];
    let after = rest[key_len..].trim_start_matches(is_re_space);
    let after = after.strip_prefix('=')?;
    let value = after.trim_start_matches(is_re_space);
    let value = if value.is_empty() {
        // `\s*(.+?)` backtracks: the last blank becomes the value.
        let c = after.chars().last()?;
        c.to_string()
    } else {
        value.trim_end_matches(is_re_space).to_string()
    };
    Some((key.to_string(), value))
}

impl Directives {
    /// Feed one line (newline trimmed). Returns `Ok(true)` if it was a
    /// directive.
    pub fn parse_line(&mut self, line: &str) -> Result<bool, String> {
        if self.done {
            return Ok(false);
        }
        let Some((key, value)) = match_directive(line, "#") else {
            self.done = true;
            return Ok(false);
        };
        let key = key.to_ascii_lowercase();
        if !matches!(key.as_str(), "escape" | "syntax" | "check") {
            self.done = true;
            return Ok(false);
        }
        if self.seen.contains(&key) {
            return Err(format!("only one {key} parser directive can be used"));
        }
        self.seen.push(key.clone());
        match key.as_str() {
            "escape" => {
                if value != "`" && value != "\\" {
                    return Err(format!(
                        "invalid escape token '{value}' does not match ` or \\"
                    ));
                }
                self.escape = value.chars().next().unwrap_or('\\');
            }
            "syntax" => self.syntax = Some(value),
            _ => self.check = Some(value),
        }
        Ok(true)
    }
}

/// A directive found by [`detect_directive`].
#[derive(Debug, Clone, PartialEq)]
pub struct DetectedDirective {
    /// The first space-separated token of the value (the image ref for `syntax`).
    pub reference: String,
    /// The full value.
    pub value: String,
    /// 1-based line of the directive (0 for the JSON form).
    pub line: usize,
}

/// Find a directive the way BuildKit's `DetectSyntax` (for `syntax`) and
/// `ParseDirective` (for other keys) do: a BOM and a `#!` first line are
/// skipped; for `syntax`, `//syntax=` lines and a JSON object file are also
/// accepted.
pub fn detect_directive(key: &str, source: &str) -> Option<DetectedDirective> {
    let src = source.strip_prefix('\u{feff}').unwrap_or(source);
    let (src, base) = match src.split_once('\n') {
        Some((first, rest)) if first.starts_with("#!") => (rest, 1),
        None if src.starts_with("#!") => ("", 1),
        _ => (src, 0),
    };
    let any_format = key.eq_ignore_ascii_case("syntax");
    let prefixes: &[&str] = if any_format { &["#", "//"] } else { &["#"] };
    for prefix in prefixes {
        let mut seen: Vec<String> = Vec::new();
        for (i, raw) in src.split('\n').enumerate() {
            let line = raw.strip_suffix('\r').unwrap_or(raw);
            let Some((k, v)) = match_directive(line, prefix) else {
                break;
            };
            let k = k.to_ascii_lowercase();
            if !matches!(k.as_str(), "escape" | "syntax" | "check") || seen.contains(&k) {
                break;
            }
            seen.push(k.clone());
            if k.eq_ignore_ascii_case(key) {
                let reference = v.split(' ').next().unwrap_or("").to_string();
                return Some(DetectedDirective {
                    reference,
                    value: v,
                    line: base + i + 1,
                });
            }
        }
    }
    if any_format {
        if let Some(v) = crate::json::object_string_field(src, key) {
            return Some(DetectedDirective {
                reference: v.clone(),
                value: v,
                line: base,
            });
        }
    }
    None
}
