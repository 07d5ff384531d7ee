//! `kiste oci`: an OCI runtime with runc's command line (create, start, state, kill,
//! delete, run, list, exec, ps, pause, resume, update, features), so that podman,
//! containerd and CRI-O can start containers with kiste's runtime. A bundle's config.json
//! is translated into the same `runtime::ContainerSpec` that `kiste run` starts; the
//! per-container state is described in [`state`]. Errors end the command with exit
//! status 1 and one line on stderr, as runc's do.

pub mod bundle;
pub mod console;
mod create;
pub mod exec;
pub mod features;
mod lifecycle;
pub mod log;
pub mod mount_options;
pub mod pause;
pub mod ps;
mod query;
mod resources;
pub mod spec;
pub mod state;
pub mod translate;
pub mod update;

use std::ffi::OsString;

use clap::Parser;

use crate::cli::oci::{OciCli, OciCommand, OCI_SPEC_VERSION};
use state::StateRoot;

/// What every command gets: the parsed global flags.
#[derive(Debug, Clone)]
pub struct Global {
    pub root: StateRoot,
    pub log: Option<std::path::PathBuf>,
    pub log_format: crate::cli::oci::LogFormat,
    pub systemd_cgroup: bool,
    pub debug: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum OciError {
    #[error("container with id exists: {id}")]
    Exists { id: String },
    #[error("container does not exist: {id}")]
    NotFound { id: String },
    #[error("invalid container id {id:?}: only letters, digits and _+-. are allowed")]
    BadId { id: String },
    #[error("{what}: {reason}")]
    Invalid { what: String, reason: String },
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{command} is not available in this build")]
    Unavailable { command: &'static str },
    /// A command that needs another status (`start` of a running container, ...).
    #[error("container {id} is {status}: {reason}")]
    WrongStatus {
        id: String,
        status: &'static str,
        reason: &'static str,
    },
    #[error(transparent)]
    Signal(#[from] crate::signal::InvalidSignal),
    #[error("container {id}: {source}")]
    Runtime {
        id: String,
        #[source]
        source: crate::runtime::RuntimeError,
    },
    #[error("container {id}: {source}")]
    Cgroup {
        id: String,
        #[source]
        source: crate::cgroups::CgroupError,
    },
    #[error("container {id}: {kind} {reason}")]
    Hook {
        id: String,
        kind: &'static str,
        reason: String,
    },
}

impl OciError {
    pub fn io(context: impl Into<String>, source: std::io::Error) -> OciError {
        OciError::Io {
            context: context.into(),
            source,
        }
    }
}

/// Runs `kiste oci ARGS` (ARGS without the program name) and returns the exit status.
pub fn main(args: Vec<OsString>) -> i32 {
    let argv = std::iter::once(OsString::from("kiste-oci")).chain(args);
    let cli = match OciCli::try_parse_from(argv) {
        Ok(c) => c,
        Err(e) => {
            let code = match e.kind() {
                clap::error::ErrorKind::DisplayHelp
                | clap::error::ErrorKind::DisplayVersion
                | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => 0,
                _ => 1,
            };
            let _ = e.print();
            return code;
        }
    };
    if cli.version {
        println!("kiste-oci version {}", env!("CARGO_PKG_VERSION"));
        println!("spec: {OCI_SPEC_VERSION}");
        return 0;
    }
    let global = Global {
        root: StateRoot::resolve(cli.root),
        log: cli.log,
        log_format: cli.log_format,
        systemd_cgroup: cli.systemd_cgroup,
        debug: cli.debug,
    };
    log::configure(global.log.clone(), global.log_format);
    let Some(command) = cli.command else {
        eprintln!("kiste oci: a command is needed (see kiste oci --help)");
        return 1;
    };
    match dispatch(&global, command) {
        Ok(code) => code,
        Err(e) => {
            report_error(&global, &e);
            1
        }
    }
}

/// Runs one command; Ok(status) is the exit status (a foreground `run` exits with the
/// container's).
fn dispatch(g: &Global, command: OciCommand) -> Result<i32, OciError> {
    match command {
        OciCommand::Create(a) => create::create(g, &a).map(|_| 0),
        OciCommand::Start(a) => lifecycle::start(g, &a.id).map(|()| 0),
        OciCommand::State(a) => query::state(g, &a.id).map(|()| 0),
        OciCommand::Kill(a) => lifecycle::kill(g, &a).map(|()| 0),
        OciCommand::Delete(a) => lifecycle::delete(g, &a).map(|()| 0),
        OciCommand::Run(a) => create::run(g, &a),
        OciCommand::List(a) => query::list(g, &a).map(|()| 0),
        // The clients' commands (exec.rs, console.rs, features.rs, update.rs, log.rs).
        OciCommand::Exec(a) => exec::exec(&g.root, &a),
        OciCommand::Ps(a) => ps::ps(&g.root, &a),
        OciCommand::Pause(a) => pause::set_paused(&g.root, &a.id, true),
        OciCommand::Resume(a) => pause::set_paused(&g.root, &a.id, false),
        OciCommand::Update(a) => update::update(&g.root, &a),
        OciCommand::Features => features::print(),
    }
}

/// The error line, with its causes: to `--log` in its format and on stderr (runc's way).
pub fn report_error(g: &Global, e: &OciError) {
    let mut line = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = s.source();
    }
    log::error(g.log.as_deref(), g.log_format, &line);
}

/// A warning about the config (something kiste does not apply): to `--log` as runc
/// writes warnings, else stderr.
pub fn warn(message: &str) {
    log::warn(message);
}
