//! The container's log, in docker's json-file format: one JSON object per line with the
//! text, the stream and the time it was read. Lines longer than 16 KiB are split, the
//! pieces without a trailing newline, as docker does.

use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::Write;
use std::path::Path;

const MAX_LINE: usize = 16 * 1024;

#[derive(Debug, Serialize, Deserialize)]
pub struct LogEntry {
    pub log: String,
    pub stream: String,
    pub time: String,
}

/// Splits a stream's bytes into lines and appends them to the log file.
pub struct LogStream {
    name: &'static str,
    pending: Vec<u8>,
}

impl LogStream {
    pub fn new(name: &'static str) -> LogStream {
        LogStream {
            name,
            pending: Vec::new(),
        }
    }

    /// Add bytes read from the container; write out every complete line.
    pub fn push(&mut self, data: &[u8], out: &mut File) {
        self.pending.extend_from_slice(data);
        while let Some(pos) = self.pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=pos).collect();
            write_entry(out, self.name, &line);
        }
        while self.pending.len() >= MAX_LINE {
            let part: Vec<u8> = self.pending.drain(..MAX_LINE).collect();
            write_entry(out, self.name, &part);
        }
    }

    /// The stream ended: write what is left.
    pub fn finish(&mut self, out: &mut File) {
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            write_entry(out, self.name, &rest);
        }
    }
}

fn write_entry(out: &mut File, stream: &str, text: &[u8]) {
    let entry = LogEntry {
        log: String::from_utf8_lossy(text).into_owned(),
        stream: stream.to_string(),
        time: crate::image::now_rfc3339(),
    };
    let mut line = serde_json::to_vec(&entry).expect("log entries serialize");
    line.push(b'\n');
    // A full disk must not stop the container: its output is dropped, not blocked.
    let _ = out.write_all(&line);
}

/// Open (append) the log file, readable by its owner only (as docker's): a log written
/// before kiste made logs private is made so here.
pub fn open_log(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let f = File::options()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)?;
    if f.metadata()?.permissions().mode() & 0o077 != 0 {
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(f)
}
