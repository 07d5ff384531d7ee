//! `container prune`, `image prune` and `system prune`: docker's prompt (skipped by `-f`),
//! docker's "Deleted …:" blocks and "Total reclaimed space: …". `system prune` runs the
//! steps of `SYSTEM_STEPS` in docker's order (containers, networks, volumes, images, build
//! cache); a new kind of object joins by adding its one `Step` line there.

use super::filter::Filters;
use super::format::human_size;
use super::Exit;
use crate::cli::{ContainerPruneArgs, PruneArgs, SystemPruneArgs};
use crate::container::{ContainerError, Containers};
use crate::image::{ImageStore, Reference};
use crate::paths::Paths;
use crate::state::{ContainerRecord, StateError};
use std::io::{BufRead, Write};

/// What one step removed: docker's heading ("Containers"), the lines under it, the bytes.
#[derive(Debug, Default)]
pub struct Pruned {
    pub heading: &'static str,
    pub deleted: Vec<String>,
    pub reclaimed: u64,
}

/// The settings every step sees (`system prune`'s flags; the single-kind verbs fill in
/// what they have).
#[derive(Debug, Default)]
pub struct PruneOptions {
    /// `-a`: every image no container uses, not only dangling ones.
    pub all_images: bool,
    /// `--volumes`: the volume step runs (anonymous volumes no container uses).
    pub volumes: bool,
    /// `--filter` (until, label, label!=), checked once.
    pub filters: Filters,
}

/// One kind of object `system prune` removes: the line it adds to the warning (None: the
/// step is off for these options) and the function that prunes it.
pub struct Step {
    pub warning: fn(&PruneOptions) -> Option<&'static str>,
    pub run: fn(&Paths, &PruneOptions) -> anyhow::Result<Pruned>,
}

/// docker's order: containers, networks, volumes, images, build cache.
pub const SYSTEM_STEPS: &[Step] = &[
    Step {
        warning: |_| Some("all stopped containers"),
        run: prune_containers,
    },
    Step {
        warning: |_| Some("all networks not used by at least one container"),
        run: prune_networks,
    },
    Step {
        warning: |o| {
            o.volumes
                .then_some("all anonymous volumes not used by at least one container")
        },
        run: prune_volumes,
    },
    Step {
        warning: |o| {
            Some(if o.all_images {
                "all images without at least one container associated to them"
            } else {
                "all dangling images"
            })
        },
        run: prune_images,
    },
    // The cache keeps no labels or per-entry times the filters could judge: with a
    // filter it stays whole rather than go whole.
    Step {
        warning: |o| o.filters.is_empty().then_some("unused build cache"),
        run: prune_build_cache,
    },
];

const FILTER_KEYS: &[&str] = &["until", "label", "label!"];

/// docker's `--filter` for prune: `until` (a time or a duration back from now), `label`
/// and `label!` (`label!=KEY` arrives as key "label!").
pub(super) fn parse_filters(flags: &[String]) -> anyhow::Result<Filters> {
    let f = Filters::parse(flags, FILTER_KEYS).map_err(|e| Exit {
        code: 125,
        message: e.to_string(),
    })?;
    let now = crate::time::now_unix();
    for v in f.values("until") {
        if crate::time::parse_since(v, now).is_none() {
            return Err(Exit {
                code: 125,
                message: format!("invalid filter 'until={v}': not a time or a duration"),
            }
            .into());
        }
    }
    Ok(f)
}

/// Whether a container (its creation time and labels) passes the prune filters.
fn passes(f: &Filters, created: &str, labels: &std::collections::BTreeMap<String, String>) -> bool {
    let now = crate::time::now_unix();
    let created = super::format::parse_rfc3339(created).unwrap_or(0.0);
    let until_ok = f
        .values("until")
        .iter()
        .all(|v| crate::time::parse_since(v, now).is_some_and(|t| created < t));
    let not_labels = f
        .values("label!")
        .iter()
        .all(|want| match want.split_once('=') {
            Some((k, v)) => labels.get(k).is_none_or(|have| have != v),
            None => !labels.contains_key(want.as_str()),
        });
    until_ok && not_labels && f.labels_match(labels)
}

/// docker's confirmation: the warning on stdout, then one line from stdin; only "y"
/// goes on. With `-f` nothing is asked.
fn confirm(force: bool, warning: &str) -> anyhow::Result<bool> {
    if force {
        return Ok(true);
    }
    let mut out = std::io::stdout().lock();
    write!(out, "{warning}\nAre you sure you want to continue? [y/N] ")?;
    out.flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    // As docker: a refusal prints nothing more (not even the end of the prompt's line).
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes"))
}

/// What a container occupies in the store (its upper dir, log, record).
pub fn container_size(paths: &Paths, rec: &ContainerRecord) -> u64 {
    crate::fs::Root::open(&paths.container_dir(&rec.id))
        .and_then(|r| r.dir("."))
        .map_or(0, |d| d.tree_size())
}

/// Every stopped container that passes the filters.
pub fn prune_containers(paths: &Paths, o: &PruneOptions) -> anyhow::Result<Pruned> {
    let containers = Containers::open(paths)?;
    let mut pruned = Pruned {
        heading: "Containers",
        ..Pruned::default()
    };
    for rec in containers.all()? {
        // A live monitor means running, or a `run` starting it right now: both stay.
        if rec.is_running()
            || rec.monitor_alive()
            || !passes(&o.filters, &rec.created, &rec.config.labels)
        {
            continue;
        }
        let size = container_size(paths, &rec);
        match containers.get(&rec.id) {
            Ok(c) => c.remove(false)?,
            // Removed by someone else meanwhile: nothing to prune.
            Err(ContainerError::State(StateError::NotFound(_))) => continue,
            Err(e) => return Err(e.into()),
        }
        crate::log_debug!("pruned container {} ({} bytes)", rec.id, size);
        pruned.reclaimed += size;
        pruned.deleted.push(rec.id);
    }
    Ok(pruned)
}

/// User-defined networks no container (running or not) names, that pass the filters.
pub fn prune_networks(paths: &Paths, o: &PruneOptions) -> anyhow::Result<Pruned> {
    Ok(Pruned {
        heading: "Networks",
        deleted: super::network::prune_unused(paths, |d| {
            passes(&o.filters, &d.created, &d.labels)
        })?,
        reclaimed: 0,
    })
}

/// Anonymous volumes no container names, that pass the filters; their bytes.
pub fn prune_volumes(paths: &Paths, o: &PruneOptions) -> anyhow::Result<Pruned> {
    let store = crate::volume::VolumeStore::open(paths)?;
    let lock = store.lock()?;
    let (deleted, reclaimed) = store.prune(&lock, false, |v| {
        !passes(&o.filters, &v.created_at, &v.labels)
    })?;
    Ok(Pruned {
        heading: "Volumes",
        deleted,
        reclaimed,
    })
}

/// Dangling images (or, with `all_images`, every image no container uses), then the
/// blobs and layers nothing references any more.
pub fn prune_images(paths: &Paths, o: &PruneOptions) -> anyhow::Result<Pruned> {
    let store = ImageStore::open(&paths.images())?;
    let used: Vec<String> = Containers::open(paths)?
        .all()?
        .into_iter()
        .map(|c| c.config.image_id)
        .collect();
    let mut pruned = Pruned {
        heading: "Images",
        ..Pruned::default()
    };
    for img in store.list()? {
        if used.contains(&img.id) || (!o.all_images && !img.tags.is_empty()) {
            continue;
        }
        if !passes(
            &o.filters,
            img.created.as_deref().unwrap_or(""),
            &img.config.config.labels,
        ) {
            continue;
        }
        for t in &img.tags {
            store.untag(&Reference::parse(t)?)?;
            crate::events::image(paths, "untag", &img.id, &img.id);
            pruned.deleted.push(format!("untagged: {t}"));
        }
        store.remove(&img.id)?;
        crate::events::image(paths, "delete", &img.id, &img.id);
        crate::log_debug!("pruned image {}", img.id);
        pruned.deleted.push(format!("deleted: {}", img.id));
    }
    // Blobs and layers left by removed images or intermediate build stages, minus what the
    // build cache still uses; a minute's grace spares a build committing right now.
    pruned.reclaimed = store.collect_garbage(
        &crate::build::cached_layers(paths),
        std::time::Duration::from_secs(60),
    )?;
    Ok(pruned)
}

/// The build cache: every cached step and RUN --mount=type=cache dir.
pub fn prune_build_cache(paths: &Paths, _: &PruneOptions) -> anyhow::Result<Pruned> {
    let before = build_cache_size(paths);
    crate::build::clear_cache(paths)?;
    let store = ImageStore::open(&paths.images())?;
    // The layers only the cache kept are garbage now.
    let layers = store.collect_garbage(&[], std::time::Duration::from_secs(60))?;
    Ok(Pruned {
        heading: "build cache objects",
        deleted: Vec::new(),
        reclaimed: before + layers,
    })
}

/// Bytes under the build cache's directories.
pub fn build_cache_size(paths: &Paths) -> u64 {
    [paths.build_cache(), paths.build_cache_mounts()]
        .iter()
        .filter_map(|p| crate::fs::Root::open(p).and_then(|r| r.dir(".")).ok())
        .map(|d| d.tree_size())
        .sum()
}

/// docker's report: a "Deleted X:" block per step that removed something, then the total.
fn report(results: &[Pruned]) {
    let mut total = 0;
    for r in results {
        total += r.reclaimed;
        if r.deleted.is_empty() {
            continue;
        }
        println!("Deleted {}:", r.heading);
        for line in &r.deleted {
            println!("{line}");
        }
        println!();
    }
    println!("Total reclaimed space: {}", human_size(total));
}

pub fn container_prune(paths: &Paths, args: ContainerPruneArgs) -> anyhow::Result<()> {
    let o = PruneOptions {
        filters: parse_filters(&args.filters)?,
        ..PruneOptions::default()
    };
    if !confirm(
        args.force,
        "WARNING! This will remove all stopped containers.",
    )? {
        return Ok(());
    }
    report(&[prune_containers(paths, &o)?]);
    Ok(())
}

pub fn image_prune(paths: &Paths, args: PruneArgs) -> anyhow::Result<()> {
    let o = PruneOptions {
        all_images: args.all,
        filters: parse_filters(&args.filters)?,
        ..PruneOptions::default()
    };
    let warning = if args.all {
        "WARNING! This will remove all images without at least one container associated to them."
    } else {
        "WARNING! This will remove all dangling images."
    };
    if !confirm(args.force, warning)? {
        return Ok(());
    }
    if args.build_cache {
        crate::build::clear_cache(paths)?;
    }
    report(&[prune_images(paths, &o)?]);
    Ok(())
}

pub fn system_prune(paths: &Paths, args: SystemPruneArgs) -> anyhow::Result<()> {
    let o = PruneOptions {
        all_images: args.all,
        volumes: args.volumes,
        filters: parse_filters(&args.filters)?,
    };
    let steps: Vec<&Step> = SYSTEM_STEPS
        .iter()
        .filter(|s| (s.warning)(&o).is_some())
        .collect();
    let mut warning = String::from("WARNING! This will remove:");
    for s in &steps {
        warning.push_str(&format!("\n  - {}", (s.warning)(&o).unwrap_or_default()));
    }
    warning.push('\n');
    if !confirm(args.force, &warning)? {
        return Ok(());
    }
    let results = steps
        .iter()
        .map(|s| (s.run)(paths, &o))
        .collect::<anyhow::Result<Vec<_>>>()?;
    report(&results);
    Ok(())
}

/// `builder prune`: the whole build cache (kiste's has no dangling part to keep).
pub fn builder_prune(paths: &Paths, args: crate::cli::BuilderPruneArgs) -> anyhow::Result<()> {
    let warning = if args.all {
        "WARNING! This will remove all build cache."
    } else {
        "WARNING! This will remove all dangling build cache."
    };
    if !confirm(args.force, warning)? {
        return Ok(());
    }
    if args.filters.is_empty() && args.keep_storage.is_none() {
        report(&[prune_build_cache(paths, &PruneOptions::default())?]);
        return Ok(());
    }
    // Chosen by the records' metadata (see build::cache_prune); the layers only the
    // removed records kept go with the image store's garbage.
    let (deleted, freed) = crate::build::prune_cache_by(paths, &args.filters, args.keep_storage)?;
    let store = ImageStore::open(&paths.images())?;
    let layers = store.collect_garbage(
        &crate::build::cached_layers(paths),
        std::time::Duration::from_secs(60),
    )?;
    report(&[Pruned {
        heading: "build cache objects",
        deleted,
        reclaimed: freed + layers,
    }]);
    Ok(())
}
