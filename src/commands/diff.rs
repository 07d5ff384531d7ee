//! `diff` and `commit`: a container's changes to its image, read from its overlay upper
//! dir (`container::changes`), listed as docker lists them or packed as one new layer
//! on top of the image's (with the container's settings and `--change` lines applied).

use super::Exit;
use crate::cli::{CommitArgs, DiffArgs};
use crate::container::changes::{changes, made_by_kiste};
use crate::image::config::{History, ImageConfig};
use crate::image::layer::{pack::write_layer_tar, OverlayXattrs};
use crate::image::{archive, now_rfc3339, ImageStore, Reference};
use crate::paths::Paths;
use crate::state::{ContainerRecord, ContainerStore};
use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufReader, BufWriter, Write};

fn container(paths: &Paths, name: &str) -> anyhow::Result<ContainerRecord> {
    ContainerStore::open(&paths.containers())?
        .resolve(name)
        .map_err(|e| {
            Exit {
                code: 1,
                message: e.to_string(),
            }
            .into()
        })
}

/// The container's changes and the paths left out of them (kiste's own mount points).
fn container_changes(
    paths: &Paths,
    images: &ImageStore,
    rec: &ContainerRecord,
) -> anyhow::Result<(Vec<crate::container::changes::Change>, BTreeSet<String>)> {
    let lowers = images.layer_dirs(&images.resolve(&rec.config.image_id)?)?;
    let upper = paths.container_upper(&rec.id);
    if !upper.is_dir() {
        return Ok((Vec::new(), BTreeSet::new()));
    }
    let targets: Vec<String> = rec
        .config
        .host
        .mounts
        .iter()
        .map(|m| m.target.clone())
        .collect();
    Ok(changes(&upper, &lowers, &made_by_kiste(&targets))?)
}

pub fn diff(paths: &Paths, args: DiffArgs) -> anyhow::Result<()> {
    let rec = container(paths, &args.container)?;
    let images = ImageStore::open(&paths.images())?;
    let (list, _) = container_changes(paths, &images, &rec)?;
    let mut out = std::io::stdout().lock();
    for c in list {
        writeln!(out, "{} {}", c.kind.letter(), c.path)?;
    }
    Ok(())
}

pub fn commit(paths: &Paths, args: CommitArgs) -> anyhow::Result<()> {
    let rec = container(paths, &args.container)?;
    let tags = args
        .reference
        .as_deref()
        .map(Reference::parse)
        .transpose()
        .map_err(|e| Exit {
            code: 1,
            message: e.to_string(),
        })?
        .into_iter()
        .collect::<Vec<_>>();
    let images = ImageStore::open(&paths.images())?;
    let image = images.resolve(&rec.config.image_id)?;
    let mut config = image.config.config.clone();
    config.env = rec.config.env.clone();
    config.cmd = Some(rec.config.cmd.clone());
    config.entrypoint = (!rec.config.entrypoint.is_empty()).then(|| rec.config.entrypoint.clone());
    config.working_dir = rec.config.working_dir.clone();
    config.user = rec.config.user.clone();
    config.labels = rec.config.labels.clone();
    archive::apply_changes(&mut config, &args.changes).map_err(|e| Exit {
        code: 1,
        message: e.to_string(),
    })?;

    // docker's default: the container's processes are frozen while its layer is read.
    let containers = crate::container::Containers::open(paths)?;
    let handle = containers.get(&rec.id)?;
    let frozen = args.pause.then(|| handle.freeze_for_commit());
    let _frozen = match frozen {
        None => None,
        Some(Ok(guard)) => guard,
        // Rootless without a cgroup of its own: nothing can freeze it; said, not hidden.
        Some(Err(e)) if paths.rootless => {
            eprintln!(
                "WARNING: container {} is not paused during commit: {e}",
                rec.id
            );
            None
        }
        Some(Err(e)) => {
            return Err(Exit {
                code: 1,
                message: format!("{e} (commit --pause=false reads the layer without pausing)"),
            }
            .into())
        }
    };
    let (_, dropped) = container_changes(paths, &images, &rec)?;
    let scratch = images.scratch_dir("commit")?;
    let upper = paths.container_upper(&rec.id);
    let full = scratch.path().join("upper.tar");
    let layer_tar = scratch.path().join("layer.tar");
    if upper.is_dir() {
        let out = BufWriter::new(File::create_new(&full)?);
        write_layer_tar(&upper, out, None, OverlayXattrs::for_current_user())?
            .into_inner()
            .map_err(|e| e.into_error())?
            .sync_all()?;
    } else {
        tar::Builder::new(File::create_new(&full)?).into_inner()?;
    }
    // The mount points kiste made are not part of the image, as in docker.
    let mut reader = tar::Archive::new(BufReader::new(File::open(&full)?));
    let mut b = tar::Builder::new(BufWriter::new(File::create_new(&layer_tar)?));
    for entry in reader.entries()? {
        let entry = entry?;
        let path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let abs = format!("/{}", path.trim_end_matches('/'));
        if dropped.contains(&abs) {
            continue;
        }
        let mut h = entry.header().clone();
        // Long names and link targets are written again through the builder's own
        // extensions, not copied from the (possibly truncated) header.
        match entry.link_name_bytes().map(|l| l.into_owned()) {
            Some(link) => b.append_link(&mut h, &path, String::from_utf8_lossy(&link).as_ref())?,
            None => b.append_data(&mut h, &path, entry)?,
        }
    }
    b.into_inner()?
        .into_inner()
        .map_err(|e| e.into_error())?
        .sync_all()?;
    let layer = images.import_layer_tar(&layer_tar)?;

    let created = now_rfc3339();
    let mut layers = images.layers_of(&image)?;
    layers.push(layer.clone());
    let mut rootfs = image.config.rootfs.clone();
    rootfs.diff_ids.push(layer.diff_id.clone());
    let mut history = image.config.history.clone();
    history.push(History {
        created: Some(created.clone()),
        created_by: Some(rec.args().join(" ")),
        comment: args.message.clone().filter(|m| !m.is_empty()),
        empty_layer: false,
    });
    let image_config = ImageConfig {
        created: Some(created),
        author: args.author.clone().filter(|a| !a.is_empty()),
        architecture: image.config.architecture.clone(),
        os: image.config.os.clone(),
        config,
        rootfs,
        history,
    };
    let img = images.commit_image(&image_config, &layers, &tags)?;
    crate::events::committed(paths, &rec, &img.id, &tags, args.message.as_deref());
    println!("{}", img.id);
    Ok(())
}
