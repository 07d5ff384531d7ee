//! `events` and `system events`: the store's events journal, replayed over `--since` /
//! `--until` and followed live without `--until`, printed as docker's CLI prints
//! `events.Message`: its text line, `--format json` (or `{{json .}}`: the message as
//! docker's JSON), or a Go template over the message's Go fields.

use super::template::{Formatter, OutputFormat};
use super::Exit;
use crate::cli::EventsArgs;
use crate::events::{follow, Event, Journal};
use crate::paths::Paths;
use std::io::Write;

/// How each event is printed.
enum Shape {
    Text,
    Json,
    Template(Box<Formatter>),
}

/// `{{json .}}` (spacing and trim markers aside) prints the message as JSON, like
/// `--format json`: the template's data carries Go's field names, the JSON docker's tags.
fn is_json_of_dot(source: &str) -> bool {
    let s = source.trim();
    let Some(inner) = s.strip_prefix("{{").and_then(|s| s.strip_suffix("}}")) else {
        return false;
    };
    let inner = inner.trim_start_matches('-').trim_end_matches('-');
    inner.split_whitespace().collect::<Vec<_>>() == ["json", "."]
}

pub fn events(paths: &Paths, args: EventsArgs) -> anyhow::Result<()> {
    let bad = |message: String| Exit { code: 125, message };
    let query = args
        .query(jiff::Timestamp::now().as_nanosecond())
        .map_err(|e| bad(e.to_string()))?;
    let shape = match OutputFormat::parse(args.format.as_deref()) {
        OutputFormat::Default => Shape::Text,
        OutputFormat::Json => Shape::Json,
        OutputFormat::Template { source, .. } if is_json_of_dot(&source) => Shape::Json,
        // A missing attribute is Go's `<no value>` (Attributes is a map in docker's).
        OutputFormat::Template { source, .. } => Shape::Template(Box::new(
            Formatter::new(&source, false, false).map_err(|e| bad(e.to_string()))?,
        )),
    };
    let stdout = std::io::stdout();
    let mut print = |ev: &Event| -> std::io::Result<()> {
        let line = match &shape {
            Shape::Text => ev.text(),
            Shape::Json => serde_json::to_string(ev).map_err(std::io::Error::other)?,
            Shape::Template(f) => f
                .render(&ev.template_data())
                .map_err(std::io::Error::other)?,
        };
        let mut out = stdout.lock();
        writeln!(out, "{line}")?;
        out.flush()
    };
    match follow(&Journal::of(paths), &query, &mut print) {
        Ok(()) => Ok(()),
        // The reader went away (`kiste events | head -3`): the stream is over.
        Err(crate::events::FollowError::Output(e))
            if e.kind() == std::io::ErrorKind::BrokenPipe =>
        {
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}
