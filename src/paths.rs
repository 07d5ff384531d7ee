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

/// Registry configuration files, most specific first: the first that exists is used
/// (`KISTE_REGISTRIES_CONF`, then the user's and the system's `registries.conf`).
pub fn registries_conf_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::env::var_os("KISTE_REGISTRIES_CONF")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .into_iter()
        .collect();
    files.extend(user_config_dir().map(|d| d.join("containers/registries.conf")));
    files.push(PathBuf::from("/etc/containers/registries.conf"));
    files
}

/// Directories holding per-registry TLS files (`HOST[:PORT]/ca.crt`, `client.cert`,
/// `client.key`): `KISTE_CERTS_D` (colon-separated) or docker's and podman's.
pub fn certs_d_dirs() -> Vec<PathBuf> {
    match std::env::var("KISTE_CERTS_D") {
        Ok(v) if !v.is_empty() => v.split(':').map(PathBuf::from).collect(),
        _ => vec![
            PathBuf::from("/etc/docker/certs.d"),
            PathBuf::from("/etc/containers/certs.d"),
        ],
    }
}

/// docker's client config, where `login` stores credentials:
/// `$DOCKER_CONFIG/config.json`, default `~/.docker/config.json`.
pub fn docker_config_file() -> PathBuf {
    match std::env::var_os("DOCKER_CONFIG") {
        Some(d) if !d.is_empty() => PathBuf::from(d).join("config.json"),
        _ => home_dir().join(".docker/config.json"),
    }
}

/// Every file credentials are read from, in order: docker's config, then podman's
/// `REGISTRY_AUTH_FILE`, `$XDG_RUNTIME_DIR/containers/auth.json` (root without a session:
/// `/run/containers/0/auth.json`) and the user's.
pub fn registry_auth_files() -> Vec<PathBuf> {
    let mut files = vec![docker_config_file()];
    files.extend(
        std::env::var_os("REGISTRY_AUTH_FILE")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from),
    );
    let runtime_dir = std::env::var_os("XDG_RUNTIME_DIR").filter(|v| !v.is_empty());
    match runtime_dir {
        Some(d) => files.push(PathBuf::from(d).join("containers/auth.json")),
        // podman's place for root when there is no login session.
        None if nix::unistd::geteuid().is_root() => {
            files.push(PathBuf::from("/run/containers/0/auth.json"))
        }
        None => {}
    }
    files.extend(user_config_dir().map(|d| d.join("containers/auth.json")));
    files
}

fn home_dir() -> PathBuf {
    std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from("/root"), PathBuf::from)
}

fn user_config_dir() -> Option<PathBuf> {
    match std::env::var_os("XDG_CONFIG_HOME") {
        Some(d) if !d.is_empty() => Some(PathBuf::from(d)),
        _ => std::env::var_os("HOME")
            .filter(|v| !v.is_empty())
            .map(|h| PathBuf::from(h).join(".config")),
    }
}
