//! Archive verbs: `save`, `load`, `export` and `import`. Output files are written to
//! a temp file beside the destination and renamed, so a failed save leaves nothing;
//! a tar is never written to a terminal. `export` reads a container's merged root
//! through its overlay mount, or mounts one read-only in a private mount namespace
//! (so that it cannot outlive this process) and unmounts it on every path.

use super::Exit;
use crate::cli::{ArchiveFormat, ExportArgs, ImportArgs, LoadArgs, SaveArgs};
use crate::image::archive::{self, Format, SaveItem};
use crate::image::config::{History, ImageConfig, RootFs};
use crate::image::{now_rfc3339, oci_architecture, ImageStore, Reference};
use crate::paths::Paths;
use crate::state::ContainerStore;
use crate::storage;
use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

pub fn save(paths: &Paths, args: SaveArgs) -> anyhow::Result<()> {
    let store = ImageStore::open(&paths.images())?;
    let mut items: Vec<SaveItem> = Vec::new();
    for name in &args.images {
        let image = store.resolve(name).map_err(|e| Exit {
            code: 125,
            message: e.to_string(),
        })?;
        // A name saves that tag; an id saves the image without names, as in docker.
        let tag = Reference::parse(name)
            .ok()
            .and_then(|r| r.tagged_name())
            .filter(|t| image.tags.contains(t));
        match items.iter_mut().find(|i| i.image.id == image.id) {
            Some(item) => item.tags.extend(tag.filter(|t| !item.tags.contains(t))),
            None => items.push(SaveItem {
                image,
                tags: tag.into_iter().collect(),
            }),
        }
    }
    let format = match args.format {
        ArchiveFormat::DockerArchive => Format::DockerArchive,
        ArchiveFormat::OciArchive => Format::OciArchive,
    };
    write_output(args.output.as_deref(), |out, target| {
        archive::save(&store, &items, format, out, target).map(drop)
    })?;
    items
        .iter()
        .for_each(|i| crate::events::image(paths, "save", &i.image.id, &i.image.id));
    Ok(())
}

pub fn load(paths: &Paths, args: LoadArgs) -> anyhow::Result<()> {
    paths.ensure()?;
    let store = ImageStore::open(&paths.images())?;
    let (reader, label): (Box<dyn Read>, String) = match &args.input {
        Some(path) => (
            Box::new(File::open(path).map_err(|e| Exit {
                code: 125,
                message: format!("cannot open archive {}: {e}", path.display()),
            })?),
            path.display().to_string(),
        ),
        None => {
            if io::stdin().is_terminal() {
                return Err(Exit {
                    code: 125,
                    message: "requested load from stdin, but stdin is empty".to_string(),
                }
                .into());
            }
            (Box::new(io::stdin().lock()), "stdin".to_string())
        }
    };
    let loaded = archive::load(&store, BufReader::with_capacity(256 * 1024, reader), &label)?;
    // `-q` only hides progress, which kiste does not print: the result lines stay.
    let _ = args.quiet;
    for image in loaded {
        crate::events::image(paths, "load", &image.id, &image.id);
        for (tag, old) in &image.moved {
            println!(
                "The image {tag} already exists, renaming the old one with ID {old} to empty string"
            );
        }
        if image.tags.is_empty() {
            println!("Loaded image ID: {}", image.id);
        }
        for tag in image.tags {
            println!("Loaded image: {tag}");
        }
    }
    Ok(())
}

pub fn export(paths: &Paths, args: ExportArgs) -> anyhow::Result<()> {
    let containers = ContainerStore::open(&paths.containers())?;
    let rec = containers.resolve(&args.container).map_err(|e| Exit {
        code: 125,
        message: e.to_string(),
    })?;
    refuse_terminal(args.output.as_deref())?;
    let mounted = paths.container_run_dir(&rec.id).join("rootfs");
    if storage::is_mounted(&mounted) {
        return write_output(args.output.as_deref(), |out, target| {
            archive::write_tree(&mounted, out, target).map(drop)
        });
    }
    let images = ImageStore::open(&paths.images())?;
    let image = images.resolve(&rec.config.image_id)?;
    let mut lowers = images.layer_dirs(&image)?;
    // An `--rm` container that runs has its mount points in the chain's init layer;
    // under the upper dir of any other the same entries are hidden by its own.
    if let Some(init) = storage::init_layer::existing(&paths.images(), &lowers) {
        lowers.push(init);
    }
    let upper = paths.container_dir(&rec.id).join("upper");
    if upper.is_dir() {
        lowers.push(upper);
    }
    let scratch = images.scratch_dir("export")?;
    let root = scratch.path().join("root");
    private_mount_namespace();
    storage::mount_overlay(
        &lowers,
        &scratch.path().join("upper"),
        &scratch.path().join("work"),
        &root,
        paths.rootless,
    )?;
    let guard = Unmount(&root);
    remount_read_only(&root)?;
    let result = write_output(args.output.as_deref(), |out, target| {
        archive::write_tree(&root, out, target).map(drop)
    });
    drop(guard);
    result
}

/// Unmounts its path when dropped, whichever way `export` ends.
struct Unmount<'a>(&'a Path);

impl Drop for Unmount<'_> {
    fn drop(&mut self) {
        let _ = storage::unmount(self.0);
    }
}

/// Moves this (single-threaded) process into its own mount namespace with private
/// propagation, so a temporary mount dies with it even on SIGKILL. Rootless kiste may
/// not be allowed to: it then relies on the unmount guard alone.
pub(super) fn private_mount_namespace() {
    // SAFETY: plain syscalls; kiste has no other threads here.
    unsafe {
        if libc::unshare(libc::CLONE_NEWNS) == 0 {
            libc::mount(
                std::ptr::null(),
                c"/".as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            );
        }
    }
}

fn remount_read_only(target: &Path) -> anyhow::Result<()> {
    let c = std::ffi::CString::new(target.as_os_str().as_encoded_bytes())?;
    // SAFETY: a valid C string; null source/fstype/data are allowed for a remount.
    let rc = unsafe {
        libc::mount(
            std::ptr::null(),
            c.as_ptr(),
            std::ptr::null(),
            libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY,
            std::ptr::null(),
        )
    };
    if rc != 0 {
        anyhow::bail!(
            "cannot make {} read-only: {}",
            target.display(),
            io::Error::last_os_error()
        );
    }
    Ok(())
}

pub fn import(paths: &Paths, args: ImportArgs) -> anyhow::Result<()> {
    paths.ensure()?;
    let store = ImageStore::open(&paths.images())?;
    let tags = args
        .reference
        .as_deref()
        .map(Reference::parse)
        .transpose()?
        .into_iter()
        .collect::<Vec<_>>();
    let mut config = crate::image::config::RunConfig::default();
    archive::apply_changes(&mut config, &args.changes)?;
    let from_stdin = args.file.as_os_str() == "-";
    let scratch;
    let tarball: PathBuf = if from_stdin {
        scratch = store.scratch_dir("import")?;
        let path = scratch.path().join("rootfs.tar");
        let mut out = File::create_new(&path)?;
        io::copy(&mut io::stdin().lock(), &mut out)
            .map_err(|e| anyhow::anyhow!("cannot read the tarball from stdin: {e}"))?;
        path
    } else if args.file.is_file() {
        args.file.clone()
    } else {
        return Err(Exit {
            code: 125,
            message: format!("cannot import {}: no such file", args.file.display()),
        }
        .into());
    };
    let layer = store.import_layer_tar(&tarball)?;
    let created = now_rfc3339();
    let comment = args
        .message
        .unwrap_or_else(|| format!("Imported from {}", args.file.display()));
    let image_config = ImageConfig {
        created: Some(created.clone()),
        author: None,
        architecture: args.platform.as_ref().map_or_else(
            || oci_architecture().to_string(),
            |p| p.architecture.clone(),
        ),
        os: "linux".to_string(),
        config,
        rootfs: RootFs {
            kind: "layers".to_string(),
            diff_ids: vec![layer.diff_id.clone()],
        },
        history: vec![History {
            created: Some(created),
            created_by: None,
            comment: Some(comment),
            empty_layer: false,
        }],
    };
    let img = store.commit_image(&image_config, &[layer], &tags)?;
    crate::events::tagged(paths, &img.id, &tags);
    crate::events::image(paths, "import", &img.id, &img.id);
    println!("{}", img.id);
    Ok(())
}

/// docker's refusal to write a tar to a terminal (when there is no `-o`).
fn refuse_terminal(path: Option<&Path>) -> Result<(), Exit> {
    if path.is_none() && io::stdout().is_terminal() {
        return Err(Exit {
            code: 125,
            message: "cowardly refusing to save to a terminal. Use the -o flag or redirect"
                .to_string(),
        });
    }
    Ok(())
}

/// Runs `write` on the destination: `path` through a temp file renamed into place on
/// success (removed otherwise), or stdout when it is not a terminal.
fn write_output(
    path: Option<&Path>,
    write: impl FnOnce(&mut dyn Write, &str) -> Result<(), archive::ArchiveError>,
) -> anyhow::Result<()> {
    refuse_terminal(path)?;
    let Some(path) = path else {
        let stdout = io::stdout();
        let mut out = BufWriter::with_capacity(256 * 1024, stdout.lock());
        write(&mut out, "stdout")?;
        out.flush()
            .map_err(|e| anyhow::anyhow!("cannot write archive stdout: {e}"))?;
        return Ok(());
    };
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = path.with_file_name(format!(".{name}.kiste-{}", std::process::id()));
    let target = path.display().to_string();
    let result = (|| -> anyhow::Result<()> {
        let file = File::create(&tmp)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", path.display()))?;
        let mut out = BufWriter::with_capacity(256 * 1024, file);
        write(&mut out, &target)?;
        let file = out
            .into_inner()
            .map_err(|e| anyhow::anyhow!("cannot write archive {target}: {}", e.error()))?;
        file.sync_all()
            .map_err(|e| anyhow::anyhow!("cannot write archive {target}: {e}"))?;
        fs::rename(&tmp, path)
            .map_err(|e| anyhow::anyhow!("cannot write archive {target}: {e}"))?;
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}
