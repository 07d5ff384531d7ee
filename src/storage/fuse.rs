//! The rootless fallback for kernels whose overlayfs cannot be mounted in a user
//! namespace (before 5.11, or without `userxattr`): `fuse-overlayfs` with the same lower,
//! upper and work dirs. It reads the layers as kiste stores them rootless (whiteouts as
//! 0:0 character devices, opaque directories marked with `user.overlay.opaque`).
//! `KISTE_ROOTLESS_OVERLAY=fuse-overlayfs` chooses it up front (as podman's
//! `mount_program`); unmounting is the same `umount2` as for the kernel's overlay.

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};

/// The variable that chooses fuse-overlayfs for rootless mounts.
pub const CHOOSE: &str = "KISTE_ROOTLESS_OVERLAY";

/// True when the user asked for fuse-overlayfs instead of the kernel's overlay.
pub fn chosen() -> bool {
    std::env::var_os(CHOOSE).is_some_and(|v| v == "fuse-overlayfs")
}

/// fuse-overlayfs's `-o` value for these dirs. `lowers` come bottom-most first (as the
/// image lists its layers); the option takes the top-most first, as overlay's does.
pub fn options(lowers: &[PathBuf], upper: &Path, work: &Path) -> io::Result<OsString> {
    let check = |p: &Path| -> io::Result<()> {
        let s = p.as_os_str().as_encoded_bytes();
        if s.iter().any(|b| matches!(b, b',' | b':' | b'\\')) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{}: fuse-overlayfs cannot take ',', ':' or '\\' in a path",
                    p.display()
                ),
            ));
        }
        Ok(())
    };
    let mut opts = OsString::from("lowerdir=");
    for (i, l) in lowers.iter().rev().enumerate() {
        check(l)?;
        if i > 0 {
            opts.push(":");
        }
        opts.push(l);
    }
    for (key, dir) in [(",upperdir=", upper), (",workdir=", work)] {
        check(dir)?;
        opts.push(key);
        opts.push(dir);
    }
    Ok(opts)
}

/// Mount with fuse-overlayfs (found on PATH); returns once the mount is in place.
pub fn mount(lowers: &[PathBuf], upper: &Path, work: &Path, target: &Path) -> io::Result<()> {
    let out = std::process::Command::new("fuse-overlayfs")
        .arg("-o")
        .arg(options(lowers, upper, work)?)
        .arg(target)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot run fuse-overlayfs: {e}")))?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "fuse-overlayfs failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_list_the_top_layer_first_and_refuse_separators_in_paths() {
        let lowers = [PathBuf::from("/s/bottom"), PathBuf::from("/s/top")];
        let o = options(&lowers, Path::new("/s/u"), Path::new("/s/w")).unwrap();
        assert_eq!(o, "lowerdir=/s/top:/s/bottom,upperdir=/s/u,workdir=/s/w");
        assert!(options(&[PathBuf::from("/a,b")], Path::new("/u"), Path::new("/w")).is_err());
    }
}
