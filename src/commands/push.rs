//! `kiste push IMAGE [DESTINATION]`: upload a local image to a registry as docker and
//! podman do; `--digestfile` records the manifest digest.

use crate::cli::PushArgs;
use crate::image::{ImageStore, Reference};
use crate::paths::Paths;
use crate::registry::progress::Progress;
use crate::registry::{self, PushOptions};
use anyhow::Context;

pub fn push(paths: &Paths, args: PushArgs) -> anyhow::Result<()> {
    super::refused::content_trust("push", args.trust.disable_content_trust)?;
    let store = ImageStore::open(&paths.images())?;
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
