//! docker's `--filter key=value`: the same key given twice matches either value, different
//! keys must all match. This module parses and checks the flags against a verb's keys and
//! offers the matchers they share (labels, globs); the verbs apply them to their objects.

use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    #[error("bad format of filter (expected name=value)")]
    Format,
    #[error("invalid filter '{0}'")]
    UnknownKey(String),
    #[error("invalid filter '{key}={value}': {reason}")]
    Value {
        key: String,
        value: String,
        reason: String,
    },
}

/// The `--filter` flags of one command, by key.
#[derive(Debug, Default)]
pub struct Filters(BTreeMap<String, Vec<String>>);

impl Filters {
    /// Parses `key=value` flags; a key not in `keys` is refused as docker refuses it.
    pub fn parse(flags: &[String], keys: &[&str]) -> Result<Filters, FilterError> {
        let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for f in flags {
            let (k, v) = f.split_once('=').ok_or(FilterError::Format)?;
            let k = k.trim().to_lowercase();
            if !keys.contains(&k.as_str()) {
                return Err(FilterError::UnknownKey(k));
            }
            map.entry(k).or_default().push(v.to_string());
        }
        Ok(Filters(map))
    }

    /// No filter given at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    pub fn values(&self, key: &str) -> &[String] {
        self.0.get(key).map(Vec::as_slice).unwrap_or(&[])
    }

    /// True when `key` was not given, or when `pred` holds for one of its values.
    pub fn any(&self, key: &str, pred: impl Fn(&str) -> bool) -> bool {
        match self.0.get(key) {
            None => true,
            Some(vals) => vals.iter().any(|v| pred(v)),
        }
    }

    /// docker's `label` filter: every `label=KEY` or `label=KEY=VALUE` must hold (labels
    /// are the one key where repeating means AND).
    pub fn labels_match(&self, labels: &BTreeMap<String, String>) -> bool {
        self.values("label")
            .iter()
            .all(|want| match want.split_once('=') {
                Some((k, v)) => labels.get(k).is_some_and(|have| have == v),
                None => labels.contains_key(want.as_str()),
            })
    }

    /// Rejects a value outside `allowed` (docker's `status` and `dangling` checks).
    pub fn check_values(&self, key: &str, allowed: &[&str]) -> Result<(), FilterError> {
        for v in self.values(key) {
            if !allowed.contains(&v.as_str()) {
                return Err(FilterError::Value {
                    key: key.into(),
                    value: v.clone(),
                    reason: format!("expected one of {}", allowed.join(", ")),
                });
            }
        }
        Ok(())
    }
}

/// Go's `path.Match` for the patterns docker's `reference` filter takes: `*` matches any
/// run of characters except '/', `?` one such character; everything else literally.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    fn go(p: &[char], n: &[char]) -> bool {
        match p.first() {
            None => n.is_empty(),
            Some('*') => (0..=n.len())
                .take_while(|&i| i == 0 || n[i - 1] != '/')
                .any(|i| go(&p[1..], &n[i..])),
            Some('?') => n.first().is_some_and(|&c| c != '/') && go(&p[1..], &n[1..]),
            Some(c) => n.first() == Some(c) && go(&p[1..], &n[1..]),
        }
    }
    go(&p, &n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(flags: &[&str]) -> Filters {
        let flags: Vec<String> = flags.iter().map(|s| s.to_string()).collect();
        Filters::parse(&flags, &["name", "label", "status"]).unwrap()
    }

    #[test]
    fn same_key_is_or() {
        let f = f(&["name=web", "name=db"]);
        assert!(f.any("name", |v| v == "db"));
        assert!(!f.any("name", |v| v == "cache"));
        assert!(
            f.any("status", |_| false),
            "an absent key lets everything through"
        );
    }

    #[test]
    fn labels_are_and() {
        let f = f(&["label=a", "label=b=2"]);
        let mut l = BTreeMap::new();
        l.insert("a".to_string(), "1".to_string());
        assert!(!f.labels_match(&l));
        l.insert("b".to_string(), "2".to_string());
        assert!(f.labels_match(&l));
        l.insert("b".to_string(), "3".to_string());
        assert!(!f.labels_match(&l));
    }

    #[test]
    fn unknown_key_and_bad_format_are_refused() {
        let e = Filters::parse(&["color=red".into()], &["name"]).unwrap_err();
        assert_eq!(e.to_string(), "invalid filter 'color'");
        let e = Filters::parse(&["name".into()], &["name"]).unwrap_err();
        assert_eq!(e.to_string(), "bad format of filter (expected name=value)");
    }

    #[test]
    fn globs_like_go_path_match() {
        assert!(glob_match("busy*", "busybox"));
        assert!(glob_match("busybox:*", "busybox:1.36"));
        assert!(!glob_match("*", "library/busybox"));
        assert!(glob_match("*/busybox", "library/busybox"));
        assert!(glob_match("b?sybox", "busybox"));
        assert!(!glob_match("busy", "busybox"));
    }
}
