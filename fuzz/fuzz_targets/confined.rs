//! libFuzzer target over the builder's confined COPY, ADD-archive and layer-unpack code.
//!
//! Each input is decoded into random trees (files, directories, symlinks, hardlinks) for
//! the COPY source, the image layer below and the destination layer, a random tar
//! archive (names with `..`, absolute paths, links aimed outside), and the COPY/ADD
//! arguments. Beside the trees lies a sentinel directory (files owned by uid 12345);
//! the symlink and hardlink targets aim at it by absolute and relative paths. After the
//! calls, whatever they returned, the sentinel and the work directory's own entries
//! must be exactly as before: names, contents, modes, owners and link counts.
#![no_main]

use kiste::fs::Root;
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const TREES: [&str; 5] = ["src", "lower", "layer", "unpack", "arch"];
const NAMES: &[&str] = &["a", "b", "evil", "x.tar", ".wh.a", ".wh..wh..opq", "etc"];

struct Base {
    dir: PathBuf,
    sentinel: PathBuf,
    before: BTreeMap<PathBuf, String>,
}

fn base() -> &'static Base {
    static BASE: OnceLock<Base> = OnceLock::new();
    BASE.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("kiste-fuzz-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let sentinel = dir.join("sentinel");
        std::fs::create_dir_all(sentinel.join("d")).unwrap();
        std::fs::write(sentinel.join("f"), "sentinel").unwrap();
        std::fs::write(sentinel.join("d/g"), "deep").unwrap();
        for p in ["", "f", "d", "d/g"] {
            std::os::unix::fs::lchown(sentinel.join(p), Some(12345), Some(12345)).unwrap();
        }
        for t in TREES {
            std::fs::create_dir_all(dir.join("w").join(t)).unwrap();
        }
        let mut b = Base {
            dir,
            sentinel,
            before: BTreeMap::new(),
        };
        b.before = snapshot(&b.dir);
        b
    })
}

/// The base directory without the work trees: the sentinel and the top-level names.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(p) = stack.pop() {
        let m = std::fs::symlink_metadata(&p).unwrap();
        let content = if m.is_file() {
            std::fs::read_to_string(&p).unwrap_or_default()
        } else if m.file_type().is_symlink() {
            std::fs::read_link(&p).unwrap().display().to_string()
        } else {
            String::new()
        };
        out.insert(
            p.clone(),
            format!(
                "{:o} {}:{} n{} {content:?}",
                m.mode(),
                m.uid(),
                m.gid(),
                m.nlink()
            ),
        );
        if m.is_dir() {
            for e in std::fs::read_dir(&p).unwrap() {
                let e = e.unwrap();
                // The work trees are the calls' to change; only their parent's names count.
                if p.ends_with("w") && p.parent() == Some(dir) {
                    out.insert(e.path(), String::new());
                    continue;
                }
                stack.push(e.path());
            }
        }
    }
    out
}

/// Reads the input as a stream of small choices; zero once it is used up.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }
    fn done(&self) -> bool {
        self.0.is_empty()
    }
    /// A relative path of one to three names, sometimes with `..` or `.`.
    fn path(&mut self) -> String {
        let n = 1 + self.byte() % 3;
        let mut parts = Vec::new();
        for _ in 0..n {
            let b = self.byte();
            parts.push(match b % 16 {
                0 => "..",
                1 => ".",
                _ => NAMES[b as usize % NAMES.len()],
            });
        }
        parts.join("/")
    }
    fn target(&mut self, sentinel: &str) -> String {
        match self.byte() % 12 {
            0 => sentinel.to_string(),
            1 => format!("{sentinel}/f"),
            2 => format!("{sentinel}/d"),
            3 => "/".into(),
            4 => "..".into(),
            5 => "../..".into(),
            6 => "../../../sentinel".into(),
            7 => "/dev/zero".into(),
            8 => format!("/{}", self.path()),
            _ => self.path(),
        }
    }
}

/// Builds a random tree in `root` through the confined calls (the harness must not
/// follow its own symlinks out either).
fn grow(root: &Root, input: &mut Input, sentinel: &str, ops: u8) {
    for _ in 0..ops {
        if input.done() {
            return;
        }
        let kind = input.byte() % 5;
        let path = input.path();
        let _ = match kind {
            0 => root.mkdir_all(&path, 0o755, |_, _, _| Ok(())).map(drop),
            1 => root
                .create_file(&path, 0o644)
                .and_then(|mut f| std::io::Write::write_all(&mut f, path.as_bytes())),
            2 => root.symlink(input.target(sentinel), &path),
            3 => root.hardlink(input.target(sentinel), &path),
            _ => root.chmod(&path, 0o4755),
        };
    }
}

fn archive(input: &mut Input, sentinel: &str) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let members = input.byte() % 8;
    for _ in 0..members {
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644 | u32::from(input.byte() & 1) << 11);
        h.set_mtime(1);
        let name = match input.byte() % 6 {
            0 => format!("{sentinel}/{}", input.path()),
            1 => format!("/{}", input.path()),
            _ => input.path(),
        };
        let body = name.clone().into_bytes();
        let kind = input.byte() % 5;
        h.set_entry_type(match kind {
            0 => tar::EntryType::Directory,
            1 => tar::EntryType::Symlink,
            2 => tar::EntryType::Link,
            3 => tar::EntryType::Fifo,
            _ => tar::EntryType::Regular,
        });
        if matches!(kind, 1 | 2) {
            let _ = h.set_link_name_literal(input.target(sentinel));
        }
        h.set_size(if kind == 4 { body.len() as u64 } else { 0 });
        let raw = &mut h.as_old_mut().name;
        raw.fill(0);
        let n = name.len().min(raw.len());
        raw[..n].copy_from_slice(&name.as_bytes()[..n]);
        h.set_cksum();
        let data: &[u8] = if kind == 4 { &body } else { &[] };
        b.append(&h, data).unwrap();
    }
    b.into_inner().unwrap()
}

fn exercise(data: &[u8]) {
    let base = base();
    let sentinel = base.sentinel.to_str().unwrap().to_string();
    let work = base.dir.join("w");
    let [src, lower, layer, unpack, arch] = TREES.map(|d| work.join(d));
    for d in [&src, &lower, &layer, &unpack, &arch] {
        // std's remove_dir_all never follows a symlink inside the tree.
        let _ = std::fs::remove_dir_all(d);
        std::fs::create_dir(d).unwrap();
    }
    let mut input = Input(data);
    let what = input.byte();
    for (dir, ops) in [(&src, 12), (&lower, 6), (&layer, 4)] {
        let n = input.byte() % ops;
        grow(&Root::open(dir).unwrap(), &mut input, &sentinel, n);
    }
    let tar = archive(&mut input, &sentinel);
    std::fs::write(arch.join("x.tar"), &tar).unwrap();
    let sources: Vec<String> = (0..1 + input.byte() % 3).map(|_| input.path()).collect();
    let sources: Vec<&str> = sources.iter().map(String::as_str).collect();
    let dest = input.path();
    let owner = (input.byte() & 1 == 1).then_some((7, 7));
    if what & 1 != 0 {
        let _ = kiste::build::fuzzing::copy(
            &src,
            &sources,
            &layer,
            vec![lower.clone()],
            &dest,
            what & 8 != 0,
            owner,
        );
    }
    if what & 2 != 0 {
        let _ = kiste::build::fuzzing::add_archive(
            &arch,
            "x.tar",
            &layer,
            vec![lower.clone()],
            &dest,
            owner,
        );
    }
    if what & 4 != 0 {
        let _ = kiste::build::fuzzing::unpack_layer(&tar, &unpack);
    }
    // Self-test of the checker: the unconfined, path-based write the builder used to do.
    if std::env::var_os("KISTE_FUZZ_SELFTEST").is_some() {
        let _ = std::fs::write(src.join(&dest), "unconfined");
    }
    let after = snapshot(&base.dir);
    if after != base.before {
        for (k, v) in &after {
            if base.before.get(k) != Some(v) {
                eprintln!("changed: {} {v}", k.display());
            }
        }
        for k in base.before.keys().filter(|k| !after.contains_key(*k)) {
            eprintln!("removed: {}", k.display());
        }
        panic!("a confined call wrote outside its root");
    }
}

fuzz_target!(|data: &[u8]| {
    exercise(data);
});
