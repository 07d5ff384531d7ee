//! What a build prints. Docker's classic lines ("Step 2/4 : COPY …", " ---> Using cache",
//! the RUN output) go to stdout always (unless -q); on a terminal an indicatif spinner on
//! stderr also shows the running step and its elapsed time, hidden while lines print.
//! The spinner has no ticker thread: the build forks RUN containers, and a fork in a
//! process with a second thread can leave the child stuck on a lock that thread held.
//! The RUN output loop calls `tick` instead.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Write};

pub struct Progress {
    quiet: bool,
    bar: Option<ProgressBar>,
}

impl Progress {
    pub fn new(quiet: bool) -> Progress {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{elapsed}] {msg}")
                    .expect("a valid template"),
            );
            bar
        });
        Progress { quiet, bar }
    }

    /// Write to stdout with the spinner out of the way.
    fn out(&self, bytes: &[u8]) {
        if self.quiet {
            return;
        }
        let write = || {
            let mut o = std::io::stdout().lock();
            let _ = o.write_all(bytes);
            let _ = o.flush();
        };
        match &self.bar {
            Some(b) => b.suspend(write),
            None => write(),
        }
    }

    /// One line of build output.
    pub fn line(&self, text: std::fmt::Arguments) {
        let mut s = text.to_string();
        s.push('\n');
        self.out(s.as_bytes());
    }

    /// A step begins: its line, and the spinner's message.
    pub fn step(&self, n: usize, of: usize, text: &str) {
        self.line(format_args!("Step {n}/{of} : {text}"));
        if let Some(b) = &self.bar {
            b.reset_elapsed();
            b.set_message(format!(
                "Step {n}/{of} : {}",
                text.lines().next().unwrap_or("")
            ));
        }
    }

    /// Redraw the spinner (its elapsed time) while a step runs quietly.
    pub fn tick(&self) {
        if let Some(b) = &self.bar {
            b.tick();
        }
    }

    /// Output of a RUN step's command, as it comes.
    pub fn output(&self, bytes: &[u8]) {
        self.out(bytes);
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
