//! Variable interpolation as compose does it on every string value of a file: `$VAR`,
//! `${VAR}`, `${VAR:-default}` / `${VAR-default}` (empty-or-unset / unset),
//! `${VAR:+other}` / `${VAR+other}`, `${VAR:?error}` / `${VAR?error}` and `$$` for a
//! literal `$`. Defaults are themselves interpolated. Keys are never interpolated.

use std::collections::{BTreeMap, BTreeSet};

/// The variables a file sees: the process environment over the project's `.env` file.
#[derive(Debug, Clone, Default)]
pub struct Lookup {
    pub vars: BTreeMap<String, String>,
    /// Variables used but not set (each warned about once, as compose does).
    pub unset: BTreeSet<String>,
}

impl Lookup {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }
}

/// `s` with its variables replaced; Err is the message of a `:?`/`?` variable or a
/// malformed `${…}`.
pub fn interpolate_str(s: &str, lookup: &mut Lookup) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'$' {
            let ch = s[i..].chars().next().unwrap_or_default();
            out.push(ch);
            i += ch.len_utf8();
            continue;
        }
        match b.get(i + 1) {
            Some(b'$') => {
                out.push('$');
                i += 2;
            }
            Some(b'{') => {
                let end = closing_brace(s, i + 2).ok_or_else(|| {
                    format!("invalid interpolation format for {s:?}: missing '}}'")
                })?;
                out.push_str(&braced(&s[i + 2..end], s, lookup)?);
                i = end + 1;
            }
            Some(c) if c.is_ascii_alphabetic() || *c == b'_' => {
                let start = i + 1;
                let mut j = start;
                while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                    j += 1;
                }
                out.push_str(&value_of(&s[start..j], lookup));
                i = j;
            }
            _ => {
                return Err(format!(
                "invalid interpolation format for {s:?}: a lone '$' (write '$$' for a literal one)"
            ))
            }
        }
    }
    Ok(out)
}

/// The index of the `}` that closes a `${` whose body starts at `from` (nested `${…}`
/// in a default counted).
fn closing_brace(s: &str, from: usize) -> Option<usize> {
    let b = s.as_bytes();
    let mut depth = 0;
    let mut i = from;
    while i < b.len() {
        match b[i] {
            b'$' if b.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 1;
            }
            b'}' if depth == 0 => return Some(i),
            b'}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    None
}

fn value_of(name: &str, lookup: &mut Lookup) -> String {
    match lookup.get(name) {
        Some(v) => v.to_string(),
        None => {
            lookup.unset.insert(name.to_string());
            String::new()
        }
    }
}

fn braced(body: &str, whole: &str, lookup: &mut Lookup) -> Result<String, String> {
    let name_end = body
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(body.len());
    let name = &body[..name_end];
    let rest = &body[name_end..];
    if name.is_empty() || name.as_bytes()[0].is_ascii_digit() {
        return Err(format!(
            "invalid interpolation format for {whole:?}: bad variable name in \"${{{body}}}\""
        ));
    }
    let value = lookup.get(name).map(str::to_string);
    let (op, arg) = if let Some(a) = rest.strip_prefix(":-") {
        (":-", a)
    } else if let Some(a) = rest.strip_prefix(":?") {
        (":?", a)
    } else if let Some(a) = rest.strip_prefix(":+") {
        (":+", a)
    } else if rest.is_empty() {
        ("", "")
    } else {
        let (o, a) = rest.split_at(1);
        (o, a)
    };
    let empty_counts = op.starts_with(':');
    let missing = match &value {
        None => true,
        Some(v) => empty_counts && v.is_empty(),
    };
    match op.trim_start_matches(':') {
        "" => Ok(value_of(name, lookup)),
        "-" if missing => interpolate_str(arg, lookup),
        "-" => Ok(value.unwrap_or_default()),
        "+" if missing => Ok(String::new()),
        "+" => interpolate_str(arg, lookup),
        "?" if missing => {
            let message = interpolate_str(arg, lookup)?;
            Err(format!(
                "required variable {name} is missing a value: {message}"
            ))
        }
        "?" => Ok(value.unwrap_or_default()),
        _ => Err(format!(
            "invalid interpolation format for {whole:?}: unknown operator in \"${{{body}}}\""
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(pairs: &[(&str, &str)]) -> Lookup {
        Lookup {
            vars: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            unset: Default::default(),
        }
    }

    #[test]
    fn every_form_of_compose_interpolation() {
        let mut l = lookup(&[("A", "x"), ("E", "")]);
        let cases = [
            ("$A-${A}", "x-x"),
            ("${E:-d}|${E-d}|${U-d}|${U:-d}", "d||d|d"),
            ("${A:+y}|${E:+y}|${E+y}|${U+y}", "y||y|"),
            ("$$A costs $$5", "$A costs $5"),
            ("${U:-${A}z}", "xz"),
            ("${A?no}${A:?no}", "xx"),
        ];
        for (input, want) in cases {
            assert_eq!(interpolate_str(input, &mut l).unwrap(), want, "{input}");
        }
    }

    #[test]
    fn unset_variable_is_blank_and_recorded() {
        let mut l = lookup(&[]);
        assert_eq!(interpolate_str("a${NOPE}b$NOPE2", &mut l).unwrap(), "ab");
        assert!(l.unset.contains("NOPE") && l.unset.contains("NOPE2"));
    }

    #[test]
    fn required_variable_names_itself_and_the_message() {
        let mut l = lookup(&[("E", "")]);
        assert_eq!(
            interpolate_str("${DB_PASSWORD:?set it in .env}", &mut l).unwrap_err(),
            "required variable DB_PASSWORD is missing a value: set it in .env"
        );
        assert!(interpolate_str("${E:?empty}", &mut l).is_err());
        assert_eq!(interpolate_str("${E?unset only}", &mut l).unwrap(), "");
    }

    #[test]
    fn malformed_interpolation_is_an_error() {
        let mut l = lookup(&[]);
        assert!(interpolate_str("${A", &mut l).is_err());
        assert!(interpolate_str("cost $5", &mut l).is_err());
        assert!(interpolate_str("${1A}", &mut l).is_err());
    }
}
