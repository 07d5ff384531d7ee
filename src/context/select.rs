//! Which store a command works on: explicit `--root`/`--runroot` (flags or
//! `KISTE_ROOT`/`KISTE_RUNROOT`) win, each for its own half; the rest comes from the context
//! named by `--context/-c`, then `KISTE_CONTEXT`, then `DOCKER_CONTEXT`, then
//! `currentContext` in kiste's `config.json`, else "default" (kiste's default store).
//! Cheap by design: with both paths explicit nothing is read, and without any context
//! the only system call is the one failed open of `config.json`.

use super::{ContextError, ContextStore, DEFAULT};
use crate::paths::Paths;
use std::path::PathBuf;

/// The global flags that choose a store, as parsed.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub root: Option<PathBuf>,
    pub runroot: Option<PathBuf>,
    pub context: Option<String>,
}

/// The context's name as `--context`, the environment and `config.json` choose it.
pub fn chosen_name(store: &ContextStore, flag: Option<&str>) -> Result<String, ContextError> {
    if let Some(name) = flag.filter(|n| !n.is_empty()) {
        return Ok(name.to_string());
    }
    for var in ["KISTE_CONTEXT", "DOCKER_CONTEXT"] {
        if let Some(v) = std::env::var_os(var).filter(|v| !v.is_empty()) {
            return Ok(v.to_string_lossy().into_owned());
        }
    }
    Ok(store.current()?.unwrap_or_else(|| DEFAULT.to_string()))
}

/// The store a command works on (see the module's note for the order).
pub fn store_paths(sel: Selection) -> Result<Paths, ContextError> {
    if sel.root.is_some() && sel.runroot.is_some() {
        return Ok(Paths::resolve(sel.root, sel.runroot));
    }
    let store = ContextStore::open();
    let name = chosen_name(&store, sel.context.as_deref())?;
    if name == DEFAULT {
        return Ok(Paths::resolve(sel.root, sel.runroot));
    }
    let meta = store.get(&name)?;
    let endpoint = meta.store()?;
    Ok(Paths::resolve(
        sel.root.or_else(|| endpoint.root.clone()),
        sel.runroot.or_else(|| endpoint.runroot.clone()),
    ))
}
