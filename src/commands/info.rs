//! `info` (and `system info`): what docker's `info` shows, with docker's field names where
//! the thing exists here — counts of containers and images, the storage driver and its
//! backing filesystem, cgroup version and driver, kernel, OS, CPUs, memory, the store's
//! paths — plus kiste's own: whether it runs rootless, the run root, whether the kernel
//! has overlayfs, and the network backend. Read only: nothing is locked or written.

use super::template::{Formatter, OutputFormat};
use crate::cgroups::CgroupLayout;
use crate::cli::InfoArgs;
use crate::paths::Paths;
use serde_json::{json, Value};
use std::path::Path;

/// go-units BytesSize ("%.4g" with binary units), as docker's "Total Memory".
pub fn bytes_size(size: u64) -> String {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut v = size as f64;
    let mut i = 0;
    while v >= 1024.0 && i < UNITS.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    let int_digits = if v < 1.0 {
        1
    } else {
        (v.log10().floor() as i32 + 1).max(1)
    };
    let decimals = (4 - int_digits).max(0) as usize;
    let s = format!("{v:.decimals$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    format!("{s}{}", UNITS[i])
}

/// docker's name for the filesystem under the store (its "Backing Filesystem").
fn backing_fs(dir: &Path) -> String {
    let magic = match nix::sys::statfs::statfs(dir) {
        #[allow(clippy::unnecessary_cast)]
        Ok(s) => s.filesystem_type().0 as i64,
        Err(_) => return "unknown".into(),
    };
    match magic {
        0xEF53 => "extfs",
        0x5846_5342 => "xfs",
        0x9123_683E => "btrfs",
        0x0102_1994 => "tmpfs",
        0x794C_7630 => "overlayfs",
        0x2FC1_2FC1 => "zfs",
        0x6969 => "nfs",
        0xF2F5_2010 => "f2fs",
        _ => "unknown",
    }
    .into()
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// A field of /etc/os-release, unquoted.
fn os_release(key: &str) -> String {
    let text = read("/etc/os-release");
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .map(|v| v.trim_matches('"').to_string())
        .unwrap_or_default()
}

fn mem_total() -> u64 {
    read("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn overlay_supported() -> bool {
    read("/proc/filesystems")
        .lines()
        .any(|l| l.split_whitespace().last() == Some("overlay"))
        || Path::new("/sys/module/overlay").exists()
}

/// Whether the host can limit `controller` (a v1 hierarchy, or a v2 root controller).
fn has_controller(layout: CgroupLayout, controller: &str) -> bool {
    let root = Path::new(crate::cgroups::CGROUP_ROOT);
    match layout {
        CgroupLayout::V1 => root.join(controller).is_dir(),
        CgroupLayout::V2 => read(&format!("{}/cgroup.controllers", root.display()))
            .split_whitespace()
            .any(|c| c == controller),
    }
}

/// Container counts by state; "paused" is counted by the status's serialized name.
fn container_counts(paths: &Paths) -> anyhow::Result<(usize, usize, usize, usize)> {
    let dir = paths.containers();
    let records = if dir.is_dir() {
        crate::state::ContainerStore::open(&dir)?.list()?
    } else {
        Vec::new()
    };
    let (mut running, mut paused) = (0, 0);
    for r in &records {
        if serde_json::to_value(r.state.status).ok() == Some(json!("paused")) {
            paused += 1;
        } else if r.is_running() {
            running += 1;
        }
    }
    Ok((
        records.len(),
        running,
        paused,
        records.len() - running - paused,
    ))
}

/// The whole of `info`, as docker's JSON (`info --format '{{json .}}'`).
pub fn info_value(paths: &Paths) -> anyhow::Result<Value> {
    let (total, running, paused, stopped) = container_counts(paths)?;
    let images = crate::image::ImageStore::open(&paths.images())?
        .list()?
        .len();
    let layout = crate::cgroups::detect();
    let uts = nix::sys::utsname::uname()?;
    let text = |s: &std::ffi::OsStr| s.to_string_lossy().into_owned();
    let overlay = overlay_supported();
    let mut security = vec![json!("name=seccomp,profile=default")];
    if paths.rootless {
        security.push(json!("name=rootless"));
    }
    let ncpu = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut v = json!({
        "ID": "",
        "Containers": total,
        "ContainersRunning": running,
        "ContainersPaused": paused,
        "ContainersStopped": stopped,
        "Images": images,
        "Driver": "overlay",
        "DriverStatus": [
            ["Backing Filesystem", backing_fs(&paths.root)],
            ["Supports d_type", "true"],
            ["Native Overlay Diff", overlay.to_string()],
            ["userxattr", paths.rootless.to_string()],
        ],
        "Plugins": {
            "Volume": ["local"],
            "Network": ["bridge", "host", "none"],
            "Log": ["json-file"],
        },
        "MemoryLimit": has_controller(layout, "memory"),
        "SwapLimit": has_controller(layout, "memory"),
        "CpuCfsPeriod": has_controller(layout, "cpu"),
        "CpuCfsQuota": has_controller(layout, "cpu"),
        "CPUShares": has_controller(layout, "cpu"),
        "CPUSet": has_controller(layout, "cpuset"),
        "PidsLimit": has_controller(layout, "pids"),
    });
    let host = json!({
        "IPv4Forwarding": read("/proc/sys/net/ipv4/ip_forward").trim() == "1",
        "Debug": false,
        "LoggingDriver": "json-file",
        "CgroupDriver": "cgroupfs",
        "CgroupVersion": match layout { CgroupLayout::V1 => "1", CgroupLayout::V2 => "2" },
        "KernelVersion": text(uts.release()),
        "OperatingSystem": os_release("PRETTY_NAME"),
        "OSVersion": os_release("VERSION_ID"),
        "OSType": "linux",
        "Architecture": text(uts.machine()),
        "NCPU": ncpu,
        "MemTotal": mem_total(),
        "DockerRootDir": paths.root.display().to_string(),
        "Name": text(uts.nodename()),
        "Labels": [],
        "ExperimentalBuild": false,
        "ServerVersion": env!("CARGO_PKG_VERSION"),
        "Runtimes": {"kiste": {"path": "kiste"}},
        "DefaultRuntime": "kiste",
        "LiveRestoreEnabled": false,
        // No swarm without a daemon: scripts that ask get docker's "inactive".
        "Swarm": {"NodeID": "", "NodeAddr": "", "LocalNodeState": "inactive",
                  "ControlAvailable": false, "Error": "", "RemoteManagers": null},
        "SecurityOptions": security,
        "Warnings": [],
        "ClientInfo": {"Version": env!("CARGO_PKG_VERSION"), "Debug": false},
        // kiste's own fields: there is no daemon, so these describe this binary and store.
        "Rootless": paths.rootless,
        "RunRoot": paths.runroot.display().to_string(),
        "OverlaySupported": overlay,
        "NetworkBackend": "netlink+nftables",
    });
    // docker's remaining fields, so that templates written for docker find them.
    let env = |names: [&str; 2]| {
        names
            .iter()
            .find_map(|n| std::env::var(n).ok())
            .unwrap_or_default()
    };
    let docker_fields = json!({
        "SystemTime": crate::image::now_rfc3339(),
        "OomKillDisable": matches!(layout, CgroupLayout::V1) && has_controller(layout, "memory"),
        "KernelMemory": false,
        "KernelMemoryTCP": false,
        "Isolation": "",
        "InitBinary": "",
        "InitCommit": {"ID": ""},
        "RuncCommit": {"ID": ""},
        "ContainerdCommit": {"ID": ""},
        "CDISpecDirs": null,
        "GenericResources": null,
        "NEventsListener": 0,
        "NFd": std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count()),
        "IndexServerAddress": "https://index.docker.io/v1/",
        "HttpProxy": env(["HTTP_PROXY", "http_proxy"]),
        "HttpsProxy": env(["HTTPS_PROXY", "https_proxy"]),
        "NoProxy": env(["NO_PROXY", "no_proxy"]),
    });
    if let (Some(all), Value::Object(more)) = (v.as_object_mut(), docker_fields) {
        all.extend(more);
    }
    if let (Some(all), Value::Object(more)) = (v.as_object_mut(), host) {
        all.extend(more);
    }
    Ok(v)
}

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The value that makes `text`'s line a bare name (a security option), without a colon.
const NAME_ONLY: &str = "\0";

/// docker's text layout: the client block, then the "server" (here: this store).
fn text(v: &Value) -> String {
    let mut out = String::new();
    let mut line = |indent: usize, k: &str, val: &str| {
        if k.is_empty() {
            out.push('\n');
        } else if val == NAME_ONLY {
            out.push_str(&format!("{:indent$}{k}\n", ""));
        } else {
            out.push_str(&format!("{:indent$}{k}: {val}\n", ""));
        }
    };
    let f = |k: &str| s(&v[k]);
    out_client(&mut line, v);
    line(0, "Server", "");
    line(1, "Containers", &f("Containers"));
    line(2, "Running", &f("ContainersRunning"));
    line(2, "Paused", &f("ContainersPaused"));
    line(2, "Stopped", &f("ContainersStopped"));
    line(1, "Images", &f("Images"));
    line(1, "Server Version", &f("ServerVersion"));
    line(1, "Storage Driver", &f("Driver"));
    for pair in v["DriverStatus"].as_array().into_iter().flatten() {
        line(2, &s(&pair[0]), &s(&pair[1]));
    }
    line(1, "Logging Driver", &f("LoggingDriver"));
    line(1, "Cgroup Driver", &f("CgroupDriver"));
    line(1, "Cgroup Version", &f("CgroupVersion"));
    line(1, "Plugins", "");
    for kind in ["Volume", "Network", "Log"] {
        let names: Vec<String> = v["Plugins"][kind]
            .as_array()
            .into_iter()
            .flatten()
            .map(s)
            .collect();
        line(2, kind, &names.join(" "));
    }
    line(1, "Network Backend", &f("NetworkBackend"));
    line(1, "Swarm", &s(&v["Swarm"]["LocalNodeState"]));
    line(1, "Default Runtime", &f("DefaultRuntime"));
    line(1, "Security Options", "");
    for opt in v["SecurityOptions"].as_array().into_iter().flatten() {
        // "name=seccomp,profile=default" reads as "seccomp" then " Profile: default".
        let mut parts = s(opt).split(',').map(String::from).collect::<Vec<_>>();
        let name = parts.remove(0);
        line(2, name.trim_start_matches("name="), NAME_ONLY);
        for p in parts {
            if let Some((k, val)) = p.split_once('=') {
                let mut key = k.to_string();
                key[..1].make_ascii_uppercase();
                line(3, &key, val);
            }
        }
    }
    line(1, "Kernel Version", &f("KernelVersion"));
    line(1, "Operating System", &f("OperatingSystem"));
    line(1, "OSType", &f("OSType"));
    line(1, "Architecture", &f("Architecture"));
    line(1, "CPUs", &f("NCPU"));
    line(
        1,
        "Total Memory",
        &bytes_size(v["MemTotal"].as_u64().unwrap_or(0)),
    );
    line(1, "Name", &f("Name"));
    line(1, "Docker Root Dir", &f("DockerRootDir"));
    line(1, "Run Root", &f("RunRoot"));
    line(1, "Rootless", &f("Rootless"));
    line(1, "Overlay Supported", &f("OverlaySupported"));
    line(1, "Debug Mode", &f("Debug"));
    line(1, "Experimental", &f("ExperimentalBuild"));
    line(1, "Live Restore Enabled", &f("LiveRestoreEnabled"));
    // docker prints "Key:" with nothing after it for a heading; drop the trailing space.
    out.lines()
        .map(|l| l.trim_end())
        .collect::<Vec<_>>()
        .join("\n")
}

fn out_client(line: &mut impl FnMut(usize, &str, &str), v: &Value) {
    line(0, "Client", "");
    line(1, "Version", &s(&v["ClientInfo"]["Version"]));
    line(1, "Debug Mode", &s(&v["ClientInfo"]["Debug"]));
    line(0, "", "");
}

pub fn info(paths: &Paths, args: InfoArgs) -> anyhow::Result<()> {
    let v = info_value(paths)?;
    match OutputFormat::parse(args.format.as_deref()) {
        OutputFormat::Json => println!("{}", serde_json::to_string(&v)?),
        OutputFormat::Template { source, .. } => {
            println!("{}", Formatter::new(&source, false, false)?.render(&v)?)
        }
        OutputFormat::Default => println!("{}", text(&v)),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn total_memory_reads_like_go_units() {
        assert_eq!(bytes_size(25_275_613_184), "23.54GiB");
        assert_eq!(bytes_size(1024), "1KiB");
        assert_eq!(bytes_size(1536), "1.5KiB");
        assert_eq!(bytes_size(512), "512B");
    }
}
