//! `--log-driver` and `--log-opt`, typed once: where the monitor writes a container's
//! output (docker's json-file, podman's k8s-file, or nowhere) and when it rotates the
//! file (`max-size`, `max-file`).

use super::FlagError;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogDriver {
    #[default]
    JsonFile,
    K8sFile,
    None,
}

impl LogDriver {
    pub fn name(self) -> &'static str {
        match self {
            LogDriver::JsonFile => "json-file",
            LogDriver::K8sFile => "k8s-file",
            LogDriver::None => "none",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LogConfig {
    pub driver: LogDriver,
    /// Rotate when the file reaches this many bytes (0: never).
    #[serde(default)]
    pub max_size: u64,
    /// How many files to keep, the current one included (at least 1).
    #[serde(default)]
    pub max_file: u32,
}

impl LogConfig {
    pub fn parse(driver: Option<&str>, opts: &[String]) -> Result<LogConfig, FlagError> {
        let driver = match driver.unwrap_or("json-file") {
            "json-file" | "" => LogDriver::JsonFile,
            "k8s-file" => LogDriver::K8sFile,
            "none" => LogDriver::None,
            other => {
                return Err(FlagError::new(
                    "--log-driver",
                    other,
                    "logging driver not supported (json-file, k8s-file or none)",
                ))
            }
        };
        let mut cfg = LogConfig {
            driver,
            max_size: 0,
            max_file: 1,
        };
        for opt in opts.iter().flat_map(|o| o.split(',')) {
            let Some((key, value)) = opt.split_once('=') else {
                return Err(FlagError::new("--log-opt", opt, "expected KEY=VALUE"));
            };
            match key {
                "max-size" => {
                    let n = super::parse_size("--log-opt", value)?;
                    if n <= 0 {
                        return Err(FlagError::new(
                            "--log-opt",
                            opt,
                            "max-size must be a positive size",
                        ));
                    }
                    cfg.max_size = n as u64;
                }
                "max-file" => {
                    cfg.max_file = value.parse().ok().filter(|n| *n >= 1).ok_or_else(|| {
                        FlagError::new("--log-opt", opt, "max-file must be a number of at least 1")
                    })?;
                }
                _ => {
                    return Err(FlagError::new(
                        "--log-opt",
                        opt,
                        format!(
                            "unknown log opt '{key}' for {} log driver",
                            cfg.driver.name()
                        ),
                    ))
                }
            }
        }
        if cfg.max_file > 1 && cfg.max_size == 0 {
            return Err(FlagError::new(
                "--log-opt",
                "max-file",
                "max-file needs max-size",
            ));
        }
        if driver == LogDriver::None && (cfg.max_size > 0) {
            return Err(FlagError::new(
                "--log-opt",
                "max-size",
                "unknown log opt 'max-size' for none log driver",
            ));
        }
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_opts_parse_into_sizes_and_counts() {
        let c = LogConfig::parse(Some("json-file"), &["max-size=10m,max-file=3".into()]).unwrap();
        assert_eq!((c.max_size, c.max_file), (10 * 1024 * 1024, 3));
        assert_eq!(
            LogConfig::parse(Some("none"), &[]).unwrap().driver,
            LogDriver::None
        );
        assert!(LogConfig::parse(Some("syslog"), &[]).is_err());
        assert!(LogConfig::parse(None, &["max-file=0".into()]).is_err());
        assert!(LogConfig::parse(None, &["max-file=3".into()]).is_err());
        assert!(LogConfig::parse(None, &["color=red".into()]).is_err());
    }
}
