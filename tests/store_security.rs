//! Hostile layer tars: every path, symlink and hardlink trick stays inside the layer
//! directory or makes the import fail; nothing outside the store is touched.

use std::fs;
use std::path::Path;
use tar::{EntryType, Header};

/// Appends an entry with the exact name bytes given (the tar crate's `set_path`
/// refuses `..`, which is the point here).
fn raw_entry(
    b: &mut tar::Builder<fs::File>,
    name: &str,
    kind: EntryType,
    link: Option<&str>,
    data: &[u8],
) {
    let mut h = Header::new_ustar();
    h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    if let Some(link) = link {
        h.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
    }
    h.set_entry_type(kind);
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_cksum();
    b.append(&h, data).unwrap();
}

/// name, type, link target, data
type Entry<'a> = (&'a str, EntryType, Option<&'a str>, &'a [u8]);

fn make_tar(path: &Path, entries: &[Entry]) {
    let mut b = tar::Builder::new(fs::File::create(path).unwrap());
    for (name, kind, link, data) in entries {
        raw_entry(&mut b, name, *kind, *link, data);
    }
    b.into_inner().unwrap();
}

/// The store lives deep inside `tmp`, so `../..` from a layer dir lands in `tmp`.
fn setup() -> (tempfile::TempDir, kiste::image::ImageStore) {
    let tmp = tempfile::tempdir().unwrap();
    let s = kiste::image::ImageStore::open(&tmp.path().join("a/b/c/store")).unwrap();
    (tmp, s)
}

fn no_leftover_temps(s: &kiste::image::ImageStore) {
    let left: Vec<_> = fs::read_dir(s.root().join("tmp")).unwrap().collect();
    assert!(left.is_empty(), "temps left behind: {left:?}");
}

#[test]
fn dot_dot_paths_are_rejected() {
    let (tmp, s) = setup();
    let evil = tmp.path().join("evil.tar");
    let climb = "../".repeat(8) + "escaped";
    make_tar(
        &evil,
        &[
            (&climb, EntryType::Regular, None, b"x"),
            ("ok", EntryType::Regular, None, b""),
        ],
    );
    let err = s.import_layer_tar(&evil).unwrap_err().to_string();
    assert!(
        err.contains("cannot extract layer") && err.contains(".."),
        "{err}"
    );
    assert!(!tmp.path().join("escaped").exists());
    assert!(!Path::new("/escaped").exists());
    no_leftover_temps(&s);
}

#[test]
fn absolute_paths_land_inside_the_layer() {
    let (tmp, s) = setup();
    let tar = tmp.path().join("abs.tar");
    let name = format!("{}/kiste-abs-test", tmp.path().display());
    make_tar(&tar, &[(&name, EntryType::Regular, None, b"inside")]);
    let info = s.import_layer_tar(&tar).unwrap();
    assert!(!tmp.path().join("kiste-abs-test").exists());
    let inside = s
        .layer_path(&info.diff_id)
        .unwrap()
        .join(name.trim_start_matches('/'));
    assert_eq!(fs::read(inside).unwrap(), b"inside");
}

#[test]
fn a_symlink_pointing_out_cannot_carry_a_later_file_out() {
    let (tmp, s) = setup();
    let outside = tmp.path().join("outside");
    fs::create_dir(&outside).unwrap();
    for (i, target) in [
        outside.display().to_string(),
        "../../../../../../outside".into(),
        "/".into(),
    ]
    .iter()
    .enumerate()
    {
        let tar = tmp.path().join(format!("sym{i}.tar"));
        make_tar(
            &tar,
            &[
                ("esc", EntryType::Symlink, Some(target.as_str()), b""),
                ("esc/pwned", EntryType::Regular, None, b"gotcha"),
            ],
        );
        match s.import_layer_tar(&tar) {
            Ok(info) => {
                // Resolved inside the layer root: the file sits under the layer dir.
                let layer = s.layer_path(&info.diff_id).unwrap();
                let found = walkdir::WalkDir::new(&layer)
                    .into_iter()
                    .flatten()
                    .any(|e| e.file_name() == "pwned");
                assert!(found, "target {target}: file is inside the layer");
            }
            Err(e) => assert!(e.to_string().contains("esc/pwned"), "{e}"),
        }
        assert!(!outside.join("pwned").exists(), "target {target}: escaped");
        assert!(!Path::new("/pwned").exists());
    }
    no_leftover_temps(&s);
}

#[test]
fn hardlinks_to_outside_files_are_refused_or_contained() {
    let (tmp, s) = setup();
    let secret = tmp.path().join("secret");
    fs::write(&secret, "top secret").unwrap();
    let passwd_links = fs::metadata("/etc/passwd")
        .map(|m| std::os::unix::fs::MetadataExt::nlink(&m))
        .unwrap();
    let cases: Vec<Vec<Entry>> = vec![
        vec![("hl", EntryType::Link, Some("../../../../../secret"), b"")],
        vec![("hl", EntryType::Link, Some("/etc/passwd"), b"")],
        vec![
            ("s", EntryType::Symlink, Some("/etc"), b""),
            ("hl", EntryType::Link, Some("s/passwd"), b""),
        ],
        vec![
            ("s", EntryType::Symlink, Some(secret.to_str().unwrap()), b""),
            ("hl", EntryType::Link, Some("s"), b""),
        ],
    ];
    for (i, entries) in cases.iter().enumerate() {
        let tar = tmp.path().join(format!("hl{i}.tar"));
        make_tar(&tar, entries);
        if let Ok(info) = s.import_layer_tar(&tar) {
            // Only a link to the symlink itself (case 3) may succeed; it is not the secret.
            let hl = s.layer_path(&info.diff_id).unwrap().join("hl");
            let md = fs::symlink_metadata(&hl).unwrap();
            assert!(
                md.file_type().is_symlink(),
                "case {i}: hardlink must not reach a file outside"
            );
        }
        let md = fs::metadata(&secret).unwrap();
        assert_eq!(
            std::os::unix::fs::MetadataExt::nlink(&md),
            1,
            "case {i}: secret got linked"
        );
    }
    let now = fs::metadata("/etc/passwd")
        .map(|m| std::os::unix::fs::MetadataExt::nlink(&m))
        .unwrap();
    assert_eq!(now, passwd_links);
    no_leftover_temps(&s);
}

#[test]
fn a_symlinked_directory_replaced_later_does_not_redirect_writes() {
    let (tmp, s) = setup();
    let outside = tmp.path().join("outside2");
    fs::create_dir(&outside).unwrap();
    let tar = tmp.path().join("swap.tar");
    let target = outside.display().to_string();
    make_tar(
        &tar,
        &[
            ("d/", EntryType::Directory, None, b""),
            ("d/a", EntryType::Regular, None, b"1"),
            ("d", EntryType::Symlink, Some(target.as_str()), b""),
            ("d/b", EntryType::Regular, None, b"2"),
        ],
    );
    let _ = s.import_layer_tar(&tar);
    assert!(
        fs::read_dir(&outside).unwrap().next().is_none(),
        "nothing written outside"
    );
}

#[test]
fn unsupported_compression_is_a_clear_error() {
    let (tmp, s) = setup();
    let bz = tmp.path().join("layer.tar.bz2");
    fs::write(&bz, b"BZh91AY&SY").unwrap();
    let err = s.import_layer_tar(&bz).unwrap_err().to_string();
    assert!(err.contains("bzip2 compression is not supported"), "{err}");
    no_leftover_temps(&s);
}
