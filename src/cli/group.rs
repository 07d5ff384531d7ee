//! A verb with verbs of its own (`image ls`, `network create`): its subcommands are
//! built only when it is parsed, as every verb's flags are (`Command` defers them). A
//! `#[command(subcommand)]` variant would build its whole subtree (about a hundred
//! commands in all) and clone the global flags into it on every start of kiste.

use clap::{ArgMatches, Args, Command, FromArgMatches, Subcommand};

/// The subcommand of a verb that has them, as `Command`'s variant holds it.
#[derive(Debug)]
pub struct Group<T> {
    pub command: T,
}

impl<T: Subcommand> FromArgMatches for Group<T> {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        Ok(Group {
            command: T::from_arg_matches(matches)?,
        })
    }

    fn from_arg_matches_mut(matches: &mut ArgMatches) -> Result<Self, clap::Error> {
        Ok(Group {
            command: T::from_arg_matches_mut(matches)?,
        })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        self.command.update_from_arg_matches(matches)
    }

    fn update_from_arg_matches_mut(&mut self, matches: &mut ArgMatches) -> Result<(), clap::Error> {
        self.command.update_from_arg_matches_mut(matches)
    }
}

/// What a `#[command(subcommand)]` variant builds: the subcommands, one of them
/// required, and the verb's own about text (its variant's doc comment), not the enum's.
impl<T: Subcommand> Args for Group<T> {
    fn augment_args(cmd: Command) -> Command {
        keep_about(cmd, T::augment_subcommands)
            .subcommand_required(true)
            .arg_required_else_help(true)
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        keep_about(cmd, T::augment_subcommands_for_update)
            .subcommand_required(false)
            .arg_required_else_help(false)
    }
}

fn keep_about(cmd: Command, augment: fn(Command) -> Command) -> Command {
    let about = cmd.get_about().cloned();
    let long_about = cmd.get_long_about().cloned();
    let cmd = augment(cmd);
    let cmd = match about {
        Some(about) => cmd.about(about),
        None => cmd.about(None::<&'static str>),
    };
    match long_about {
        Some(long) => cmd.long_about(long),
        None => cmd.long_about(None::<&'static str>),
    }
}
