//! docker's security defaults: the capability set, the /proc and /sys paths masked or
//! made read-only, and the default seccomp profile.

use super::spec::{Seccomp, Security};

/// docker's 14 default capabilities, without the CAP_ prefix.
pub fn default_capabilities() -> Vec<String> {
    [
        "CHOWN",
        "DAC_OVERRIDE",
        "FSETID",
        "FOWNER",
        "MKNOD",
        "NET_RAW",
        "SETGID",
        "SETUID",
        "SETFCAP",
        "SETPCAP",
        "NET_BIND_SERVICE",
        "SYS_CHROOT",
        "KILL",
        "AUDIT_WRITE",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Paths hidden from the container (files get /dev/null, directories an empty ro tmpfs).
pub fn default_masked_paths() -> Vec<String> {
    [
        "/proc/asound",
        "/proc/acpi",
        "/proc/kcore",
        "/proc/keys",
        "/proc/latency_stats",
        "/proc/timer_list",
        "/proc/timer_stats",
        "/proc/sched_debug",
        "/proc/scsi",
        "/sys/firmware",
        "/sys/devices/virtual/powercap",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Paths made read-only in the container.
pub fn default_readonly_paths() -> Vec<String> {
    [
        "/proc/bus",
        "/proc/fs",
        "/proc/irq",
        "/proc/sys",
        "/proc/sysrq-trigger",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// docker's defaults: default capabilities, masked and read-only paths, the default
/// seccomp profile, no no_new_privileges, writable root.
pub fn default_security() -> Security {
    Security {
        capabilities: default_capabilities(),
        no_new_privileges: false,
        seccomp: Seccomp::Default,
        masked_paths: default_masked_paths(),
        readonly_paths: default_readonly_paths(),
        readonly_rootfs: false,
        privileged: false,
    }
}
