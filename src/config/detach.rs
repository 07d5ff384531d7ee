//! Detach keys in docker's syntax (`--detach-keys "ctrl-p,ctrl-q"`): a comma-separated
//! sequence of single characters or `ctrl-` combinations, turned into the bytes a
//! terminal sends. Default: Ctrl-P Ctrl-Q, as docker.

use super::FlagError;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DetachKeys(pub Vec<u8>);

impl Default for DetachKeys {
    fn default() -> Self {
        DetachKeys(vec![0x10, 0x11])
    }
}

impl DetachKeys {
    pub fn parse(flag: &'static str, value: &str) -> Result<DetachKeys, FlagError> {
        let mut out = Vec::new();
        for key in value.split(',') {
            let lower = key.to_ascii_lowercase();
            let byte = if let Some(c) = lower.strip_prefix("ctrl-") {
                match c.as_bytes() {
                    [b @ b'a'..=b'z'] => b - b'a' + 1,
                    [b'@'] => 0,
                    [b @ (b'[' | b'\\' | b']' | b'^' | b'_')] => b - b'@',
                    _ => {
                        return Err(FlagError::new(
                            flag,
                            value,
                            format!("unknown character: '{key}'"),
                        ))
                    }
                }
            } else if key.len() == 1 && key.is_ascii() {
                key.as_bytes()[0]
            } else {
                return Err(FlagError::new(
                    flag,
                    value,
                    format!("unknown character: '{key}'"),
                ));
            };
            out.push(byte);
        }
        Ok(DetachKeys(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_syntax_becomes_terminal_bytes() {
        assert_eq!(DetachKeys::parse("k", "ctrl-a,a").unwrap().0, vec![1, b'a']);
        assert_eq!(
            DetachKeys::parse("k", "ctrl-p,ctrl-q").unwrap(),
            DetachKeys::default()
        );
        assert_eq!(
            DetachKeys::parse("k", "ctrl-@,ctrl-_").unwrap().0,
            vec![0, 0x1f]
        );
        assert!(DetachKeys::parse("k", "ctrl-1").is_err());
        assert!(DetachKeys::parse("k", "ab").is_err());
    }
}
