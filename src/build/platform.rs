//! The build's target platform (`--platform`, `FROM --platform`): which entry of a
//! multi-platform base image a stage starts from, and whether a RUN step of that platform
//! can execute here. kiste runs RUN steps natively; a foreign platform's binaries run only
//! where the kernel has a binfmt_misc handler for them (qemu-user-static registers one),
//! else the step is refused with one line, before anything is started. COPY, ADD and the
//! config instructions need no emulation, so such a build without RUN works anywhere.

use crate::image::config::ImageConfig;
use crate::registry::Platform;
use std::path::Path;

/// `os/arch[/variant]` as docker prints it.
pub(super) fn show(p: &Platform) -> String {
    match &p.variant {
        Some(v) => format!("{}/{}/{v}", p.os, p.architecture),
        None => format!("{}/{}", p.os, p.architecture),
    }
}

/// Whether an image's config is of platform `p`'s os and architecture.
pub(super) fn matches(config: &ImageConfig, p: &Platform) -> bool {
    let arch = Platform::parse(&config.architecture)
        .map(|c| c.architecture)
        .unwrap_or_default();
    (config.os.is_empty() || config.os == p.os) && arch == p.architecture
}

/// qemu's name for a Go architecture (the binfmt_misc handler is `qemu-NAME`).
fn qemu_name(arch: &str) -> &str {
    match arch {
        "arm64" => "aarch64",
        "386" => "i386",
        "amd64" => "x86_64",
        "ppc64le" => "ppc64le",
        "mips64le" => "mips64el",
        "loong64" => "loongarch64",
        other => other,
    }
}

/// Why a RUN step of architecture `arch` cannot execute on this host, or None when it
/// can (the host's own, or a registered and enabled binfmt_misc handler).
pub(super) fn cannot_run(arch: &str) -> Option<String> {
    if arch.is_empty() || arch == crate::image::oci_architecture() {
        return None;
    }
    let handler = Path::new("/proc/sys/fs/binfmt_misc").join(format!("qemu-{}", qemu_name(arch)));
    match std::fs::read_to_string(&handler) {
        Ok(text) if text.starts_with("enabled") => None,
        _ => Some(format!(
            "RUN for linux/{arch} needs emulation, and this host has no binfmt_misc handler for it ({} is missing: install qemu-user-static)",
            handler.display()
        )),
    }
}
