//! Dynamic completion candidates, asked for at tab time through clap_complete's
//! `COMPLETE=<shell> kiste -- …` protocol: container names by state, image references,
//! network and volume names, signal names and `--format` fields. They only read the store (the container records
//! and `images.json`), never lock, repair or create anything, so a tab stays fast and
//! harmless.

use crate::paths::Paths;
use crate::state::{ContainerRecord, ContainerStore};
use clap_complete::engine::CompletionCandidate;
use std::path::PathBuf;

/// `--root`/`--runroot` as the command line being completed gives them (the completer
/// sees it as its own argv), else as the environment does.
fn store_paths() -> Paths {
    let args: Vec<String> = std::env::args().collect();
    let flag = |name: &str, env: &str| -> Option<PathBuf> {
        let long = format!("--{name}");
        let eq = format!("--{name}=");
        let mut found = None;
        for (i, a) in args.iter().enumerate() {
            if *a == long {
                found = args.get(i + 1).cloned();
            } else if let Some(v) = a.strip_prefix(&eq) {
                found = Some(v.to_string());
            }
        }
        found
            .or_else(|| std::env::var(env).ok())
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
    };
    Paths::resolve(flag("root", "KISTE_ROOT"), flag("runroot", "KISTE_RUNROOT"))
}

/// Every container record, read without a lock (records are replaced by rename).
fn records() -> Vec<ContainerRecord> {
    let dir = store_paths().containers();
    if !dir.is_dir() {
        return Vec::new(); // opening would create it
    }
    ContainerStore::open(&dir)
        .and_then(|s| s.list())
        .unwrap_or_default()
}

fn names(pred: impl Fn(&ContainerRecord) -> bool) -> Vec<CompletionCandidate> {
    records()
        .into_iter()
        .filter(|r| pred(r))
        .map(|r| CompletionCandidate::new(r.name.clone()).help(Some(r.config.image.clone().into())))
        .collect()
}

/// For stop, kill, exec, attach.
pub fn running_containers() -> Vec<CompletionCandidate> {
    names(|r| r.is_running())
}

/// For start.
pub fn stopped_containers() -> Vec<CompletionCandidate> {
    names(|r| !r.is_running())
}

/// For unpause: running containers whose cgroup is frozen.
pub fn paused_containers() -> Vec<CompletionCandidate> {
    names(|r| r.is_running() && r.state.paused)
}

/// For rm, logs, export.
pub fn all_containers() -> Vec<CompletionCandidate> {
    names(|_| true)
}

#[derive(serde::Deserialize)]
struct ImageIndex {
    images: Vec<IndexedImage>,
}

#[derive(serde::Deserialize)]
struct IndexedImage {
    #[serde(default)]
    tags: Vec<String>,
}

/// Every tag in the image store's `images.json` (read as the image store writes it).
pub fn images() -> Vec<CompletionCandidate> {
    let path = store_paths().images().join("images.json");
    let Ok(bytes) = std::fs::read(path) else {
        return Vec::new();
    };
    let Ok(index) = serde_json::from_slice::<ImageIndex>(&bytes) else {
        return Vec::new();
    };
    index
        .images
        .into_iter()
        .flat_map(|i| i.tags)
        .map(CompletionCandidate::new)
        .collect()
}

/// For inspect: containers and images.
pub fn containers_and_images() -> Vec<CompletionCandidate> {
    let mut all = all_containers();
    all.extend(images());
    all
}

/// Signal names as `kill -s` takes them.
pub fn signals() -> Vec<CompletionCandidate> {
    [
        "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2",
        "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG",
        "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS",
    ]
    .into_iter()
    .map(CompletionCandidate::new)
    .collect()
}

fn format_candidates(fields: &[&str]) -> Vec<CompletionCandidate> {
    ["table", "json"]
        .into_iter()
        .map(String::from)
        .chain(fields.iter().map(|f| format!("{{{{.{f}}}}}")))
        .map(CompletionCandidate::new)
        .collect()
}

/// `ps --format`: docker's container fields.
pub fn ps_format() -> Vec<CompletionCandidate> {
    format_candidates(&[
        "ID",
        "Image",
        "Command",
        "CreatedAt",
        "RunningFor",
        "Ports",
        "State",
        "Status",
        "Size",
        "Names",
        "Labels",
        "Mounts",
        "Networks",
        "LocalVolumes",
    ])
}

/// `images --format`: docker's image fields.
pub fn images_format() -> Vec<CompletionCandidate> {
    format_candidates(&[
        "ID",
        "Repository",
        "Tag",
        "Digest",
        "CreatedSince",
        "CreatedAt",
        "Size",
        "Containers",
        "SharedSize",
        "UniqueSize",
        "VirtualSize",
    ])
}

/// `inspect --format`: the top-level fields of docker's inspect JSON.
pub fn inspect_format() -> Vec<CompletionCandidate> {
    format_candidates(&[
        "Id",
        "Name",
        "Created",
        "State.Status",
        "State.Pid",
        "State.ExitCode",
        "Image",
        "Config",
        "HostConfig",
        "NetworkSettings",
        "RepoTags",
        "Os",
        "Architecture",
    ])
}

/// `ps --filter`: the keys (and the values of `status`).
pub fn ps_filters() -> Vec<CompletionCandidate> {
    [
        "id=",
        "name=",
        "label=",
        "ancestor=",
        "exited=",
        "before=",
        "since=",
        "status=created",
        "status=running",
        "status=exited",
    ]
    .into_iter()
    .map(CompletionCandidate::new)
    .collect()
}

/// `images --filter`: the keys (and the values of `dangling`).
pub fn images_filters() -> Vec<CompletionCandidate> {
    [
        "dangling=true",
        "dangling=false",
        "reference=",
        "label=",
        "before=",
        "since=",
    ]
    .into_iter()
    .map(CompletionCandidate::new)
    .collect()
}

/// `info --format`: the top-level fields of `info`'s JSON.
pub fn info_format() -> Vec<CompletionCandidate> {
    format_candidates(&[
        "Containers",
        "ContainersRunning",
        "ContainersPaused",
        "ContainersStopped",
        "Images",
        "Driver",
        "CgroupDriver",
        "CgroupVersion",
        "KernelVersion",
        "OperatingSystem",
        "Architecture",
        "NCPU",
        "MemTotal",
        "DockerRootDir",
        "RunRoot",
        "Rootless",
        "NetworkBackend",
        "ServerVersion",
    ])
}

/// `system df --format`: the summary's fields.
pub fn df_format() -> Vec<CompletionCandidate> {
    format_candidates(&["Type", "TotalCount", "Active", "Size", "Reclaimable"])
}

/// The networks the store defines (one `networks/NAME.json` each under the root).
fn created_networks() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(store_paths().root.join("networks"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let file = e.file_name().to_string_lossy().into_owned();
            file.strip_suffix(".json")
                .filter(|n| !n.starts_with('.'))
                .map(String::from)
        })
        .collect();
    crate::sort::sort(&mut names);
    names
}

fn candidates(names: impl IntoIterator<Item = String>) -> Vec<CompletionCandidate> {
    names.into_iter().map(CompletionCandidate::new).collect()
}

/// `--network`: the built-in modes, then the networks the store defines, then
/// `container:` for another's namespace.
pub fn networks() -> Vec<CompletionCandidate> {
    let mut names: Vec<String> = ["bridge", "host", "none", "private"]
        .into_iter()
        .map(String::from)
        .collect();
    names.extend(created_networks());
    names.push("container:".into());
    candidates(names)
}

/// `network inspect`: every network `network ls` lists.
pub fn listed_networks() -> Vec<CompletionCandidate> {
    let builtin = ["bridge", "host", "none"].into_iter().map(String::from);
    candidates(builtin.chain(created_networks()))
}

/// `network connect/disconnect`: the bridge networks.
pub fn bridge_networks() -> Vec<CompletionCandidate> {
    candidates(std::iter::once("bridge".to_string()).chain(created_networks()))
}

/// `network rm`: the networks that can be removed (the created ones).
pub fn removable_networks() -> Vec<CompletionCandidate> {
    candidates(created_networks())
}

/// The store's volume names (a directory each under `volumes/`; dot names are removals
/// under way).
fn volume_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(store_paths().root.join("volumes"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    crate::sort::sort(&mut names);
    names
}

/// `volume inspect/rm`.
pub fn volumes() -> Vec<CompletionCandidate> {
    candidates(volume_names())
}

/// `-v`: before the first `:`, a volume name (offered with its `:`) or a host path;
/// after it, nothing to offer (the container's paths are not known here).
pub fn volume_specs(current: &std::ffi::OsStr) -> Vec<CompletionCandidate> {
    use clap_complete::engine::ValueCompleter;
    let now = current.to_string_lossy();
    if now.contains(':') {
        return Vec::new();
    }
    if now.starts_with(['/', '.', '~']) {
        return clap_complete::engine::PathCompleter::dir().complete(current);
    }
    volume_names()
        .into_iter()
        .filter(|n| n.starts_with(now.as_ref()))
        .map(|n| CompletionCandidate::new(format!("{n}:")))
        .collect()
}

/// `--restart`: docker's policies (`on-failure` also takes `:N`, the retry count).
pub fn restart_policies() -> Vec<CompletionCandidate> {
    ["no", "on-failure", "always", "unless-stopped"]
        .into_iter()
        .map(CompletionCandidate::new)
        .collect()
}

/// `version --format`: the client's fields.
pub fn version_format() -> Vec<CompletionCandidate> {
    format_candidates(&[
        "Client.Version",
        "Client.GitCommit",
        "Client.Os",
        "Client.Arch",
        "Client.BuildTime",
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(c: Vec<CompletionCandidate>) -> Vec<String> {
        c.iter()
            .map(|c| c.get_value().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn restart_policies_are_dockers() {
        assert_eq!(
            values(restart_policies()),
            ["no", "on-failure", "always", "unless-stopped"]
        );
    }
}
