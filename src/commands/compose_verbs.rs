//! The compose verbs that act on a project's existing containers or images: `build`,
//! `pull`, `logs`, `exec`, `run`, `start`, `stop`, `restart`, `rm`. Each calls the same
//! functions as kiste's own verb, with typed arguments built from the project.

use super::compose::{is_oneoff, load, project_containers, service_of};
use super::compose_up::{bring_up, selected, Made};
use super::Exit;
use crate::cli::{
    BuildArgs, ComposeArgs, ComposeCommand, ComposeRunArgs, ComposeUpArgs, ExecArgs, PullArgs,
};
use crate::compose::{labels, MountKind, Project, Service};
use crate::container::Containers;
use crate::paths::Paths;
use crate::state::ContainerRecord;
use std::io::IsTerminal;
use std::time::Duration;

pub fn verb(paths: &Paths, a: &ComposeArgs, cmd: &ComposeCommand) -> anyhow::Result<()> {
    match cmd {
        ComposeCommand::Build(s) => {
            let p = load(a, &s.services)?;
            for name in selected(&p, &s.services)? {
                if p.services[&name].build.is_some() {
                    build_service(paths, &p, &p.services[&name])?;
                }
            }
            Ok(())
        }
        ComposeCommand::Pull(s) => {
            let p = load(a, &s.services)?;
            for name in selected(&p, &s.services)? {
                if let Some(image) = &p.services[&name].image {
                    super::pull::pull(
                        paths,
                        PullArgs {
                            quiet: false,
                            platform: None,
                            tls_verify: true,
                            all_tags: false,
                            trust: Default::default(),
                            image: image.clone(),
                        },
                    )?;
                }
            }
            Ok(())
        }
        ComposeCommand::Logs(l) => {
            let p = load(a, &l.services)?;
            let ids: Vec<String> = of_services(paths, &p, &l.services)?
                .into_iter()
                .map(|r| r.id)
                .collect();
            super::compose_logs::follow(paths, &ids, l.follow, false, false)?;
            Ok(())
        }
        ComposeCommand::Exec(e) => {
            let p = load(a, &[])?;
            let rec = of_services(paths, &p, std::slice::from_ref(&e.service))?
                .into_iter()
                .find(|r| r.is_running())
                .ok_or_else(|| Exit {
                    code: 1,
                    message: format!("service \"{}\" is not running", e.service),
                })?;
            let tty = !e.no_tty && std::io::stdin().is_terminal();
            super::exec::exec(
                paths,
                ExecArgs {
                    detach: false,
                    interactive: tty,
                    tty,
                    env: e.env.clone(),
                    env_file: Vec::new(),
                    workdir: e.workdir.clone(),
                    user: e.user.clone(),
                    privileged: false,
                    detach_keys: None,
                    container: rec.id,
                    command: e.command.clone(),
                },
            )
        }
        ComposeCommand::Run(r) => run(paths, &load(a, std::slice::from_ref(&r.service))?, r),
        ComposeCommand::Start(s) => {
            let p = load(a, &s.services)?;
            for name in selected(&p, &s.services)? {
                for r in of_services(paths, &p, std::slice::from_ref(&name))? {
                    if !r.is_running() {
                        crate::monitor::start(paths, &r.id, crate::monitor::Mode::Detached)
                            .map_err(|e| Exit {
                                code: 1,
                                message: format!("cannot start {}: {e}", r.name),
                            })?;
                        eprintln!(" Container {}  Started", r.name);
                    }
                }
            }
            Ok(())
        }
        ComposeCommand::Stop(s) => {
            let p = load(a, &s.services)?;
            stop_services(paths, &p, &s.services)
        }
        ComposeCommand::Restart(s) => {
            let p = load(a, &s.services)?;
            stop_services(paths, &p, &s.services)?;
            for r in of_services(paths, &p, &s.services)? {
                crate::monitor::start(paths, &r.id, crate::monitor::Mode::Detached).map_err(
                    |e| Exit {
                        code: 1,
                        message: format!("cannot start {}: {e}", r.name),
                    },
                )?;
                eprintln!(" Container {}  Started", r.name);
            }
            Ok(())
        }
        ComposeCommand::Rm(rm) => {
            let p = load(a, &rm.services)?;
            if rm.stop {
                stop_services(paths, &p, &rm.services)?;
            }
            for r in of_services(paths, &p, &rm.services)? {
                if r.is_running() {
                    continue;
                }
                Containers::open(paths)?.get(&r.id)?.remove(false)?;
                eprintln!(" Container {}  Removed", r.name);
            }
            Ok(())
        }
        ComposeCommand::Up(_)
        | ComposeCommand::Down(_)
        | ComposeCommand::Ps(_)
        | ComposeCommand::Config(_) => Ok(()),
    }
}

/// The project's service containers (no one-offs) of `services` (all when empty).
fn of_services(
    paths: &Paths,
    p: &Project,
    services: &[String],
) -> anyhow::Result<Vec<ContainerRecord>> {
    for s in services {
        if !p.services.contains_key(s) {
            return Err(Exit {
                code: 1,
                message: format!("no such service: {s}"),
            }
            .into());
        }
    }
    Ok(project_containers(paths, &p.name)?
        .into_iter()
        .filter(|r| {
            !is_oneoff(r) && (services.is_empty() || services.iter().any(|s| s == service_of(r)))
        })
        .collect())
}

/// Stop in reverse dependency order, as compose does.
fn stop_services(paths: &Paths, p: &Project, services: &[String]) -> anyhow::Result<()> {
    let order = selected(p, services)?;
    for name in order.iter().rev() {
        for r in of_services(paths, p, std::slice::from_ref(name))? {
            let containers = Containers::open(paths)?;
            let c = containers.get(&r.id)?;
            if c.is_running() {
                eprintln!(" Container {}  Stopping", r.name);
                let sig = super::containers::stop_signal(&c, None)?;
                c.stop(sig, Some(Duration::from_secs(10)))?;
                eprintln!(" Container {}  Stopped", r.name);
            }
        }
    }
    Ok(())
}

/// `docker compose build` for one service: kiste's own build, tagged PROJECT-SERVICE
/// (or its `image:`).
pub(super) fn build_service(paths: &Paths, p: &Project, svc: &Service) -> anyhow::Result<()> {
    let Some(b) = &svc.build else { return Ok(()) };
    super::build::build(
        paths,
        BuildArgs {
            tags: vec![svc.image_name(&p.name)],
            file: b.dockerfile.as_ref().map(|f| b.context.join(f)),
            build_args: b.args.iter().map(|(k, v)| format!("{k}={v}")).collect(),
            target: b.target.clone(),
            labels: Vec::new(),
            quiet: false,
            iidfile: None,
            no_cache: false,
            secrets: Vec::new(),
            timestamp: None,
            pull: crate::registry::PullPolicy::Missing,
            host: Default::default(),
            refused: Default::default(),
            context: b.context.clone(),
        },
    )
    .map_err(|e| {
        Exit {
            code: 1,
            message: format!("cannot build service {}: {e:#}", svc.name),
        }
        .into()
    })
}

/// `compose run`: the dependencies brought up (unless `--no-deps`), then a one-off
/// container in the foreground with its exit code.
fn run(paths: &Paths, p: &Project, r: &ComposeRunArgs) -> anyhow::Result<()> {
    let svc = p.services.get(&r.service).ok_or_else(|| Exit {
        code: 1,
        message: format!("no such service: {}", r.service),
    })?;
    let mut made = Made::default();
    let prepared = (|| -> anyhow::Result<()> {
        if !r.no_deps && !svc.depends_on.is_empty() {
            let deps: Vec<String> = svc.depends_on.keys().cloned().collect();
            let up = ComposeUpArgs {
                detach: true,
                build: false,
                no_start: false,
                abort_on_container_exit: false,
                exit_code_from: None,
                services: deps.clone(),
            };
            bring_up(paths, p, &selected(p, &deps)?, &up, &mut made)?;
            for (dep, cond) in &svc.depends_on {
                super::compose_up::wait_for(paths, p, dep, *cond)?;
            }
        }
        for key in svc.networks.keys() {
            super::compose_up::ensure_network(paths, p, key, &mut made)?;
        }
        for m in &svc.volumes {
            if let (MountKind::Volume, Some(key)) = (m.kind, &m.source) {
                super::compose_up::ensure_volume(paths, p, key, &mut made)?;
            }
        }
        if svc.build.is_some()
            && crate::image::ImageStore::open(&paths.images())?
                .resolve(&svc.image_name(&p.name))
                .is_err()
        {
            build_service(paths, p, svc)?;
        }
        Ok(())
    })();
    if let Err(e) = prepared {
        made.roll_back(paths);
        return Err(e);
    }
    let suffix: String = crate::state::new_id()[..12].to_string();
    let name = format!("{}-{}-run-{suffix}", p.name, svc.name);
    let mut l = svc.labels.clone();
    for (k, v) in [
        (labels::PROJECT, p.name.clone()),
        (labels::SERVICE, svc.name.clone()),
        (labels::NUMBER, "1".to_string()),
        (labels::ONEOFF, "True".to_string()),
        (labels::WORKING_DIR, p.working_dir.display().to_string()),
        (labels::VERSION, labels::COMPOSE_VERSION.to_string()),
    ] {
        l.insert(k.to_string(), v);
    }
    let command = (!r.command.is_empty()).then(|| r.command.clone());
    let mut args = super::compose_args::run_args(p, svc, Some(name), l, command, r.rm);
    args.detach = false;
    args.env.extend(r.env.iter().cloned());
    let tty = std::io::stdin().is_terminal();
    (args.interactive, args.tty) = (tty, tty);
    args.quiet = true;
    super::run::run(paths, args)
}
