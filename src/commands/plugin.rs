//! `plugin create|enable|disable|ls|inspect|rm|set`: docker's managed plugins kept in
//! kiste's store (see `crate::plugin`) and run as kiste containers
//! (`plugin_engine`). Output and messages are dockerd's ("Error response from daemon:
//! …", exit 1).

use super::failures::Failures;
use super::filter::Filters;
use super::format::table;
use super::inspect::print_inspected;
use super::plugin_engine;
use super::Exit;
use crate::cli::{
    PluginCommand, PluginCreateArgs, PluginDisableArgs, PluginEnableArgs, PluginLsArgs,
    PluginRmArgs, PluginSetArgs,
};
use crate::paths::Paths;
use crate::plugin::{full_name, Plugin, PluginError, PluginStore};
use std::time::Duration;

pub fn plugin_command(paths: &Paths, cmd: PluginCommand) -> anyhow::Result<()> {
    match cmd {
        PluginCommand::Create(a) => create(paths, a),
        PluginCommand::Enable(a) => enable(paths, a),
        PluginCommand::Disable(a) => disable(paths, a),
        PluginCommand::Ls(a) => ls(paths, a),
        PluginCommand::Inspect(a) => {
            let store = PluginStore::open(paths)?;
            let mut out = Vec::new();
            let mut failed = Failures::default();
            for name in &a.names {
                match store.get(name) {
                    Ok(p) => out.push(serde_json::to_value(&p)?),
                    Err(e) => failed.report(format_args!("Error response from daemon: {e}")),
                }
            }
            print_inspected(out, a.format.as_deref())?;
            failed.finish()
        }
        PluginCommand::Rm(a) => rm(paths, a),
        PluginCommand::Set(a) => set(paths, a),
        PluginCommand::Install(a) => super::plugin_registry::install(paths, a),
        PluginCommand::Push(a) => super::plugin_registry::push(paths, a),
        PluginCommand::Upgrade(a) => super::plugin_registry::upgrade(paths, a),
    }
}

/// dockerd's answer to a refused request: exit 1.
pub(super) fn daemon(e: impl std::fmt::Display) -> anyhow::Error {
    Exit {
        code: 1,
        message: format!("Error response from daemon: {e}"),
    }
    .into()
}

fn create(paths: &Paths, a: PluginCreateArgs) -> anyhow::Result<()> {
    let store = PluginStore::open(paths)?;
    let lock = store.lock()?;
    let name = full_name(&a.name);
    match store.get(&name) {
        Ok(_) => return Err(daemon(PluginError::Exists(name))),
        Err(PluginError::NotFound(_)) => {}
        Err(e) => return Err(daemon(e)),
    }
    super::plugin_create::create_from_dir(&store, &lock, &name, &a.dir, a.compress)
        .map_err(daemon)?;
    println!("{}", a.name);
    Ok(())
}

/// Volumes and running containers that use the plugin: docker's refcount.
fn users(paths: &Paths, p: &Plugin) -> anyhow::Result<Vec<String>> {
    let volumes = crate::volume::VolumeStore::open(paths)?;
    Ok(volumes
        .list()?
        .into_iter()
        .filter(|v| v.driver == p.name)
        .map(|v| v.name)
        .collect())
}

fn enable(paths: &Paths, a: PluginEnableArgs) -> anyhow::Result<()> {
    let store = PluginStore::open(paths)?;
    let lock = store.lock()?;
    let mut p = store.get(&a.name).map_err(daemon)?;
    if p.enabled {
        return Err(daemon(PluginError::AlreadyEnabled(p.name)));
    }
    plugin_engine::ensure_running(paths, &store, &p, Duration::from_secs(a.timeout))
        .map_err(daemon)?;
    p.enabled = true;
    store.save(&lock, &p)?;
    println!("{}", a.name);
    Ok(())
}

fn disable(paths: &Paths, a: PluginDisableArgs) -> anyhow::Result<()> {
    let store = PluginStore::open(paths)?;
    let lock = store.lock()?;
    let mut p = store.get(&a.name).map_err(daemon)?;
    if !p.enabled {
        return Err(daemon(PluginError::AlreadyDisabled(p.name)));
    }
    if !a.force && !users(paths, &p)?.is_empty() {
        return Err(daemon(PluginError::InUse(p.name)));
    }
    plugin_engine::stop(paths, &p)?;
    p.enabled = false;
    store.save(&lock, &p)?;
    println!("{}", a.name);
    Ok(())
}

fn rm(paths: &Paths, a: PluginRmArgs) -> anyhow::Result<()> {
    let store = PluginStore::open(paths)?;
    let lock = store.lock()?;
    let mut failed = Failures::default();
    for name in &a.names {
        let done = (|| -> anyhow::Result<()> {
            let p = store.get(name).map_err(daemon)?;
            if !a.force {
                if p.enabled {
                    return Err(daemon(format!(
                        "plugin {} is enabled: disable it first or use -f",
                        p.name
                    )));
                }
                if !users(paths, &p)?.is_empty() {
                    return Err(daemon(PluginError::InUse(p.name)));
                }
            }
            plugin_engine::stop(paths, &p)?;
            store.remove(&lock, &p.id).map_err(daemon)?;
            Ok(())
        })();
        match done {
            Ok(()) => println!("{name}"),
            Err(e) => failed.report(e),
        }
    }
    failed.finish()
}

/// `plugin set PLUGIN KEY=VALUE… | SOURCE.source=… | DEVICE.path=… | args=…`: docker's
/// settable fields, on a disabled plugin.
fn set(paths: &Paths, a: PluginSetArgs) -> anyhow::Result<()> {
    let store = PluginStore::open(paths)?;
    let lock = store.lock()?;
    let mut p = store.get(&a.name).map_err(daemon)?;
    if p.enabled {
        return Err(daemon(
            "cannot set on an active plugin, disable plugin before setting",
        ));
    }
    apply_settings(&mut p, &a.settings)?;
    store.save(&lock, &p)?;
    Ok(())
}

/// docker's settable fields changed by `KEY=VALUE` pairs (`set`, `install`).
pub(super) fn apply_settings(p: &mut Plugin, settings: &[String]) -> anyhow::Result<()> {
    for kv in settings {
        let (key, value) = kv
            .split_once('=')
            .ok_or_else(|| daemon(format!("invalid setting {kv:?}: expected KEY=VALUE")))?;
        let (base, field) = key.split_once('.').unwrap_or((key, ""));
        let not_settable = || daemon(format!("setting {key:?} is not settable"));
        if let Some(env) = p.config.env.iter().find(|e| e.name == base) {
            if !field.is_empty() && field != "value" {
                return Err(not_settable());
            }
            if !env.settable.iter().flatten().any(|s| s == "value") {
                return Err(not_settable());
            }
            p.settings
                .env
                .retain(|e| e.split_once('=').map(|x| x.0) != Some(base));
            p.settings.env.push(format!("{base}={value}"));
        } else if let Some(m) = p.settings.mounts.iter_mut().find(|m| m.name == base) {
            if field != "source" || !m.settable.iter().flatten().any(|s| s == "source") {
                return Err(not_settable());
            }
            m.source = Some(value.to_string());
        } else if let Some(d) = p.settings.devices.iter_mut().find(|d| d.name == base) {
            if field != "path" || !d.settable.iter().flatten().any(|s| s == "path") {
                return Err(not_settable());
            }
            d.path = Some(value.to_string());
        } else if base == p.config.args.name && !base.is_empty() {
            if !p
                .config
                .args
                .settable
                .iter()
                .flatten()
                .any(|s| s == "value")
            {
                return Err(not_settable());
            }
            p.settings.args = value.split_whitespace().map(String::from).collect();
        } else {
            return Err(daemon(format!(
                "setting {key:?} not found in the plugin configuration"
            )));
        }
    }
    Ok(())
}

fn ls(paths: &Paths, a: PluginLsArgs) -> anyhow::Result<()> {
    let invalid = |f: String| Exit {
        code: 1,
        message: format!("Error response from daemon: Invalid filter '{f}'"),
    };
    let filters = Filters::parse(&a.filters, &["enabled", "capability"]).map_err(|_| {
        let key = a
            .filters
            .iter()
            .map(|f| f.split_once('=').map_or(f.as_str(), |x| x.0))
            .find(|k| !matches!(*k, "enabled" | "capability"))
            .unwrap_or_default();
        invalid(key.to_string())
    })?;
    for v in filters.values("enabled") {
        if !matches!(v.as_str(), "true" | "false") {
            return Err(invalid(format!("enabled=[{v}]")).into());
        }
    }
    let store = PluginStore::open(paths)?;
    let plugins: Vec<Plugin> = store
        .list()?
        .into_iter()
        .filter(|p| filters.any("enabled", |e| (e == "true") == p.enabled))
        .filter(|p| {
            filters.any("capability", |c| {
                p.config.interface.types.iter().any(|t| {
                    let cap = t.trim_start_matches("docker.");
                    let cap = cap.split('/').next().unwrap_or(cap);
                    cap.eq_ignore_ascii_case(c)
                })
            })
        })
        .collect();
    let id = |p: &Plugin| {
        if a.no_trunc {
            p.id.clone()
        } else {
            p.id[..12].to_string()
        }
    };
    if a.quiet {
        for p in &plugins {
            println!("{}", id(p));
        }
        return Ok(());
    }
    let rows: Vec<serde_json::Value> = plugins
        .iter()
        .map(|p| {
            serde_json::json!({
                "ID": id(p), "Name": p.name, "Description": p.config.description,
                "Enabled": p.enabled, "PluginReference": p.plugin_reference,
            })
        })
        .collect();
    const HEADERS: &[(&str, &str)] = &[
        ("ID", "ID"),
        ("Name", "NAME"),
        ("Description", "DESCRIPTION"),
        ("Enabled", "ENABLED"),
        ("PluginReference", "PLUGIN REFERENCE"),
    ];
    super::template::print_rows(a.format.as_deref(), HEADERS, &rows, || {
        let cells: Vec<Vec<String>> = plugins
            .iter()
            .map(|p| {
                let mut d = p.config.description.clone();
                if !a.no_trunc && d.chars().count() > 45 {
                    d = d.chars().take(44).collect::<String>() + "…";
                }
                vec![id(p), p.name.clone(), d, p.enabled.to_string()]
            })
            .collect();
        table(&["ID", "NAME", "DESCRIPTION", "ENABLED"], &cells)
    })
}

/// Starts the plugins whose volumes `mounts` name, when they are not running (after a
/// reboot): called before a container with such volumes starts. Nothing is read without
/// volume mounts.
pub(super) fn ensure_for_mounts(
    paths: &Paths,
    mounts: &[crate::config::MountConfig],
) -> anyhow::Result<()> {
    let names: Vec<&str> = mounts.iter().filter_map(|m| m.volume_name()).collect();
    if names.is_empty() {
        return Ok(());
    }
    let Some(store) = PluginStore::existing(paths) else {
        return Ok(());
    };
    let volumes = crate::volume::VolumeStore::open(paths)?;
    for name in names {
        let Ok(v) = volumes.get(name) else { continue };
        if v.driver == "local" {
            continue;
        }
        let p = store.get(&v.driver).map_err(daemon)?;
        if !p.enabled {
            return Err(daemon(format!(
                "error looking up volume plugin {}: plugin {} found but disabled",
                v.driver, p.name
            )));
        }
        plugin_engine::ensure_running(paths, &store, &p, Duration::from_secs(30))?;
    }
    Ok(())
}

/// Starts the plugin `driver` when it is enabled but not running (first use after a
/// reboot).
pub(super) fn ensure_driver(paths: &Paths, driver: &str) -> anyhow::Result<()> {
    let store = PluginStore::open(paths)?;
    match store.get(driver) {
        Ok(p) if p.enabled => {
            plugin_engine::ensure_running(paths, &store, &p, Duration::from_secs(30))
        }
        _ => Ok(()),
    }
}
