//! `pause`, `unpause` and `wait` on the container handle: the freezer of the container's
//! cgroup, and the wait for the container's next exit (its record tells the exit code,
//! written by the monitor, which may start it again under a restart policy).

use super::process::PidFd;
use super::{Container, ContainerError};
use crate::monitor;
use crate::state::{StateError, Status};
use std::time::Duration;

/// How often `wait` looks at the record while the monitor is recording an exit.
const RECORD_POLL: Duration = Duration::from_millis(5);

impl Container<'_> {
    /// Freeze every process of the container (docker's `pause`).
    pub fn pause(&self) -> Result<(), ContainerError> {
        if !self.is_running() {
            return Err(ContainerError::NotRunningId(self.rec.id.clone()));
        }
        if self.rec.state.paused {
            return Err(ContainerError::AlreadyPaused(self.rec.id.clone()));
        }
        self.set_frozen(true)?;
        self.store.update(&self.rec.id, |r| r.state.paused = true)?;
        crate::events::container(self.paths, &self.rec, "pause");
        Ok(())
    }

    /// Thaw a paused container (docker's `unpause`).
    pub fn unpause(&self) -> Result<(), ContainerError> {
        if !self.is_running() || !self.rec.state.paused {
            return Err(ContainerError::NotPaused(self.rec.id.clone()));
        }
        self.set_frozen(false)?;
        self.store
            .update(&self.rec.id, |r| r.state.paused = false)?;
        crate::events::container(self.paths, &self.rec, "unpause");
        Ok(())
    }

    fn set_frozen(&self, frozen: bool) -> Result<(), ContainerError> {
        crate::cgroups::freeze::set_frozen(&monitor::cgroup_of(&self.rec), frozen).map_err(
            |source| ContainerError::Cgroup {
                id: self.rec.id.clone(),
                source,
            },
        )
    }

    /// Freeze the container while the guard lives (`commit --pause`), without recording a
    /// pause: nothing when it is not running or already paused (the user's pause stays).
    pub fn freeze_for_commit(&self) -> Result<Option<FreezeGuard>, ContainerError> {
        if !self.is_running() || self.rec.state.paused {
            return Ok(None);
        }
        self.set_frozen(true)?;
        Ok(Some(FreezeGuard {
            cgroup: monitor::cgroup_of(&self.rec),
        }))
    }

    /// After a SIGKILL: thaw the cgroup so that the kill takes effect.
    pub(super) fn thaw_for_exit(&self) {
        let _ = crate::cgroups::freeze::set_frozen(&monitor::cgroup_of(&self.rec), false);
    }

    /// Block until the container's current run ends; its exit code (docker's `wait`). A
    /// container that is not running answers at once with its last exit code.
    pub fn wait_exit(&self) -> Result<i32, ContainerError> {
        let st = &self.rec.state;
        if !self.is_running() {
            return Ok(st.exit_code);
        }
        if let Some(p) = PidFd::open(st.pid, st.pid_start_time) {
            p.wait(None);
        }
        let monitor = PidFd::open(st.monitor_pid, st.monitor_start_time);
        // The process is gone; its monitor records the exit (and may restart it: a new
        // pid) within moments.
        loop {
            let rec = match self.store.load(&self.rec.id) {
                Ok(r) => r,
                // Removed by its monitor (--rm): docker answers with the exit it saw.
                Err(StateError::NotFound(_)) => {
                    let exits = self.paths.exits();
                    return Ok(
                        crate::state::read_exit(&exits, &self.rec.id).unwrap_or(st.exit_code)
                    );
                }
                Err(e) => return Err(e.into()),
            };
            if rec.state.status != Status::Running || rec.state.pid != st.pid {
                return Ok(rec.state.exit_code);
            }
            if monitor.as_ref().is_none_or(|m| m.exited()) {
                super::repair::repair_one(self.paths, self.store, &rec)?;
                return Ok(self.store.load(&self.rec.id)?.state.exit_code);
            }
            std::thread::sleep(RECORD_POLL);
        }
    }
}

/// Thaws the container's cgroup when dropped (see `Container::freeze_for_commit`).
pub struct FreezeGuard {
    cgroup: crate::runtime::CgroupSpec,
}

impl Drop for FreezeGuard {
    fn drop(&mut self) {
        let _ = crate::cgroups::freeze::set_frozen(&self.cgroup, false);
    }
}
