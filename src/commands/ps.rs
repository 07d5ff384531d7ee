//! `ps`: docker's container table, its `--filter` keys and its `--format` fields.

use super::filter::Filters;
use super::format::{ellipsis, go_quote, human_duration, parse_rfc3339, since, table};
use super::template::{Formatter, OutputFormat};
use crate::cli::{PsArgs, PsSort};
use crate::container::Containers;
use crate::image::ImageStore;
use crate::paths::Paths;
use crate::state::{ContainerRecord, Status};
use serde_json::{json, Value};

/// docker's STATUS column.
pub fn status_text(rec: &ContainerRecord) -> String {
    if rec.is_running() {
        let up = rec.state.started_at.as_deref().map(since).unwrap_or(0.0);
        return format!(
            "Up {}{}",
            human_duration(up),
            super::lifecycle::up_suffix(rec)
        );
    }
    if rec.is_restarting() {
        let ago = rec.state.finished_at.as_deref().map(since).unwrap_or(0.0);
        let code = rec.state.exit_code;
        return format!("Restarting ({code}) {} ago", human_duration(ago));
    }
    match rec.state.status {
        Status::Created => "Created".into(),
        // Recorded as running, but its monitor died after this command repaired the store
        // (see `container::repair`): the exit is unknown, docker's 255, and it happened
        // no earlier than the start.
        Status::Running => format!(
            "Exited (255) {} ago",
            human_duration(rec.state.started_at.as_deref().map(since).unwrap_or(0.0))
        ),
        Status::Exited => {
            let ago = rec.state.finished_at.as_deref().map(since).unwrap_or(0.0);
            format!(
                "Exited ({}) {} ago",
                rec.state.exit_code,
                human_duration(ago)
            )
        }
    }
}

/// docker's State word: created, running or exited.
pub fn state_word(rec: &ContainerRecord) -> &'static str {
    if let Some(word) = super::lifecycle::state_word(rec) {
        return word;
    }
    match (rec.is_running(), rec.state.status) {
        (true, _) => "running",
        (false, Status::Created) => "created",
        (false, _) => "exited",
    }
}

/// Go's `time.Time.String()` in UTC, as docker's CreatedAt: `2026-12-01 23:40:02 +0000 UTC`.
pub fn go_time(rfc3339: &str) -> String {
    let secs = parse_rfc3339(rfc3339).unwrap_or(0.0) as i64;
    let t = crate::image::format_rfc3339(secs, 0);
    format!(
        "{} +0000 UTC",
        t.trim_end_matches('Z').replacen('T', " ", 1)
    )
}

/// The filter keys of `ps`.
pub const FILTER_KEYS: &[&str] = &[
    "id", "name", "label", "status", "ancestor", "exited", "before", "since", "network", "volume",
    "health",
];

/// The networks a container is on: its bridge networks' names, or its mode ("host",
/// "none", "private").
fn networks_of(r: &ContainerRecord) -> Vec<String> {
    if r.config.host.network == crate::config::NetworkMode::Bridge {
        crate::network::endpoints_of(&r.config.host.endpoints)
            .into_iter()
            .map(|e| e.network)
            .collect()
    } else {
        vec![r.config.host.network.as_str().to_string()]
    }
}

/// The volume names a container mounts.
fn volumes_of(r: &ContainerRecord) -> Vec<&str> {
    r.config
        .host
        .mounts
        .iter()
        .filter_map(|m| m.volume_name())
        .collect()
}

/// docker's health words: the last status, or "none" without a healthcheck.
fn health_word(r: &ContainerRecord) -> &'static str {
    r.state
        .health
        .as_ref()
        .map_or("none", |h| h.status.as_str())
}

/// The column titles of `ps --format 'table …'`, by field.
pub const HEADERS: &[(&str, &str)] = &[
    ("ID", "CONTAINER ID"),
    ("Image", "IMAGE"),
    ("Command", "COMMAND"),
    ("CreatedAt", "CREATED AT"),
    ("RunningFor", "CREATED"),
    ("Ports", "PORTS"),
    ("State", "STATE"),
    ("Status", "STATUS"),
    ("Size", "SIZE"),
    ("Names", "NAMES"),
    ("Labels", "LABELS"),
    ("Mounts", "MOUNTS"),
    ("Networks", "NETWORKS"),
    ("LocalVolumes", "LOCAL VOLUMES"),
];

/// docker's Mounts column: volume names or bind sources, each cut to 15 characters
/// unless `--no-trunc`.
fn mounts_text(r: &ContainerRecord, no_trunc: bool) -> String {
    r.config
        .host
        .mounts
        .iter()
        .filter_map(|m| match &m.source {
            crate::config::MountSource::Volume { name, .. } => Some(name.clone()),
            crate::config::MountSource::Bind { source, .. } => Some(source.display().to_string()),
            _ => None,
        })
        .map(|n| if no_trunc { n } else { ellipsis(&n, 15) })
        .collect::<Vec<_>>()
        .join(",")
}

/// The container's writable layer and that plus its image, in bytes.
pub(super) fn sizes(paths: &Paths, images: Option<&ImageStore>, r: &ContainerRecord) -> (u64, u64) {
    let rw = crate::fs::Root::open(&paths.container_upper(&r.id))
        .and_then(|root| root.dir("."))
        .map_or(0, |d| d.tree_size());
    let image = images
        .and_then(|s| s.resolve(&r.config.image_id).ok())
        .map_or(0, |i| i.size);
    (rw, rw + image)
}

/// docker's `ps -s` SIZE: the writable layer, and with the image below it.
fn size_text(paths: &Paths, images: Option<&ImageStore>, r: &ContainerRecord) -> String {
    let (rw, all) = sizes(paths, images, r);
    format!(
        "{} (virtual {})",
        super::format::human_size(rw),
        super::format::human_size(all)
    )
}

/// One container as docker's ps template sees it: every field a string.
struct Row {
    id: String,
    image: String,
    command: String,
    created_at: String,
    running_for: String,
    ports: String,
    state: &'static str,
    status: String,
    size: String,
    names: String,
    labels: String,
    mounts: String,
    networks: String,
    local_volumes: String,
}

impl Row {
    /// The row of `r`; without `all`, only the fields of the default table are filled.
    fn of(r: &ContainerRecord, no_trunc: bool, size: Option<String>, all: bool) -> Row {
        let command = r.args().join(" ");
        let ports = if r.is_running() {
            r.state
                .ports
                .iter()
                .map(|p| p.display())
                .collect::<Vec<_>>()
                .join(", ")
        } else {
            String::new()
        };
        let labels = || {
            r.config
                .labels
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",")
        };
        let shown = |f: &dyn Fn() -> String| if all { f() } else { String::new() };
        Row {
            id: if no_trunc {
                r.id.clone()
            } else {
                r.short_id().to_string()
            },
            image: r.config.image.clone(),
            command: go_quote(&if no_trunc {
                command
            } else {
                ellipsis(&command, 20)
            }),
            created_at: shown(&|| go_time(&r.created)),
            running_for: format!("{} ago", human_duration(since(&r.created))),
            ports,
            state: state_word(r),
            status: status_text(r),
            size: size.unwrap_or_default(),
            names: r.name.clone(),
            labels: shown(&labels),
            mounts: shown(&|| mounts_text(r, no_trunc)),
            networks: shown(&|| networks_of(r).join(",")),
            local_volumes: shown(&|| volumes_of(r).len().to_string()),
        }
    }

    /// The field a template or a column names (empty for one a row does not have).
    fn get(&self, field: &str) -> &str {
        match field {
            "ID" => &self.id,
            "Image" => &self.image,
            "Command" => &self.command,
            "CreatedAt" => &self.created_at,
            "RunningFor" => &self.running_for,
            "Ports" => &self.ports,
            "State" => self.state,
            "Status" => &self.status,
            "Size" => &self.size,
            "Names" => &self.names,
            "Labels" => &self.labels,
            "Mounts" => &self.mounts,
            "Networks" => &self.networks,
            "LocalVolumes" => &self.local_volumes,
            _ => "",
        }
    }

    /// The row as `--format json` prints it and templates read it.
    fn to_value(&self) -> Value {
        json!({
            "ID": self.id,
            "Image": self.image,
            "Command": self.command,
            "CreatedAt": self.created_at,
            "RunningFor": self.running_for,
            "Ports": self.ports,
            "State": self.state,
            "Status": self.status,
            "Size": self.size,
            "Names": self.names,
            "Labels": self.labels,
            "Mounts": self.mounts,
            "Networks": self.networks,
            "Platform": null,
            "LocalVolumes": self.local_volumes,
        })
    }
}

/// Applies docker's ps filters to `list` (newest first).
fn filter(
    paths: &Paths,
    list: Vec<ContainerRecord>,
    f: &Filters,
) -> anyhow::Result<Vec<ContainerRecord>> {
    f.check_values(
        "status",
        &[
            "created",
            "restarting",
            "running",
            "removing",
            "paused",
            "exited",
            "dead",
        ],
    )?;
    let find = |what: &str| -> anyhow::Result<String> {
        list.iter()
            .find(|r| r.name == what || r.id == what)
            .or_else(|| list.iter().find(|r| r.id.starts_with(what)))
            .map(|r| r.created.clone())
            .ok_or_else(|| anyhow::anyhow!("No such container: {what}"))
    };
    let created = |s: &str| parse_rfc3339(s).unwrap_or(0.0);
    let before: Vec<f64> = f
        .values("before")
        .iter()
        .map(|v| find(v).map(|c| created(&c)))
        .collect::<Result<_, _>>()?;
    let since: Vec<f64> = f
        .values("since")
        .iter()
        .map(|v| find(v).map(|c| created(&c)))
        .collect::<Result<_, _>>()?;
    let ancestors: Vec<(String, Option<String>)> = if f.contains("ancestor") {
        let images = ImageStore::open(&paths.images())?;
        f.values("ancestor")
            .iter()
            .map(|a| (a.clone(), images.resolve(a).ok().map(|i| i.id)))
            .collect()
    } else {
        Vec::new()
    };
    f.check_values("health", &["starting", "healthy", "unhealthy", "none"])?;
    // A network named by name or id matches by its name; host and none by their word.
    let networks: Vec<String> = f
        .values("network")
        .iter()
        .map(|v| match crate::network::find(paths, v) {
            Ok(def) => def.name,
            Err(_) => v.clone(),
        })
        .collect();
    let mut exited = Vec::new();
    for v in f.values("exited") {
        exited.push(
            v.parse::<i32>()
                .map_err(|_| super::filter::FilterError::Value {
                    key: "exited".into(),
                    value: v.clone(),
                    reason: "expected an exit code".into(),
                })?,
        );
    }
    Ok(list
        .into_iter()
        .filter(|r| {
            let t = || created(&r.created);
            f.any("id", |v| r.id.starts_with(v))
                && f.any("name", |v| r.name.contains(v.trim_start_matches('/')))
                && f.labels_match(&r.config.labels)
                && f.any("status", |v| v == state_word(r))
                && (exited.is_empty()
                    || state_word(r) == "exited" && exited.contains(&r.state.exit_code))
                && f.any("health", |v| v == health_word(r))
                && (networks.is_empty() || networks_of(r).iter().any(|n| networks.contains(n)))
                && f.any("volume", |v| {
                    r.config
                        .host
                        .mounts
                        .iter()
                        .any(|m| m.volume_name() == Some(v) || m.target == v)
                })
                && before.iter().all(|b| t() < *b)
                && since.iter().all(|s| t() > *s)
                && (ancestors.is_empty()
                    || ancestors.iter().any(|(name, id)| {
                        r.config.image == *name || id.as_deref() == Some(r.config.image_id.as_str())
                    }))
        })
        .collect())
}

pub fn ps(paths: &Paths, args: PsArgs) -> anyhow::Result<()> {
    let filters = Filters::parse(&args.filters, FILTER_KEYS)?;
    let format = OutputFormat::parse(args.format.as_deref());
    let mut list = Containers::open(paths)?.store().list_shown()?;
    list.reverse(); // newest first, as docker lists them
                    // docker lists stopped containers too when a filter names a state or a neighbour.
    let all = args.all
        || ["status", "exited", "before", "since"]
            .iter()
            .any(|k| filters.contains(k));
    // docker's -l/-n: the last created containers, whatever their state.
    let last = if args.latest { 1 } else { args.last };
    let all = all || last >= 0;
    list.retain(|r| all || r.is_running() || r.is_restarting());
    let mut list = filter(paths, list, &filters)?;
    if last >= 0 {
        list.truncate(last as usize);
    }
    if args.quiet {
        if args.format.is_some() {
            eprintln!(
                "WARNING: Ignoring custom format, because both --format and --quiet are set."
            );
        }
        for r in &list {
            println!(
                "{}",
                if args.no_trunc {
                    r.id.as_str()
                } else {
                    r.short_id()
                }
            );
        }
        return Ok(());
    }
    // docker computes sizes for --size, and for a template that shows them.
    let sized = args.size
        || args
            .format
            .as_deref()
            .is_some_and(|f| f.contains(".Size") || f.contains("json"));
    let images = sized
        .then(|| ImageStore::open(&paths.images()).ok())
        .flatten();
    let all_fields = !matches!(format, OutputFormat::Default);
    let mut rows: Vec<Row> = list
        .iter()
        .map(|r| {
            let size = sized.then(|| size_text(paths, images.as_ref(), r));
            Row::of(r, args.no_trunc, size, all_fields)
        })
        .collect();
    // podman's --sort: the listing is newest first already (created, runningfor).
    let key = match args.sort {
        PsSort::Created | PsSort::Runningfor => None,
        PsSort::Command => Some("Command"),
        PsSort::Id => Some("ID"),
        PsSort::Image => Some("Image"),
        PsSort::Names => Some("Names"),
        PsSort::Status => Some("Status"),
    };
    if let Some(key) = key {
        crate::sort::sort_by(&mut rows, |a, b| a.get(key).cmp(b.get(key)));
    }
    match format {
        OutputFormat::Json => {
            for r in &rows {
                println!("{}", serde_json::to_string(&r.to_value())?);
            }
        }
        OutputFormat::Template { source, table } => {
            let f = Formatter::new(&source, table && !args.noheading, true)?;
            let values: Vec<Value> = rows.iter().map(Row::to_value).collect();
            print!("{}", f.render_all(HEADERS, &values)?);
        }
        OutputFormat::Default => {
            let mut cols = vec![
                "ID",
                "Image",
                "Command",
                "RunningFor",
                "Status",
                "Ports",
                "Names",
            ];
            let mut header = vec![
                "CONTAINER ID",
                "IMAGE",
                "COMMAND",
                "CREATED",
                "STATUS",
                "PORTS",
                "NAMES",
            ];
            if args.size {
                cols.push("Size");
                header.push("SIZE");
            }
            let cells: Vec<Vec<&str>> = rows
                .iter()
                .map(|r| cols.iter().map(|c| r.get(c)).collect())
                .collect();
            let out = table(&header, &cells);
            let out = if args.noheading {
                out.split_once('\n').map(|x| x.1).unwrap_or("")
            } else {
                &out
            };
            print!("{out}");
        }
    }
    // The process ends here: its memory goes with it, without a free of each of a
    // thousand records and rows (and the munmap calls the allocator makes then).
    std::mem::forget((list, rows));
    Ok(())
}
