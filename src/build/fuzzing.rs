//! Entry points for the fuzz target (`fuzz/`, `scripts/fuzz-confined.sh`): the builder's
//! confined COPY, ADD-archive and layer-unpack code, callable with plain paths. Not an
//! API for anything else; the fuzz target checks that no call writes outside `layer`.

use super::copy::{self, CopyOptions, Source, Target};
use super::layers::LowerView;
use crate::fs::Root;
use std::io;
use std::path::{Path, PathBuf};
use std::rc::Rc;

fn with_target<T>(
    layer: &Path,
    lowers: Vec<PathBuf>,
    f: impl FnOnce(&Target) -> io::Result<T>,
) -> io::Result<T> {
    let lower = LowerView::new(lowers);
    let merged = lower.with_top(layer)?;
    let root = Root::open(layer)?;
    f(&Target {
        layer: &root,
        lower: &lower,
        merged: &merged,
    })
}

/// `COPY <sources> <dest>` with the sources taken from the tree `src`.
pub fn copy(
    src: &Path,
    sources: &[&str],
    layer: &Path,
    lowers: Vec<PathBuf>,
    dest: &str,
    dest_is_dir: bool,
    owner: Option<(u32, u32)>,
) -> io::Result<()> {
    let root = Rc::new(Root::open(src)?);
    let sources: Vec<Source> = sources
        .iter()
        .map(|s| Source {
            root: root.clone(),
            path: s.to_string(),
            rel: Some(s.to_string()),
        })
        .collect();
    let opts = CopyOptions {
        dest: format!("/{}", super::context::clean(dest)),
        dest_is_dir,
        owner,
        chmod: None,
        ignore: None,
        exclude: None,
        parents: false,
    };
    with_target(layer, lowers, |t| copy::copy_sources(t, &sources, &opts))
}

/// `ADD <archive> <dest>` with the archive at `archive` in the tree `src`.
pub fn add_archive(
    src: &Path,
    archive: &str,
    layer: &Path,
    lowers: Vec<PathBuf>,
    dest: &str,
    owner: Option<(u32, u32)>,
) -> io::Result<()> {
    let root = Root::open(src)?;
    let dest = super::context::clean(dest);
    with_target(layer, lowers, |t| {
        super::archive::unpack(&root, archive, t, &dest, owner)
    })
}

/// The store's layer unpacker on the tar `bytes`, into the empty directory `dest`.
pub fn unpack_layer(bytes: &[u8], dest: &Path) -> Result<(), String> {
    crate::image::layer::unpack::unpack_layer(
        bytes,
        dest,
        "fuzz",
        crate::image::layer::OverlayXattrs::Trusted,
    )
    .map(drop)
    .map_err(|e| e.to_string())
}
