//! `wait`, `restart`, `rename`, `pause`, `unpause`, and `start --filter`: verbs over the
//! life of existing containers, with docker's output and exit codes.

use super::containers::{each, stop_signal};
use super::failures::Failures;
use super::Exit;
use crate::cli::{HealthcheckRunArgs, PauseArgs, RenameArgs, RestartArgs, StartFilter, WaitArgs};
use crate::config::RestartPolicy;
use crate::container::Containers;
use crate::monitor::{self, Mode};
use crate::paths::Paths;
use crate::state::{ContainerRecord, HealthStatus};
use std::time::Duration;

/// `start -a` / `start -i`: the container in the foreground with its output, and with
/// `-i` its stdin (when it was created with -i). A terminal container's stdin goes
/// through its detached monitor, as `run -it` and `attach` do, so that the detach keys
/// (`--detach-keys`, else its own) leave it running. The container's exit code.
pub(super) fn start_attached(
    paths: &Paths,
    rec: &ContainerRecord,
    args: &crate::cli::StartArgs,
) -> anyhow::Result<i32> {
    let keys = match &args.detach_keys {
        Some(k) => crate::config::DetachKeys::parse("--detach-keys", k).map_err(|e| Exit {
            code: 125,
            message: e.to_string(),
        })?,
        None => rec.config.host.terminal.detach_keys.clone(),
    };
    let stdin = args.interactive && rec.config.host.interactive;
    let failed = |e: monitor::MonitorError| Exit {
        code: e.exit_code(),
        message: e.to_string(),
    };
    if stdin && rec.config.host.terminal.tty {
        if rec.is_running() {
            return Err(Exit {
                code: 1,
                message: format!("container {} is already running", rec.id),
            }
            .into());
        }
        monitor::start(paths, &rec.id, Mode::Detached).map_err(failed)?;
        return super::run::attach_terminal(paths, rec, keys.0);
    }
    Ok(monitor::start(paths, &rec.id, Mode::Foreground { interactive: stdin }).map_err(failed)?)
}

/// `wait`: each container's exit code on its own line, in the order given; a missing
/// container is an error on stderr and exit 1, the others are still awaited.
pub fn wait(paths: &Paths, args: WaitArgs) -> anyhow::Result<()> {
    let containers = Containers::open(paths)?;
    let mut failed = Failures::default();
    for a in &args.containers {
        match containers.get(a).and_then(|c| c.wait_exit()) {
            Ok(code) => println!("{code}"),
            Err(e) => failed.report(format_args!("Error: {e}")),
        }
    }
    failed.finish()
}

/// `restart`: stop (stop signal, SIGKILL after the timeout) then start, detached.
pub fn restart(paths: &Paths, args: RestartArgs) -> anyhow::Result<()> {
    let containers = Containers::open(paths)?;
    if let Some(s) = &args.signal {
        crate::signal::parse_signal(s).map_err(|e| Exit {
            code: 125,
            message: e.to_string(),
        })?;
    }
    each(&args.containers, |a| {
        let c = containers.get(a)?;
        let id = c.rec.id.clone();
        let timeout = match args.time {
            Some(t) if t >= 0 => Some(Duration::from_secs(t as u64)),
            Some(_) => None,
            None => c
                .rec
                .config
                .stop_timeout
                .map_or(Some(Duration::from_secs(10)), |t| t.duration()),
        };
        let sig = stop_signal(&c, args.signal.as_deref())?;
        c.stop(sig, timeout)?;
        monitor::start(paths, &id, Mode::Detached)?;
        crate::events::container(paths, &containers.get(&id)?.rec, "restart");
        Ok(())
    })
}

/// `rename OLD NEW`: the name checked and changed under the store's lock.
pub fn rename(paths: &Paths, args: RenameArgs) -> anyhow::Result<()> {
    let containers = Containers::open(paths)?;
    let renamed = containers
        .get(&args.container)
        .map_err(anyhow::Error::from)
        .and_then(|c| Ok(containers.store().rename(&c.rec.id, &args.new_name)?).map(|_| c))
        .map(|c| crate::events::renamed(paths, &c.rec, &args.new_name));
    if let Err(e) = renamed {
        return Err(Exit {
            code: 1,
            message: format!(
                "{e}\nError: failed to rename container named {}",
                args.container
            ),
        }
        .into());
    }
    Ok(())
}

pub fn pause(paths: &Paths, args: PauseArgs) -> anyhow::Result<()> {
    let containers = Containers::open(paths)?;
    each(&args.containers, |a| Ok(containers.get(a)?.pause()?))
}

pub fn unpause(paths: &Paths, args: crate::cli::UnpauseArgs) -> anyhow::Result<()> {
    let containers = Containers::open(paths)?;
    each(&args.containers, |a| Ok(containers.get(a)?.unpause()?))
}

/// Whether `start --all` takes the stopped container `rec`: no filter, or any of the
/// given policies (one key given twice matches either value, as in docker).
pub(super) fn start_filters(filters: &[StartFilter], rec: &ContainerRecord) -> bool {
    filters.is_empty() || filters.iter().any(|f| start_filter(f, rec))
}

fn start_filter(filter: &StartFilter, rec: &ContainerRecord) -> bool {
    match filter {
        StartFilter::RestartPolicy(name) => {
            let policy = rec.config.host.restart;
            policy.name() == name
                && !(policy == RestartPolicy::UnlessStopped && rec.state.stopped_by_user)
        }
    }
}

/// What docker adds after "Up 3 seconds" in `ps`: " (Paused)".
pub(super) fn up_suffix(rec: &ContainerRecord) -> String {
    if rec.is_paused() {
        return " (Paused)".into();
    }
    match &rec.state.health {
        Some(h) if h.status == HealthStatus::Starting => " (health: starting)".into(),
        Some(h) => format!(" ({})", h.status.as_str()),
        None => String::new(),
    }
}

/// docker's State word where it is not created/running/exited.
pub(super) fn state_word(rec: &ContainerRecord) -> Option<&'static str> {
    if rec.is_paused() {
        Some("paused")
    } else if rec.is_restarting() {
        Some("restarting")
    } else {
        None
    }
}

/// The lifecycle fields of a container's `inspect`: RestartCount, HostConfig's
/// RestartPolicy and Init.
pub(super) fn add_inspect_fields(v: &mut serde_json::Value, rec: &ContainerRecord) {
    let host = &rec.config.host;
    v["RestartCount"] = rec.state.restart_count.into();
    v["HostConfig"]["RestartPolicy"] = serde_json::json!({
        "Name": host.restart.name(),
        "MaximumRetryCount": host.restart.max_retries(),
    });
    v["HostConfig"]["Init"] = host.init.into();
    if let Some(h) = &rec.config.healthcheck {
        v["Config"]["Healthcheck"] = serde_json::to_value(h).unwrap_or_default();
    }
    if let Some(h) = &rec.state.health {
        v["State"]["Health"] = serde_json::json!({
            "Status": h.status.as_str(),
            "FailingStreak": h.failing_streak,
            "Log": h.log,
        });
    }
}

/// `healthcheck run`: one probe now, recorded like the monitor's; exit 0 when it passed,
/// 1 when not (podman prints "unhealthy" then).
pub fn healthcheck_run(paths: &Paths, args: HealthcheckRunArgs) -> anyhow::Result<()> {
    let containers = Containers::open(paths)?;
    let rec = containers.get(&args.container)?.rec;
    let Some(cfg) = rec.config.healthcheck.clone() else {
        return Err(Exit {
            code: 125,
            message: format!("container {} has no defined healthcheck", rec.name),
        }
        .into());
    };
    let Some(command) = cfg.command() else {
        return Err(Exit {
            code: 125,
            message: format!("container {} has no defined healthcheck", rec.name),
        }
        .into());
    };
    if !rec.is_running() {
        return Err(Exit {
            code: 125,
            message: format!("container {} is not running", rec.name),
        }
        .into());
    }
    let spec = monitor::probe_spec(paths, &rec, command).map_err(|m| Exit {
        code: 125,
        message: m,
    })?;
    let probe = monitor::start_probe(&spec, cfg.timeout())?.wait();
    let passed = probe.exit_code == 0;
    monitor::record_probe(paths, containers.store(), &rec.id, probe, &cfg);
    if !passed {
        println!("unhealthy");
        return Err(Exit::silent(1).into());
    }
    Ok(())
}
