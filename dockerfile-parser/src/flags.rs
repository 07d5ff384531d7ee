//! Typed validation of instruction flags (BuildKit's `BFlags`): each
//! instruction declares its flags as bool, string or repeatable string;
//! unknown flags (with a did-you-mean hint), repeats, `--x=` for booleans and
//! missing values are errors.

use crate::suggest::did_you_mean;

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Kind {
    Bool,
    Str,
    Strings,
}

#[derive(Debug, Clone)]
pub(crate) enum Value {
    Bool(bool),
    Str(String),
    Strings(Vec<String>),
}

/// Parsed flags of one instruction.
#[derive(Debug, Default)]
pub(crate) struct Flags {
    values: Vec<(&'static str, Value)>,
}

impl Flags {
    /// Validate `raw` (`--name[=value]` words) against `spec`.
    pub fn parse(
        keyword: &str,
        raw: &[String],
        spec: &[(&'static str, Kind)],
    ) -> Result<Flags, String> {
        let mut flags = Flags::default();
        for arg in raw {
            let Some(body) = arg.strip_prefix("--") else {
                return Err(format!("arg should start with -- : {arg}"));
            };
            if body.is_empty() {
                break;
            }
            let (name, value) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (body, None),
            };
            let Some(&(sname, kind)) = spec.iter().find(|(n, _)| *n == name) else {
                let names: Vec<&str> = spec.iter().map(|(n, _)| *n).collect();
                let mut msg = format!("unknown flag: --{name}");
                if let Some(s) = did_you_mean(name, &names) {
                    msg.push_str(&format!(" (did you mean --{s}?)"));
                } else if names.is_empty() {
                    msg.push_str(&format!(" ({} takes no flags)", keyword.to_uppercase()));
                }
                return Err(msg);
            };
            let existing = flags.values.iter_mut().find(|(n, _)| *n == sname);
            match kind {
                Kind::Strings => {
                    let Some(v) = value else {
                        return Err(format!("missing a value on flag: --{name}"));
                    };
                    match existing {
                        Some((_, Value::Strings(list))) => list.push(v.to_string()),
                        _ => flags
                            .values
                            .push((sname, Value::Strings(vec![v.to_string()]))),
                    }
                }
                _ if existing.is_some() => {
                    return Err(format!("duplicate flag specified: --{name}"));
                }
                Kind::Bool => {
                    let b = match value {
                        None => true,
                        Some("") => return Err(format!("missing a value on flag: --{name}")),
                        Some(v) if v.eq_ignore_ascii_case("true") => true,
                        Some(v) if v.eq_ignore_ascii_case("false") => false,
                        Some(v) => {
                            return Err(format!(
                                "expecting boolean value for flag --{name}, not: {v}"
                            ))
                        }
                    };
                    flags.values.push((sname, Value::Bool(b)));
                }
                Kind::Str => {
                    let Some(v) = value else {
                        return Err(format!("missing a value on flag: --{name}"));
                    };
                    flags.values.push((sname, Value::Str(v.to_string())));
                }
            }
        }
        Ok(flags)
    }

    fn get(&self, name: &str) -> Option<&Value> {
        self.values.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    pub fn string(&self, name: &str) -> Option<String> {
        match self.get(name) {
            Some(Value::Str(s)) => Some(s.clone()),
            _ => None,
        }
    }

    pub fn bool_opt(&self, name: &str) -> Option<bool> {
        match self.get(name) {
            Some(Value::Bool(b)) => Some(*b),
            _ => None,
        }
    }

    pub fn bool(&self, name: &str) -> bool {
        self.bool_opt(name).unwrap_or(false)
    }

    pub fn strings(&self, name: &str) -> Vec<String> {
        match self.get(name) {
            Some(Value::Strings(v)) => v.clone(),
            _ => Vec::new(),
        }
    }
}
