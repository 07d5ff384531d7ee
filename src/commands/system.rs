//! `system df|info|prune`. `df` counts what the store holds as docker does: images (a
//! layer shared by several counts once; reclaimable is what no container's image uses),
//! containers (their upper dir, log and record; reclaimable when stopped), local volumes
//! and the build cache. Rows are JSON objects with docker's field names, so `--format`
//! renders them like docker's. Local volumes count what their files hold; one is active
//! (and not reclaimable) while any container, running or not, names it.

use super::format::{cells, human_duration, human_size, since, table};
use super::ps::status_text;
use super::template::{Formatter, OutputFormat};
use crate::cli::{DfArgs, SystemCommand};
use crate::container::Containers;
use crate::image::ImageStore;
use crate::paths::Paths;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

pub fn system_command(paths: &Paths, cmd: SystemCommand) -> anyhow::Result<()> {
    match cmd {
        SystemCommand::Df(a) => df(paths, a),
        SystemCommand::Info(a) => super::info::info(paths, a),
        SystemCommand::Events(a) => super::events::events(paths, a),
        SystemCommand::Prune(a) => super::prune::system_prune(paths, a),
        SystemCommand::Service(a) => super::service::service(paths, a),
    }
}

/// One line of the summary: docker's `Type`, `TotalCount`, `Active`, `Size`, `Reclaimable`.
struct Usage {
    kind: &'static str,
    total: usize,
    active: usize,
    size: u64,
    reclaimable: u64,
    /// docker shows the percentage for images and containers only.
    percent: bool,
}

impl Usage {
    fn row(&self) -> Value {
        let mut reclaim = human_size(self.reclaimable);
        if self.percent && self.size > 0 {
            reclaim.push_str(&format!(
                " ({}%)",
                self.reclaimable * 100 / self.size.max(1)
            ));
        }
        json!({
            "Type": self.kind,
            "TotalCount": self.total.to_string(),
            "Active": self.active.to_string(),
            "Size": human_size(self.size),
            "Reclaimable": reclaim,
        })
    }
}

/// What `df -v` lists per image and per container, next to the totals.
struct Detail {
    images: Vec<Value>,
    containers: Vec<Value>,
    volumes: Vec<Value>,
    build_cache: u64,
}

/// The store's volumes as `df -v` lists them (docker's fields; `Links` is the number of
/// containers naming it), with the summary line.
fn volume_usage(
    paths: &Paths,
    records: &[crate::state::ContainerRecord],
) -> anyhow::Result<(Usage, Vec<Value>)> {
    let store = crate::volume::VolumeStore::open(paths)?;
    let volumes = store.list()?;
    let (mut size, mut reclaimable, mut active) = (0, 0, 0);
    let mut rows = Vec::new();
    for v in &volumes {
        let links = records
            .iter()
            .filter(|r| {
                r.config
                    .host
                    .mounts
                    .iter()
                    .any(|m| m.volume_name() == Some(v.name.as_str()))
            })
            .count();
        let bytes = store.size(&v.name);
        size += bytes;
        if links > 0 {
            active += 1;
        } else {
            reclaimable += bytes;
        }
        rows.push(json!({
            "Name": v.name,
            "Driver": v.driver,
            "Labels": v.labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(","),
            "Links": links.to_string(),
            "Mountpoint": v.mountpoint,
            "Scope": v.scope,
            "Size": human_size(bytes),
        }));
    }
    let summary = Usage {
        kind: "Local Volumes",
        total: volumes.len(),
        active,
        size,
        reclaimable,
        percent: true,
    };
    Ok((summary, rows))
}

fn short(id: &str) -> &str {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    &hex[..12.min(hex.len())]
}

fn usage(paths: &Paths) -> anyhow::Result<(Vec<Usage>, Detail)> {
    let store = ImageStore::open(&paths.images())?;
    let records = Containers::open(paths)?.all()?;
    let images = store.list()?;
    // Layer sizes by diff id, and how many images hold each layer.
    let mut layer_size: BTreeMap<String, u64> = BTreeMap::new();
    let mut holders: BTreeMap<String, usize> = BTreeMap::new();
    let mut layers_of = Vec::new();
    for img in &images {
        let layers = store.layers_of(img)?;
        for l in &layers {
            let size = if l.uncompressed_size > 0 {
                l.uncompressed_size
            } else {
                l.size
            };
            layer_size.insert(l.diff_id.clone(), size);
            *holders.entry(l.diff_id.clone()).or_default() += 1;
        }
        layers_of.push(layers);
    }
    let used: BTreeSet<&str> = records.iter().map(|r| r.config.image_id.as_str()).collect();
    let mut used_layers = BTreeSet::new();
    let mut image_rows = Vec::new();
    for (img, layers) in images.iter().zip(&layers_of) {
        let containers = records
            .iter()
            .filter(|r| r.config.image_id == img.id)
            .count();
        if containers > 0 {
            used_layers.extend(layers.iter().map(|l| l.diff_id.clone()));
        }
        let size: u64 = layers.iter().map(|l| layer_size[&l.diff_id]).sum();
        let shared: u64 = layers
            .iter()
            .filter(|l| holders[&l.diff_id] > 1)
            .map(|l| layer_size[&l.diff_id])
            .sum();
        let tags = if img.tags.is_empty() {
            vec!["<none>:<none>".to_string()]
        } else {
            img.tags.clone()
        };
        for t in tags {
            let (repo, tag) = t.rsplit_once(':').unwrap_or((&t, ""));
            image_rows.push(json!({
                "Repository": repo,
                "Tag": tag,
                "ID": img.id,
                "CreatedSince": img.created.as_deref().map_or(String::new(), |c| format!("{} ago", human_duration(since(c)))),
                "CreatedAt": img.created.as_deref().map(super::ps::go_time).unwrap_or_default(),
                "Size": human_size(size),
                "SharedSize": human_size(shared),
                "UniqueSize": human_size(size - shared),
                "Containers": containers.to_string(),
            }));
        }
    }
    let total: u64 = layer_size.values().sum();
    let active_size: u64 = used_layers.iter().map(|d| layer_size[d]).sum();
    let mut container_rows = Vec::new();
    let (mut csize, mut creclaim, mut running) = (0, 0, 0);
    for r in &records {
        let size = super::prune::container_size(paths, r);
        csize += size;
        if r.is_running() {
            running += 1;
        } else {
            creclaim += size;
        }
        container_rows.push(json!({
            "ID": r.short_id(),
            "Image": r.config.image,
            "Command": super::format::go_quote(&super::format::ellipsis(&r.args().join(" "), 20)),
            "LocalVolumes": r.config.host.mounts.iter().filter(|m| m.volume_name().is_some()).count().to_string(),
            "Size": human_size(size),
            "RunningFor": format!("{} ago", human_duration(since(&r.created))),
            "Status": status_text(r),
            "Names": r.name,
        }));
    }
    let (volumes, volume_rows) = volume_usage(paths, &records)?;
    let cache = super::prune::build_cache_size(paths);
    let cache_entries = std::fs::read_dir(paths.build_cache()).map_or(0, |d| d.count());
    let rows = vec![
        Usage {
            kind: "Images",
            total: images.len(),
            active: images
                .iter()
                .filter(|i| used.contains(i.id.as_str()))
                .count(),
            size: total,
            reclaimable: total - active_size,
            percent: true,
        },
        Usage {
            kind: "Containers",
            total: records.len(),
            active: running,
            size: csize,
            reclaimable: creclaim,
            percent: true,
        },
        volumes,
        Usage {
            kind: "Build Cache",
            total: cache_entries,
            active: 0,
            size: cache,
            reclaimable: cache,
            percent: false,
        },
    ];
    Ok((
        rows,
        Detail {
            images: image_rows,
            containers: container_rows,
            volumes: volume_rows,
            build_cache: cache,
        },
    ))
}

const SUMMARY_COLS: [&str; 5] = ["Type", "TotalCount", "Active", "Size", "Reclaimable"];
const SUMMARY_HEADER: [&str; 5] = ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"];

fn df(paths: &Paths, args: DfArgs) -> anyhow::Result<()> {
    let (summary, detail) = usage(paths)?;
    let rows: Vec<Value> = summary.iter().map(Usage::row).collect();
    match OutputFormat::parse(args.format.as_deref()) {
        OutputFormat::Json if args.verbose => {
            let v = json!({
                "Images": detail.images,
                "Containers": detail.containers,
                "Volumes": detail.volumes,
                "BuildCache": [],
            });
            println!("{}", serde_json::to_string(&v)?);
        }
        OutputFormat::Json => {
            for r in &rows {
                println!("{}", serde_json::to_string(r)?);
            }
        }
        OutputFormat::Template { source, table } => {
            let headers: Vec<(&str, &str)> =
                SUMMARY_COLS.iter().copied().zip(SUMMARY_HEADER).collect();
            print!(
                "{}",
                Formatter::new(&source, table, true)?.render_all(&headers, &rows)?
            );
        }
        OutputFormat::Default if args.verbose => print_verbose(&detail),
        OutputFormat::Default => print!("{}", table(&SUMMARY_HEADER, &cells(&rows, &SUMMARY_COLS))),
    }
    Ok(())
}

fn print_verbose(d: &Detail) {
    let images: Vec<Value> = d
        .images
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r["ID"] = json!(short(r["ID"].as_str().unwrap_or("")));
            r
        })
        .collect();
    println!("Images space usage:\n");
    print!(
        "{}",
        table(
            &[
                "REPOSITORY",
                "TAG",
                "IMAGE ID",
                "CREATED",
                "SIZE",
                "SHARED SIZE",
                "UNIQUE SIZE",
                "CONTAINERS"
            ],
            &cells(
                &images,
                &[
                    "Repository",
                    "Tag",
                    "ID",
                    "CreatedSince",
                    "Size",
                    "SharedSize",
                    "UniqueSize",
                    "Containers"
                ]
            )
        )
    );
    println!("\nContainers space usage:\n");
    print!(
        "{}",
        table(
            &[
                "CONTAINER ID",
                "IMAGE",
                "COMMAND",
                "LOCAL VOLUMES",
                "SIZE",
                "CREATED",
                "STATUS",
                "NAMES"
            ],
            &cells(
                &d.containers,
                &[
                    "ID",
                    "Image",
                    "Command",
                    "LocalVolumes",
                    "Size",
                    "RunningFor",
                    "Status",
                    "Names"
                ]
            )
        )
    );
    println!("\nLocal Volumes space usage:\n");
    print!(
        "{}",
        table(
            &["VOLUME NAME", "LINKS", "SIZE"],
            &cells(&d.volumes, &["Name", "Links", "Size"])
        )
    );
    println!("\nBuild cache usage: {}", human_size(d.build_cache));
}
