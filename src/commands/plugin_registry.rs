//! `plugin push`, `install` and `upgrade`: a plugin to and from a registry (see
//! `registry::plugin`). `install` shows the privileges the plugin asks for and, as
//! docker's CLI does, needs them granted: `--grant-all-permissions`, or a "y" on a
//! terminal; without a terminal it refuses.

use super::plugin::{apply_settings, daemon};
use super::plugin_engine;
use super::Exit;
use crate::cli::{PluginInstallArgs, PluginPushArgs, PluginUpgradeArgs};
use crate::image::layer::{pack::write_layer_tar, unpack::unpack_layer, OverlayXattrs};
use crate::image::Reference;
use crate::paths::Paths;
use crate::plugin::{full_name, Plugin, PluginConfig, PluginStore};
use std::io::{IsTerminal, Write};
use std::time::Duration;

pub fn push(paths: &Paths, a: PluginPushArgs) -> anyhow::Result<()> {
    super::refused::content_trust("plugin push", a.trust.disable_content_trust)?;
    let store = PluginStore::open(paths)?;
    let p = store.get(&a.name).map_err(daemon)?;
    let dest = Reference::parse(&p.name).map_err(daemon)?;
    // The layer kept by `create --compress`, or made now.
    let layer = match std::fs::read(store.layer_gz(&p.id)) {
        Ok(kept) => kept,
        Err(_) => {
            let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            write_layer_tar(
                &store.rootfs(&p.id),
                gz,
                None,
                OverlayXattrs::for_current_user(),
            )?
            .finish()?
        }
    };
    let config = serde_json::to_vec(&p.config)?;
    println!(
        "The push refers to repository [{}/{}]",
        dest.domain(),
        dest.repository()
    );
    let digest = crate::registry::plugin::push_plugin(&dest, &config, &[layer]).map_err(daemon)?;
    let tag = dest.tag.clone().unwrap_or_else(|| "latest".into());
    println!("{tag}: digest: {digest}");
    Ok(())
}

/// Asks for the privileges: granted by the flag, or by "y" on a terminal.
fn grant(reference: &str, config: &PluginConfig, all: bool) -> anyhow::Result<()> {
    let privileges = config.privileges();
    if all || privileges.is_empty() {
        return Ok(());
    }
    let mut out = std::io::stdout();
    writeln!(
        out,
        "Plugin {reference:?} is requesting the following privileges:"
    )?;
    for (name, values) in &privileges {
        writeln!(out, " - {name}: [{}]", values.join(" "))?;
    }
    write!(out, "Do you grant the above permissions? [y/N] ")?;
    out.flush()?;
    let mut answer = String::new();
    if std::io::stdin().is_terminal() {
        std::io::stdin().read_line(&mut answer)?;
    }
    if matches!(answer.trim(), "y" | "Y" | "yes") {
        return Ok(());
    }
    writeln!(out)?;
    Err(Exit {
        code: 1,
        message: "plugin privileges have not been granted".into(),
    }
    .into())
}

/// The plugin `reference` fetched and unpacked into a new store entry named `name`.
fn fetch(
    store: &PluginStore,
    reference: &str,
    name: &str,
    grant_all: bool,
) -> anyhow::Result<Plugin> {
    let r = Reference::parse(reference).map_err(daemon)?;
    let pulled = crate::registry::plugin::pull_plugin(&r).map_err(daemon)?;
    let config: PluginConfig = serde_json::from_slice(&pulled.config)
        .map_err(|e| daemon(format!("invalid plugin config of {reference}: {e}")))?;
    config.validate().map_err(daemon)?;
    grant(reference, &config, grant_all)?;
    let id = crate::state::new_id();
    let tmp = store.plugin_dir(&format!(".tmp-{id}"));
    let built = (|| -> anyhow::Result<Plugin> {
        crate::paths::make_dir(&tmp, crate::paths::PRIVATE)?;
        let rootfs = tmp.join("rootfs");
        std::fs::create_dir(&rootfs)?;
        for (i, layer) in pulled.layers.iter().enumerate() {
            let reader = flate2::read::GzDecoder::new(layer.as_slice());
            unpack_layer(
                reader,
                &rootfs,
                &format!("{reference} layer {i}"),
                OverlayXattrs::for_current_user(),
            )?;
        }
        let plugin = Plugin {
            settings: config.initial_settings(),
            config,
            enabled: false,
            id: id.clone(),
            name: name.to_string(),
            plugin_reference: full_name(reference),
        };
        crate::paths::write_atomic(
            &tmp.join("plugin.json"),
            &serde_json::to_vec_pretty(&plugin)?,
            &Default::default(),
        )?;
        std::fs::rename(&tmp, store.plugin_dir(&id))?;
        Ok(plugin)
    })();
    if built.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    built
}

pub fn install(paths: &Paths, a: PluginInstallArgs) -> anyhow::Result<()> {
    super::refused::content_trust("plugin install", a.trust.disable_content_trust)?;
    let store = PluginStore::open(paths)?;
    let name = full_name(a.alias.as_deref().unwrap_or(&a.reference));
    if store.get(&name).is_ok() {
        return Err(daemon(format!("plugin {name:?} already exists")));
    }
    let mut p = fetch(&store, &a.reference, &name, a.grant_all_permissions)?;
    let lock = store.lock()?;
    let settled = apply_settings(&mut p, &a.settings).and_then(|()| {
        if !a.disable {
            plugin_engine::ensure_running(paths, &store, &p, Duration::from_secs(30))?;
            p.enabled = true;
        }
        Ok(store.save(&lock, &p)?)
    });
    if let Err(e) = settled {
        let _ = plugin_engine::stop(paths, &p);
        let _ = store.remove(&lock, &p.id);
        return Err(e);
    }
    println!("Installed plugin {}", a.reference);
    Ok(())
}

/// `upgrade PLUGIN [REMOTE]`: a disabled plugin's rootfs and config replaced by
/// REMOTE's (its own reference by default), keeping its id, name and settings.
pub fn upgrade(paths: &Paths, a: PluginUpgradeArgs) -> anyhow::Result<()> {
    super::refused::content_trust("plugin upgrade", a.trust.disable_content_trust)?;
    let store = PluginStore::open(paths)?;
    let old = store.get(&a.name).map_err(daemon)?;
    if old.enabled {
        return Err(daemon(format!(
            "plugin must be disabled before upgrading: {}",
            old.name
        )));
    }
    let remote = a
        .remote
        .clone()
        .unwrap_or_else(|| old.plugin_reference.clone());
    let remote_name = full_name(&remote);
    let base = |n: &str| {
        n.rsplit_once(':')
            .map_or(n.to_string(), |x| x.0.to_string())
    };
    if !a.skip_remote_check && base(&remote_name) != base(&old.plugin_reference) {
        return Err(Exit {
            code: 1,
            message: format!(
                "Remote host {remote_name} does not match the plugin's remote {}: use --skip-remote-check to upgrade anyway",
                old.plugin_reference
            ),
        }
        .into());
    }
    let new = fetch(
        &store,
        &remote,
        &format!(".upgrade-{}", old.id),
        a.grant_all_permissions,
    )?;
    let lock = store.lock()?;
    // The new rootfs moves into the old entry; the record keeps id, name and settings.
    let old_rootfs = store.rootfs(&old.id);
    let gone = store.plugin_dir(&old.id).join("rootfs.old");
    std::fs::rename(&old_rootfs, &gone)?;
    std::fs::rename(store.rootfs(&new.id), &old_rootfs)?;
    let mut p = old.clone();
    p.config = new.config;
    p.plugin_reference = remote_name;
    store.save(&lock, &p)?;
    let _ = std::fs::remove_dir_all(&gone);
    store.remove(&lock, &new.id)?;
    println!("Upgraded plugin {} to {remote}", old.name);
    Ok(())
}
