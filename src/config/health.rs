//! Healthchecks: the image's HEALTHCHECK merged with `--health-*` flags into one typed
//! configuration (docker's field names and nanoseconds, so inspect shows it as docker
//! does), checked once with docker's messages, and the defaults the monitor uses.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// docker's defaults when neither the image nor a flag sets a value.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
pub const DEFAULT_START_INTERVAL: Duration = Duration::from_secs(5);
pub const DEFAULT_RETRIES: u32 = 3;

/// docker's Config.Healthcheck: durations in nanoseconds, 0 for "the default".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HealthConfig {
    /// `["CMD", arg…]`, `["CMD-SHELL", script]` or `["NONE"]`; empty inherits.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub test: Vec<String>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub interval: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub timeout: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub start_period: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub start_interval: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub retries: u32,
}

fn is_zero<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// A `--health-*` value refused, in docker's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HealthFlagError {
    #[error("invalid argument \"{value}\" for \"{flag}\" flag: {reason}")]
    Duration {
        flag: &'static str,
        value: String,
        reason: String,
    },
    #[error("{0} cannot be negative")]
    Negative(&'static str),
    #[error("--no-healthcheck conflicts with --health-* options")]
    Conflict,
}

/// The `--health-*` flags as given (each None when not given).
#[derive(Debug, Clone, Default)]
pub struct HealthFlags<'a> {
    pub cmd: Option<&'a str>,
    pub interval: Option<&'a str>,
    pub timeout: Option<&'a str>,
    pub start_period: Option<&'a str>,
    pub start_interval: Option<&'a str>,
    pub retries: Option<i64>,
    pub disabled: bool,
}

fn duration(flag: &'static str, value: Option<&str>) -> Result<u64, HealthFlagError> {
    let Some(v) = value else { return Ok(0) };
    if v.starts_with('-') && dockerfile_parser::parse_go_duration(&v[1..]).is_ok() {
        return Err(HealthFlagError::Negative(flag));
    }
    dockerfile_parser::parse_go_duration(v)
        .map(|d| d.as_nanos().min(u64::MAX as u128) as u64)
        .map_err(|reason| HealthFlagError::Duration {
            flag,
            value: v.to_string(),
            reason,
        })
}

impl HealthFlags<'_> {
    fn any(&self) -> bool {
        self.cmd.is_some()
            || self.interval.is_some()
            || self.timeout.is_some()
            || self.start_period.is_some()
            || self.start_interval.is_some()
            || self.retries.is_some()
    }

    /// The flags as a configuration to lay over the image's (None: no flag given).
    pub fn to_config(&self) -> Result<Option<HealthConfig>, HealthFlagError> {
        if self.disabled {
            if self.any() {
                return Err(HealthFlagError::Conflict);
            }
            return Ok(Some(HealthConfig {
                test: vec!["NONE".into()],
                ..HealthConfig::default()
            }));
        }
        if !self.any() {
            return Ok(None);
        }
        let retries = match self.retries {
            Some(r) if r < 0 => return Err(HealthFlagError::Negative("--health-retries")),
            Some(r) => u32::try_from(r).unwrap_or(u32::MAX),
            None => 0,
        };
        Ok(Some(HealthConfig {
            test: self
                .cmd
                .map(|c| vec!["CMD-SHELL".to_string(), c.to_string()])
                .unwrap_or_default(),
            interval: duration("--health-interval", self.interval)?,
            timeout: duration("--health-timeout", self.timeout)?,
            start_period: duration("--health-start-period", self.start_period)?,
            start_interval: duration("--health-start-interval", self.start_interval)?,
            retries,
        }))
    }
}

impl HealthConfig {
    /// The image's Healthcheck (docker's JSON), if it has a readable one.
    pub fn from_image(v: Option<&serde_json::Value>) -> Option<HealthConfig> {
        serde_json::from_value(v?.clone()).ok()
    }

    /// The flags laid over the image's: each field given wins (docker's merge).
    pub fn merge(image: Option<HealthConfig>, flags: Option<HealthConfig>) -> Option<HealthConfig> {
        let Some(f) = flags else { return image };
        let Some(i) = image else { return Some(f) };
        let pick = |a: u64, b: u64| if a != 0 { a } else { b };
        Some(HealthConfig {
            test: if f.test.is_empty() { i.test } else { f.test },
            interval: pick(f.interval, i.interval),
            timeout: pick(f.timeout, i.timeout),
            start_period: pick(f.start_period, i.start_period),
            start_interval: pick(f.start_interval, i.start_interval),
            retries: if f.retries != 0 { f.retries } else { i.retries },
        })
    }

    /// The command a probe runs, or None when there is nothing to check (`NONE`, no test).
    pub fn command(&self) -> Option<Vec<String>> {
        match self.test.first().map(String::as_str) {
            Some("CMD") if self.test.len() > 1 => Some(self.test[1..].to_vec()),
            Some("CMD-SHELL") if self.test.len() > 1 => Some(vec![
                "/bin/sh".into(),
                "-c".into(),
                self.test[1..].join(" "),
            ]),
            _ => None,
        }
    }

    fn or(ns: u64, default: Duration) -> Duration {
        if ns == 0 {
            default
        } else {
            Duration::from_nanos(ns)
        }
    }

    pub fn interval(&self) -> Duration {
        Self::or(self.interval, DEFAULT_INTERVAL)
    }

    pub fn timeout(&self) -> Duration {
        Self::or(self.timeout, DEFAULT_TIMEOUT)
    }

    pub fn start_period(&self) -> Duration {
        Duration::from_nanos(self.start_period)
    }

    pub fn start_interval(&self) -> Duration {
        Self::or(self.start_interval, DEFAULT_START_INTERVAL)
    }

    pub fn retries(&self) -> u32 {
        if self.retries == 0 {
            DEFAULT_RETRIES
        } else {
            self.retries
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_image_field_by_field() {
        let image = HealthConfig {
            test: vec!["CMD".into(), "true".into()],
            interval: 5_000_000_000,
            retries: 7,
            ..HealthConfig::default()
        };
        let flags = HealthFlags {
            interval: Some("1s"),
            ..HealthFlags::default()
        }
        .to_config()
        .unwrap();
        let merged = HealthConfig::merge(Some(image), flags).unwrap();
        assert_eq!(merged.command(), Some(vec!["true".to_string()]));
        assert_eq!(merged.interval(), Duration::from_secs(1));
        assert_eq!(merged.retries(), 7);
        assert_eq!(merged.timeout(), DEFAULT_TIMEOUT);
    }

    #[test]
    fn no_healthcheck_disables_and_conflicts_with_other_flags() {
        let off = HealthFlags {
            disabled: true,
            ..HealthFlags::default()
        };
        let merged = HealthConfig::merge(None, off.to_config().unwrap()).unwrap();
        assert_eq!(merged.command(), None);
        let both = HealthFlags {
            disabled: true,
            cmd: Some("true"),
            ..HealthFlags::default()
        };
        assert_eq!(
            both.to_config().unwrap_err().to_string(),
            "--no-healthcheck conflicts with --health-* options"
        );
    }

    #[test]
    fn bad_durations_and_negative_values_give_docker_messages() {
        let bad = HealthFlags {
            interval: Some("x"),
            ..HealthFlags::default()
        };
        assert_eq!(
            bad.to_config().unwrap_err().to_string(),
            "invalid argument \"x\" for \"--health-interval\" flag: time: invalid duration \"x\""
        );
        let neg = HealthFlags {
            retries: Some(-1),
            ..HealthFlags::default()
        };
        assert_eq!(
            neg.to_config().unwrap_err().to_string(),
            "--health-retries cannot be negative"
        );
        let shell = HealthFlags {
            cmd: Some("exit 1"),
            ..HealthFlags::default()
        };
        assert_eq!(
            shell.to_config().unwrap().unwrap().command(),
            Some(vec!["/bin/sh".into(), "-c".into(), "exit 1".into()])
        );
    }
}
