//! The byte formats that separate processes of kiste share, in a leaf module that both
//! sides may import (the monitor writes them; `attach`, `logs` and the API read them):
//! kiste's attach-socket frames `[kind u8][len u32 le][payload]` (the client sends stdin
//! and window sizes, the monitor stdout and stderr), and the two formats of a
//! container's log line (docker's json-file object, podman's k8s-file
//! `TIME STREAM F|P TEXT`).

use serde::{Deserialize, Serialize};

pub const STDIN: u8 = 0;
pub const STDOUT: u8 = 1;
pub const STDERR: u8 = 2;
/// Payload: rows u16 le, cols u16 le.
pub const RESIZE: u8 = 3;
/// The client's stdin ended.
pub const STDIN_EOF: u8 = 4;

/// The socket's name in the container's run dir.
pub const SOCKET: &str = "attach";

/// One frame.
pub fn frame(kind: u8, data: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(5 + data.len());
    v.push(kind);
    v.extend_from_slice(&(data.len() as u32).to_le_bytes());
    v.extend_from_slice(data);
    v
}

/// Complete frames at the front of `buf` (removed from it).
pub fn take_frames(buf: &mut Vec<u8>) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    while buf.len() >= 5 {
        let len = u32::from_le_bytes([buf[1], buf[2], buf[3], buf[4]]) as usize;
        if buf.len() < 5 + len {
            break;
        }
        let kind = buf[0];
        let data = buf[5..5 + len].to_vec();
        buf.drain(..5 + len);
        out.push((kind, data));
    }
    out
}

#[derive(Debug, Serialize, Deserialize)]
pub struct LogEntry {
    pub log: String,
    pub stream: String,
    pub time: String,
}

/// One recorded line, in either format (None: not a log line).
pub fn read_line(line: &str) -> Option<LogEntry> {
    if line.starts_with('{') {
        return serde_json::from_str(line).ok();
    }
    let mut parts = line.splitn(4, ' ');
    let (time, stream, tag) = (parts.next()?, parts.next()?, parts.next()?);
    let text = parts.next().unwrap_or("");
    let text = text.strip_suffix('\n').unwrap_or(text);
    Some(LogEntry {
        log: if tag == "P" {
            text.to_string()
        } else {
            format!("{text}\n")
        },
        stream: stream.to_string(),
        time: time.to_string(),
    })
}
