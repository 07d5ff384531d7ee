//! Which store a command works on: explicit `--root`/`--runroot` (flags or
//! `KISTE_ROOT`/`KISTE_RUNROOT`) win, each for its own half; the rest comes from the context
//! named by `--context/-c`, then `KISTE_CONTEXT`, then `DOCKER_CONTEXT`, then
//! `currentContext` in kiste's `config.json`, else "default" (kiste's default store). A
//! context with an ssh host makes the store a remote one.
//! Cheap by design: with both paths explicit nothing is read, and without any context
//! the only system call is the one failed open of `config.json`.

use super::{ContextError, ContextStore, SshHost, DEFAULT};
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

/// A store on another machine, reached over ssh (see `ssh`).
#[derive(Debug, Clone)]
pub struct Remote {
    pub ssh: SshHost,
    pub root: Option<PathBuf>,
    pub runroot: Option<PathBuf>,
}

/// Where a command's store is.
#[derive(Debug, Clone)]
pub enum Store {
    Local(Paths),
    Remote(Remote),
}

/// The store a command works on (see the module's note for the order).
pub fn store(sel: Selection) -> Result<Store, ContextError> {
    if sel.root.is_some() && sel.runroot.is_some() {
        return Ok(Store::Local(Paths::resolve(sel.root, sel.runroot)));
    }
    let contexts = ContextStore::open();
    let name = chosen_name(&contexts, sel.context.as_deref())?;
    if name == DEFAULT {
        return Ok(Store::Local(Paths::resolve(sel.root, sel.runroot)));
    }
    let meta = contexts.get(&name)?;
    let endpoint = meta.store()?;
    let root = sel.root.or_else(|| endpoint.root.clone());
    let runroot = sel.runroot.or_else(|| endpoint.runroot.clone());
    Ok(match &endpoint.host {
        Some(ssh) => Store::Remote(Remote {
            ssh: ssh.clone(),
            root,
            runroot,
        }),
        None => Store::Local(Paths::resolve(root, runroot)),
    })
}
