//! `--restart`: docker's restart policies, parsed once with docker's messages. The
//! monitor asks `should_restart` after each exit; `start --filter restart-policy=` and
//! `inspect` read `name`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "kebab-case")]
pub enum RestartPolicy {
    #[default]
    No,
    /// Restart after a non-zero exit, at most `max_retries` times (0: without end).
    OnFailure {
        #[serde(default)]
        max_retries: u32,
    },
    Always,
    UnlessStopped,
}

/// A `--restart` value refused, in docker's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RestartPolicyError {
    #[error("invalid restart policy format: no policy provided before colon")]
    NoPolicy,
    #[error("invalid restart policy format: maximum retry count must be an integer")]
    NotAnInteger,
    #[error("invalid restart policy: maximum retry count cannot be negative")]
    Negative,
    #[error("invalid restart policy '{0}'")]
    Unknown(String),
    #[error("maximum retry count cannot be used with restart policy '{0}'")]
    CountNotAllowed(String),
}

impl RestartPolicy {
    /// docker's `--restart` syntax: `no`, `always`, `unless-stopped`, `on-failure[:N]`.
    pub fn parse(s: &str) -> Result<RestartPolicy, RestartPolicyError> {
        let (name, count) = match s.split_once(':') {
            Some(("", _)) => return Err(RestartPolicyError::NoPolicy),
            Some((name, count)) => (name, count),
            None => (s, ""),
        };
        let count = if count.is_empty() {
            None
        } else {
            let n: i64 = count
                .parse()
                .map_err(|_| RestartPolicyError::NotAnInteger)?;
            Some(n)
        };
        let policy = match name {
            "" | "no" => RestartPolicy::No,
            "always" => RestartPolicy::Always,
            "unless-stopped" => RestartPolicy::UnlessStopped,
            "on-failure" => {
                let n = count.unwrap_or(0);
                if n < 0 {
                    return Err(RestartPolicyError::Negative);
                }
                return Ok(RestartPolicy::OnFailure {
                    max_retries: u32::try_from(n).unwrap_or(u32::MAX),
                });
            }
            other => return Err(RestartPolicyError::Unknown(other.to_string())),
        };
        if count.is_some_and(|n| n != 0) {
            return Err(RestartPolicyError::CountNotAllowed(name.to_string()));
        }
        Ok(policy)
    }

    /// docker's name of the policy (HostConfig.RestartPolicy.Name).
    pub fn name(&self) -> &'static str {
        match self {
            RestartPolicy::No => "no",
            RestartPolicy::OnFailure { .. } => "on-failure",
            RestartPolicy::Always => "always",
            RestartPolicy::UnlessStopped => "unless-stopped",
        }
    }

    /// docker's HostConfig.RestartPolicy.MaximumRetryCount.
    pub fn max_retries(&self) -> u32 {
        match self {
            RestartPolicy::OnFailure { max_retries } => *max_retries,
            _ => 0,
        }
    }

    pub fn is_no(&self) -> bool {
        *self == RestartPolicy::No
    }

    /// After an exit with `code`, having restarted `restarted` times: start it again?
    /// A stop or kill asked for by the user ends every policy, as in docker.
    pub fn should_restart(&self, code: i32, restarted: u32, stopped_by_user: bool) -> bool {
        if stopped_by_user {
            return false;
        }
        match self {
            RestartPolicy::No => false,
            RestartPolicy::Always | RestartPolicy::UnlessStopped => true,
            RestartPolicy::OnFailure { max_retries } => {
                code != 0 && (*max_retries == 0 || restarted < *max_retries)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_docker_policies() {
        assert_eq!(RestartPolicy::parse("no"), Ok(RestartPolicy::No));
        assert_eq!(RestartPolicy::parse("always"), Ok(RestartPolicy::Always));
        assert_eq!(
            RestartPolicy::parse("unless-stopped"),
            Ok(RestartPolicy::UnlessStopped)
        );
        assert_eq!(
            RestartPolicy::parse("on-failure:3"),
            Ok(RestartPolicy::OnFailure { max_retries: 3 })
        );
        assert_eq!(
            RestartPolicy::parse("on-failure"),
            Ok(RestartPolicy::OnFailure { max_retries: 0 })
        );
        assert_eq!(RestartPolicy::parse("always:0"), Ok(RestartPolicy::Always));
    }

    #[test]
    fn refuses_what_docker_refuses_with_its_message() {
        let msg = |s| RestartPolicy::parse(s).unwrap_err().to_string();
        assert_eq!(msg("bogus"), "invalid restart policy 'bogus'");
        assert_eq!(
            msg("on-failure:x"),
            "invalid restart policy format: maximum retry count must be an integer"
        );
        assert_eq!(
            msg("always:3"),
            "maximum retry count cannot be used with restart policy 'always'"
        );
        assert_eq!(
            msg(":3"),
            "invalid restart policy format: no policy provided before colon"
        );
        assert_eq!(
            msg("on-failure:-1"),
            "invalid restart policy: maximum retry count cannot be negative"
        );
    }

    #[test]
    fn on_failure_counts_and_stop_ends_every_policy() {
        let p = RestartPolicy::OnFailure { max_retries: 2 };
        assert!(p.should_restart(1, 0, false));
        assert!(p.should_restart(1, 1, false));
        assert!(!p.should_restart(1, 2, false));
        assert!(!p.should_restart(0, 0, false));
        assert!(RestartPolicy::Always.should_restart(0, 100, false));
        assert!(!RestartPolicy::Always.should_restart(0, 0, true));
        assert!(!RestartPolicy::No.should_restart(1, 0, false));
    }
}
