//! Where kiste keeps its state: `/var/lib/kiste` + `/run/kiste` for root,
//! `$XDG_DATA_HOME/kiste` + `$XDG_RUNTIME_DIR/kiste` for other users, overridden by
//! `--root`/`--runroot` or `KISTE_ROOT`/`KISTE_RUNROOT`. Every file and directory name of
//! the store is spelled here. Computes paths; creates nothing except through `ensure` and
//! `make_dir`, which give the store docker's private modes.

mod atomic;
pub use atomic::{sync_dir, write_atomic, Atomic};

use crate::fs::Known;
use std::path::PathBuf;

/// Names inside a container's (or a RUN step's) directory.
pub const UPPER: &str = "upper";
pub const WORK: &str = "work";
pub const ROOTFS: &str = "rootfs";
/// The container store's record file, its temp twin and the store's lock.
pub const RECORD: &str = "container.json";
pub const RECORD_TMP: &str = ".container.json.tmp";
pub const LOCK: &str = "lock";
/// A build scratch dir's owner (pid and start time) and the cgroups its RUN steps used.
pub const SCRATCH_OWNER: &str = "owner";
pub const SCRATCH_CGROUPS: &str = "cgroups";
/// A context read from stdin, inside the build's scratch dir.
pub const SCRATCH_CONTEXT: &str = "context";

/// A container's directory as it is when the container is removed, for
/// `crate::fs::remove_known`: its start lock and log; the upper dir (empty when the
/// container wrote nothing and ran on an init layer), else with the mount points the
/// start made (a container that wrote more has more, found when its rmdir
/// fails); the overlay's work dir as a volatile mount leaves it (work/incompat/volatile).
pub const CONTAINER_DIR_LAYOUT: &[Known] = &[
    Known::File(c"start.lock"),
    Known::File(c"container.log"),
    Known::MostlyEmpty(
        c"upper",
        &[
            Known::Dir(
                c"etc",
                &[
                    Known::File(c"hosts"),
                    Known::File(c"resolv.conf"),
                    Known::File(c"hostname"),
                ],
            ),
            Known::Dir(c"proc", &[]),
            Known::Dir(c"dev", &[]),
            Known::Dir(c"sys", &[]),
        ],
    ),
    Known::Chain(
        &[
            c"work/work/incompat/volatile",
            c"work/work/incompat",
            c"work/work",
            c"work",
        ],
        c"dirty",
    ),
];

/// A container's run dir when it ends: the rootfs mount point (unmounted by then) and
/// the files bound to /etc (`monitor::spec`). Only kiste writes there (the container
/// sees the files through binds), so it goes by path (`crate::fs::remove_own`).
pub const RUN_DIR_LAYOUT: &[Known] = &[
    Known::Dir(c"rootfs", &[]),
    Known::File(c"hosts"),
    Known::File(c"resolv.conf"),
    Known::File(c"hostname"),
];

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
    /// The image store's extracted layers (named by the image store; private here too).
    pub fn image_layers(&self) -> PathBuf {
        self.images().join("layers")
    }
    pub fn containers(&self) -> PathBuf {
        self.root.join("containers")
    }
    pub fn container_dir(&self, id: &str) -> PathBuf {
        self.containers().join(id)
    }
    /// The container's writable layer (overlay upper) and overlay's work dir.
    pub fn container_upper(&self, id: &str) -> PathBuf {
        self.container_dir(id).join(UPPER)
    }
    pub fn container_work(&self, id: &str) -> PathBuf {
        self.container_dir(id).join(WORK)
    }
    /// The container's output in docker's json-file format.
    pub fn container_log(&self, id: &str) -> PathBuf {
        self.container_dir(id).join("container.log")
    }
    /// Held while the container is being started, so that two starts run it once.
    pub fn container_start_lock(&self, id: &str) -> PathBuf {
        self.container_dir(id).join("start.lock")
    }
    /// Volatile per-container directory (mount point of the rootfs, /etc files).
    pub fn container_run_dir(&self, id: &str) -> PathBuf {
        self.run_containers().join(id)
    }
    /// Exit codes of `--rm` containers whose records are gone (see `state::exits`).
    pub fn exits(&self) -> PathBuf {
        self.runroot.join("exits")
    }
    /// The parent of every container's run dir.
    pub fn run_containers(&self) -> PathBuf {
        self.runroot.join("containers")
    }
    /// Where the container's root file system is mounted while it runs.
    pub fn container_rootfs(&self, id: &str) -> PathBuf {
        self.container_run_dir(id).join(ROOTFS)
    }
    /// Per-build scratch directories (one per running build, see `build::scratch`).
    pub fn build_dir(&self) -> PathBuf {
        self.root.join("build")
    }
    pub fn build_cache(&self) -> PathBuf {
        self.root.join("build-cache")
    }
    pub fn build_cache_mounts(&self) -> PathBuf {
        self.root.join("build-cache-mounts")
    }
    /// Secrets given from the environment, written on the volatile side only.
    pub fn build_secrets(&self) -> PathBuf {
        self.runroot.join("build-secrets")
    }

    /// Create the root and runroot directories with private modes, and tighten the modes
    /// of an existing store (see `secure`).
    pub fn ensure(&self) -> std::io::Result<()> {
        // `restrict` first: a store that exists (every command but the first) costs one
        // lstat per directory, not a failed mkdir as well.
        for (dir, mode) in [(&self.root, PRIVATE), (&self.runroot, TRAVERSE)] {
            if !restrict(dir, mode)? {
                make_dir(dir, mode)?;
            }
        }
        self.secure_below()
    }

    /// Give an existing store docker's and podman's modes: the root 0700 (nobody else may
    /// walk in, run a setuid file from a layer or read a log), the runroot and its
    /// `containers/` 0711 (a container's user-namespace root must reach its own run dir,
    /// which is itself private; nobody else can list them). Only what is looser is
    /// changed; a store that does not exist yet is left alone.
    pub fn secure(&self) -> std::io::Result<()> {
        restrict(&self.root, PRIVATE)?;
        restrict(&self.runroot, TRAVERSE)?;
        self.secure_below()
    }

    /// `secure` without the root and runroot themselves.
    fn secure_below(&self) -> std::io::Result<()> {
        let private = [
            (self.images(), PRIVATE),
            (self.image_layers(), PRIVATE),
            (self.containers(), PRIVATE),
            (self.build_dir(), PRIVATE),
            (self.run_containers(), TRAVERSE),
        ];
        for (dir, mode) in private {
            restrict(&dir, mode)?;
        }
        Ok(())
    }
}

/// Owner only.
pub const PRIVATE: u32 = 0o700;
/// Owner, and traversal (no listing) for others.
pub const TRAVERSE: u32 = 0o711;

/// Make `dir` (and missing parents) with `mode`, or restrict an existing one to it.
pub fn make_dir(dir: &std::path::Path, mode: u32) -> std::io::Result<()> {
    make_dir_or(dir, mode, |parent| std::fs::create_dir_all(parent))
}

/// `make_dir`, whose parent, when missing, is made with `parent_mode` (one mkdir when the
/// parent exists, the usual case).
pub fn make_dir_in(dir: &std::path::Path, mode: u32, parent_mode: u32) -> std::io::Result<()> {
    make_dir_or(dir, mode, |parent| make_dir(parent, parent_mode))
}

fn make_dir_or(
    dir: &std::path::Path,
    mode: u32,
    make_parent: impl FnOnce(&std::path::Path) -> std::io::Result<()>,
) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    match std::fs::DirBuilder::new().mode(mode).create(dir) {
        // The umask may have taken bits away that `mode` wants (a traversal bit).
        Ok(()) => std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode)),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => restrict(dir, mode).map(drop),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(parent) = dir.parent() {
                make_parent(parent)?;
            }
            make_dir(dir, mode)
        }
        Err(e) => Err(e),
    }
}

/// Clear the permission bits of `dir` that `mode` does not allow (nothing if it does not
/// exist); whether something exists at `dir`.
pub fn restrict(dir: &std::path::Path, mode: u32) -> std::io::Result<bool> {
    use std::os::unix::fs::PermissionsExt;
    match std::fs::symlink_metadata(dir) {
        Ok(m) if m.is_dir() && m.permissions().mode() & 0o7777 & !mode != 0 => {
            let tightened = m.permissions().mode() & mode & 0o7777;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(tightened)).map(|()| true)
        }
        Ok(_) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
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

/// kiste's own client config dir, where contexts live (`crate::context`): `$KISTE_CONFIG`,
/// else `$XDG_CONFIG_HOME/kiste`, else `~/.config/kiste` (root too). Not docker's
/// `~/.docker`: docker's CLI must not meet kiste's contexts.
pub fn kiste_config_dir() -> PathBuf {
    match std::env::var_os("KISTE_CONFIG") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => user_config_dir()
            .unwrap_or_else(|| home_dir().join(".config"))
            .join("kiste"),
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &std::path::Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn restrict_tightens_a_loose_dir_and_never_loosens_a_tight_one() {
        let tmp = tempfile::tempdir().unwrap();
        let loose = tmp.path().join("loose");
        let tight = tmp.path().join("tight");
        for (d, m) in [(&loose, 0o755), (&tight, 0o500)] {
            std::fs::create_dir(d).unwrap();
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(m)).unwrap();
        }
        restrict(&loose, TRAVERSE).unwrap();
        restrict(&tight, TRAVERSE).unwrap();
        restrict(&tmp.path().join("missing"), PRIVATE).unwrap();
        assert_eq!(mode(&loose), 0o711);
        assert_eq!(mode(&tight), 0o500);
    }

    #[test]
    fn make_dir_gives_the_mode_whatever_the_umask_and_makes_parents() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b");
        make_dir(&dir, TRAVERSE).unwrap();
        assert_eq!(mode(&dir), 0o711);
        make_dir(&dir, PRIVATE).unwrap();
        assert_eq!(mode(&dir), 0o700, "an existing dir is restricted");
    }
}
