//! `logs`: print a container's recorded output, stdout to stdout and stderr to stderr;
//! `--tail N` starts with the last N lines, `--since` skips older ones, `-f` follows until
//! the container stops.

use super::format::{now_unix, parse_rfc3339};
use super::Exit;
use crate::cli::LogsArgs;
use crate::container::Containers;
use crate::monitor::LogEntry;
use crate::paths::Paths;
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::time::Duration;

/// `--since`: RFC 3339, unix seconds, or a Go duration back from now ("90s", "1h30m").
fn parse_since(s: &str) -> Option<f64> {
    crate::time::parse_since(s, now_unix())
}

fn bad(flag: &str, value: &str, what: &str) -> anyhow::Error {
    Exit {
        code: 125,
        message: format!("invalid argument \"{value}\" for \"{flag}\" flag: {what}"),
    }
    .into()
}

/// Print one recorded line where it belongs, if it is recent enough.
fn emit(line: &str, args: &LogsArgs, since: Option<f64>) -> std::io::Result<()> {
    let Ok(entry) = serde_json::from_str::<LogEntry>(line) else {
        return Ok(());
    };
    if let Some(since) = since {
        if parse_rfc3339(&entry.time).is_some_and(|t| t < since) {
            return Ok(());
        }
    }
    let text = if args.timestamps {
        format!("{} {}", entry.time, entry.log)
    } else {
        entry.log
    };
    if entry.stream == "stderr" {
        std::io::stderr().lock().write_all(text.as_bytes())
    } else {
        std::io::stdout().lock().write_all(text.as_bytes())
    }
}

pub fn logs(paths: &Paths, args: LogsArgs) -> anyhow::Result<()> {
    let tail: Option<usize> = match args.tail.as_str() {
        "all" | "-1" => None,
        n => Some(
            n.parse()
                .map_err(|_| bad("--tail", n, "expected a number or \"all\""))?,
        ),
    };
    let since = match &args.since {
        Some(s) => Some(parse_since(s).ok_or_else(|| {
            bad(
                "--since",
                s,
                "expected RFC 3339, unix seconds or a duration such as 10m",
            )
        })?),
        None => None,
    };
    let containers = Containers::open(paths)?;
    let c = containers.get(&args.container)?;
    let file = match c.log()? {
        Some(f) => f,
        None if !args.follow => return Ok(()),
        None => anyhow::bail!("cannot follow the log of {}: it has none yet", c.rec.name),
    };
    let mut reader = BufReader::new(file);
    let mut line = String::new();
    // With --tail, the complete lines already written are read first and only the last
    // N of them printed; following then goes on from there.
    let mut backlog: VecDeque<String> = VecDeque::new();
    let mut in_backlog = tail.is_some();
    let mut ended = false;
    loop {
        line.clear();
        let n = reader.read_line(&mut line)?;
        if n == 0 || !line.ends_with('\n') {
            if n > 0 {
                // A partial line: seek back so it is read whole next time.
                reader.seek_relative(-(n as i64))?;
            }
            if in_backlog {
                in_backlog = false;
                for l in backlog.drain(..) {
                    emit(&l, &args, since)?;
                }
            }
            if !args.follow || ended {
                break;
            }
            // Follow: wait for more while the container runs; once it has ended (its
            // monitor wrote the last line before exiting), read to the end once more.
            ended = !c.wait_running(Duration::from_millis(100));
            continue;
        }
        if in_backlog {
            backlog.push_back(line.clone());
            if backlog.len() > tail.unwrap_or(usize::MAX) {
                backlog.pop_front();
            }
        } else {
            emit(&line, &args, since)?;
        }
    }
    Ok(())
}
