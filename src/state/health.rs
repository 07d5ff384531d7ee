//! A container's health as its healthchecks found it (docker's State.Health): the status,
//! the run of failures, and the last five probes. The monitor and `healthcheck run` add a
//! probe's result with `record`, under the store's lock.

use serde::{Deserialize, Serialize};

/// docker keeps this many probe results.
const KEEP: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    Starting,
    Healthy,
    Unhealthy,
}

impl HealthStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            HealthStatus::Starting => "starting",
            HealthStatus::Healthy => "healthy",
            HealthStatus::Unhealthy => "unhealthy",
        }
    }
}

/// One probe, as docker's State.Health.Log shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HealthProbe {
    pub start: String,
    pub end: String,
    /// The command's exit code; -1 when it timed out or could not run.
    pub exit_code: i32,
    pub output: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthState {
    pub status: HealthStatus,
    pub failing_streak: u32,
    pub log: Vec<HealthProbe>,
}

impl HealthState {
    pub fn starting() -> HealthState {
        HealthState {
            status: HealthStatus::Starting,
            failing_streak: 0,
            log: Vec::new(),
        }
    }

    /// Add a probe's result (docker's rules): a success makes it healthy; a failure counts
    /// unless it came in the start period, and `retries` failures in a row make it
    /// unhealthy.
    pub fn record(&mut self, probe: HealthProbe, retries: u32, in_start_period: bool) {
        if probe.exit_code == 0 {
            self.status = HealthStatus::Healthy;
            self.failing_streak = 0;
        } else if !in_start_period || self.status != HealthStatus::Starting {
            self.failing_streak += 1;
            if self.failing_streak >= retries {
                self.status = HealthStatus::Unhealthy;
            }
        }
        self.log.push(probe);
        if self.log.len() > KEEP {
            self.log.remove(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(code: i32) -> HealthProbe {
        HealthProbe {
            start: String::new(),
            end: String::new(),
            exit_code: code,
            output: String::new(),
        }
    }

    #[test]
    fn retries_failures_in_a_row_make_it_unhealthy_and_one_success_healthy() {
        let mut h = HealthState::starting();
        h.record(probe(1), 2, false);
        assert_eq!((h.status, h.failing_streak), (HealthStatus::Starting, 1));
        h.record(probe(1), 2, false);
        assert_eq!(h.status, HealthStatus::Unhealthy);
        h.record(probe(0), 2, false);
        assert_eq!((h.status, h.failing_streak), (HealthStatus::Healthy, 0));
        for _ in 0..10 {
            h.record(probe(1), 2, false);
        }
        assert_eq!(h.log.len(), KEEP);
    }

    #[test]
    fn failures_in_the_start_period_do_not_count() {
        let mut h = HealthState::starting();
        h.record(probe(1), 1, true);
        assert_eq!((h.status, h.failing_streak), (HealthStatus::Starting, 0));
        h.record(probe(1), 1, false);
        assert_eq!(h.status, HealthStatus::Unhealthy);
    }
}
