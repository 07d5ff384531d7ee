//! `completion bash|zsh|fish`: prints the script that registers kiste with the shell.
//! The script calls kiste back at tab time (`COMPLETE=<shell> kiste -- words…`), which
//! `main` answers through clap_complete before any verb runs, so flags, subcommands and
//! the store's objects (`cli::complete`) come from the one CLI definition.

use crate::cli::Shell;
use clap_complete::env::{Bash, EnvCompleter, Fish, Zsh};
use std::io::Write;

/// The program the script calls back: as it was invoked, made absolute when it was a
/// relative path (a bare name is looked up on the PATH at tab time).
fn completer() -> String {
    let argv0 = std::env::args_os().next().unwrap_or_else(|| "kiste".into());
    let path = std::path::PathBuf::from(&argv0);
    if path.components().count() > 1 && path.is_relative() {
        if let Ok(cwd) = std::env::current_dir() {
            return cwd.join(path).to_string_lossy().into_owned();
        }
    }
    path.to_string_lossy().into_owned()
}

pub fn print_script(shell: Shell) -> anyhow::Result<()> {
    let adapter: &dyn EnvCompleter = match shell {
        Shell::Bash => &Bash,
        Shell::Zsh => &Zsh,
        Shell::Fish => &Fish,
    };
    let mut buf = Vec::new();
    adapter.write_registration("COMPLETE", "kiste", "kiste", &completer(), &mut buf)?;
    std::io::stdout().write_all(&buf)?;
    Ok(())
}
