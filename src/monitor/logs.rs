//! The container's log as the monitor writes it: docker's json-file format (one JSON
//! object per line with the text, the stream and the time it was read) or podman's
//! k8s-file (`TIME STREAM F|P TEXT`), or nothing with `--log-driver none`. Lines longer
//! than 16 KiB are split, the pieces without a trailing newline (k8s-file marks them
//! P), as docker does. With `--log-opt max-size` the file is rotated: `container.log`
//! becomes `container.log.1` (older ones shift up to `max-file - 1`). `read_line` parses
//! either format back for `logs`.

use crate::config::{LogConfig, LogDriver};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

const MAX_LINE: usize = 16 * 1024;

pub use crate::wire::{read_line, LogEntry};

/// The file the monitor appends to, with its format and rotation.
pub struct LogFile {
    file: Option<File>,
    path: PathBuf,
    written: u64,
    config: LogConfig,
}

impl LogFile {
    /// Open (append) the log file, readable by its owner only (as docker's): a log
    /// written before kiste made logs private is made so here. `none` opens nothing.
    pub fn open(path: &Path, config: &LogConfig) -> std::io::Result<LogFile> {
        let (file, written) = match config.driver {
            LogDriver::None => (None, 0),
            _ => {
                let (f, len) = open_private(path)?;
                (Some(f), len)
            }
        };
        Ok(LogFile {
            file,
            path: path.to_path_buf(),
            written,
            config: config.clone(),
        })
    }

    fn write_entry(&mut self, stream: &str, text: &[u8]) {
        let time = crate::image::now_rfc3339();
        let line = match self.config.driver {
            LogDriver::None => return,
            LogDriver::JsonFile => {
                let entry = LogEntry {
                    log: String::from_utf8_lossy(text).into_owned(),
                    stream: stream.to_string(),
                    time,
                };
                let mut v = serde_json::to_vec(&entry).expect("log entries serialize");
                v.push(b'\n');
                v
            }
            LogDriver::K8sFile => {
                let (body, tag) = match text.strip_suffix(b"\n") {
                    Some(b) => (b, "F"),
                    None => (text, "P"),
                };
                let mut v = format!("{time} {stream} {tag} ").into_bytes();
                v.extend_from_slice(body);
                v.push(b'\n');
                v
            }
        };
        if self.config.max_size > 0 && self.written + line.len() as u64 > self.config.max_size {
            self.rotate();
        }
        if let Some(f) = &mut self.file {
            // A full disk must not stop the container: its output is dropped, not blocked.
            if f.write_all(&line).is_ok() {
                self.written += line.len() as u64;
            }
        }
    }

    /// container.log -> .1 -> .2 ... (the oldest beyond max-file goes), then a new file.
    fn rotate(&mut self) {
        if self.written == 0 {
            return;
        }
        let keep = self.config.max_file.max(1);
        let nth = |n: u32| PathBuf::from(format!("{}.{n}", self.path.display()));
        if keep == 1 {
            let _ = std::fs::remove_file(&self.path);
        } else {
            let _ = std::fs::remove_file(nth(keep - 1));
            for n in (1..keep - 1).rev() {
                let _ = std::fs::rename(nth(n), nth(n + 1));
            }
            let _ = std::fs::rename(&self.path, nth(1));
        }
        self.file = open_private(&self.path).ok().map(|(f, _)| f);
        self.written = 0;
    }
}

/// The log files of a container, oldest first (rotated ones, then the current one).
pub fn log_files(path: &Path) -> Vec<PathBuf> {
    let mut rotated: Vec<(u32, PathBuf)> = Vec::new();
    if let (Some(dir), Some(name)) = (path.parent(), path.file_name()) {
        let prefix = format!("{}.", name.to_string_lossy());
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if let Some(num) = n.strip_prefix(&prefix).and_then(|s| s.parse().ok()) {
                rotated.push((num, e.path()));
            }
        }
    }
    crate::sort::sort_by_key(&mut rotated, |r| std::cmp::Reverse(r.0));
    let mut files: Vec<PathBuf> = rotated.into_iter().map(|(_, p)| p).collect();
    files.push(path.to_path_buf());
    files
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
    pub fn push(&mut self, data: &[u8], out: &mut LogFile) {
        self.pending.extend_from_slice(data);
        while let Some(pos) = self.pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=pos).collect();
            out.write_entry(self.name, &line);
        }
        while self.pending.len() >= MAX_LINE {
            let part: Vec<u8> = self.pending.drain(..MAX_LINE).collect();
            out.write_entry(self.name, &part);
        }
    }

    /// The stream ended: write what is left.
    pub fn finish(&mut self, out: &mut LogFile) {
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            out.write_entry(self.name, &rest);
        }
    }
}

/// The log opened for appending, private to its owner, and its length (one fstat).
fn open_private(path: &Path) -> std::io::Result<(File, u64)> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let f = File::options()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)?;
    let meta = f.metadata()?;
    if meta.permissions().mode() & 0o077 != 0 {
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    Ok((f, meta.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_formats_read_back_and_rotation_keeps_max_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("container.log");
        let config = LogConfig {
            driver: LogDriver::K8sFile,
            max_size: 200,
            max_file: 3,
        };
        let mut log = LogFile::open(&path, &config).unwrap();
        let mut out = LogStream::new("stdout");
        for i in 0..40 {
            out.push(format!("line {i}\n").as_bytes(), &mut log);
        }
        out.push(b"partial", &mut log);
        out.finish(&mut log);
        let files = log_files(&path);
        assert_eq!(files.len(), 3, "{files:?}");
        let text: String = files
            .iter()
            .map(|f| std::fs::read_to_string(f).unwrap())
            .collect();
        let entries: Vec<LogEntry> = text.lines().filter_map(read_line).collect();
        assert_eq!(entries.last().unwrap().log, "partial");
        assert_eq!(entries[entries.len() - 2].log, "line 39\n");
        assert!(entries.iter().all(|e| e.stream == "stdout"));
        for f in &files {
            assert!(std::fs::metadata(f).unwrap().len() <= 200);
        }
        let json = r#"{"log":"hi\n","stream":"stderr","time":"2026-01-01T00:00:00Z"}"#;
        assert_eq!(read_line(json).unwrap().stream, "stderr");
    }
}
