//! Capabilities: names to bits, the host's bounding set (for --privileged), and the
//! child's bounding/permitted/effective/inheritable/ambient sets set with raw syscalls.
//! The `caps` crate is kiste's one list of capability names and bits: the typed
//! configuration parses names into `caps::Capability`, this file turns them into bit masks
//! before the fork, and the child only uses the masks (no allocation after the fork).

use super::error::RuntimeError;
use super::error::{ChildError, Ctx};

pub(crate) const CAP_SYS_ADMIN: u32 = 21;

/// The capability a name stands for ("CHOWN", "CAP_CHOWN", any case).
fn capability(name: &str) -> Option<caps::Capability> {
    let upper = name.to_ascii_uppercase();
    if upper.starts_with("CAP_") {
        upper.parse().ok()
    } else {
        format!("CAP_{upper}").parse().ok()
    }
}

/// The bit of a capability name ("CHOWN", "CAP_CHOWN", any case).
pub(crate) fn bit_of(name: &str) -> Option<u32> {
    capability(name).map(|c| u32::from(c.index()))
}

/// Whether `name` ("CHOWN", "CAP_CHOWN", any case) is a capability this kernel ABI knows.
pub fn is_capability(name: &str) -> bool {
    bit_of(name).is_some()
}

pub(crate) fn name_of(bit: u32) -> String {
    caps::all()
        .into_iter()
        .find(|c| u32::from(c.index()) == bit)
        .map_or_else(
            || bit.to_string(),
            |c| c.to_string().trim_start_matches("CAP_").to_string(),
        )
}

/// The bitmask of a list of names; "ALL" means every capability the host can give.
pub(crate) fn mask_of(names: &[String]) -> Result<u64, RuntimeError> {
    let mut mask = 0u64;
    for n in names {
        if n.eq_ignore_ascii_case("ALL") || n.eq_ignore_ascii_case("CAP_ALL") {
            mask |= host_bounding();
            continue;
        }
        let bit = bit_of(n).ok_or_else(|| RuntimeError::UnknownCapability { name: n.clone() })?;
        mask |= 1 << bit;
    }
    Ok(mask)
}

/// The mask the container gets: with `privileged`, whatever of the request this host's
/// bounding set holds (the rest is reported by [`privileged_missing_capabilities`]);
/// otherwise a capability the host cannot give is an error rather than a failed capset.
pub(crate) fn effective_mask(names: &[String], privileged: bool) -> Result<u64, RuntimeError> {
    let wanted = mask_of(names)?;
    let host = host_bounding();
    if privileged {
        return Ok(wanted & host);
    }
    let missing: Vec<String> = (0..64)
        .filter(|b| wanted & !host & (1 << b) != 0)
        .map(name_of)
        .collect();
    if !missing.is_empty() {
        return Err(RuntimeError::CapabilitiesMissing { missing });
    }
    Ok(wanted)
}

/// The highest capability number the running kernel knows (read once per process).
pub(crate) fn last_cap() -> u32 {
    static LAST: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *LAST.get_or_init(|| {
        crate::process::read_proc("/proc/sys/kernel/cap_last_cap")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(40)
    })
}

/// This process's bounding set (read once: kiste never drops from its own).
fn host_bounding() -> u64 {
    static BOUNDING: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *BOUNDING.get_or_init(|| {
        let status = crate::process::read_proc("/proc/self/status").unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("CapBnd:"))
            .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
            .unwrap_or(0)
    })
}

/// Every capability this process's bounding set holds, by name: what --privileged gets.
pub fn all_capabilities() -> Vec<String> {
    let bnd = host_bounding();
    (0..=last_cap().min(63))
        .filter(|b| bnd & (1 << b) != 0)
        .map(name_of)
        .collect()
}

/// Capabilities the kernel knows but this host's bounding set lacks: what --privileged
/// asks for and cannot give (the commands layer prints them as a warning).
pub fn privileged_missing_capabilities() -> Vec<String> {
    let bnd = host_bounding();
    (0..=last_cap().min(63))
        .filter(|b| bnd & (1 << b) == 0)
        .map(name_of)
        .collect()
}

/// Drops every capability not in `keep` from the bounding set.
pub(crate) fn drop_bounding(keep: u64, last: u32) -> Result<(), ChildError> {
    for bit in 0..=last.min(63) {
        if keep & (1 << bit) == 0 {
            // SAFETY: prctl with integer arguments.
            let rc = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, bit as libc::c_ulong, 0, 0, 0) };
            if rc != 0 {
                let err = std::io::Error::last_os_error();
                // EINVAL: the kernel does not know this capability.
                if err.raw_os_error() != Some(libc::EINVAL) {
                    return Err(err).ctx(|| format!("cannot drop capability {}", name_of(bit)));
                }
            }
        }
    }
    Ok(())
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const CAP_V3: u32 = 0x2008_0522;

/// Sets the permitted, effective and inheritable sets and clears the ambient set.
pub(crate) fn set_sets(permitted: u64, effective: u64, inheritable: u64) -> Result<(), ChildError> {
    let header = CapHeader {
        version: CAP_V3,
        pid: 0,
    };
    let data = [
        CapData {
            effective: effective as u32,
            permitted: permitted as u32,
            inheritable: inheritable as u32,
        },
        CapData {
            effective: (effective >> 32) as u32,
            permitted: (permitted >> 32) as u32,
            inheritable: (inheritable >> 32) as u32,
        },
    ];
    // SAFETY: header and data are laid out as the kernel's v3 structures.
    let rc = unsafe { libc::syscall(libc::SYS_capset, &header, data.as_ptr()) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error()).ctx(|| "cannot set capabilities".into());
    }
    // SAFETY: prctl with integer arguments.
    unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL,
            0,
            0,
            0,
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_set_is_dockers_mask() {
        let mask = mask_of(&super::super::default_capabilities()).unwrap();
        assert_eq!(mask, 0xa80425fb);
    }

    #[test]
    fn names_parse_in_any_form() {
        assert_eq!(bit_of("cap_sys_admin"), Some(21));
        assert_eq!(bit_of("SYS_ADMIN"), Some(21));
        assert!(mask_of(&["NOPE".to_string()]).is_err());
    }
}
