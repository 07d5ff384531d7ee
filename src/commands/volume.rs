//! `volume create|ls|inspect|rm|prune`, and the part of `run`/`create` that completes a
//! new container's mounts (`--volumes-from`, the image's VOLUMEs as anonymous volumes)
//! and makes the volumes they name.

use super::failures::Failures;
use super::filter::Filters;
use super::format::table;
use super::inspect::print_inspected;
use super::template::print_rows;
use super::Exit;
use crate::cli::{VolumeCommand, VolumeCreateArgs, VolumeLsArgs, VolumePruneArgs, VolumeRmArgs};
use crate::config::{anonymous_volume_name, MountConfig, MountOrigin, MountSource, VolumesFrom};
use crate::paths::Paths;
use crate::state::ContainerStore;
use crate::volume::{Volume, VolumeError, VolumeStore};
use std::collections::BTreeMap;

pub fn volume_command(paths: &Paths, cmd: VolumeCommand) -> anyhow::Result<()> {
    match cmd {
        VolumeCommand::Create(a) => create(paths, a),
        VolumeCommand::Ls(a) => ls(paths, a),
        VolumeCommand::Inspect(a) => {
            let store = VolumeStore::open(paths)?;
            let mut out = Vec::new();
            let mut failed = Failures::default();
            for name in &a.volumes {
                let got = store.get(name).and_then(|v| {
                    if v.driver != "local" {
                        // The plugin answers Get with the volume's Status.
                        let _ = super::plugin::ensure_driver(paths, &v.driver);
                    }
                    crate::volume::plugin::with_status(paths, v)
                });
                match got {
                    Ok(v) => out.push(serde_json::to_value(&v)?),
                    Err(e) => failed.report(format_args!("Error: {e}")),
                }
            }
            print_inspected(out, a.format.as_deref())?;
            failed.finish()
        }
        VolumeCommand::Rm(a) => rm(paths, a),
        VolumeCommand::Prune(a) => prune(paths, a),
    }
}

/// `KEY=VALUE` pairs of `--label`/`--opt` (a bare KEY has an empty value).
fn pairs(list: &[String]) -> BTreeMap<String, String> {
    list.iter()
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap_or((l.as_str(), ""));
            (k.to_string(), v.to_string())
        })
        .collect()
}

fn create(paths: &Paths, a: VolumeCreateArgs) -> anyhow::Result<()> {
    if a.driver != "local" && crate::plugin::PluginStore::existing(paths).is_some() {
        super::plugin::ensure_driver(paths, &a.driver)?;
        let plugin = crate::volume::plugin::driver(paths, &a.driver).map_err(|e| Exit {
            code: 1,
            message: format!(
                "Error response from daemon: create {}: {e}",
                a.name.as_deref().unwrap_or_default()
            ),
        })?;
        let store = VolumeStore::open(paths)?;
        let name = a.name.clone().unwrap_or_else(anonymous_volume_name);
        let options = (!a.opts.is_empty()).then(|| pairs(&a.opts));
        let lock = store.lock()?;
        let v = store
            .create_with_plugin(&lock, &plugin, &name, pairs(&a.labels), options)
            .map_err(|e| Exit {
                code: 1,
                message: format!("Error response from daemon: {e}"),
            })?;
        println!("{}", v.name);
        return Ok(());
    }
    if a.driver != "local" {
        return Err(Exit {
            code: 1,
            message: format!(
                "Error response from daemon: create: volume driver \"{}\" is not available",
                a.driver
            ),
        }
        .into());
    }
    let store = VolumeStore::open(paths)?;
    let name = a.name.clone().unwrap_or_else(anonymous_volume_name);
    let options = (!a.opts.is_empty()).then(|| pairs(&a.opts));
    let lock = store.lock()?;
    let v = store
        .create(&lock, &name, pairs(&a.labels), options, false)
        .map_err(|e| Exit {
            code: 1,
            message: e.to_string(),
        })?;
    println!("{}", v.name);
    Ok(())
}

fn ls(paths: &Paths, a: VolumeLsArgs) -> anyhow::Result<()> {
    let filters =
        Filters::parse(&a.filters, &["name", "label", "dangling", "driver"]).map_err(|e| Exit {
            code: 1,
            message: e.to_string(),
        })?;
    filters
        .check_values("dangling", &["true", "false", "1", "0"])
        .map_err(|e| Exit {
            code: 1,
            message: e.to_string(),
        })?;
    let store = VolumeStore::open(paths)?;
    let unused: Vec<String> = store.unused()?.into_iter().map(|v| v.name).collect();
    let vols: Vec<Volume> = store
        .list()?
        .into_iter()
        .filter(|v| filters.any("name", |n| v.name.contains(n)))
        .filter(|v| filters.any("driver", |d| d == v.driver))
        .filter(|v| filters.labels_match(&v.labels))
        .filter(|v| {
            filters.any("dangling", |d| {
                matches!(d, "true" | "1") == unused.contains(&v.name)
            })
        })
        .collect();
    if a.quiet {
        for v in &vols {
            println!("{}", v.name);
        }
        return Ok(());
    }
    let rows: Vec<serde_json::Value> = vols
        .iter()
        .map(|v| {
            let labels: Vec<String> = v.labels.iter().map(|(k, x)| format!("{k}={x}")).collect();
            serde_json::json!({
                "Driver": v.driver, "Name": v.name, "Mountpoint": v.mountpoint,
                "Labels": labels.join(","), "Scope": v.scope, "Size": "N/A",
                "Availability": "N/A", "Group": "N/A", "Links": "N/A", "Status": "N/A",
            })
        })
        .collect();
    const HEADERS: &[(&str, &str)] = &[
        ("Driver", "DRIVER"),
        ("Name", "VOLUME NAME"),
        ("Mountpoint", "MOUNTPOINT"),
        ("Labels", "LABELS"),
        ("Scope", "SCOPE"),
        ("Size", "SIZE"),
        ("Links", "LINKS"),
    ];
    print_rows(a.format.as_deref(), HEADERS, &rows, || {
        let cells: Vec<Vec<String>> = vols
            .iter()
            .map(|v| vec![v.driver.clone(), v.name.clone()])
            .collect();
        table(&["DRIVER", "VOLUME NAME"], &cells)
    })
}

fn rm(paths: &Paths, a: VolumeRmArgs) -> anyhow::Result<()> {
    let store = VolumeStore::open(paths)?;
    let lock = store.lock()?;
    let mut failed = Failures::default();
    for name in &a.volumes {
        if let Some(v) = store.get(name).ok().filter(|v| v.driver != "local") {
            let _ = super::plugin::ensure_driver(paths, &v.driver);
        }
        match store.remove(&lock, name) {
            Ok(()) => println!("{name}"),
            Err(VolumeError::NotFound(_)) if a.force => println!("{name}"),
            Err(e) => failed.report(format_args!("Error response from daemon: {e}")),
        }
    }
    failed.finish()
}

fn prune(paths: &Paths, a: VolumePruneArgs) -> anyhow::Result<()> {
    let filters = Filters::parse(&a.filters, &["label", "all"]).map_err(|e| Exit {
        code: 1,
        message: e.to_string(),
    })?;
    let all = a.all
        || filters
            .values("all")
            .iter()
            .any(|v| v == "true" || v == "1");
    let store = VolumeStore::open(paths)?;
    let lock = store.lock()?;
    let (removed, bytes) = store.prune(&lock, all, |v| !filters.labels_match(&v.labels))?;
    if !removed.is_empty() {
        println!("Deleted Volumes:");
        for n in &removed {
            println!("{n}");
        }
        println!();
    }
    println!(
        "Total reclaimed space: {}",
        super::format::human_size(bytes)
    );
    Ok(())
}

/// Completes a new container's mounts: each `--volumes-from` container's binds and
/// volumes (with `:ro`/`:rw` applied) and an anonymous volume for each image VOLUME
/// that no mount covers. The user's own mounts win over both.
pub(super) fn complete_mounts(
    paths: &Paths,
    mounts: &mut Vec<MountConfig>,
    volumes_from: &[VolumesFrom],
    image_volumes: &BTreeMap<String, serde_json::Value>,
) -> anyhow::Result<()> {
    if !volumes_from.is_empty() {
        let store = ContainerStore::open(&paths.containers())?;
        for vf in volumes_from {
            let rec = store.resolve(&vf.container)?;
            for m in &rec.config.host.mounts {
                if matches!(m.source, MountSource::Tmpfs { .. })
                    || mounts.iter().any(|x| x.target == m.target)
                {
                    continue;
                }
                let mut m = m.clone();
                if let Some(ro) = vf.readonly {
                    m.readonly = ro;
                }
                m.origin = MountOrigin::VolumesFrom;
                mounts.push(m);
            }
        }
    }
    for path in image_volumes.keys() {
        let target = format!(
            "/{}",
            path.split('/')
                .filter(|c| !c.is_empty())
                .collect::<Vec<_>>()
                .join("/")
        );
        if mounts.iter().any(|m| m.target == target) {
            continue;
        }
        mounts.push(MountConfig {
            source: MountSource::Volume {
                name: anonymous_volume_name(),
                anonymous: true,
                nocopy: false,
                create: Default::default(),
            },
            target,
            readonly: false,
            origin: MountOrigin::Image,
            mode: String::new(),
            spec: String::new(),
        });
    }
    Ok(())
}

/// Makes the volumes a new container names (docker creates them at `create`), each with
/// its driver (`cli::volume_driver_of`), labels and options; an existing one is kept.
pub(super) fn create_volumes(paths: &Paths, host: &crate::state::HostConfig) -> anyhow::Result<()> {
    let wanted: Vec<&MountConfig> = host
        .mounts
        .iter()
        .filter(|m| m.volume_name().is_some())
        .collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let store = VolumeStore::open(paths)?;
    for m in wanted {
        let MountSource::Volume {
            name,
            anonymous,
            create,
            ..
        } = &m.source
        else {
            continue;
        };
        let options = (!create.options.is_empty()).then(|| create.options.clone());
        let driver = crate::cli::volume_driver_of(host, m);
        if driver == "local" {
            let lock = store.lock()?;
            store.create(&lock, name, create.labels.clone(), options, *anonymous)?;
            continue;
        }
        if store.get(name).is_ok() {
            continue;
        }
        super::plugin::ensure_driver(paths, driver)?;
        let plugin = crate::volume::plugin::driver(paths, driver)?;
        let mut labels = create.labels.clone();
        if *anonymous {
            labels.insert(crate::volume::ANONYMOUS_LABEL.to_string(), String::new());
        }
        let lock = store.lock()?;
        store.create_with_plugin(&lock, &plugin, name, labels, options)?;
    }
    super::plugin::ensure_for_mounts(paths, &host.mounts)
}

/// docker's `Mounts` of a container and the mount fields of its HostConfig (Binds,
/// Mounts, Tmpfs, VolumesFrom) and Config (Volumes), added to its inspect JSON.
pub(super) fn add_mounts_json(paths: &Paths, v: &mut serde_json::Value, mounts: &[MountConfig]) {
    use serde_json::{json, Value};
    let volumes_dir = paths.root.join("volumes");
    let mut list = Vec::new();
    let mut binds = Vec::new();
    let mut flag_mounts = Vec::new();
    let mut tmpfs = serde_json::Map::new();
    let mut config_volumes = serde_json::Map::new();
    for m in mounts {
        let rw = !m.readonly;
        match &m.source {
            MountSource::Bind {
                source,
                propagation,
                ..
            } => list.push(json!({
                "Type": "bind", "Source": source, "Destination": m.target,
                "Mode": m.mode, "RW": rw, "Propagation": propagation.as_str(),
            })),
            MountSource::Volume { name, .. } => list.push(json!({
                "Type": "volume", "Name": name,
                "Source": volumes_dir.join(name).join("_data"),
                "Destination": m.target, "Driver": "local", "Mode": m.mode, "RW": rw,
                "Propagation": "",
            })),
            MountSource::Tmpfs { .. } if m.origin == MountOrigin::Mount => list.push(json!({
                "Type": "tmpfs", "Source": "", "Destination": m.target, "Mode": "",
                "RW": rw, "Propagation": "",
            })),
            MountSource::Tmpfs { .. } => {}
        }
        match (m.origin, &m.source) {
            (
                MountOrigin::Volume,
                MountSource::Volume {
                    anonymous: true, ..
                },
            )
            | (MountOrigin::Image, _) => {
                config_volumes.insert(m.target.clone(), json!({}));
            }
            (MountOrigin::Volume, _) => binds.push(Value::String(m.spec.clone())),
            (MountOrigin::Tmpfs, _) => {
                tmpfs.insert(m.target.clone(), Value::String(m.spec.clone()));
            }
            (MountOrigin::Mount, source) => {
                let mut e = json!({"Type": m.kind(), "Target": m.target});
                match source {
                    MountSource::Bind {
                        source,
                        propagation,
                        ..
                    } => {
                        e["Source"] = json!(source);
                        if *propagation != Default::default() {
                            e["BindOptions"] = json!({"Propagation": propagation.as_str()});
                        }
                    }
                    MountSource::Volume {
                        name,
                        anonymous,
                        nocopy,
                        create,
                    } => {
                        if !anonymous {
                            e["Source"] = json!(name);
                        }
                        if *nocopy || !create.is_empty() {
                            let mut o = json!({});
                            if *nocopy {
                                o["NoCopy"] = json!(true);
                            }
                            if !create.labels.is_empty() {
                                o["Labels"] = json!(create.labels);
                            }
                            if create.driver.is_some() || !create.options.is_empty() {
                                let mut d = json!({"Name": create.driver.as_deref().unwrap_or("")});
                                if !create.options.is_empty() {
                                    d["Options"] = json!(create.options);
                                }
                                o["DriverConfig"] = d;
                            }
                            e["VolumeOptions"] = o;
                        }
                    }
                    MountSource::Tmpfs { .. } => {}
                }
                if m.readonly {
                    e["ReadOnly"] = json!(true);
                }
                flag_mounts.push(e);
            }
            (MountOrigin::VolumesFrom, _) => {}
        }
    }
    let or_null = |items: Vec<Value>| {
        if items.is_empty() {
            Value::Null
        } else {
            Value::Array(items)
        }
    };
    let map_or_null = |m: serde_json::Map<String, Value>| {
        if m.is_empty() {
            Value::Null
        } else {
            Value::Object(m)
        }
    };
    v["Mounts"] = Value::Array(list);
    v["HostConfig"]["Binds"] = or_null(binds);
    v["HostConfig"]["Mounts"] = or_null(flag_mounts);
    v["HostConfig"]["Tmpfs"] = map_or_null(tmpfs);
    v["Config"]["Volumes"] = map_or_null(config_volumes);
}
