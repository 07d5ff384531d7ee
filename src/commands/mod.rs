//! One file per verb: each turns its parsed flags into validated settings, calls into the
//! library modules and prints what docker prints. `anyhow` is used from here up.

mod build;
mod containers;
mod format;
mod images;
mod inspect;
mod logs;
mod ps;
mod run;

use crate::cli::{Cli, Command};
use crate::paths::Paths;

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
    let paths = Paths::resolve(cli.root, cli.runroot);
    crate::runtime::cache_seccomp_in(&paths.runroot);
    match cli.command {
        Command::Build(a) => build::build(&paths, a),
        Command::Run(a) => run::run(&paths, a),
        Command::Create(a) => run::create(&paths, a),
        Command::Start(a) => containers::start(&paths, a),
        Command::Stop(a) => containers::stop(&paths, a),
        Command::Kill(a) => containers::kill(&paths, a),
        Command::Rm(a) => containers::rm(&paths, a),
        Command::Ps(a) => ps::ps(&paths, a),
        Command::Logs(a) => logs::logs(&paths, a),
        Command::Images(a) => images::images(&paths, a),
        Command::Import(a) => images::import(&paths, a),
        Command::Rmi(a) => images::rmi(&paths, a),
        Command::Tag(a) => images::tag(&paths, a),
        Command::Inspect(a) => inspect::inspect(&paths, a),
        Command::Image(c) => images::image_command(&paths, c),
        Command::History(a) => images::history(&paths, a),
    }
}
