//! `kiste compose`: a compose project loaded (`crate::compose`) and each verb run with
//! kiste's own functions, never by re-parsing a command line. What belongs to a project
//! is found by the labels docker compose v2 sets, so `down` removes exactly that.

use super::Exit;
use crate::cli::{ComposeArgs, ComposeCommand, ComposeConfigArgs, ComposeDownArgs, ComposePsArgs};
use crate::compose::{labels, ComposeError, LoadOptions, Project};
use crate::container::Containers;
use crate::paths::Paths;
use crate::state::ContainerRecord;

/// The project the global flags name (warnings printed); errors exit 1 as docker
/// compose's do.
pub(super) fn load(a: &ComposeArgs, wanted: &[String]) -> anyhow::Result<Project> {
    let opts = LoadOptions {
        files: a.files.clone(),
        project_name: a.project_name.clone(),
        project_directory: a.project_directory.clone(),
        env_file: a.env_file.clone(),
        profiles: a.profiles.clone(),
        wanted: wanted.to_vec(),
        strict: a.strict,
    };
    let (project, warnings) = crate::compose::load(&opts).map_err(fail)?;
    for w in warnings {
        eprintln!("WARN: {w}");
    }
    Ok(project)
}

pub(super) fn fail(e: ComposeError) -> anyhow::Error {
    Exit {
        code: 1,
        message: e.to_string(),
    }
    .into()
}

pub fn compose(paths: &Paths, a: ComposeArgs) -> anyhow::Result<()> {
    match &a.command {
        ComposeCommand::Config(c) => config(&a, c),
        ComposeCommand::Up(u) => {
            let p = load(&a, &u.services)?;
            super::compose_up::up(paths, &p, u)
        }
        ComposeCommand::Down(d) => {
            // As docker compose: `-p NAME down` works without the files (they may be gone).
            let project = match (&a.project_name, a.files.is_empty()) {
                (Some(name), true)
                    if crate::compose::find_files(&std::env::current_dir()?).is_err() =>
                {
                    Project {
                        name: name.clone(),
                        ..Project::default()
                    }
                }
                _ => load(&a, &[])?,
            };
            down(paths, &project, d)
        }
        ComposeCommand::Ps(ps_args) => ps(paths, &load(&a, &[])?, ps_args),
        other => super::compose_verbs::verb(paths, &a, other),
    }
}

fn config(a: &ComposeArgs, c: &ComposeConfigArgs) -> anyhow::Result<()> {
    let p = load(a, &[])?;
    if c.services {
        for name in crate::compose::start_order(&p.services).unwrap_or_default() {
            println!("{name}");
        }
    } else if !c.quiet {
        print!("{}", crate::compose::render(&p));
    }
    Ok(())
}

/// Every container of the project (one-off `run` containers too), by container number.
pub(super) fn project_containers(
    paths: &Paths,
    project: &str,
) -> anyhow::Result<Vec<ContainerRecord>> {
    let mut all: Vec<ContainerRecord> = Containers::open(paths)?
        .all()?
        .into_iter()
        .filter(|r| r.config.labels.get(labels::PROJECT).map(String::as_str) == Some(project))
        .collect();
    crate::sort::sort_by(&mut all, |a, b| a.name.cmp(&b.name));
    Ok(all)
}

pub(super) fn service_of(r: &ContainerRecord) -> &str {
    r.config
        .labels
        .get(labels::SERVICE)
        .map(String::as_str)
        .unwrap_or_default()
}

pub(super) fn is_oneoff(r: &ContainerRecord) -> bool {
    r.config.labels.get(labels::ONEOFF).map(String::as_str) == Some("True")
}

/// Stop (docker compose's 10 s) and remove one container.
pub(super) fn stop_and_remove(paths: &Paths, id: &str) -> anyhow::Result<()> {
    let containers = Containers::open(paths)?;
    let c = containers.get(id)?;
    if c.is_running() {
        let sig = super::containers::stop_signal(&c, None)?;
        c.stop(sig, Some(std::time::Duration::from_secs(10)))?;
    }
    containers.get(id)?.remove(true)?;
    Ok(())
}

fn down(paths: &Paths, p: &Project, d: &ComposeDownArgs) -> anyhow::Result<()> {
    let mut containers = project_containers(paths, &p.name)?;
    // Dependents go before what they depend on; orphans (no service in the file) last.
    let order = crate::compose::start_order(&p.services).unwrap_or_default();
    crate::sort::sort_by_key(&mut containers, |r| {
        std::cmp::Reverse(order.iter().position(|s| s == service_of(r)))
    });
    let known = |r: &ContainerRecord| {
        p.services.contains_key(service_of(r)) || p.disabled.contains_key(service_of(r))
    };
    for r in &containers {
        let no_files = p.config_files.is_empty();
        if !known(r) && !d.remove_orphans && !is_oneoff(r) && !no_files {
            eprintln!("WARN: found orphan container ({}) for this project; use --remove-orphans to remove it", r.name);
            continue;
        }
        eprintln!(" Container {}  Stopping", r.name);
        stop_and_remove(paths, &r.id)?;
        eprintln!(" Container {}  Removed", r.name);
    }
    for net in crate::network::list(paths)? {
        if net.labels.get(labels::PROJECT) != Some(&p.name) {
            continue;
        }
        crate::network::teardown(paths, &net)
            .and_then(|()| crate::network::forget(paths, &net))
            .map_err(|e| anyhow::anyhow!("cannot remove network {}: {e}", net.name))?;
        eprintln!(" Network {}  Removed", net.name);
    }
    if d.volumes {
        let store = crate::volume::VolumeStore::open(paths)?;
        for v in store.list()? {
            if v.labels.get(labels::PROJECT) != Some(&p.name) {
                continue;
            }
            let lock = store.lock()?;
            store.remove(&lock, &v.name)?;
            eprintln!(" Volume {}  Removed", v.name);
        }
    }
    if let Some(which) = &d.rmi {
        let store = crate::image::ImageStore::open(&paths.images())?;
        for s in p.services.values() {
            let built = s.image.is_none();
            if which == "all" || built {
                let name = s.image_name(&p.name);
                if store.resolve(&name).is_ok() {
                    super::images::rmi(
                        paths,
                        crate::cli::RmiArgs {
                            force: false,
                            no_prune: false,
                            images: vec![name.clone()],
                        },
                    )?;
                }
            }
        }
    }
    Ok(())
}

/// `compose ps`: docker compose's columns (NAME IMAGE COMMAND SERVICE CREATED STATUS PORTS).
fn ps(paths: &Paths, p: &Project, a: &ComposePsArgs) -> anyhow::Result<()> {
    let rows: Vec<ContainerRecord> = project_containers(paths, &p.name)?
        .into_iter()
        .filter(|r| a.all || r.is_running())
        .filter(|r| a.services.is_empty() || a.services.iter().any(|s| s == service_of(r)))
        .collect();
    if a.quiet {
        for r in rows {
            println!("{}", r.id);
        }
        return Ok(());
    }
    let mut out = vec![["NAME", "IMAGE", "COMMAND", "SERVICE", "STATUS", "PORTS"]
        .map(String::from)
        .to_vec()];
    for r in rows {
        let cmd: Vec<String> = r
            .config
            .entrypoint
            .iter()
            .chain(&r.config.cmd)
            .cloned()
            .collect();
        let status = match r.state.status {
            crate::state::Status::Running if r.is_running() => match r.state.health.as_ref() {
                Some(h) => format!("running ({})", h.status.as_str()),
                None => "running".to_string(),
            },
            crate::state::Status::Created => "created".to_string(),
            _ => format!("exited ({})", r.state.exit_code),
        };
        let ports: Vec<String> = r.state.ports.iter().map(|m| m.display()).collect();
        out.push(vec![
            r.name.clone(),
            r.config.image.clone(),
            format!("\"{}\"", cmd.join(" ")),
            service_of(&r).to_string(),
            status,
            ports.join(", "),
        ]);
    }
    let widths: Vec<usize> = (0..6)
        .map(|i| out.iter().map(|row| row[i].len()).max().unwrap_or(0))
        .collect();
    for row in out {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", line.join("   ").trim_end());
    }
    Ok(())
}
