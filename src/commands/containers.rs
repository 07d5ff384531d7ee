//! `start`, `stop`, `kill`, `rm`: verbs over existing containers. Each takes several
//! names or id prefixes, prints each argument as given when it succeeds, goes on past a
//! failing one, and exits 1 if any failed (as docker does).

use super::failures::Failures;
use super::Exit;
use crate::cli::{ContainerExistsArgs, KillArgs, RmArgs, StartArgs, StopArgs};
use crate::container::{Container, ContainerError, Containers};
use crate::monitor::{self, Mode};
use crate::paths::Paths;
use crate::state::{ContainerRecord, StateError};
use std::time::Duration;

/// Run `f` for every argument; report failures on stderr; exit 1 if any failed.
pub(super) fn each(
    args: &[String],
    mut f: impl FnMut(&str) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut failed = Failures::default();
    for a in args {
        match f(a) {
            Ok(()) => println!("{a}"),
            Err(e) => failed.report(format_args!("Error: {e:#}")),
        }
    }
    failed.finish()
}

/// podman's `--latest`: the id of the container created last.
pub fn latest(containers: &Containers) -> anyhow::Result<String> {
    match containers.all()?.pop() {
        Some(r) => Ok(r.id),
        None => Err(Exit {
            code: 125,
            message: "no containers to operate on: --latest needs at least one".into(),
        }
        .into()),
    }
}

/// The names given, or with `latest` the latest container's id.
fn given_or_latest(
    containers: &Containers,
    given: Vec<String>,
    latest: bool,
) -> anyhow::Result<Vec<String>> {
    if latest {
        return Ok(vec![self::latest(containers)?]);
    }
    Ok(given)
}

pub fn start(paths: &Paths, mut args: StartArgs) -> anyhow::Result<()> {
    let containers = Containers::open(paths)?;
    args.containers = given_or_latest(&containers, args.containers, args.latest)?;
    if args.all {
        let filters = std::mem::take(&mut args.filters);
        args.containers = targets(&containers, &[], true, false, |r| {
            !r.is_running() && super::lifecycle::start_filters(&filters, r)
        })?;
    }
    if args.attach || args.interactive {
        // docker attaches to one container only and refuses several before starting any.
        if args.containers.len() > 1 {
            return Err(Exit {
                code: 1,
                message: "you cannot start and attach multiple containers at once".into(),
            }
            .into());
        }
        let c = containers.get(&args.containers[0])?;
        let code = super::lifecycle::start_attached(paths, &c.rec, &args)?;
        if code != 0 {
            return Err(Exit::silent(code).into());
        }
        return Ok(());
    }
    each(&args.containers, |a| {
        let rec = containers.get(a)?.rec;
        super::plugin::ensure_for_mounts(paths, &rec.config.host.mounts)?;
        monitor::start(paths, &rec.id, Mode::Detached)?;
        Ok(())
    })
}

pub(super) fn stop_signal(c: &Container, given: Option<&str>) -> anyhow::Result<i32> {
    let name = given.unwrap_or(&c.rec.config.stop_signal);
    if name.is_empty() {
        return Ok(libc::SIGTERM);
    }
    Ok(crate::signal::parse_signal(name)?)
}

/// The arguments a verb works on: every container `pick` keeps for `--all` (by full id,
/// as podman prints them), else the names given, without those that name no container
/// when `--ignore` is set.
fn targets(
    containers: &Containers,
    given: &[String],
    all: bool,
    ignore: bool,
    pick: impl Fn(&ContainerRecord) -> bool,
) -> anyhow::Result<Vec<String>> {
    if all {
        return Ok(containers
            .all()?
            .into_iter()
            .filter(|r| pick(r))
            .map(|r| r.id)
            .collect());
    }
    Ok(given
        .iter()
        .filter(|a| {
            !ignore || !matches!(containers.store().resolve(a), Err(StateError::NotFound(_)))
        })
        .cloned()
        .collect())
}

pub fn stop(paths: &Paths, mut args: StopArgs) -> anyhow::Result<()> {
    let containers = Containers::open(paths)?;
    args.containers = given_or_latest(&containers, args.containers, args.latest)?;
    args.containers = targets(
        &containers,
        &args.containers,
        args.all,
        args.ignore,
        ContainerRecord::is_running,
    )?;
    if let Some(s) = &args.signal {
        crate::signal::parse_signal(s).map_err(|e| Exit {
            code: 125,
            message: e.to_string(),
        })?;
    }
    // Like docker, every container gets its stop signal first and they are awaited
    // together: stopping N containers takes one timeout, not N.
    let begin = |a: &String| -> anyhow::Result<_> {
        let c = containers.get(a)?;
        let timeout = match args.time {
            Some(t) if t >= 0 => Some(Duration::from_secs(t as u64)),
            Some(_) => None,
            None => match c.rec.config.stop_timeout {
                Some(t) => t.duration(),
                None => Some(Duration::from_secs(10)),
            },
        };
        let sig = stop_signal(&c, args.signal.as_deref())?;
        Ok(c.begin_stop(sig, timeout)?)
    };
    let mut stopping = args
        .containers
        .iter()
        .map(begin)
        .collect::<Vec<_>>()
        .into_iter();
    each(&args.containers, |_| {
        let s = stopping
            .next()
            .unwrap_or_else(|| Err(anyhow::anyhow!("no stop was begun for this argument")))?;
        Ok(s.finish()?)
    })
}

pub fn kill(paths: &Paths, mut args: KillArgs) -> anyhow::Result<()> {
    let containers = Containers::open(paths)?;
    args.containers = given_or_latest(&containers, args.containers, args.latest)?;
    let sig = crate::signal::parse_signal(&args.signal).map_err(|e| Exit {
        code: 125,
        message: e.to_string(),
    })?;
    each(&args.containers, |a| Ok(containers.get(a)?.kill(a, sig)?))
}

pub fn rm(paths: &Paths, mut args: RmArgs) -> anyhow::Result<()> {
    let containers = Containers::open(paths)?;
    args.containers = given_or_latest(&containers, args.containers, args.latest)?;
    let names = targets(&containers, &args.containers, args.all, args.ignore, |_| {
        true
    })?;
    each(&names, |a| {
        let c = containers.get(a)?;
        let mounts = c.rec.config.host.mounts.clone();
        // podman's `rm -f -t N`: the stop signal and N seconds' grace before SIGKILL.
        if let (true, Some(t), true) = (args.force, args.time, c.is_running()) {
            let timeout = (t >= 0).then(|| Duration::from_secs(t as u64));
            let sig = stop_signal(&c, None)?;
            c.stop(sig, timeout)?;
            // An --rm container is gone with its exit already.
            match containers.get(a) {
                Ok(c) => c.remove(false)?,
                Err(ContainerError::State(StateError::NotFound(_))) => {}
                Err(e) => return Err(e.into()),
            }
        } else {
            c.remove(args.force)?;
        }
        if args.volumes {
            crate::volume::VolumeStore::open(paths)?.remove_anonymous(&mounts);
        }
        Ok(())
    })
}

/// `container exists`: podman's exit 0 (found) or 1 (not found), printing nothing.
pub fn exists(paths: &Paths, args: ContainerExistsArgs) -> anyhow::Result<()> {
    match Containers::open(paths)?.store().resolve(&args.container) {
        Ok(_) => Ok(()),
        Err(StateError::NotFound(_)) => Err(Exit::silent(1).into()),
        Err(e) => Err(e.into()),
    }
}
