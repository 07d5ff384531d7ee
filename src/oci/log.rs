//! `--log FILE` and `--log-format text|json`: where `kiste oci` writes its errors and
//! warnings, as runc writes them through logrus. conmon and containerd's shim read the
//! last `"level":"error"` line of that file to tell their user why a command failed, so
//! a line is one JSON object (`{"level":"error","msg":"...","time":"RFC 3339"}`) or one
//! logrus text line (`time="..." level=error msg="..."`). An error is also one line on
//! stderr (`kiste oci: MESSAGE`), with or without `--log`; warnings without `--log` go to
//! stderr as formatted lines.
//! Opening the file is the only I/O here; a file that cannot be opened falls back to
//! stderr (the command's error must reach someone).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::cli::oci::LogFormat;

/// The level of a line, as logrus names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Warning,
    Error,
}

impl Level {
    fn word(self) -> &'static str {
        match self {
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

/// One log line in `format`, at `time` (RFC 3339), without the newline.
pub fn format_line(format: LogFormat, level: Level, msg: &str, time: &str) -> String {
    match format {
        LogFormat::Json => serde_json::json!({
            "level": level.word(),
            "msg": msg,
            "time": time,
        })
        .to_string(),
        LogFormat::Text => format!(
            "time={} level={} msg={}",
            quote(time),
            level.word(),
            quote(msg)
        ),
    }
}

/// logrus quotes a value when it holds anything but `[A-Za-z0-9-._/@^+]`; the time always
/// has a ':' and so is always quoted.
fn quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._/@^+".contains(c));
    if plain {
        s.to_string()
    } else {
        serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
    }
}

/// The time of a line: seconds, UTC, as logrus's default RFC 3339 layout.
fn now() -> String {
    crate::time::format_rfc3339(jiff::Timestamp::now().as_second(), 0)
}

/// Appends one line to `log`, or writes it to stderr without `--log`.
pub fn write(log: Option<&Path>, format: LogFormat, level: Level, msg: &str) {
    let line = format_line(format, level, msg, &now());
    if let Some(path) = log {
        let opened = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path);
        if let Ok(mut f) = opened {
            if writeln!(f, "{line}").is_ok() {
                return;
            }
        }
    }
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// An error that ends the command: the formatted line to `--log` (if given), and one
/// line on stderr, as runc's `fatal` prints the message there too.
pub fn error(log: Option<&Path>, format: LogFormat, msg: &str) {
    if log.is_some() {
        write(log, format, Level::Error, msg);
    }
    let _ = writeln!(std::io::stderr().lock(), "kiste oci: {msg}");
}

/// A warning (e.g. a config field kiste does not apply): only the formatted line.
pub fn warning(log: Option<&Path>, format: LogFormat, msg: &str) {
    write(log, format, Level::Warning, msg);
}

/// The command's `--log` and `--log-format`, set once by `oci::main` for code that has
/// no `Global` at hand (the config's translation warns from deep inside).
static TARGET: OnceLock<(Option<PathBuf>, LogFormat)> = OnceLock::new();

pub fn configure(log: Option<PathBuf>, format: LogFormat) {
    let _ = TARGET.set((log, format));
}

/// A warning to the configured log (stderr, text, before `configure`).
pub fn warn(msg: &str) {
    match TARGET.get() {
        Some((log, format)) => warning(log.as_deref(), *format, msg),
        None => warning(None, LogFormat::Text, msg),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_line_has_level_msg_and_time_as_containerd_reads_them() {
        let line = format_line(
            LogFormat::Json,
            Level::Error,
            "container does not exist",
            "2026-12-02T04:37:20Z",
        );
        assert_eq!(
            line,
            r#"{"level":"error","msg":"container does not exist","time":"2026-12-02T04:37:20Z"}"#
        );
    }

    #[test]
    fn text_line_quotes_like_logrus() {
        let line = format_line(
            LogFormat::Text,
            Level::Warning,
            "apparmor \"x\" ignored",
            "2026-12-02T04:37:20Z",
        );
        assert_eq!(
            line,
            r#"time="2026-12-02T04:37:20Z" level=warning msg="apparmor \"x\" ignored""#
        );
        let plain = format_line(LogFormat::Text, Level::Error, "gone", "t");
        assert_eq!(plain, "time=t level=error msg=gone");
    }

    #[test]
    fn lines_append_to_the_log_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.json");
        write(Some(&path), LogFormat::Json, Level::Warning, "one");
        write(Some(&path), LogFormat::Json, Level::Error, "two");
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["level"], "warning");
        assert_eq!(lines[1]["msg"], "two");
        assert!(crate::time::parse_rfc3339(lines[1]["time"].as_str().unwrap()).is_some());
    }
}
