//! `kiste push IMAGE [DESTINATION]`: upload a local image to a registry as docker and
//! podman do; `--digestfile` records the manifest digest.

use crate::cli::PushArgs;
use crate::image::{ImageStore, Reference};
use crate::paths::Paths;
use crate::registry::progress::Progress;
use crate::registry::{self, PushOptions};
use anyhow::Context;

/// `push --all-tags REPOSITORY`: every local tag of the repository, in name order, as
/// docker pushes them (each its own manifest; shared blobs go once).
fn push_all_tags(store: &ImageStore, args: &PushArgs) -> anyhow::Result<()> {
    let fail = |message: String| super::Exit { code: 1, message };
    let tail = args.image.rsplit('/').next().unwrap_or_default();
    if tail.contains(':') || args.image.contains('@') {
        return Err(fail("tag can't be used with --all-tags/-a".into()).into());
    }
    if args.digestfile.is_some() {
        return Err(super::Exit {
            code: 125,
            message: "--digestfile records one manifest's digest; --all-tags pushes one per tag"
                .into(),
        }
        .into());
    }
    if args.destination.is_some() {
        return Err(super::Exit {
            code: 125,
            message:
                "--all-tags pushes a repository under its own name: a destination cannot be given"
                    .into(),
        }
        .into());
    }
    let repo = Reference::parse(&args.image)?.name;
    let mut tags: Vec<Reference> = store
        .list()?
        .iter()
        .flat_map(|i| i.tags.iter())
        .filter_map(|t| Reference::parse(t).ok())
        .filter(|r| r.name == repo && r.digest.is_none())
        .collect();
    crate::sort::sort_by(&mut tags, |a, b| a.tag.cmp(&b.tag));
    tags.dedup();
    if tags.is_empty() {
        return Err(fail(format!(
            "An image does not exist locally with the tag: {}",
            args.image
        ))
        .into());
    }
    let progress = Progress::new(Box::new(std::io::stdout()), args.quiet);
    let opts = PushOptions {
        tls_verify: args.tls_verify,
    };
    for dest in &tags {
        let image = store.resolve(&dest.to_string())?;
        let layers = store.layers_of(&image)?;
        registry::push(store, &image, &layers, dest, &opts, &progress)
            .map_err(|e| anyhow::anyhow!("cannot push {dest}: {e}"))?;
    }
    Ok(())
}

pub fn push(paths: &Paths, args: PushArgs) -> anyhow::Result<()> {
    super::refused::content_trust("push", args.trust.disable_content_trust)?;
    let store = ImageStore::open(&paths.images())?;
    if args.all_tags {
        return push_all_tags(&store, &args);
    }
    let image = store
        .resolve(&args.image)
        .with_context(|| format!("cannot push {}", args.image))?;
    let dest = Reference::parse(args.destination.as_deref().unwrap_or(&args.image))?;
    let layers = store.layers_of(&image)?;
    let progress = Progress::new(Box::new(std::io::stdout()), args.quiet);
    let opts = PushOptions {
        tls_verify: args.tls_verify,
    };
    let digest = registry::push(&store, &image, &layers, &dest, &opts, &progress)
        .map_err(|e| anyhow::anyhow!("cannot push {dest}: {e}"))?;
    // As docker: the pushed repository's digest is the image's from now on.
    store.add_repo_digest(&image.id, &format!("{}@{digest}", dest.name))?;
    if let Some(file) = &args.digestfile {
        std::fs::write(file, &digest)
            .with_context(|| format!("cannot write digest file {}", file.display()))?;
    }
    crate::events::pushed_or_pulled(paths, "push", &dest.to_string());
    Ok(())
}
