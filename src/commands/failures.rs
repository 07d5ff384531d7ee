//! Docker's rule for a verb given several objects (`rm A B C`, `inspect X Y`): a failure is
//! one line on stderr and the remaining objects still go; the verb exits 1 at the end if
//! any of them failed. Every such verb keeps its tally in a [`Failures`].

use super::Exit;
use std::fmt::Display;

/// Whether any object of a multi-object verb failed.
#[derive(Default)]
pub(super) struct Failures(bool);

impl Failures {
    /// Prints `line` on stderr and remembers that something failed.
    pub(super) fn report(&mut self, line: impl Display) {
        eprintln!("{line}");
        self.0 = true;
    }

    /// Exit 1 (everything already said) if anything failed.
    pub(super) fn finish(self) -> anyhow::Result<()> {
        if self.0 {
            return Err(Exit::silent(1).into());
        }
        Ok(())
    }
}
