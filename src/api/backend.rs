//! How the API reaches the store: kiste itself, run as a subprocess on the same store
//! (`--root`, `--runroot`) with the flags a request maps to. Each subprocess dies with
//! the connection that asked for it (PR_SET_PDEATHSIG); a container it starts has its own
//! monitor and lives on, as a docker container outlives the API call that made it.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The store the API serves and the binary that works on it.
#[derive(Debug, Clone)]
pub struct Backend {
    pub exe: PathBuf,
    pub root: PathBuf,
    pub runroot: PathBuf,
}

/// What a kiste subprocess did.
#[derive(Debug)]
pub struct Outcome {
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Outcome {
    pub fn ok(&self) -> bool {
        self.code == 0
    }

    /// The error kiste printed, without its "Error: " prefix, one line.
    pub fn message(&self) -> String {
        let text = self.stderr.trim();
        let text = text.strip_prefix("Error: ").unwrap_or(text);
        text.lines()
            .filter(|l| !l.starts_with("WARNING"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

impl Backend {
    pub fn new(root: PathBuf, runroot: PathBuf) -> std::io::Result<Backend> {
        Ok(Backend {
            exe: std::env::current_exe()?,
            root,
            runroot,
        })
    }

    /// `kiste --root R --runroot RR ARGS…`, its stdin empty, ended if its caller dies.
    pub fn command<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Command {
        let mut cmd = Command::new(&self.exe);
        cmd.arg("--root")
            .arg(&self.root)
            .arg("--runroot")
            .arg(&self.runroot)
            .args(args)
            .stdin(Stdio::null());
        // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
                Ok(())
            });
        }
        cmd
    }

    /// Runs kiste to its end and keeps what it printed.
    pub fn run<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Outcome {
        match self.command(args).output() {
            Ok(out) => Outcome {
                code: out.status.code().unwrap_or(125),
                stdout: out.stdout,
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            },
            Err(e) => Outcome {
                code: 125,
                stdout: Vec::new(),
                stderr: format!("cannot run {}: {e}", self.exe.display()),
            },
        }
    }

    /// `kiste inspect --type KIND NAME`'s one object, or the error kiste printed.
    pub fn inspect(&self, kind: &str, name: &str) -> Result<serde_json::Value, Outcome> {
        let out = self.run(&["inspect", "--type", kind, "--", name]);
        if !out.ok() {
            return Err(out);
        }
        let mut list: Vec<serde_json::Value> =
            serde_json::from_slice(&out.stdout).map_err(|e| Outcome {
                code: 125,
                stdout: Vec::new(),
                stderr: format!("inspect {name}: {e}"),
            })?;
        match list.len() {
            0 => Err(Outcome {
                code: 1,
                stdout: Vec::new(),
                stderr: format!("no such {kind}: {name}"),
            }),
            _ => Ok(list.swap_remove(0)),
        }
    }
}
