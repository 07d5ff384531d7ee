//! The fixture volume plugin (tests/fixtures/volume-plugin, a std-only crate built static
//! with musl) and a plugin DIR around it, for the plugin and volume-driver tests.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The fixture plugin's binary (built once per test binary run, into target/).
pub fn fixture_binary() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = root.join("target/fixture-volume-plugin");
    let status = Command::new("cargo")
        .args([
            "build",
            "-q",
            "--release",
            "--target",
            "x86_64-unknown-linux-musl",
        ])
        .arg("--manifest-path")
        .arg(root.join("tests/fixtures/volume-plugin/Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target)
        .status()
        .ok()?;
    status
        .success()
        .then(|| target.join("x86_64-unknown-linux-musl/release/volume-plugin"))
}

/// A plugin DIR (config.json + rootfs) whose plugin logs its calls into `calls/log`.
pub fn plugin_dir(base: &Path, binary: &Path) -> (PathBuf, PathBuf) {
    let dir = base.join("plugin");
    let calls = base.join("calls");
    for d in ["rootfs/bin", "rootfs/run/docker/plugins", "rootfs/data"] {
        std::fs::create_dir_all(dir.join(d)).unwrap();
    }
    std::fs::create_dir_all(&calls).unwrap();
    std::fs::copy(binary, dir.join("rootfs/bin/volume-plugin")).unwrap();
    let config = serde_json::json!({
        "Description": "kiste test volume plugin",
        "Documentation": "https://example.invalid/kvol",
        "Interface": {"Types": ["docker.volumedriver/1.0"], "Socket": "kvol.sock"},
        "Entrypoint": ["/bin/volume-plugin", "/run/docker/plugins/kvol.sock", "/data", "/calls/log"],
        "Env": [{"Name": "DEBUG", "Description": "debug", "Settable": ["value"], "Value": "0"}],
        "Network": {"Type": "host"},
        "PropagatedMount": "/data",
        "Mounts": [{"Name": "calls", "Description": "call log", "Source": calls,
                    "Destination": "/calls", "Type": "bind", "Options": ["rbind"],
                    "Settable": ["source"]}],
        "Linux": {"Capabilities": ["CAP_SYS_ADMIN"]}
    });
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    (dir, calls.join("log"))
}

/// The calls that change or use a volume (Create, Mount, Unmount, Remove), in order:
/// the look-ups (Get, List, Capabilities) and probes differ between clients.
pub fn volume_calls(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| {
            ["Create", "Mount", "Unmount", "Remove"]
                .iter()
                .any(|m| l.starts_with(&format!("VolumeDriver.{m} ")))
        })
        .map(String::from)
        .collect()
}
