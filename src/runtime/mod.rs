//! Starting a container process: one clone into new namespaces, rootfs setup,
//! pivot_root, security settings, exec.

pub mod spec;
