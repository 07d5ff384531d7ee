//! `cp`: files and directories between a container and the host, or a tar stream on
//! stdin/stdout (`-`). A running container is reached through its process's root
//! (`/proc/PID/root`, so its volumes are seen as it sees them); a stopped one through
//! its overlay, mounted in a private mount namespace while the start lock keeps it from
//! starting. The copying itself is `container::copy`, on confined trees.

use super::Exit;
use crate::cli::CpArgs;
use crate::container::copy::{self, CopyError, Source};
use crate::fs::Root;
use crate::image::ImageStore;
use crate::paths::Paths;
use crate::state::{ContainerRecord, ContainerStore};
use crate::storage;
use crate::volume::Ownership;
use std::io::{self, IsTerminal};
use std::path::Path;

/// One side of a copy as docker splits it: a local path (absolute, or starting with
/// `.`, or with no `:`), `-`, or `CONTAINER:PATH`.
enum Side {
    Local(String),
    Stream,
    Container { name: String, path: String },
}

fn side(arg: &str) -> Side {
    if arg == "-" {
        return Side::Stream;
    }
    if arg.starts_with('/') || arg.starts_with('.') {
        return Side::Local(arg.into());
    }
    match arg.split_once(':') {
        Some((name, path)) if !name.contains('/') && !name.is_empty() => Side::Container {
            name: name.into(),
            path: if path.starts_with('/') {
                path.into()
            } else {
                format!("/{path}")
            },
        },
        _ => Side::Local(arg.into()),
    }
}

/// A local path made absolute, keeping docker's meaningful `/` and `/.` endings.
fn absolute(p: &str) -> String {
    if p.starts_with('/') {
        return p.into();
    }
    let cwd = std::env::current_dir().unwrap_or_else(|_| "/".into());
    format!("{}/{p}", cwd.display())
}

fn fail(code: i32, e: impl std::fmt::Display) -> anyhow::Error {
    Exit {
        code,
        message: e.to_string(),
    }
    .into()
}

pub fn cp(paths: &Paths, args: CpArgs) -> anyhow::Result<()> {
    let (src, dest) = (side(&args.source), side(&args.dest));
    let own_in = if args.archive {
        Ownership::Keep
    } else {
        Ownership::Set(0, 0)
    };
    // SAFETY: getuid/getgid cannot fail.
    let own_out = if args.archive {
        Ownership::Keep
    } else {
        Ownership::Set(unsafe { libc::getuid() }, unsafe { libc::getgid() })
    };
    match (src, dest) {
        (Side::Container { name, path }, dest) => {
            let rec = container(paths, &name)?;
            let tree = ContainerTree::open(paths, &rec)?;
            let source = Source {
                root: &tree.root,
                path: path.clone(),
                follow: args.follow_link,
            };
            let missing = || CopyError::NotInContainer {
                path: path.clone(),
                container: name.clone(),
            };
            match dest {
                Side::Stream => {
                    if io::stdout().is_terminal() {
                        return Err(fail(
                            1,
                            "cannot write a tar stream to a terminal: redirect the output",
                        ));
                    }
                    let out = copy::write_tar(&source, missing, io::stdout().lock())
                        .map_err(|e| fail(1, e))?;
                    drop(out);
                    Ok(())
                }
                Side::Local(d) => {
                    let host = Root::open(Path::new("/"))?;
                    let d = absolute(&d);
                    copy::copy(&source, missing, &host, &d, &d, own_out).map_err(|e| fail(1, e))
                }
                Side::Container { .. } => {
                    Err(fail(1, "copying between containers is not supported"))
                }
            }
        }
        (Side::Local(s), Side::Container { name, path }) => {
            let rec = container(paths, &name)?;
            let tree = ContainerTree::open(paths, &rec)?;
            let host = Root::open(Path::new("/"))?;
            let s = absolute(&s);
            let source = Source {
                root: &host,
                path: s.clone(),
                follow: args.follow_link,
            };
            let missing = || CopyError::NotOnHost(s.trim_end_matches('/').to_string());
            copy::copy(&source, missing, &tree.root, &path, &path, own_in).map_err(|e| fail(1, e))
        }
        (Side::Stream, Side::Container { name, path }) => {
            let rec = container(paths, &name)?;
            let tree = ContainerTree::open(paths, &rec)?;
            copy::extract_tar(io::stdin().lock(), &tree.root, &path, own_in).map_err(|e| fail(1, e))
        }
        _ => Err(fail(1, "must specify at least one container source")),
    }
}

fn container(paths: &Paths, name: &str) -> anyhow::Result<ContainerRecord> {
    ContainerStore::open(&paths.containers())?
        .resolve(name)
        .map_err(|e| fail(1, e))
}

/// A container's file system opened for `cp`; a temporary overlay mount is undone on drop.
struct ContainerTree {
    root: Root,
    mounted: Option<std::path::PathBuf>,
    _scratch: Option<crate::image::ScratchDir>,
    _start_lock: Option<std::fs::File>,
}

impl ContainerTree {
    fn open(paths: &Paths, rec: &ContainerRecord) -> anyhow::Result<ContainerTree> {
        if rec.is_running() && rec.process_alive() {
            let root = Root::open(Path::new(&format!("/proc/{}/root", rec.state.pid)))?;
            return Ok(ContainerTree {
                root,
                mounted: None,
                _scratch: None,
                _start_lock: None,
            });
        }
        let lock = crate::lock::lock_exclusive(&paths.container_start_lock(&rec.id))?;
        let images = ImageStore::open(&paths.images())?;
        let lowers = images.layer_dirs(&images.resolve(&rec.config.image_id)?)?;
        let scratch = images.scratch_dir("cp")?;
        let target = scratch.path().join("root");
        super::archive::private_mount_namespace();
        storage::mount_overlay(
            &lowers,
            &paths.container_upper(&rec.id),
            &paths.container_work(&rec.id),
            &target,
            paths.rootless,
        )?;
        let tree = ContainerTree {
            root: Root::open(&target)?,
            mounted: Some(target.clone()),
            _scratch: Some(scratch),
            _start_lock: Some(lock),
        };
        bind_data_mounts(paths, rec, &tree.root)?;
        Ok(tree)
    }
}

/// The container's binds and volumes bound into its stopped tree at their targets (made
/// inside the tree), so `cp` reads and writes them as in docker rather than the paths
/// they hide. They go with the tree's (lazy, recursive) unmount.
fn bind_data_mounts(paths: &Paths, rec: &ContainerRecord, root: &Root) -> anyhow::Result<()> {
    use crate::config::MountSource;
    use nix::mount::{mount, MsFlags};
    for m in &rec.config.host.mounts {
        let source = match &m.source {
            MountSource::Bind { source, .. } => source.clone(),
            MountSource::Volume { name, .. } => paths.root.join("volumes").join(name).join("_data"),
            MountSource::Tmpfs { .. } => continue,
        };
        let Ok(meta) = std::fs::metadata(&source) else {
            continue;
        };
        let rel = if meta.is_dir() {
            root.mkdir_all(&m.target, 0o755, |_, _, _| Ok(()))?
        } else {
            let (parent, name) = m.target.rsplit_once('/').unwrap_or(("", &m.target));
            let parent = root.mkdir_all(parent, 0o755, |_, _, _| Ok(()))?;
            let rel = format!("{parent}/{name}");
            if !root.exists(&rel) {
                root.create_file(&rel, 0o644)?;
            }
            rel
        };
        let dest = root.host_path(&rel)?;
        let bind = MsFlags::MS_BIND | MsFlags::MS_REC;
        mount(Some(&source), &dest, None::<&str>, bind, None::<&str>)
            .map_err(|e| anyhow::anyhow!("cannot bind {} for cp: {e}", source.display()))?;
        if m.readonly {
            let ro = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
            mount(None::<&str>, &dest, None::<&str>, ro, None::<&str>)
                .map_err(|e| anyhow::anyhow!("cannot make {} read-only: {e}", dest.display()))?;
        }
    }
    Ok(())
}

impl Drop for ContainerTree {
    fn drop(&mut self) {
        if let Some(t) = &self.mounted {
            let _ = storage::unmount(t);
        }
    }
}
