//! `kiste load` treats an archive as hostile: a member named with `..`, an absolute
//! symlink followed by a file through it, a blob or layer whose content does not match
//! its digest, and a truncated archive each end with one error line naming the archive
//! and the member, exit 125, no image stored, no temp left, and nothing written
//! outside the store (a sentinel directory stays empty).

mod support;

use std::path::{Path, PathBuf};
use support::*;

/// A valid archive of the busybox image (saved by a kiste of its own) and a fresh kiste
/// to load things into.
struct Setup {
    source: Kiste,
    target: Kiste,
    sentinel: PathBuf,
}

impl Setup {
    fn new() -> Setup {
        let source = Kiste::new();
        source.busybox();
        let target = Kiste::new();
        let sentinel = target.dir.path().join("sentinel");
        std::fs::create_dir(&sentinel).unwrap();
        Setup {
            source,
            target,
            sentinel,
        }
    }

    fn saved(&self, format: &str) -> Vec<u8> {
        let path = self.source.dir.path().join(format!("bb-{format}.tar"));
        self.source.ok(&[
            "save",
            "--format",
            format,
            "-o",
            path.to_str().unwrap(),
            "busybox",
        ]);
        std::fs::read(path).unwrap()
    }

    /// Loads `bytes` from a file named `name`; it must fail as described above with a
    /// message naming `member`.
    fn refused(&self, name: &str, bytes: &[u8], member: &str, reason: &str) {
        let file = self.target.dir.path().join(name);
        std::fs::write(&file, bytes).unwrap();
        let r = self.target.run(&["load", "-i", file.to_str().unwrap()]);
        assert_eq!(r.code, 125, "{name}: {}{}", r.stdout, r.stderr);
        let lines: Vec<&str> = r.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line: {}", r.stderr);
        let line = lines[0];
        assert!(
            line.contains(&file.display().to_string()),
            "names the archive: {line}"
        );
        assert!(line.contains(member), "names the member {member}: {line}");
        assert!(line.contains(reason), "says {reason:?}: {line}");
        assert_eq!(
            self.target.ok(&["images", "-a", "-q"]),
            "",
            "no image stored"
        );
        assert!(empty(&self.sentinel), "nothing written outside");
        let tmp = self.target.root().join("images/tmp");
        assert!(
            !tmp.exists() || empty(&tmp),
            "no temp left in {}",
            tmp.display()
        );
    }
}

fn empty(dir: &Path) -> bool {
    std::fs::read_dir(dir).unwrap().next().is_none()
}

/// A tar member with a raw name (the tar crate refuses `..` and absolute names).
fn raw_member(out: &mut Vec<u8>, name: &[u8], kind: tar::EntryType, link: &[u8], data: &[u8]) {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(kind);
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    {
        let old = h.as_old_mut();
        old.name[..name.len()].copy_from_slice(name);
        old.linkname[..link.len()].copy_from_slice(link);
    }
    h.set_cksum();
    out.extend_from_slice(h.as_bytes());
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
}

/// Offset and size of the largest regular member, and its name.
fn largest_member(bytes: &[u8]) -> (u64, u64, String) {
    let mut archive = tar::Archive::new(bytes);
    archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| {
            (
                e.raw_file_position(),
                e.size(),
                e.path().unwrap().display().to_string(),
            )
        })
        .max_by_key(|(_, size, _)| *size)
        .unwrap()
}

#[test]
fn a_member_with_dotdot_is_refused() {
    let s = Setup::new();
    let depth = "../".repeat(12);
    let evil = format!(
        "{depth}{}/pwned",
        s.sentinel.display().to_string().trim_start_matches('/')
    );
    let mut bytes = Vec::new();
    raw_member(
        &mut bytes,
        evil.as_bytes(),
        tar::EntryType::Regular,
        b"",
        b"x",
    );
    bytes.extend(s.saved("docker-archive"));
    s.refused("dotdot.tar", &bytes, "pwned", "'..'");
}

#[test]
fn an_absolute_symlink_and_a_file_through_it_are_refused() {
    let s = Setup::new();
    let target = s.sentinel.display().to_string();
    let mut bytes = Vec::new();
    raw_member(
        &mut bytes,
        b"evil",
        tar::EntryType::Symlink,
        target.as_bytes(),
        b"",
    );
    raw_member(
        &mut bytes,
        b"evil/pwned",
        tar::EntryType::Regular,
        b"",
        b"x",
    );
    bytes.extend(s.saved("docker-archive"));
    s.refused("abs-link.tar", &bytes, "evil", "absolute");
}

#[test]
fn a_layer_whose_content_does_not_match_the_config_is_refused() {
    let s = Setup::new();
    let mut bytes = s.saved("docker-archive");
    let (pos, size, name) = largest_member(&bytes);
    assert!(name.ends_with("/layer.tar"), "{name}");
    // A byte in the middle of busybox's data: still a valid tar, another diff id.
    bytes[(pos + size / 2) as usize] ^= 0xff;
    s.refused("bad-layer.tar", &bytes, &name, "digest mismatch");
}

#[test]
fn an_oci_blob_that_does_not_match_its_digest_is_refused() {
    let s = Setup::new();
    let mut bytes = s.saved("oci-archive");
    let (pos, size, name) = largest_member(&bytes);
    assert!(name.starts_with("blobs/sha256/"), "{name}");
    bytes[(pos + size / 2) as usize] ^= 0xff;
    s.refused("bad-blob.tar", &bytes, &name, "digest mismatch");
}

#[test]
fn a_truncated_archive_is_refused() {
    let s = Setup::new();
    let bytes = s.saved("docker-archive");
    let (pos, size, name) = largest_member(&bytes);
    let cut = &bytes[..(pos + size / 2) as usize];
    s.refused("truncated.tar", cut, &name, "truncated");
}

#[test]
fn an_archive_without_a_manifest_is_refused_and_stdin_is_named() {
    let s = Setup::new();
    let mut bytes = Vec::new();
    raw_member(
        &mut bytes,
        b"hello.txt",
        tar::EntryType::Regular,
        b"",
        b"hi",
    );
    bytes.extend_from_slice(&[0u8; 1024]);
    let mut child = s
        .target
        .cmd(&["load"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(&bytes).unwrap();
    let r: Run = child.wait_with_output().unwrap().into();
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(
        r.stderr.contains("invalid archive stdin") && r.stderr.contains("manifest.json"),
        "{}",
        r.stderr
    );
    assert_eq!(s.target.ok(&["images", "-a", "-q"]), "");
}

#[test]
fn a_layer_that_escapes_its_root_is_refused_and_the_layers_before_it_are_taken_back() {
    use sha2::{Digest, Sha256};
    let s = Setup::new();
    let tar_of = |name: &[u8]| {
        let mut layer = Vec::new();
        raw_member(&mut layer, name, tar::EntryType::Regular, b"", b"x");
        layer.extend_from_slice(&[0u8; 1024]);
        layer
    };
    let good = tar_of(b"fine");
    let depth = "../".repeat(12);
    let sentinel = s.sentinel.display().to_string();
    let evil = tar_of(format!("{depth}{}/pwned", sentinel.trim_start_matches('/')).as_bytes());
    let diff_ids: Vec<String> = [&good, &evil]
        .iter()
        .map(|l| format!("sha256:{:x}", Sha256::digest(l)))
        .collect();
    let config = serde_json::json!({
        "architecture": "amd64", "os": "linux", "config": {},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    })
    .to_string();
    let manifest = serde_json::json!([{
        "Config": "config.json", "RepoTags": ["evil:latest"],
        "Layers": ["good/layer.tar", "evil/layer.tar"],
    }])
    .to_string();
    let mut bytes = Vec::new();
    raw_member(
        &mut bytes,
        b"good/layer.tar",
        tar::EntryType::Regular,
        b"",
        &good,
    );
    raw_member(
        &mut bytes,
        b"evil/layer.tar",
        tar::EntryType::Regular,
        b"",
        &evil,
    );
    raw_member(
        &mut bytes,
        b"config.json",
        tar::EntryType::Regular,
        b"",
        config.as_bytes(),
    );
    raw_member(
        &mut bytes,
        b"manifest.json",
        tar::EntryType::Regular,
        b"",
        manifest.as_bytes(),
    );
    bytes.extend_from_slice(&[0u8; 1024]);
    s.refused("evil-layer.tar", &bytes, "evil/layer.tar", "pwned");
    for dir in ["blobs/sha256", "layers"] {
        let path = s.target.root().join("images").join(dir);
        assert!(
            empty(&path),
            "the good layer was taken back from {}",
            path.display()
        );
    }
}

#[test]
fn a_member_larger_than_the_free_space_is_refused_before_it_is_read() {
    let s = Setup::new();
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_path("huge/layer.tar").unwrap();
    h.set_size(1 << 50);
    h.set_mode(0o644);
    h.set_cksum();
    let mut bytes = h.as_bytes().to_vec();
    bytes.extend_from_slice(&[0u8; 4096]);
    s.refused("huge.tar", &bytes, "huge/layer.tar", "free");
}
