//! Image store fixtures (stores, references, configs, small layers) and a tree snapshot
//! that records everything a layer must preserve, for the `store_*` tests.

use kiste::image::config::{History, ImageConfig, RootFs};
use kiste::image::{ImageStore, LayerInfo, Reference};
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;

pub fn store(dir: &Path) -> ImageStore {
    ImageStore::open(&dir.join("images")).expect("open store")
}

pub fn reference(s: &str) -> Reference {
    Reference::parse(s).expect("valid reference")
}

pub fn config_for(layers: &[LayerInfo], created: &str, cmd: &str) -> ImageConfig {
    ImageConfig {
        created: Some(created.to_string()),
        architecture: "amd64".into(),
        os: "linux".into(),
        config: kiste::image::config::RunConfig {
            cmd: Some(vec![cmd.to_string()]),
            ..Default::default()
        },
        rootfs: RootFs {
            kind: "layers".into(),
            diff_ids: layers.iter().map(|l| l.diff_id.clone()).collect(),
        },
        history: vec![History {
            created_by: Some(cmd.to_string()),
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// A small directory tree: files, a nested dir, a symlink.
pub fn populate(dir: &Path, marker: &str) {
    fs::create_dir_all(dir.join("etc/app")).unwrap();
    fs::write(dir.join("etc/app/conf"), format!("marker={marker}\n")).unwrap();
    fs::write(dir.join("hello.txt"), "hello\n").unwrap();
    fs::set_permissions(dir.join("hello.txt"), fs::Permissions::from_mode(0o640)).unwrap();
    symlink("etc/app/conf", dir.join("link")).unwrap();
}

/// Makes a layer from a freshly populated directory under `scratch`.
pub fn make_layer(store: &ImageStore, scratch: &Path, marker: &str) -> LayerInfo {
    let dir = scratch.join(format!("src-{marker}"));
    fs::create_dir_all(&dir).unwrap();
    populate(&dir, marker);
    store
        .create_layer(&dir, Some(1_700_000_000))
        .expect("create layer")
}

/// One file in a tree snapshot: everything a layer must preserve.
#[derive(Debug, PartialEq)]
pub struct Node {
    pub kind: &'static str,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: i64,
    pub rdev: u64,
    pub content: Vec<u8>,
    pub link: Option<std::path::PathBuf>,
    pub xattrs: Vec<(String, Vec<u8>)>,
    /// Index of the first path sharing this inode (hardlinks), if any.
    pub same_inode_as: Option<std::path::PathBuf>,
}

/// Snapshots a directory tree (not following symlinks) keyed by relative path.
pub fn snapshot(root: &Path) -> std::collections::BTreeMap<std::path::PathBuf, Node> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let mut out = std::collections::BTreeMap::new();
    let mut inodes: std::collections::HashMap<u64, std::path::PathBuf> = Default::default();
    for entry in walkdir::WalkDir::new(root).min_depth(1).sort_by_file_name() {
        let entry = entry.unwrap();
        let rel = entry.path().strip_prefix(root).unwrap().to_path_buf();
        let md = fs::symlink_metadata(entry.path()).unwrap();
        let ft = md.file_type();
        let kind = if ft.is_dir() {
            "dir"
        } else if ft.is_symlink() {
            "symlink"
        } else if ft.is_char_device() {
            "char"
        } else if ft.is_block_device() {
            "block"
        } else if ft.is_fifo() {
            "fifo"
        } else {
            "file"
        };
        let same_inode_as = if !ft.is_dir() && md.nlink() > 1 {
            let first = inodes
                .entry(md.ino())
                .or_insert_with(|| rel.clone())
                .clone();
            (first != rel).then_some(first)
        } else {
            None
        };
        out.insert(
            rel,
            Node {
                kind,
                mode: md.mode(),
                uid: md.uid(),
                gid: md.gid(),
                mtime: md.mtime(),
                rdev: md.rdev(),
                content: if ft.is_file() {
                    fs::read(entry.path()).unwrap()
                } else {
                    Vec::new()
                },
                link: ft
                    .is_symlink()
                    .then(|| fs::read_link(entry.path()).unwrap()),
                xattrs: xattrs_of(entry.path()),
                same_inode_as,
            },
        );
    }
    out
}

pub fn xattrs_of(path: &Path) -> Vec<(String, Vec<u8>)> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    let mut names = vec![0u8; 4096];
    let n = unsafe { libc::llistxattr(c.as_ptr(), names.as_mut_ptr().cast(), names.len()) };
    assert!(n >= 0, "llistxattr {}", path.display());
    let mut out = Vec::new();
    for name in names[..n as usize]
        .split(|&b| b == 0)
        .filter(|n| !n.is_empty())
    {
        let cname = std::ffi::CString::new(name).unwrap();
        let mut value = vec![0u8; 4096];
        let m = unsafe {
            libc::lgetxattr(
                c.as_ptr(),
                cname.as_ptr(),
                value.as_mut_ptr().cast(),
                value.len(),
            )
        };
        assert!(m >= 0);
        value.truncate(m as usize);
        out.push((String::from_utf8_lossy(name).into_owned(), value));
    }
    out.sort();
    out
}

pub fn set_xattr(path: &Path, name: &str, value: &[u8]) {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    let n = std::ffi::CString::new(name).unwrap();
    let rc = unsafe {
        libc::lsetxattr(
            c.as_ptr(),
            n.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    assert_eq!(
        rc,
        0,
        "setxattr {name} on {}: {}",
        path.display(),
        std::io::Error::last_os_error()
    );
}

pub fn mknod(path: &Path, kind: nix::sys::stat::SFlag, mode: u32, dev: u64) {
    nix::sys::stat::mknod(
        path,
        kind,
        nix::sys::stat::Mode::from_bits_truncate(mode),
        dev,
    )
    .unwrap();
}

pub fn set_mtime(path: &Path, secs: i64) {
    let t = nix::sys::time::TimeSpec::new(secs, 0);
    nix::sys::stat::utimensat(
        nix::fcntl::AT_FDCWD,
        path,
        &t,
        &t,
        nix::sys::stat::UtimensatFlags::NoFollowSymlink,
    )
    .unwrap();
}

/// `n` lower directories under `dir`, each with its own file `f<i>` and a shared `top`
/// holding its index (so the topmost lower is visible).
pub fn numbered_lowers(dir: &Path, n: usize) -> Vec<std::path::PathBuf> {
    (0..n)
        .map(|i| {
            let d = dir.join(format!("{i:064x}"));
            fs::create_dir_all(&d).unwrap();
            fs::write(d.join(format!("f{i}")), i.to_string()).unwrap();
            fs::write(d.join("top"), i.to_string()).unwrap();
            d
        })
        .collect()
}

/// The upper, work and mount target paths of an overlay under `dir` (not created).
pub fn overlay_dirs(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    (dir.join("upper"), dir.join("work"), dir.join("merged"))
}

/// Unmounts an overlay when the test ends, even by a panic.
pub struct Mounted(pub std::path::PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = kiste::storage::unmount(&self.0);
    }
}
