//! Attaching to a container's streams: the terminal settings a container is created with
//! (`-t`, `-a stdin|stdout|stderr`) and detach keys in docker's syntax
//! (`--detach-keys "ctrl-p,ctrl-q"`: a comma-separated sequence of single characters or
//! `ctrl-` combinations, turned into the bytes a terminal sends; default Ctrl-P Ctrl-Q).

use super::FlagError;
use serde::{Deserialize, Serialize};

/// How a container's stdio is wired: a terminal or not, and which streams a foreground
/// `run` shows (docker's AttachStdout/AttachStderr; all when `-a` is not given).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Terminal {
    /// `-t`: the container gets a pseudo-terminal as stdio and controlling terminal.
    pub tty: bool,
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub detach_keys: DetachKeys,
}

impl Default for Terminal {
    fn default() -> Self {
        Terminal {
            tty: false,
            stdin: false,
            stdout: true,
            stderr: true,
            detach_keys: DetachKeys::default(),
        }
    }
}

impl Terminal {
    /// From `-t`, `-i`, the `-a` values and `--detach-keys`.
    pub fn parse(
        tty: bool,
        interactive: bool,
        attach: &[String],
        detach_keys: Option<&str>,
    ) -> Result<Terminal, FlagError> {
        let mut t = Terminal {
            tty,
            stdin: interactive,
            detach_keys: match detach_keys {
                Some(k) => DetachKeys::parse("--detach-keys", k)?,
                None => DetachKeys::default(),
            },
            ..Terminal::default()
        };
        if !attach.is_empty() {
            t.stdin = false;
            t.stdout = false;
            t.stderr = false;
            for a in attach {
                match a.to_ascii_lowercase().as_str() {
                    "stdin" => t.stdin = true,
                    "stdout" => t.stdout = true,
                    "stderr" => t.stderr = true,
                    _ => {
                        return Err(FlagError::new(
                            "-a, --attach",
                            a,
                            "valid streams are STDIN, STDOUT and STDERR",
                        ))
                    }
                }
            }
        }
        Ok(t)
    }
}

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

    #[test]
    fn attach_names_the_streams_shown() {
        let all = Terminal::parse(false, false, &[], None).unwrap();
        assert!(all.stdout && all.stderr && !all.stdin);
        let err = Terminal::parse(true, true, &["STDERR".into()], None).unwrap();
        assert!(err.tty && err.stderr && !err.stdout && !err.stdin);
        assert!(Terminal::parse(false, false, &["stdmess".into()], None).is_err());
    }
}
