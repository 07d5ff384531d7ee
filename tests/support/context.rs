//! kiste with a private config dir (`KISTE_CONFIG`) and no `--root`/`--runroot`, so that
//! contexts choose the store: for tests/context*.rs.

use super::{Kiste, Run};
use std::path::Path;
use std::process::{Command, Stdio};

/// A private kiste config dir (`KISTE_CONFIG`); kiste runs without `--root`/`--runroot`
/// so that the context chooses the store.
pub struct Config {
    dir: tempfile::TempDir,
}

impl Config {
    pub fn new() -> Config {
        Config {
            dir: tempfile::Builder::new()
                .prefix("kiste-config-")
                .tempdir()
                .unwrap(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_kiste"));
        c.args(args)
            .env("KISTE_CONFIG", self.path())
            .env_remove("KISTE_ROOT")
            .env_remove("KISTE_RUNROOT")
            .env_remove("KISTE_CONTEXT")
            .env_remove("DOCKER_CONTEXT")
            .stdin(Stdio::null());
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.cmd(args).output().unwrap().into()
    }

    pub fn ok(&self, args: &[&str]) -> String {
        let r = self.run(args);
        assert_eq!(r.code, 0, "kiste {args:?}: {}{}", r.stdout, r.stderr);
        r.stdout
    }

    /// A context naming `k`'s store.
    pub fn create_for(&self, name: &str, k: &Kiste) {
        let docker = format!(
            "root={},runroot={}",
            k.root().display(),
            k.runroot().display()
        );
        let r = self.run(&["context", "create", name, "--docker", &docker]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(r.stdout, format!("{name}\n"));
        assert_eq!(
            r.stderr,
            format!("Successfully created context \"{name}\"\n")
        );
    }
}
