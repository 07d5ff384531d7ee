//! The cgroup v2 device allowlist: an eBPF program of type BPF_PROG_TYPE_CGROUP_DEVICE
//! assembled here instruction by instruction, loaded with bpf(2) and attached to the
//! container's cgroup directory.

use std::os::fd::OwnedFd;
use std::path::Path;

use super::CgroupError;
use crate::runtime::spec::Device;

pub(crate) fn attach_device_filter(
    _dir: &Path,
    _devices: &[Device],
) -> Result<OwnedFd, CgroupError> {
    Err(CgroupError::Unsupported(
        "device eBPF not yet implemented".into(),
    ))
}
