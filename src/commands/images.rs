//! Image verbs: `images`, `import`, `rmi`, `tag`, `history`, and the `image` group
//! (`ls`, `inspect`, `history`, `prune`, `rm`, `tag`, `import`).

use super::failures::Failures;
use super::filter::{glob_match, Filters};
use super::format::{cells, human_duration, human_size, parse_rfc3339, since, table};
use super::ps::go_time;
use super::template::{go_html_escape, Formatter, OutputFormat};
use super::Exit;
use crate::cli::{
    HistoryArgs, ImageCommand, ImageInspectArgs, ImagesArgs, ImportArgs, RmiArgs, TagArgs,
    UntagArgs,
};
use crate::image::{Image, ImageStore, Reference};
use crate::paths::Paths;
use crate::state::ContainerStore;
use serde_json::json;

fn short(id: &str) -> &str {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    &hex[..12.min(hex.len())]
}

/// "name:tag" split at the tag's colon (not a registry port's).
fn split_tag(tag: &str) -> (&str, &str) {
    match tag.rfind(':') {
        Some(i) if !tag[i..].contains('/') => (&tag[..i], &tag[i + 1..]),
        _ => (tag, "latest"),
    }
}

/// The filter keys of `images`.
pub const FILTER_KEYS: &[&str] = &["dangling", "reference", "label", "before", "since"];

/// The column titles of `images --format 'table …'`, by field.
pub const HEADERS: &[(&str, &str)] = &[
    ("ID", "IMAGE ID"),
    ("Repository", "REPOSITORY"),
    ("Tag", "TAG"),
    ("Digest", "DIGEST"),
    ("CreatedSince", "CREATED"),
    ("CreatedAt", "CREATED AT"),
    ("Size", "SIZE"),
    ("Containers", "CONTAINERS"),
    ("SharedSize", "SHARED SIZE"),
    ("UniqueSize", "UNIQUE SIZE"),
    ("VirtualSize", "VIRTUAL SIZE"),
];

/// Whether `img` passes docker's image filters (`before`/`since` resolved to times).
fn image_matches(img: &Image, f: &Filters, before: &[f64], since_t: &[f64]) -> bool {
    let t = img
        .created
        .as_deref()
        .and_then(parse_rfc3339)
        .unwrap_or(0.0);
    f.any("dangling", |v| {
        (v == "true" || v == "1") == img.tags.is_empty()
    }) && f.labels_match(&img.config.config.labels)
        && before.iter().all(|b| t < *b)
        && since_t.iter().all(|s| t > *s)
}

pub fn images(paths: &Paths, args: ImagesArgs) -> anyhow::Result<()> {
    let store = ImageStore::open(&paths.images())?;
    let filters = Filters::parse(&args.filters, FILTER_KEYS)?;
    filters.check_values("dangling", &["true", "false", "1", "0"])?;
    let format = OutputFormat::parse(args.format.as_deref());
    // `images REPO` lists every tag of REPO, as docker's; `images REPO:TAG` that one.
    let reference = args
        .reference
        .as_deref()
        .map(|r| {
            let tagged = r.rsplit('/').next().is_some_and(|last| last.contains(':'));
            Reference::parse(r).map(|p| Reference {
                tag: p.tag.filter(|_| tagged),
                ..p
            })
        })
        .transpose()?;
    let created_of = |what: &String| -> anyhow::Result<f64> {
        let img = store.resolve(what)?;
        Ok(img
            .created
            .as_deref()
            .and_then(parse_rfc3339)
            .unwrap_or(0.0))
    };
    let before: Vec<f64> = filters
        .values("before")
        .iter()
        .map(created_of)
        .collect::<Result<_, _>>()?;
    let since_t: Vec<f64> = filters
        .values("since")
        .iter()
        .map(created_of)
        .collect::<Result<_, _>>()?;
    let mut rows = Vec::new();
    let mut ids = Vec::new();
    let all = store.list()?;
    for img in &all {
        // docker hides intermediate images (untagged ones that others were built on)
        // unless asked for all.
        if !args.all && img.tags.is_empty() && all.iter().any(|other| built_on(other, img)) {
            continue;
        }
        if !image_matches(img, &filters, &before, &since_t) {
            continue;
        }
        let id = if args.no_trunc {
            img.id.clone()
        } else {
            short(&img.id).to_string()
        };
        let tags: Vec<(String, String)> = if img.tags.is_empty() {
            vec![("<none>".into(), "<none>".into())]
        } else {
            img.tags
                .iter()
                .map(|t| {
                    let (r, tg) = split_tag(t);
                    (r.to_string(), tg.to_string())
                })
                .collect()
        };
        for (repo, tag) in tags {
            if let Some(f) = &reference {
                if repo != f.name || f.tag.as_deref().is_some_and(|t| t != tag) {
                    continue;
                }
            }
            // docker's `reference` filter keeps the tags it matches (repo or repo:tag).
            let full = format!("{repo}:{tag}");
            if !filters.any("reference", |pat| {
                !img.tags.is_empty() && (glob_match(pat, &repo) || glob_match(pat, &full))
            }) {
                continue;
            }
            if !ids.contains(&id) {
                ids.push(id.clone());
            }
            let created = img
                .created
                .as_deref()
                .map(|c| format!("{} ago", human_duration(since(c))))
                .unwrap_or_else(|| "N/A".into());
            // docker's DIGEST: the digest this repository was pulled or pushed as.
            let digest = img
                .repo_digests
                .iter()
                .find_map(|rd| rd.strip_prefix(&format!("{repo}@")))
                .unwrap_or("<none>")
                .to_string();
            rows.push(json!({
                "ID": id,
                "Repository": repo,
                "Tag": tag,
                "Digest": digest,
                "CreatedSince": created,
                "CreatedAt": img.created.as_deref().map(go_time).unwrap_or_default(),
                "Size": human_size(img.size),
                "Containers": "N/A",
                "SharedSize": "N/A",
                "UniqueSize": "N/A",
                "VirtualSize": human_size(img.size),
            }));
        }
    }
    if args.quiet {
        for id in ids {
            println!("{id}");
        }
        return Ok(());
    }
    match format {
        OutputFormat::Json => {
            for r in &rows {
                println!("{}", go_html_escape(&serde_json::to_string(r)?));
            }
        }
        OutputFormat::Template { source, table } => {
            let f = Formatter::new(&source, table, true)?;
            print!("{}", f.render_all(HEADERS, &rows)?);
        }
        OutputFormat::Default => {
            let mut cols = vec!["Repository", "Tag"];
            let mut header = vec!["REPOSITORY", "TAG"];
            if args.digests {
                cols.push("Digest");
                header.push("DIGEST");
            }
            cols.extend(["ID", "CreatedSince", "Size"]);
            header.extend(["IMAGE ID", "CREATED", "SIZE"]);
            print!("{}", table(&header, &cells(&rows, &cols)));
        }
    }
    Ok(())
}

/// Whether `child` was built on `parent`: it holds `parent`'s layers first (and perhaps
/// no more, for a step that changed only the config) and is newer. The store keeps no
/// parent links, so this is what makes an untagged image "intermediate".
fn built_on(child: &Image, parent: &Image) -> bool {
    let (c, p) = (
        &child.config.rootfs.diff_ids,
        &parent.config.rootfs.diff_ids,
    );
    child.id != parent.id
        && !p.is_empty()
        && c.starts_with(p)
        && (c.len() > p.len() && child.created >= parent.created || child.created > parent.created)
}

pub fn import(paths: &Paths, args: ImportArgs) -> anyhow::Result<()> {
    super::archive::import(paths, args)
}

pub fn rmi(paths: &Paths, args: RmiArgs) -> anyhow::Result<()> {
    let store = ImageStore::open(&paths.images())?;
    let containers = ContainerStore::open(&paths.containers())?;
    let mut failed = Failures::default();
    for a in &args.images {
        let result =
            (|| -> anyhow::Result<()> {
                let img = store.resolve(a)?;
                let by_tag = Reference::parse(a)
                    .ok()
                    .map(|r| r.to_string())
                    .filter(|t| img.tags.contains(t));
                // A tag of an image with other tags: only that tag goes.
                if let Some(tag) = &by_tag {
                    if img.tags.len() > 1 {
                        store.untag(&Reference::parse(tag)?)?;
                        crate::events::image(paths, "untag", &img.id, &img.id);
                        println!("Untagged: {tag}");
                        return Ok(());
                    }
                }
                let users = containers.using_image(&img.id)?;
                if let Some(c) = users.first() {
                    if !args.force || c.is_running() {
                        anyhow::bail!(
                        "conflict: unable to remove image {a} ({}) - container {} is using it{}",
                        short(&img.id),
                        c.short_id(),
                        if c.is_running() { " and is running" } else { " (use -f to force)" }
                    );
                    }
                }
                for t in &img.tags {
                    store.untag(&Reference::parse(t)?)?;
                    crate::events::image(paths, "untag", &img.id, &img.id);
                    println!("Untagged: {t}");
                }
                if users.is_empty() {
                    store.remove(&img.id)?;
                    crate::events::image(paths, "delete", &img.id, &img.id);
                    println!("Deleted: {}", img.id);
                    if !args.no_prune {
                        prune_parents(&store, &containers, &img)?;
                    }
                }
                Ok(())
            })();
        if let Err(e) = result {
            failed.report(format_args!("Error: {e:#}"));
        }
    }
    failed.finish()
}

/// docker's rmi without `--no-prune`: the removed image's untagged parent goes too (and
/// its parent, and so on) while no other image is built on it and no container uses it.
/// The parent is the untagged image the removed one was built on with the most layers
/// (the newest of those), as `built_on` sees the store.
fn prune_parents(
    store: &ImageStore,
    containers: &ContainerStore,
    removed: &Image,
) -> anyhow::Result<()> {
    let mut child = removed.clone();
    loop {
        let all = store.list()?;
        let parent = all
            .iter()
            .filter(|p| p.tags.is_empty() && built_on(&child, p))
            .max_by(|a, b| {
                let la = a.config.rootfs.diff_ids.len();
                let lb = b.config.rootfs.diff_ids.len();
                la.cmp(&lb).then(
                    a.created
                        .partial_cmp(&b.created)
                        .unwrap_or(std::cmp::Ordering::Equal),
                )
            });
        let Some(parent) = parent else {
            return Ok(());
        };
        let other_children = all.iter().any(|o| o.id != parent.id && built_on(o, parent));
        if other_children || !containers.using_image(&parent.id)?.is_empty() {
            return Ok(());
        }
        store.remove(&parent.id)?;
        println!("Deleted: {}", parent.id);
        child = parent.clone();
    }
}

pub fn tag(paths: &Paths, args: TagArgs) -> anyhow::Result<()> {
    let store = ImageStore::open(&paths.images())?;
    let img = store.resolve(&args.source)?;
    let target = Reference::parse(&args.target)?;
    store.tag(&img.id, &target)?;
    crate::events::image(paths, "tag", &img.id, &target.to_string());
    Ok(())
}

/// podman's `untag`: the names go, the image stays (dangling when none is left).
pub fn untag(paths: &Paths, args: UntagArgs) -> anyhow::Result<()> {
    let store = ImageStore::open(&paths.images())?;
    let img = store.resolve(&args.image)?;
    let names = if args.names.is_empty() {
        img.tags.clone()
    } else {
        args.names.clone()
    };
    for name in &names {
        let reference = Reference::parse(name)?;
        match store.resolve(name) {
            Ok(other) if other.id == img.id => {
                store.untag(&reference)?;
                crate::events::image(paths, "untag", &img.id, &img.id);
            }
            _ => anyhow::bail!("image {}: it has no name {name:?}", args.image),
        }
    }
    Ok(())
}

pub fn image_command(paths: &Paths, cmd: ImageCommand) -> anyhow::Result<()> {
    match cmd {
        ImageCommand::Inspect(a) => inspect(paths, a),
        ImageCommand::Exists(a) => {
            // podman's exit 0 (found) or 1 (not found), printing nothing.
            match ImageStore::open(&paths.images())?.resolve(&a.image) {
                Ok(_) => Ok(()),
                Err(crate::image::ImageError::NotFound(_)) => Err(Exit::silent(1).into()),
                Err(e) => Err(e.into()),
            }
        }
        ImageCommand::Prune(a) => super::prune::image_prune(paths, a),
        // The short verbs' forms are dispatched as the short verbs (commands::run_verb).
        ImageCommand::Verb(v) => super::run_verb(paths, v.into()),
    }
}

fn inspect(paths: &Paths, args: ImageInspectArgs) -> anyhow::Result<()> {
    let store = ImageStore::open(&paths.images())?;
    let mut out = Vec::new();
    let mut failed = Failures::default();
    for name in &args.images {
        match store.resolve(name) {
            Ok(img) => out.push(super::inspect::image_json(&img)),
            Err(_) => failed.report(format_args!("Error: No such image: {name}")),
        }
    }
    super::inspect::print_inspected(out, args.format.as_deref())?;
    failed.finish()
}

/// docker's `history`: newest step first; only the top row has an image id (as with
/// BuildKit, steps are not images of their own); SIZE is the layer's content.
pub fn history(paths: &Paths, args: HistoryArgs) -> anyhow::Result<()> {
    let store = ImageStore::open(&paths.images())?;
    let img = store.resolve(&args.image).map_err(|_| Exit {
        code: 1,
        message: format!("No such image: {}", args.image),
    })?;
    let layers = store.layers_of(&img)?;
    let mut sizes = layers.iter().map(|l| l.uncompressed_size);
    let mut rows: Vec<serde_json::Value> = Vec::new();
    for h in &img.config.history {
        let size = if h.empty_layer {
            0
        } else {
            sizes.next().unwrap_or(0)
        };
        let by = h.created_by.clone().unwrap_or_default();
        let by = if args.no_trunc {
            by
        } else {
            super::format::ellipsis(&by, 45)
        };
        // docker's CreatedAt is RFC 3339 to the second; CreatedSince is relative unless
        // --human=false, and Size is in bytes then.
        let created_at = h
            .created
            .as_deref()
            .and_then(parse_rfc3339)
            .map(|t| crate::image::format_rfc3339(t as i64, 0))
            .unwrap_or_default();
        let created_since = match (&h.created, args.human) {
            (None, _) => "N/A".to_string(),
            (Some(c), true) => format!("{} ago", human_duration(since(c))),
            (Some(_), false) => created_at.clone(),
        };
        rows.push(json!({
            "ID": "<missing>",
            "CreatedSince": created_since,
            "CreatedAt": created_at,
            "CreatedBy": by,
            "Size": if args.human { human_size(size) } else { size.to_string() },
            "Comment": h.comment.clone().unwrap_or_default(),
        }));
    }
    rows.reverse();
    if let Some(top) = rows.first_mut() {
        top["ID"] = if args.no_trunc {
            img.id.clone()
        } else {
            short(&img.id).to_string()
        }
        .into();
    }
    if args.quiet {
        // docker's `{{.ID}}` of every row: the image, then `<missing>` for the layers
        // below it that are no image of their own.
        for r in &rows {
            println!("{}", r["ID"].as_str().unwrap_or_default());
        }
        return Ok(());
    }
    let headers = [
        ("ID", "IMAGE"),
        ("CreatedSince", "CREATED"),
        ("CreatedAt", "CREATED AT"),
        ("CreatedBy", "CREATED BY"),
        ("Size", "SIZE"),
        ("Comment", "COMMENT"),
    ];
    super::template::print_rows(args.format.as_deref(), &headers, &rows, || {
        let created = if args.human {
            "CreatedSince"
        } else {
            "CreatedAt"
        };
        let cols = ["ID", created, "CreatedBy", "Size", "Comment"];
        let created_head = if args.human { "CREATED" } else { "CREATED AT" };
        table(
            &["IMAGE", created_head, "CREATED BY", "SIZE", "COMMENT"],
            &cells(&rows, &cols),
        )
    })
}
