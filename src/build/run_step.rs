//! A RUN step: the image so far as overlay lowers, a fresh upper dir, the command run in
//! a real container (own pid/mount/ipc/uts namespaces and cgroup; the host's network unless
//! `--network=none`), its output streamed and its tail kept for the error message. The
//! upper dir, minus the mount points the runtime made, becomes the step's layer.

use super::layers::LowerView;
use crate::fs::Known;
use crate::paths::{Paths, ROOTFS};
use crate::runtime::{
    self, CgroupSpec, ContainerSpec, Mount, MountKind, Namespaces, NsMode, Stdio,
};
use crate::storage;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

pub struct RunStep<'a> {
    /// The step's container id.
    pub id: String,
    pub paths: &'a Paths,
    pub lowers: &'a [PathBuf],
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: String,
    pub user: String,
    /// `RUN --network`: `none` gets a private, empty network namespace; `default` and
    /// `host` run in the host's.
    pub network: dockerfile_parser::RunNetwork,
    /// A private scratch directory for this step's extra files (`--add-host`'s hosts
    /// file, RUN --mount's directories), made when one is needed, removed by the caller
    /// (`remove_step_dir`).
    pub work: &'a Path,
    /// The step's upper dir, in the build's scratch dir beside `work` (made here, renamed
    /// into the layer store or removed by the caller).
    pub upper: &'a Path,
    /// Where the command's output goes (stdout, around the spinner).
    pub progress: &'a super::progress::Progress,
    /// The cgroup to run in (recorded in the scratch dir by the caller beforehand).
    pub cgroup_name: String,
    /// Whether that cgroup is the build's, shared by its RUN steps and removed with the
    /// scratch dir (`Scratch::run_cgroup`); else it goes when the step ends.
    pub shared_cgroup: bool,
    /// Extra mounts (RUN --mount), already prepared on the host.
    pub mounts: Vec<Mount>,
    /// The build's settings for every step's container (`--add-host`, limits…).
    pub host: &'a super::StepHost,
}

#[derive(Debug, thiserror::Error)]
pub enum RunFailure {
    /// The command ran and failed: its exit code and the last lines of its output.
    #[error("the command exited with code {code}")]
    Exit { code: i32, tail: String },
    /// A host call to prepare the step failed: what was being done, and the cause.
    #[error("{action}: {source}")]
    Io {
        action: String,
        #[source]
        source: std::io::Error,
    },
    /// The overlay of the image so far could not be mounted.
    #[error(transparent)]
    Storage(#[from] storage::StorageError),
    /// The step's container could not be started.
    #[error(transparent)]
    Runtime(#[from] runtime::RuntimeError),
    /// SIGINT or SIGTERM came while the command ran.
    #[error("the build was interrupted by signal {signal}")]
    Interrupted { signal: i32 },
}

const TAIL_LINES: usize = 10;

/// Below the run root (a tmpfs on most hosts), the empty directories every build's RUN
/// steps share and nothing on the host ever writes into: the mount point their overlays
/// are attached at inside each step's own mount namespace, and the layers of mount points
/// (`mount_point_layer`). Made by the first build that needs them, never removed: not one
/// directory made and freed per build (each free waits on the disk where the file system
/// discards freed blocks, or on its journal).
const RUN_POINTS: &str = "build-points";

/// The build's one overlay work dir, in its scratch dir, which every RUN step's overlay
/// uses in turn (`clear_volatile_mark`).
const OVERLAY_WORK: &str = "overlay-work";

/// The overlay work dir of the build whose scratch dir is `scratch`.
pub fn overlay_work_dir(scratch: &Path) -> PathBuf {
    scratch.join(OVERLAY_WORK)
}

/// A RUN step's scratch dir as the step leaves it, for `crate::fs::remove_known`: the
/// `hosts` file of `--add-host`; RUN --mount's directories are found by the rmdir that
/// fails and removed as `crate::fs::remove_tree` removes them, without following a
/// symlink. Most steps have no such dir at all.
const STEP_DIR_LAYOUT: &[Known] = &[Known::File(c"hosts")];

/// Removes a RUN step's scratch dir (`RunStep::work`), if it made one.
pub fn remove_step_dir(dir: &Path) {
    let _ = crate::fs::remove_known(dir, STEP_DIR_LAYOUT);
}

/// Makes the build's overlay work dir `work` ready for the next step's overlay. The store's
/// file system may discard every block it frees, synchronously (ext4 mounted with
/// `discard`: 0.8 ms per rmdir here), and each overlay leaves a chain of directories in
/// its work dir (work/incompat/volatile/dirty). Reusing the dir instead of a fresh one
/// per step frees two directories fewer per step: only the `volatile` mark goes here
/// (overlayfs refuses a work dir that holds it), and overlayfs itself empties its `work`
/// dir at the next mount. The previous step's overlay is gone by then: it lived in the
/// mount namespace of the step's process, which the kernel tears down before that
/// process is reaped. Only the kernel writes in this dir: nothing of the user's is there.
fn clear_volatile_mark(work: &Path) -> Result<(), RunFailure> {
    let volatile = work.join("work/incompat/volatile");
    for (path, dir) in [(volatile.join("dirty"), false), (volatile, true)] {
        let removed = match dir {
            false => std::fs::remove_file(&path),
            true => std::fs::remove_dir(&path),
        };
        match removed {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(RunFailure::Io {
                    action: format!("cannot remove {}", path.display()),
                    source: e,
                })
            }
            _ => {}
        }
    }
    Ok(())
}

impl RunStep<'_> {
    /// Run the command; return the upper dir holding its changes.
    pub fn execute(&self) -> Result<PathBuf, RunFailure> {
        let upper = self.upper.to_path_buf();
        let scratch = self.work.parent().unwrap_or(self.work);
        let work = overlay_work_dir(scratch);
        clear_volatile_mark(&work)?;
        let points = self.paths.runroot.join(RUN_POINTS);
        let view = LowerView::new(self.lowers.to_vec());
        let mut lowers = self.lowers.to_vec();
        lowers.extend(mount_point_layer(&points, &view)?);
        // The overlay calls make the step's dirs. The overlay is attached in the step
        // container's mount namespace only: nothing on the host reads the merged tree
        // (the layer is the upper dir), so there is no host mount to make and no unmount
        // to wait for afterwards, and every build's steps can share one empty mount point
        // below the run root.
        let tree = match self.paths.rootless {
            false => storage::mount_overlay_detached(&lowers, &upper, &work, &points.join(ROOTFS))?,
            true => None,
        };
        let tree = tree.map(|fd| runtime::MountTree(std::sync::Arc::new(fd)));
        let on_host = tree.is_none();
        let rootfs = match on_host {
            false => points.join(ROOTFS),
            true => scratch.join(ROOTFS),
        };
        if on_host {
            storage::mount_overlay_scratch(&lowers, &upper, &work, &rootfs, self.paths.rootless)?;
        }
        let id = crate::state::new_id();
        let mut cgroup: CgroupSpec = super::scratch::build_cgroup(&self.cgroup_name);
        cgroup.resources = self.host.resources.clone();
        let result = self.spawn_and_wait(&rootfs, &view, tree, &id, &cgroup);
        if !self.shared_cgroup {
            let _ = crate::cgroups::remove(&cgroup);
        }
        if on_host {
            let _ = storage::unmount(&rootfs);
        }
        let code_tail = result?;
        if code_tail.0 != 0 {
            return Err(RunFailure::Exit {
                code: code_tail.0,
                tail: code_tail.1,
            });
        }
        let mut extra: Vec<&str> = self.mounts.iter().map(|m| m.destination.as_str()).collect();
        if self.host.shm_size.is_some() {
            extra.push("/dev/shm");
        }
        prune_mount_points(&upper, &view, &extra);
        Ok(upper)
    }

    fn spawn_and_wait(
        &self,
        rootfs: &Path,
        view: &LowerView,
        tree: Option<runtime::MountTree>,
        id: &str,
        cgroup: &CgroupSpec,
    ) -> Result<(i32, String), RunFailure> {
        let (out_r, out_w) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| RunFailure::Io {
                action: "cannot create the output pipe of the step".into(),
                source: e.into(),
            })?;
        let null = std::fs::File::open("/dev/null").map_err(|source| RunFailure::Io {
            action: "cannot open /dev/null".into(),
            source,
        })?;
        let mut mounts = Vec::new();
        let hosts = Path::new("/etc/hosts");
        if let Some(text) = self.host.hosts_file(hosts) {
            // --add-host: the host's file and the added lines, in the step's work dir
            // (mounted even where the image has no /etc, as docker does).
            let own = self.work.join("hosts");
            std::fs::create_dir_all(self.work).map_err(|source| RunFailure::Io {
                action: format!("cannot create {}", self.work.display()),
                source,
            })?;
            std::fs::write(&own, text).map_err(|source| RunFailure::Io {
                action: format!("cannot write {}", own.display()),
                source,
            })?;
            mounts.push(Mount {
                source: own,
                destination: "/etc/hosts".into(),
                kind: MountKind::Bind,
                readonly: true,
            });
        }
        if view.is_dir("etc") {
            for f in ["resolv.conf", "hosts"] {
                let host = Path::new("/etc").join(f);
                if f == "hosts" && !self.host.extra_hosts.is_empty() {
                    continue;
                }
                if host.exists() {
                    mounts.push(Mount {
                        source: host,
                        destination: format!("/etc/{f}"),
                        kind: MountKind::Bind,
                        readonly: true,
                    });
                }
            }
        }
        mounts.extend(self.host.shm_mount());
        mounts.extend(self.mounts.iter().cloned());
        let spec = ContainerSpec {
            id: id.to_string(),
            rootfs: rootfs.to_path_buf(),
            rootfs_tree: tree,
            args: self.args.clone(),
            env: self.env.clone(),
            cwd: self.cwd.clone(),
            user: self.user.clone(),
            hostname: id[..12].to_string(),
            namespaces: Namespaces {
                net: match self.network {
                    dockerfile_parser::RunNetwork::None => NsMode::Private,
                    dockerfile_parser::RunNetwork::Default
                    | dockerfile_parser::RunNetwork::Host => NsMode::Host,
                },
                ..Default::default()
            },
            mounts,
            devices: Vec::new(),
            rlimits: self.host.rlimits(),
            security: runtime::default_security(),
            cgroup: Some(cgroup.clone()),
            stdio: Stdio {
                stdin: null.as_raw_fd(),
                stdout: out_w.as_raw_fd(),
                stderr: out_w.as_raw_fd(),
            },
            init: false,
            oci: None,
            tuning: None,
        };
        let started = runtime::spawn(&spec)?;
        // The child holds the overlay now; it goes with the child's mount namespace.
        drop(spec);
        drop(out_w);
        let mut tail: Vec<String> = Vec::new();
        let mut reader = std::fs::File::from(out_r);
        let mut buf = [0u8; 16384];
        let mut partial = String::new();
        let mut interrupted = None;
        loop {
            use std::io::Read;
            if let Some(sig) = super::interrupt::pending() {
                // SIGINT/SIGTERM: the step's container goes first (its pid namespace with
                // it); the caller removes the cgroup and the mount.
                // SAFETY: kill(2) on our own child, not yet reaped.
                unsafe { libc::kill(started.pid, libc::SIGKILL) };
                interrupted = Some(sig);
                break;
            }
            // Wait for output at most 100 ms at a time, so the spinner's clock moves on.
            let mut pfd = libc::pollfd {
                fd: reader.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: poll on one valid pollfd.
            match unsafe { libc::poll(&mut pfd, 1, 100) } {
                0 => {
                    self.progress.tick();
                    continue;
                }
                // EINTR: a signal came; look at it above.
                n if n < 0 => continue,
                _ => {}
            }
            match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    self.progress.output(&buf[..n]);
                    partial.push_str(&String::from_utf8_lossy(&buf[..n]));
                    while let Some(pos) = partial.find('\n') {
                        let line: String = partial.drain(..=pos).collect();
                        tail.push(line.trim_end().to_string());
                        if tail.len() > TAIL_LINES {
                            tail.remove(0);
                        }
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        if !partial.is_empty() {
            tail.push(partial);
        }
        let status = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(started.pid), None);
        let code = match status {
            Ok(nix::sys::wait::WaitStatus::Exited(_, c)) => c,
            Ok(nix::sys::wait::WaitStatus::Signaled(_, s, _)) => 128 + s as i32,
            _ => 255,
        };
        if let Some(signal) = interrupted {
            return Err(RunFailure::Interrupted { signal });
        }
        Ok((code, tail.join("\n")))
    }
}

/// The mount points every container gets (/dev, /proc, /sys) that the image lacks, as
/// an overlay lower above the image's: empty directories below `points` (`RUN_POINTS`),
/// one layer per set of missing names, made by the first step that needs them and shared
/// by every later step and build. The runtime finds them there, so it makes none in the
/// step's upper dir and none has to be pruned from the layer: a mkdir and an rmdir fewer
/// per mount point and step, directory changes that wait on the disk (a discard or the
/// journal) when it is busy. None when the image has them.
fn mount_point_layer(points: &Path, view: &LowerView) -> Result<Option<PathBuf>, RunFailure> {
    let missing: Vec<&str> = ["dev", "proc", "sys"]
        .into_iter()
        .filter(|d| view.metadata(d).is_none())
        .collect();
    if missing.is_empty() {
        return Ok(None);
    }
    let layer = points.join(format!("mount-points-{}", missing.join("-")));
    // Each directory is made (or found) on its own: a build running beside this one may
    // be making the same layer.
    for d in &missing {
        let dir = layer.join(d);
        std::fs::create_dir_all(&dir).map_err(|source| RunFailure::Io {
            action: format!("cannot create {}", dir.display()),
            source,
        })?;
    }
    Ok(Some(layer))
}

/// Remove from `upper` the mount points the runtime created that the image did not have
/// (docker leaves no empty /proc, /sys, /dev, /etc/hosts… behind in a RUN layer, nor the
/// stubs of RUN --mount targets and their new parent dirs).
fn prune_mount_points(upper: &Path, lower: &LowerView, extra: &[&str]) {
    let mut stubs: Vec<String> = Vec::new();
    for dest in extra {
        let mut rel = dest.trim_matches('/').to_string();
        while !rel.is_empty() {
            stubs.push(rel.clone());
            rel = rel
                .rsplit_once('/')
                .map(|(p, _)| p.to_string())
                .unwrap_or_default();
        }
    }
    let fixed = [
        "etc/hosts",
        "etc/hostname",
        "etc/resolv.conf",
        "etc",
        "dev",
        "proc",
        "sys",
    ];
    // The upper dir holds what the RUN made: a symlink there must not lead these
    // removals out of it.
    let Ok(upper) = crate::fs::Root::open(upper) else {
        return;
    };
    for rel in stubs.iter().map(String::as_str).chain(fixed) {
        let Ok(meta) = upper.lstat(rel) else {
            continue;
        };
        if lower.metadata(rel).is_some() {
            continue;
        }
        let Ok((dir, name)) = upper.parent(rel) else {
            continue;
        };
        if meta.is_dir() {
            let _ = dir.remove_empty_dir(&name);
        } else if meta.is_file() && meta.size() == 0 {
            let _ = dir.remove(&name);
        }
    }
}
