//! One file per verb: each turns its parsed flags into validated settings, calls into the
//! library modules and prints what docker prints. `anyhow` is used from here up.

mod archive;
mod attach;
mod build;
mod completion;
mod compose;
mod compose_args;
mod compose_logs;
mod compose_up;
mod compose_verbs;
mod containers;
mod context;
mod cp;
mod diff;
mod events;
mod exec;
mod failures;
mod filter;
mod format;
mod generate;
mod images;
mod info;
mod inspect;
mod kube;
mod kube_play;
mod lifecycle;
mod login;
mod logs;
mod manifest;
mod network;
mod network_create;
mod network_settings;
mod observe;
mod ordered;
mod plugin;
mod plugin_create;
mod plugin_engine;
mod plugin_registry;
mod port;
mod prune;
mod ps;
mod pull;
mod push;
mod refused;
mod rootless;
mod run;
mod run_extra;
mod search;
mod service;
mod system;
mod template;
mod update;
mod version;
mod volume;

use crate::cli::{BuilderCommand, Cli, Command, ContainerCommand};
use crate::paths::Paths;
use anyhow::Context;

/// An error that ends kiste with a given exit code; its message (if any) is printed first.
/// Used for docker's codes: the container's own exit code, 125, 126, 127.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Exit {
    pub code: i32,
    /// Empty when everything was already printed.
    pub message: String,
}

impl Exit {
    pub fn silent(code: i32) -> Exit {
        Exit {
            code,
            message: String::new(),
        }
    }
}

pub fn dispatch(cli: Cli) -> anyhow::Result<()> {
    let selection = crate::context::Selection {
        root: cli.root,
        runroot: cli.runroot,
        context: cli.context,
    };
    // These read nothing from the store and must not write to it.
    let command = match cli.command {
        Command::Version(a) => return version::version(a),
        Command::Completion(a) => return completion::print_script(a.shell),
        Command::Checkpoint(_) => return Err(refused::refuse("checkpoint", refused::CHECKPOINT)),
        Command::Trust(_) => return Err(refused::refuse("trust", refused::TRUST)),
        Command::Context(g) => return context::context_command(selection, g.command),
        Command::Oci(a) => std::process::exit(crate::oci::main(a.args)),
        other => other,
    };
    let paths = context::store_paths(selection)?;
    crate::log_debug!(
        "store root {}, runroot {}, rootless {}",
        paths.root.display(),
        paths.runroot.display(),
        paths.rootless
    );
    if paths.rootless {
        crate::rootless::enter(&paths.runroot, &paths.containers())?;
    }
    repair(&paths)?;
    crate::runtime::cache_seccomp_in(&paths.runroot);
    run_verb(&paths, command)
}

/// One verb on a repaired store; a management form (`container ls`) comes back here as
/// the short verb it names.
fn run_verb(paths: &Paths, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Build(a) => build::build(paths, a),
        Command::Run(a) => run::run(paths, a),
        Command::Create(a) => run::create(paths, a),
        Command::Start(a) => containers::start(paths, a),
        Command::Stop(a) => containers::stop(paths, a),
        Command::Kill(a) => containers::kill(paths, a),
        Command::Rm(a) => containers::rm(paths, a),
        Command::Ps(a) => ps::ps(paths, a),
        Command::Logs(mut a) => {
            if a.latest {
                a.container = containers::latest(&crate::container::Containers::open(paths)?)?;
            }
            logs::logs(paths, a)
        }
        Command::Exec(a) => exec::exec(paths, a),
        Command::Attach(a) => attach::attach(paths, a),
        Command::Images(a) => images::images(paths, a),
        Command::Import(a) => images::import(paths, a),
        Command::Rmi(a) => images::rmi(paths, a),
        Command::Tag(a) => images::tag(paths, a),
        Command::Untag(a) => images::untag(paths, a),
        Command::Inspect(mut a) => {
            if a.latest {
                a.objects = vec![containers::latest(&crate::container::Containers::open(
                    paths,
                )?)?];
            }
            inspect::inspect(paths, a)
        }
        Command::Image(g) => images::image_command(paths, g.command),
        Command::Container(g) => match g.command {
            ContainerCommand::Verb(v) => run_verb(paths, (*v).into()),
            ContainerCommand::Inspect(a) => inspect::inspect(paths, a.into()),
            ContainerCommand::Exists(a) => containers::exists(paths, a),
            ContainerCommand::Prune(a) => prune::container_prune(paths, a),
        },
        Command::History(a) => images::history(paths, a),
        Command::Pull(a) => pull::pull(paths, a),
        Command::Push(a) => push::push(paths, a),
        Command::Login(a) => login::login(paths, a),
        Command::Logout(a) => login::logout(paths, a),
        Command::Save(a) => archive::save(paths, a),
        Command::Load(a) => archive::load(paths, a),
        Command::Export(a) => archive::export(paths, a),
        Command::Events(a) => events::events(paths, a),
        Command::Version(_)
        | Command::Completion(_)
        | Command::Checkpoint(_)
        | Command::Trust(_)
        | Command::Context(_)
        | Command::Oci(_) => Ok(()),
        Command::Builder(g) => match g.command {
            BuilderCommand::Build(a) => build::build(paths, a),
            BuilderCommand::Prune(a) => prune::builder_prune(paths, a),
        },
        Command::Network(g) => network::network_command(paths, g.command),
        Command::Volume(g) => volume::volume_command(paths, g.command),
        Command::Plugin(g) => plugin::plugin_command(paths, g.command),
        Command::Cp(a) => cp::cp(paths, a),
        Command::Diff(a) => diff::diff(paths, a),
        Command::Commit(a) => diff::commit(paths, a),
        Command::Wait(a) => lifecycle::wait(paths, a),
        Command::Restart(a) => lifecycle::restart(paths, a),
        Command::Rename(a) => lifecycle::rename(paths, a),
        Command::Pause(a) => lifecycle::pause(paths, a),
        Command::Unpause(a) => lifecycle::unpause(paths, a),
        Command::Top(a) => observe::top(paths, a),
        Command::Stats(a) => observe::stats(paths, a),
        Command::Healthcheck(g) => match g.command {
            crate::cli::HealthcheckCommand::Run(a) => lifecycle::healthcheck_run(paths, a),
        },
        Command::Generate(g) => match g.command {
            crate::cli::GenerateCommand::Systemd(a) => generate::systemd(paths, a),
            crate::cli::GenerateCommand::Kube(a) => kube::generate(paths, a),
        },
        Command::Info(a) => info::info(paths, a),
        Command::System(g) => system::system_command(paths, g.command),
        Command::Port(a) => port::port(paths, a),
        Command::Play(g) => match g.command {
            crate::cli::PlayCommand::Kube(a) => kube_play::play(paths, a),
        },
        Command::Kube(g) => match g.command {
            crate::cli::KubeCommand::Play(a) => kube_play::play(paths, a),
            crate::cli::KubeCommand::Down(a) => kube_play::down(paths, &a.file),
        },
        Command::Compose(a) => compose::compose(paths, a),
        Command::Update(a) => update::update(paths, a),
        Command::Search(a) => search::search(a),
        Command::Manifest(g) => manifest::manifest_command(paths, g.command),
    }
}

/// Before any verb: the store exists with its private modes (an older store's looser
/// modes are tightened), what a killed monitor left
/// (a container recorded as running, its mount, cgroup, ports, an `--rm` record) is put
/// right, and a dead build's scratch dir (processes, mounts, cgroups) and secrets go.
fn repair(paths: &Paths) -> anyhow::Result<()> {
    paths
        .ensure()
        .with_context(|| format!("cannot make the store {} private", paths.root.display()))?;
    crate::container::repair_all(paths)?;
    crate::build::clean_dead_builds(paths);
    build::clean_dead_secrets(paths);
    Ok(())
}
