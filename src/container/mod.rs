//! The container handle: one container of the store, with what can be done to it —
//! `signal`, `stop`, `wait`, `log`, `remove` — and its liveness. `Containers` opens the
//! store and, before anyone reads it, repairs what a dead monitor left behind (see
//! `repair`). Verbs in `commands/` call this and print; they do no process work of their
//! own. Starting a container is the monitor's job, not this module's.

pub mod changes;
pub mod copy;
mod lifecycle;
mod process;
mod repair;

pub use repair::repair_all;

use crate::monitor;
use crate::paths::Paths;
use crate::state::{ContainerRecord, ContainerStore, StateError};
use process::PidFd;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error("cannot signal container {name}: {source}")]
    Signal {
        name: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot kill container {given}: container {id} is not running")]
    NotRunning { given: String, id: String },
    #[error(
        "cannot remove container \"{0}\": container is running: stop the container before removing or force remove (rm -f)"
    )]
    RemoveRunning(String),
    #[error("container {0} is not running")]
    NotRunningId(String),
    #[error("container {0} is already paused")]
    AlreadyPaused(String),
    #[error("container {0} is not paused")]
    NotPaused(String),
    #[error("container {id}: {source}")]
    Cgroup {
        id: String,
        #[source]
        source: crate::cgroups::CgroupError,
    },
    #[error("cannot read the log of container {name}: {source}")]
    Log {
        name: String,
        #[source]
        source: std::io::Error,
    },
}

/// The container store of one kiste root, repaired on open.
pub struct Containers<'p> {
    paths: &'p Paths,
    store: ContainerStore,
}

impl<'p> Containers<'p> {
    pub fn open(paths: &'p Paths) -> Result<Containers<'p>, ContainerError> {
        Ok(Containers {
            paths,
            store: ContainerStore::open(&paths.containers())?,
        })
    }

    pub fn store(&self) -> &ContainerStore {
        &self.store
    }

    /// A container by name, full id or unique id prefix.
    pub fn get(&self, what: &str) -> Result<Container<'_>, ContainerError> {
        let rec = self.store.resolve(what)?;
        Ok(self.handle(rec))
    }

    /// Every container, oldest first.
    pub fn all(&self) -> Result<Vec<ContainerRecord>, ContainerError> {
        Ok(self.store.list()?)
    }

    /// The containers created from image `image_id` (which keep it from being removed).
    pub fn using_image(&self, image_id: &str) -> Result<Vec<ContainerRecord>, ContainerError> {
        Ok(self.store.using_image(image_id)?)
    }

    fn handle(&self, rec: ContainerRecord) -> Container<'_> {
        Container {
            paths: self.paths,
            store: &self.store,
            rec,
        }
    }
}

/// One container, as its record was when the handle was made.
pub struct Container<'a> {
    paths: &'a Paths,
    store: &'a ContainerStore,
    pub rec: ContainerRecord,
}

/// A stop under way: the stop signal sent, the exit awaited until `deadline`.
pub struct Stopping<'a> {
    container: Container<'a>,
    /// None when the process had already exited.
    process: Option<PidFd>,
    /// None: wait as long as it takes (`stop -t -1`).
    deadline: Option<Instant>,
    /// The stop signal sent; SIGKILL is not sent twice (one `kill` event, as docker's).
    signal: i32,
}

/// How long `stop` and `kill` wait for a SIGKILLed container and its monitor.
const KILL_GRACE: Duration = Duration::from_secs(30);

impl<'a> Container<'a> {
    pub fn is_running(&self) -> bool {
        self.rec.is_running()
    }

    /// Send `signal` to the container's process (and, without a pid namespace of its own,
    /// to every process of its cgroup).
    pub fn signal(&self, signal: i32) -> Result<(), ContainerError> {
        if !self.rec.process_alive() {
            return Ok(());
        }
        // SAFETY: kill(2) on the recorded pid, whose start time was just checked.
        if unsafe { libc::kill(self.rec.state.pid, signal) } != 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::ESRCH) {
                return Err(ContainerError::Signal {
                    name: self.rec.name.clone(),
                    source: e,
                });
            }
        }
        crate::events::killed(self.paths, &self.rec, signal);
        if self.rec.config.host.pid.is_host() {
            for pid in crate::cgroups::pids(&monitor::cgroup_of(&self.rec)) {
                // SAFETY: as above, for the processes of the container's cgroup.
                unsafe { libc::kill(pid, signal) };
            }
        }
        if signal == libc::SIGKILL && self.rec.state.paused {
            // A frozen process dies only once thawed (docker resumes it after the kill).
            self.thaw_for_exit();
        }
        Ok(())
    }

    /// `kill`: the signal, and for SIGKILL the wait until the exit is recorded.
    pub fn kill(&self, given: &str, signal: i32) -> Result<(), ContainerError> {
        if !self.is_running() {
            return Err(ContainerError::NotRunning {
                given: given.to_string(),
                id: self.rec.id.clone(),
            });
        }
        self.mark_stopped_by_user();
        let process = PidFd::open(self.rec.state.pid, self.rec.state.pid_start_time);
        self.signal(signal)?;
        if signal == libc::SIGKILL {
            if let Some(p) = &process {
                p.wait(Some(KILL_GRACE));
            }
            self.wait(KILL_GRACE)?;
        }
        Ok(())
    }

    /// Send the stop signal (if the container runs); `Stopping::finish` waits for it.
    /// Several containers stopped together take one timeout, as in docker.
    pub fn begin_stop(
        self,
        signal: i32,
        timeout: Option<Duration>,
    ) -> Result<Stopping<'a>, ContainerError> {
        let process = if self.is_running() {
            PidFd::open(self.rec.state.pid, self.rec.state.pid_start_time)
        } else {
            None
        };
        if self.is_running() || self.rec.is_restarting() {
            // Also between two runs (or while the monitor records an exit): the monitor
            // sees the stop and ends its restart policy.
            self.mark_stopped_by_user();
        }
        if process.is_some() {
            self.signal(signal)?;
        }
        Ok(Stopping {
            container: self,
            process,
            deadline: timeout.and_then(|t| Instant::now().checked_add(t)),
            signal,
        })
    }

    /// Stop: the stop signal, SIGKILL after `timeout`, then the wait for the record.
    pub fn stop(self, signal: i32, timeout: Option<Duration>) -> Result<(), ContainerError> {
        self.begin_stop(signal, timeout)?.finish()
    }

    /// Wait (at most `timeout`) until the container's exit is recorded: its monitor has
    /// ended. A monitor that died without recording it is repaired here.
    pub fn wait(&self, timeout: Duration) -> Result<(), ContainerError> {
        let st = &self.rec.state;
        if let Some(monitor) = PidFd::open(st.monitor_pid, st.monitor_start_time) {
            monitor.wait(Some(timeout));
        }
        match self.store.load(&self.rec.id) {
            Ok(rec) => {
                repair::repair_one(self.paths, self.store, &rec)?;
                Ok(())
            }
            // Removed by its monitor (--rm).
            Err(StateError::NotFound(_)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// The path of the container's log (docker's json-file format).
    pub fn log_path(&self) -> PathBuf {
        self.paths.container_log(&self.rec.id)
    }

    /// The container's log, or None when it has written nothing yet.
    pub fn log(&self) -> Result<Option<std::fs::File>, ContainerError> {
        match std::fs::File::open(self.log_path()) {
            Ok(f) => Ok(Some(f)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(ContainerError::Log {
                name: self.rec.name.clone(),
                source,
            }),
        }
    }

    /// For `logs -f`: wait at most `timeout` for the container to end (its monitor to
    /// exit, which writes the last log line first); whether it still runs.
    pub fn wait_running(&self, timeout: Duration) -> bool {
        let st = &self.rec.state;
        match PidFd::open(st.monitor_pid, st.monitor_start_time) {
            Some(monitor) if self.is_running() => !monitor.wait(Some(timeout)),
            _ => false,
        }
    }

    /// Remove the container: a running one only with `force` (it is killed first).
    pub fn remove(self, force: bool) -> Result<(), ContainerError> {
        if self.is_running() || self.rec.is_restarting() {
            if !force {
                return Err(ContainerError::RemoveRunning(self.rec.name.clone()));
            }
            let (paths, store, rec) = (self.paths, self.store, self.rec.clone());
            // docker's `rm -f`: kill, die and destroy, without a `stop`.
            self.begin_stop(libc::SIGKILL, Some(Duration::ZERO))?
                .finish_as(false)?;
            return Container { paths, store, rec }.remove_stopped();
        }
        self.remove_stopped()
    }

    fn remove_stopped(self) -> Result<(), ContainerError> {
        monitor::release(self.paths, &self.rec);
        let lock = self.store.lock()?;
        match self.store.remove(&lock, &self.rec.id) {
            Ok(()) => crate::events::destroyed(self.paths, &self.rec),
            Err(StateError::NotFound(_)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    fn mark_stopped_by_user(&self) {
        let _ = self
            .store
            .update(&self.rec.id, |r| r.state.stopped_by_user = true);
    }
}

impl Stopping<'_> {
    /// Wait for the exit until the deadline, then SIGKILL; return once it is recorded.
    pub fn finish(self) -> Result<(), ContainerError> {
        self.finish_as(true)
    }

    /// As `finish`; `stop_event`: the stop is the user's `stop`/`restart` (docker's
    /// `stop` event), not a step of `rm -f`.
    fn finish_as(self, stop_event: bool) -> Result<(), ContainerError> {
        if let Some(p) = &self.process {
            let left = self
                .deadline
                .map(|d| d.saturating_duration_since(Instant::now()));
            if !p.wait(left) {
                if self.signal != libc::SIGKILL {
                    self.container.signal(libc::SIGKILL)?;
                }
                p.wait(Some(KILL_GRACE));
            }
        }
        let waited = self.container.wait(KILL_GRACE);
        let was_running = stop_event && self.process.is_some();
        crate::events::stopped(self.container.paths, &self.container.rec, was_running);
        waited
    }
}
