//! Where kiste keeps its state: `/var/lib/kiste` + `/run/kiste` for root,
//! `$XDG_DATA_HOME/kiste` + `$XDG_RUNTIME_DIR/kiste` for other users, overridden by
//! `--root`/`--runroot` or `KISTE_ROOT`/`KISTE_RUNROOT`. Only computes paths; creates nothing
//! except through `ensure`.

use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct Paths {
    /// Persistent state: images, container records, upper dirs, logs.
    pub root: PathBuf,
    /// Volatile state (tmpfs): mount points, monitor sockets.
    pub runroot: PathBuf,
    pub rootless: bool,
}

impl Paths {
    /// Resolve the store locations from explicit overrides (flags or env, already merged by clap)
    /// and the user's identity.
    pub fn resolve(root: Option<PathBuf>, runroot: Option<PathBuf>) -> Paths {
        let rootless = !nix::unistd::geteuid().is_root();
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let default_root = if rootless {
            match std::env::var_os("XDG_DATA_HOME") {
                Some(d) if !d.is_empty() => PathBuf::from(d).join("kiste"),
                _ => home
                    .clone()
                    .unwrap_or_else(|| PathBuf::from("/tmp"))
                    .join(".local/share/kiste"),
            }
        } else {
            PathBuf::from("/var/lib/kiste")
        };
        let default_runroot = if rootless {
            match std::env::var_os("XDG_RUNTIME_DIR") {
                Some(d) if !d.is_empty() => PathBuf::from(d).join("kiste"),
                _ => PathBuf::from(format!("/tmp/kiste-{}", nix::unistd::geteuid())),
            }
        } else {
            PathBuf::from("/run/kiste")
        };
        Paths {
            root: absolute(root.unwrap_or(default_root)),
            runroot: absolute(runroot.unwrap_or(default_runroot)),
            rootless,
        }
    }

    pub fn images(&self) -> PathBuf {
        self.root.join("images")
    }
    pub fn containers(&self) -> PathBuf {
        self.root.join("containers")
    }
    pub fn container_dir(&self, id: &str) -> PathBuf {
        self.containers().join(id)
    }
    /// Volatile per-container directory (mount point of the rootfs, pid files).
    pub fn container_run_dir(&self, id: &str) -> PathBuf {
        self.runroot.join("containers").join(id)
    }
    pub fn build_dir(&self) -> PathBuf {
        self.root.join("build")
    }

    /// Create the root and runroot directories (mode 0700 when rootless).
    pub fn ensure(&self) -> std::io::Result<()> {
        for dir in [&self.root, &self.runroot] {
            std::fs::create_dir_all(dir)?;
        }
        Ok(())
    }
}

fn absolute(p: PathBuf) -> PathBuf {
    if p.is_absolute() {
        p
    } else {
        std::env::current_dir().map(|d| d.join(&p)).unwrap_or(p)
    }
}
