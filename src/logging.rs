//! kiste's own diagnostics on stderr, filtered by `--log-level` (debug, info, warn, error;
//! default info, as docker's). On a terminal a line reads as logrus prints it there
//! (`DEBU[0000] message`, the level colored unless `NO_COLOR` is set); elsewhere as
//! logrus's text format (`time="…" level=debug msg="…"`), one line each, for CI logs.
//! It is a level in an atomic and a write to stderr: no thread, nothing to set up before
//! a fork. Messages meant for the user (errors, docker's `WARNING:` lines) are not logs
//! and do not go through here.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Level {
    Debug = 0,
    Info = 1,
    Warn = 2,
    #[value(alias = "fatal")]
    Error = 3,
}

impl Level {
    fn word(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warning",
            Level::Error => "error",
        }
    }

    /// logrus's four-letter tag and its ANSI color.
    fn tag(self) -> (&'static str, u8) {
        match self {
            Level::Debug => ("DEBU", 37),
            Level::Info => ("INFO", 36),
            Level::Warn => ("WARN", 33),
            Level::Error => ("ERRO", 31),
        }
    }
}

static LEVEL: AtomicU8 = AtomicU8::new(Level::Info as u8);

fn started() -> &'static Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now)
}

pub fn set_level(level: Level) {
    started();
    LEVEL.store(level as u8, Ordering::Relaxed);
}

pub fn enabled(level: Level) -> bool {
    level as u8 >= LEVEL.load(Ordering::Relaxed)
}

/// Whether output meant for a terminal may carry colors: `NO_COLOR` (any non-empty
/// value, as no-color.org says) turns them off.
pub fn colors_allowed() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Go's %q for the message of logrus's text format.
fn quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The line for `level` and `msg`, as written on a terminal (`tty`) or elsewhere.
pub fn format_line(level: Level, msg: &str, tty: bool, color: bool, secs: u64) -> String {
    if tty {
        let (tag, code) = level.tag();
        if color {
            format!("\x1b[{code}m{tag}\x1b[0m[{secs:04}] {msg}")
        } else {
            format!("{tag}[{secs:04}] {msg}")
        }
    } else {
        format!(
            "time=\"{}\" level={} msg={}",
            crate::time::now_rfc3339(),
            level.word(),
            quoted(msg)
        )
    }
}

/// Write one log line (if `level` is enabled).
pub fn emit(level: Level, msg: std::fmt::Arguments) {
    if !enabled(level) {
        return;
    }
    let tty = std::io::stderr().is_terminal();
    let line = format_line(
        level,
        &msg.to_string(),
        tty,
        tty && colors_allowed(),
        started().elapsed().as_secs(),
    );
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// `log_debug!("…{x}…")`: a debug line on stderr when `--log-level debug`.
#[macro_export]
macro_rules! log_debug {
    ($($t:tt)*) => {
        if $crate::logging::enabled($crate::logging::Level::Debug) {
            $crate::logging::emit($crate::logging::Level::Debug, format_args!($($t)*))
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_read_like_logrus() {
        let plain = format_line(Level::Debug, "say \"hi\"\n", false, false, 0);
        assert!(plain.starts_with("time=\""), "{plain}");
        assert!(
            plain.ends_with(" level=debug msg=\"say \\\"hi\\\"\\n\""),
            "{plain}"
        );
        assert_eq!(
            format_line(Level::Warn, "x", true, false, 3),
            "WARN[0003] x"
        );
        assert_eq!(
            format_line(Level::Error, "x", true, true, 0),
            "\x1b[31mERRO\x1b[0m[0000] x"
        );
    }

    #[test]
    fn levels_filter_by_order() {
        set_level(Level::Warn);
        assert!(!enabled(Level::Info));
        assert!(enabled(Level::Error));
        set_level(Level::Info);
        assert!(enabled(Level::Info) && !enabled(Level::Debug));
    }
}
