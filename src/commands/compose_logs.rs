//! The logs of a project's containers interleaved as docker compose prints them, each
//! line prefixed `SERVICE-N  | `; with follow, until every container has ended or (for
//! an attached `up`) SIGINT/SIGTERM arrives.

use crate::container::Containers;
use crate::paths::Paths;
use std::io::{BufRead, BufReader, Write};

struct Source {
    id: String,
    label: String,
    reader: Option<BufReader<std::fs::File>>,
    /// Running when the follow began (one that had already ended does not end it).
    watched: bool,
}

/// Why a follow ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// Every container ended (or, without follow, the logs were read).
    All,
    /// SIGINT or SIGTERM arrived.
    Signal,
    /// `abort`: this container ended first.
    Exited(String),
}

/// The label of a container in the prefix: its name without the project's prefix
/// (`web-1`), or its `container_name`.
fn label(name: &str, project: &str) -> String {
    name.strip_prefix(&format!("{project}-"))
        .unwrap_or(name)
        .to_string()
}

/// Print what the containers `ids` logged (and, with `follow`, what they log until they
/// end). With `signals`, SIGINT and SIGTERM end the wait; with `abort`, the first
/// container that ends (`up --abort-on-container-exit`).
pub fn follow(
    paths: &Paths,
    ids: &[String],
    follow: bool,
    signals: bool,
    abort: bool,
) -> anyhow::Result<Ended> {
    let containers = Containers::open(paths)?;
    let mut sources: Vec<Source> = Vec::new();
    for id in ids {
        let c = containers.get(id)?;
        let project = c
            .rec
            .config
            .labels
            .get(crate::compose::labels::PROJECT)
            .cloned()
            .unwrap_or_default();
        sources.push(Source {
            id: id.clone(),
            label: label(&c.rec.name, &project),
            reader: None,
            watched: c.is_running(),
        });
    }
    let width = sources.iter().map(|s| s.label.len()).max().unwrap_or(0);
    let interrupts = if signals {
        Some(Interrupts::block()?)
    } else {
        None
    };
    let mut line = String::new();
    let mut last_pass = false;
    let mut first_exit: Option<String> = None;
    loop {
        for s in sources.iter_mut() {
            let c = match containers.get(&s.id) {
                Ok(c) => c,
                Err(_) => continue,
            };
            if s.reader.is_none() {
                s.reader = c.log()?.map(BufReader::new);
            }
            let Some(r) = s.reader.as_mut() else { continue };
            loop {
                line.clear();
                let n = r.read_line(&mut line)?;
                if n == 0 || !line.ends_with('\n') {
                    if n > 0 {
                        r.seek_relative(-(n as i64))?;
                    }
                    break;
                }
                if let Some(entry) = crate::monitor::read_log_line(&line) {
                    let text = format!("{:<width$}  | {}", s.label, entry.log);
                    std::io::stdout().lock().write_all(text.as_bytes())?;
                }
            }
        }
        std::io::stdout().flush()?;
        if !follow || last_pass {
            return Ok(first_exit.map_or(Ended::All, Ended::Exited));
        }
        let alive = |s: &Source| containers.get(&s.id).is_ok_and(|c| c.is_running());
        let running = sources.iter().any(alive);
        if abort && first_exit.is_none() {
            first_exit = sources
                .iter()
                .find(|s| s.watched && !alive(s))
                .map(|s| s.id.clone());
        }
        // Once all have ended (or, with abort, one), read once more: a monitor writes its
        // last lines before it exits.
        last_pass = !running || first_exit.is_some();
        if let Some(i) = &interrupts {
            if i.pause() {
                return Ok(Ended::Signal);
            }
        } else if running {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}

/// SIGINT and SIGTERM held back while this lives, so that a wait can notice them
/// (`pause`) instead of dying; unblocked again on drop. Nothing may fork meanwhile: a
/// child would inherit the mask.
pub struct Interrupts {
    set: nix::sys::signal::SigSet,
}

impl Interrupts {
    pub fn block() -> anyhow::Result<Interrupts> {
        let mut set = nix::sys::signal::SigSet::empty();
        set.add(nix::sys::signal::Signal::SIGINT);
        set.add(nix::sys::signal::Signal::SIGTERM);
        set.thread_block()?;
        Ok(Interrupts { set })
    }

    /// Wait 100 ms; whether SIGINT or SIGTERM came meanwhile (it is consumed).
    pub fn pause(&self) -> bool {
        let ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 100_000_000,
        };
        // SAFETY: sigtimedwait on a valid set that this thread blocks, with a valid timeout.
        unsafe { libc::sigtimedwait(self.set.as_ref(), std::ptr::null_mut(), &ts) > 0 }
    }
}

impl Drop for Interrupts {
    fn drop(&mut self) {
        let _ = self.set.thread_unblock();
    }
}
