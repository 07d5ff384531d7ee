//! `logs`: print a container's recorded output (json-file or k8s-file, rotated files
//! first), stdout to stdout and stderr to stderr; `--tail N` starts with the last N
//! lines, `--since`/`--until` keep a time window, `--details` prefixes each line with its
//! (empty) attributes as docker does, `-f` follows until the container stops. A
//! container logging to `none` has nothing to read: docker's error.

use super::format::{now_unix, parse_rfc3339};
use super::Exit;
use crate::cli::LogsArgs;
use crate::container::Containers;
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

/// The time window `--since`/`--until` keep (unix seconds).
struct Window {
    since: Option<f64>,
    until: Option<f64>,
}

/// Print one recorded line where it belongs, if it is in the window.
fn emit(line: &str, args: &LogsArgs, window: &Window) -> std::io::Result<()> {
    let Some(entry) = crate::monitor::read_log_line(line) else {
        return Ok(());
    };
    let t = parse_rfc3339(&entry.time);
    if window.since.is_some_and(|s| t.is_some_and(|t| t < s))
        || window.until.is_some_and(|u| t.is_some_and(|t| t >= u))
    {
        return Ok(());
    }
    let mut text = String::new();
    if args.timestamps {
        text.push_str(&entry.time);
        text.push(' ');
    }
    if args.details {
        // docker prints the line's attributes (none here) and a space.
        text.push(' ');
    }
    text.push_str(&entry.log);
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
    let until = match &args.until {
        Some(s) => Some(parse_since(s).ok_or_else(|| {
            bad(
                "--until",
                s,
                "expected RFC 3339, unix seconds or a duration such as 10m",
            )
        })?),
        None => None,
    };
    let window = Window { since, until };
    let containers = Containers::open(paths)?;
    let c = containers.get(&args.container)?;
    if c.rec.config.host.log.driver == crate::config::LogDriver::None {
        return Err(Exit {
            code: 1,
            message: "configured logging driver does not support reading".into(),
        }
        .into());
    }
    // Rotated files hold the older lines: they go through the same tail and window.
    let mut backlog: VecDeque<String> = VecDeque::new();
    let log_files = crate::monitor::log_files(&c.log_path());
    for old in &log_files[..log_files.len() - 1] {
        for l in std::fs::read_to_string(old).unwrap_or_default().lines() {
            let l = format!("{l}\n");
            match tail {
                Some(n) => {
                    backlog.push_back(l);
                    if backlog.len() > n {
                        backlog.pop_front();
                    }
                }
                None => emit(&l, &args, &window)?,
            }
        }
    }
    let file = match c.log()? {
        Some(f) => f,
        None if !args.follow => return Ok(()),
        None => anyhow::bail!("cannot follow the log of {}: it has none yet", c.rec.name),
    };
    let mut reader = BufReader::new(file);
    let mut line = String::new();
    // With --tail, the complete lines already written are read first and only the last
    // N of them printed; following then goes on from there.
    let mut in_backlog = tail.is_some();
    let mut draining = false;
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
                    emit(&l, &args, &window)?;
                }
            }
            if !args.follow || ended {
                break;
            }
            // Follow: wait for more while the container runs; once it has ended (its
            // monitor wrote the last line before exiting), read to the end once more.
            // The monitor rotated the file (--log-opt max-size): once renamed the old one
            // gets no more lines, so it is read to its end once more, then the new one.
            if rotated(reader.get_ref(), &c.log_path()) {
                if draining {
                    if let Some(f) = c.log()? {
                        reader = BufReader::new(f);
                    }
                }
                draining = !draining;
                continue;
            }
            ended = !c.wait_running(Duration::from_millis(100));
            continue;
        }
        if in_backlog {
            backlog.push_back(line.clone());
            if backlog.len() > tail.unwrap_or(usize::MAX) {
                backlog.pop_front();
            }
        } else {
            emit(&line, &args, &window)?;
        }
    }
    Ok(())
}

/// Whether `path` is no longer the file `open` reads (it was rotated away).
fn rotated(open: &std::fs::File, path: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (open.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => (a.dev(), a.ino()) != (b.dev(), b.ino()),
        _ => false,
    }
}
