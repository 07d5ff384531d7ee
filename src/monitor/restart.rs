//! Restart policies, carried out by the container's monitor: after an exit that the
//! policy restarts (`finish` recorded it as restarting), wait docker's backoff (100 ms,
//! doubled after each restart, at most a minute, back to 100 ms once a run lasted 10 s)
//! and start the container again in this same monitor. A `stop`/`kill` marks the record
//! (`stopped_by_user`), which ends the policy, during the backoff too.

use super::{lock_start, prepare, run_monitored, Mode, MonitorError};
use crate::image::ImageStore;
use crate::paths::Paths;
use crate::state::{ContainerRecord, ContainerStore};
use std::time::{Duration, Instant};

const FIRST_DELAY: Duration = Duration::from_millis(100);
const MAX_DELAY: Duration = Duration::from_secs(60);
/// A run this long resets the backoff.
const RESET_AFTER: Duration = Duration::from_secs(10);
/// How often the backoff looks for a stop in the record.
const STOP_POLL: Duration = Duration::from_millis(20);

/// docker's backoff: the delay before the next start, from the last delay and how long
/// the last run lasted.
pub(super) fn next_delay(last: Option<Duration>, ran: Duration) -> Duration {
    match last {
        Some(d) if ran < RESET_AFTER => (d * 2).min(MAX_DELAY),
        _ => FIRST_DELAY,
    }
}

/// After the container's run ended with `code`: start it again for as long as its
/// policy says (the record's `restarting`), and return the exit code of the last run.
pub(super) fn keep_running(
    paths: &Paths,
    store: &ContainerStore,
    id: &str,
    mut code: i32,
    mode: Mode,
) -> i32 {
    let mut delay = None;
    loop {
        let Ok(rec) = store.load(id) else {
            return code;
        };
        if !rec.state.restarting {
            return code;
        }
        let d = next_delay(delay, run_length(&rec));
        delay = Some(d);
        if !backoff(store, id, d) {
            return code;
        }
        match relaunch(paths, store, id, mode) {
            Ok(c) => code = c,
            Err(e) => {
                let _ = store.update(id, |r| {
                    r.state.error = e.to_string();
                    r.state.restarting = false;
                    r.state.monitor_pid = 0;
                    r.state.monitor_start_time = 0;
                });
                return e.exit_code();
            }
        }
    }
}

/// How long the run that just ended lasted (from the record's start and finish times).
fn run_length(rec: &ContainerRecord) -> Duration {
    let time = |t: &Option<String>| t.as_deref().and_then(crate::time::parse_rfc3339);
    match (time(&rec.state.started_at), time(&rec.state.finished_at)) {
        (Some(s), Some(f)) if f > s => Duration::from_nanos((f - s) as u64),
        _ => Duration::ZERO,
    }
}

/// Wait `delay` unless a stop or removal comes first; then count the restart. Whether
/// to start it again.
fn backoff(store: &ContainerStore, id: &str, delay: Duration) -> bool {
    let end = Instant::now() + delay;
    loop {
        let stopped = match store.load(id) {
            Ok(r) => r.state.stopped_by_user,
            Err(_) => return false,
        };
        if stopped {
            break;
        }
        let now = Instant::now();
        if now >= end {
            let counted = store.update(id, |r| {
                if !r.state.stopped_by_user {
                    r.state.restart_count += 1;
                }
            });
            return counted.is_ok_and(|r| !r.state.stopped_by_user);
        }
        std::thread::sleep(STOP_POLL.min(end - now));
    }
    // The stop ends the policy: nobody supervises it any more.
    let _ = store.update(id, |r| {
        r.state.restarting = false;
        r.state.monitor_pid = 0;
        r.state.monitor_start_time = 0;
    });
    false
}

/// Start the container again in this monitor, as its first start did.
fn relaunch(
    paths: &Paths,
    store: &ContainerStore,
    id: &str,
    mode: Mode,
) -> Result<i32, MonitorError> {
    let _starting = lock_start(paths, id)?;
    let rec: ContainerRecord = store.load(id)?;
    let images = ImageStore::open(&paths.images())?;
    let lowers = images.layer_dirs(&images.resolve(&rec.config.image_id)?)?;
    let mut p = prepare(paths, store, &rec, &lowers, mode, true)?;
    let echo = matches!(mode, Mode::Foreground { .. });
    run_monitored(
        paths,
        store,
        &p.running,
        &mut p.spec,
        p.ports,
        p.pipes,
        echo,
        |_| {},
    )
    .inspect_err(|e| super::finish_failed_start(paths, store, &p.running, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_resets_after_a_long_run() {
        let short = Duration::from_secs(1);
        let d1 = next_delay(None, short);
        let d2 = next_delay(Some(d1), short);
        let d3 = next_delay(Some(d2), short);
        assert_eq!(
            (d1, d2, d3),
            (FIRST_DELAY, FIRST_DELAY * 2, FIRST_DELAY * 4)
        );
        assert_eq!(next_delay(Some(d3), RESET_AFTER), FIRST_DELAY);
        assert_eq!(next_delay(Some(MAX_DELAY), short), MAX_DELAY);
    }
}
