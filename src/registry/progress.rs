//! What pull and push tell the user, in docker's words: plain lines (`ID: Pulling fs
//! layer`, `ID: Pull complete`, `Digest: …`) for scripts and logs, or per-layer
//! indicatif bars on stderr when it is a terminal, or nothing but errors with `-q`.
//! Shared by the transfer threads, so every write goes through one lock.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::sync::Mutex;

/// The sink for progress output.
pub struct Progress {
    out: Mutex<Box<dyn Write + Send>>,
    quiet: bool,
    bars: Option<MultiProgress>,
}

impl Progress {
    /// Lines to `out`; bars on stderr instead of per-layer lines when stderr is a
    /// terminal; nothing when `quiet`.
    pub fn new(out: Box<dyn Write + Send>, quiet: bool) -> Progress {
        let bars = (!quiet && std::io::stderr().is_terminal())
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        Progress {
            out: Mutex::new(out),
            quiet,
            bars,
        }
    }

    /// Prints nothing at all (used where a caller shows its own output).
    pub fn silent() -> Progress {
        Progress {
            out: Mutex::new(Box::new(std::io::sink())),
            quiet: true,
            bars: None,
        }
    }

    /// A status line such as `Digest: sha256:…`.
    pub fn line(&self, text: &str) {
        if self.quiet {
            return;
        }
        match &self.bars {
            Some(bars) => {
                let _ = bars.println(text);
            }
            None => {
                let mut out = self.out.lock().expect("progress output");
                let _ = writeln!(out, "{text}");
                let _ = out.flush();
            }
        }
    }

    /// `ID: status` for one layer.
    pub fn layer(&self, id: &str, status: &str) {
        if self.bars.is_none() {
            self.line(&format!("{id}: {status}"));
        }
    }

    /// A transfer of `total` bytes for layer `id`; a bar on a terminal, else a plain
    /// `ID: start` line.
    pub fn transfer(&self, id: &str, start: &str, total: u64) -> Transfer {
        let Some(bars) = &self.bars else {
            self.layer(id, start);
            return Transfer { bar: None };
        };
        let bar = bars.add(ProgressBar::new(total));
        bar.set_style(
            ProgressStyle::with_template("{prefix}: {msg:<12} [{bar:40}] {bytes}/{total_bytes}")
                .expect("static template")
                .progress_chars("=> "),
        );
        bar.set_prefix(id.to_string());
        bar.set_message(start.to_string());
        Transfer { bar: Some(bar) }
    }
}

/// One layer's transfer in progress.
pub struct Transfer {
    bar: Option<ProgressBar>,
}

impl Transfer {
    /// `done` bytes have moved.
    pub fn set(&self, done: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(done);
        }
    }

    /// The transfer ended with `status` (`Pull complete`, `Pushed`).
    pub fn finish(&self, progress: &Progress, id: &str, status: &str) {
        match &self.bar {
            Some(bar) => bar.finish_with_message(status.to_string()),
            None => progress.layer(id, status),
        }
    }
}
