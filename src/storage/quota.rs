//! The size limit of a container's writable layer (`--storage-opt size=`), as docker's
//! overlay2 does it: an XFS project quota. The container's upper directory gets a project
//! id of its own (inherited by everything created below it) and a hard block limit for
//! that project. It works only where the store's filesystem is XFS mounted with project
//! quotas (`pquota`/`prjquota`); `supported` says whether it is.

use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

const XFS_SUPER_MAGIC: i64 = 0x5846_5342;
/// `_IOR('X', 31, struct fsxattr)` and `_IOW('X', 32, struct fsxattr)`.
const FS_IOC_FSGETXATTR: libc::c_ulong = 0x801c_581f;
const FS_IOC_FSSETXATTR: libc::c_ulong = 0x401c_5820;
const FS_XFLAG_PROJINHERIT: u32 = 0x0000_0200;
/// `QCMD(Q_XSETQLIM, PRJQUOTA)`: Q_XSETQLIM is XQM_CMD(4) = ('X' << 8) + 4.
const Q_XSETQLIM_PRJ: libc::c_int = ((((b'X' as u32) << 8) + 4) << 8 | 2) as libc::c_int;
const FS_DQUOT_VERSION: i8 = 1;
const FS_PROJ_QUOTA: i8 = 2;
const FS_DQ_BSOFT: u16 = 1 << 2;
const FS_DQ_BHARD: u16 = 1 << 3;

/// The kernel's `struct fsxattr`.
#[repr(C)]
#[derive(Default)]
struct FsXattr {
    xflags: u32,
    extsize: u32,
    nextents: u32,
    projid: u32,
    cowextsize: u32,
    pad: [u8; 8],
}

/// The kernel's `struct fs_disk_quota` (limits in 512-byte basic blocks).
#[repr(C)]
#[derive(Default)]
struct FsDiskQuota {
    version: i8,
    flags: i8,
    fieldmask: u16,
    id: u32,
    blk_hardlimit: u64,
    blk_softlimit: u64,
    ino_hardlimit: u64,
    ino_softlimit: u64,
    bcount: u64,
    icount: u64,
    itimer: i32,
    btimer: i32,
    iwarns: u16,
    bwarns: u16,
    itimer_hi: i8,
    btimer_hi: i8,
    rtbtimer_hi: i8,
    padding2: i8,
    rtb_hardlimit: u64,
    rtb_softlimit: u64,
    rtbcount: u64,
    rtbtimer: i32,
    rtbwarns: u16,
    padding3: i16,
    padding4: [u8; 8],
}

/// Whether `dir` is on XFS mounted with project quotas.
// The magic's integer type differs between glibc and musl.
#[allow(clippy::unnecessary_cast)]
pub fn supported(dir: &Path) -> bool {
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()) else {
        return false;
    };
    // SAFETY: statfs into a zeroed struct with a valid path.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statfs(c.as_ptr(), &mut st) } != 0 || st.f_type as i64 != XFS_SUPER_MAGIC {
        return false;
    }
    let Ok(meta) = std::fs::metadata(dir) else {
        return false;
    };
    let dev = format!("{}:{}", libc::major(meta.dev()), libc::minor(meta.dev()));
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    info.lines().any(|l| {
        let fields: Vec<&str> = l.split(' ').collect();
        let Some(sep) = fields.iter().position(|f| *f == "-") else {
            return false;
        };
        fields.get(2) == Some(&dev.as_str())
            && fields.get(sep + 3).is_some_and(|opts| {
                opts.split(',')
                    .any(|o| matches!(o, "prjquota" | "pquota" | "pqnoenforce"))
            })
    })
}

fn get_xattr(f: &std::fs::File) -> io::Result<FsXattr> {
    let mut x = FsXattr::default();
    // SAFETY: the ioctl fills a struct of the size its number names.
    if unsafe { libc::ioctl(f.as_raw_fd(), FS_IOC_FSGETXATTR as _, &mut x) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(x)
}

/// The project id after the highest one in use below `base` (each container's upper
/// directory: `base/ID/upper`), and above `base`'s own.
fn next_project_id(base: &Path) -> io::Result<u32> {
    let mut next = get_xattr(&std::fs::File::open(base)?)?.projid + 1;
    for entry in std::fs::read_dir(base)?.flatten() {
        let upper = entry.path().join(crate::paths::UPPER);
        if let Ok(f) = std::fs::File::open(&upper) {
            if let Ok(x) = get_xattr(&f) {
                next = next.max(x.projid.saturating_add(1));
            }
        }
    }
    Ok(next)
}

/// Creates `dir` (below `base`, on the same filesystem) with a project id of its own
/// and a limit of `bytes` for it. Called under the container store's lock, so two
/// creates never take the same id.
pub fn limit_new_dir(base: &Path, dir: &Path, bytes: u64) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let projid = next_project_id(base)?;
    let f = std::fs::File::open(dir)?;
    let mut x = get_xattr(&f)?;
    x.projid = projid;
    x.xflags |= FS_XFLAG_PROJINHERIT;
    // SAFETY: as in `get_xattr`, reading the struct.
    if unsafe { libc::ioctl(f.as_raw_fd(), FS_IOC_FSSETXATTR as _, &x) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let blocks = bytes.div_ceil(512);
    let q = FsDiskQuota {
        version: FS_DQUOT_VERSION,
        flags: FS_PROJ_QUOTA,
        fieldmask: FS_DQ_BSOFT | FS_DQ_BHARD,
        id: projid,
        blk_hardlimit: blocks,
        blk_softlimit: blocks,
        ..FsDiskQuota::default()
    };
    // SAFETY: quotactl_fd(2) with an fd on the filesystem and a valid fs_disk_quota.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_quotactl_fd,
            f.as_raw_fd(),
            Q_XSETQLIM_PRJ,
            projid,
            &q as *const FsDiskQuota,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_structs_have_the_kernels_sizes() {
        assert_eq!(std::mem::size_of::<FsXattr>(), 28);
        assert_eq!(std::mem::size_of::<FsDiskQuota>(), 112);
        assert_eq!(Q_XSETQLIM_PRJ, 0x0058_0402);
    }

    #[test]
    fn a_directory_off_xfs_is_not_supported() {
        assert!(!supported(Path::new("/proc")), "procfs is no XFS");
        assert!(!supported(Path::new("/nonexistent/kiste-store")));
    }
}
