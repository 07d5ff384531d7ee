//! `plugin create NAME DIR`: DIR's `config.json` and `rootfs/` become a plugin of the
//! store. DIR is the user's and hostile: it is read only through `crate::fs` (resolved
//! inside DIR, symlinks never followed out of it), and everything is built in a temp
//! dir of the store that is renamed into place whole, so a refused config or a failed
//! copy leaves nothing behind.

use crate::plugin::{Plugin, PluginConfig, PluginLock, PluginRootfs, PluginStore};
use crate::volume::{copy_children, Ownership};
use sha2::Digest;
use std::path::Path;

/// The largest config.json read.
const CONFIG_LIMIT: u64 = 1 << 20;

pub fn create_from_dir(
    store: &PluginStore,
    lock: &PluginLock,
    name: &str,
    dir: &Path,
    compress: bool,
) -> anyhow::Result<Plugin> {
    let root = crate::fs::Root::open(dir)
        .map_err(|e| anyhow::anyhow!("cannot open plugin directory {}: {e}", dir.display()))?;
    let data = root
        .read("config.json", CONFIG_LIMIT)
        .map_err(|e| anyhow::anyhow!("open {}/config.json: {e}", dir.display()))?;
    let config: PluginConfig = serde_json::from_slice(&data)
        .map_err(|e| anyhow::anyhow!("invalid config.json in {}: {e}", dir.display()))?;
    config.validate().map_err(anyhow::Error::msg)?;
    match root.lstat("rootfs") {
        Ok(st) if st.is_dir() => {}
        Ok(_) => anyhow::bail!("{}/rootfs is not a directory", dir.display()),
        Err(e) => anyhow::bail!("{}/rootfs: {e}", dir.display()),
    }
    let id = crate::state::new_id();
    let tmp = store.plugin_dir(&format!(".tmp-{id}"));
    let _held: &PluginLock = lock;
    let built = build(store, &root, &tmp, &id, name, config, compress);
    match built {
        Ok(p) => Ok(p),
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            Err(e)
        }
    }
}

fn build(
    store: &PluginStore,
    root: &crate::fs::Root,
    tmp: &Path,
    id: &str,
    name: &str,
    mut config: PluginConfig,
    compress: bool,
) -> anyhow::Result<Plugin> {
    let _ = std::fs::remove_dir_all(tmp);
    crate::paths::make_dir(tmp, crate::paths::PRIVATE)?;
    let rootfs = tmp.join("rootfs");
    std::fs::create_dir(&rootfs)?;
    let from = root.dir("rootfs")?;
    let to = crate::fs::Root::open(&rootfs)?.dir("")?;
    copy_children(&from, &to, Ownership::Keep)
        .map_err(|e| anyhow::anyhow!("cannot copy the plugin's rootfs: {e}"))?;
    // The rootfs as one layer: its digest is the diff_id docker records. With
    // --compress the gzip layer `push` sends is kept too, made in the same pass.
    let gz = if compress {
        let file = std::fs::File::create(tmp.join(crate::plugin::LAYER_GZ))?;
        Some(flate2::write::GzEncoder::new(
            file,
            flate2::Compression::default(),
        ))
    } else {
        None
    };
    let tee = HashWriter(sha2::Sha256::new(), gz);
    let tee = crate::image::layer::pack::write_layer_tar(
        &rootfs,
        tee,
        None,
        crate::image::layer::OverlayXattrs::for_current_user(),
    )?;
    if let Some(gz) = tee.1 {
        gz.finish()?.sync_all()?;
    }
    let diff_id = format!("sha256:{}", crate::image::hex(&tee.0.finalize()));
    config.docker_version = format!("kiste {}", env!("CARGO_PKG_VERSION"));
    config.rootfs = Some(PluginRootfs {
        diff_ids: vec![diff_id],
        kind: "layers".into(),
    });
    let plugin = Plugin {
        settings: config.initial_settings(),
        config,
        enabled: false,
        id: id.to_string(),
        name: name.to_string(),
        plugin_reference: name.to_string(),
    };
    let record = serde_json::to_vec_pretty(&plugin)?;
    crate::paths::write_atomic(&tmp.join("plugin.json"), &record, &Default::default())?;
    std::fs::rename(tmp, store.plugin_dir(id))?;
    Ok(plugin)
}

/// The layer's bytes into the hash and, with --compress, the gzip file.
struct HashWriter(
    sha2::Sha256,
    Option<flate2::write::GzEncoder<std::fs::File>>,
);

impl std::io::Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(gz) = &mut self.1 {
            gz.write_all(buf)?;
        }
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
