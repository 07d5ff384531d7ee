//! `kiste pull`, and the pull that `run`, `create` and `build` do for a missing image
//! (`--pull always|missing|never`). Prints docker's lines; the last one, the fully
//! qualified reference, goes to stdout even with `-q`.

use crate::cli::{PullArgs, PullPolicy};
use crate::image::{Image, ImageError, ImageStore};
use crate::paths::Paths;
use crate::registry::progress::Progress;
use crate::registry::{self, Platform, PullOptions};
use anyhow::Context;

pub fn pull(paths: &Paths, args: PullArgs) -> anyhow::Result<()> {
    if args.all_tags {
        anyhow::bail!("--all-tags is not supported by kiste");
    }
    let opts = PullOptions {
        platform: args.platform.as_deref().map(Platform::parse).transpose()?,
        tls_verify: args.tls_verify,
    };
    paths
        .ensure()
        .context("cannot create kiste's state directories")?;
    let store = ImageStore::open(&paths.images())?;
    let progress = Progress::new(Box::new(std::io::stdout()), args.quiet);
    let outcome = registry::pull(&store, &args.image, &opts, &progress)
        .with_context(|| format!("cannot pull {}", args.image))?;
    println!("{}", outcome.canonical);
    Ok(())
}

/// The image `name` for a container or a build's FROM, pulled as `policy` says. Pull
/// output goes to `out` (stderr for run/create as docker does, stdout for build).
pub fn image_for_use(
    store: &ImageStore,
    name: &str,
    policy: PullPolicy,
    platform: Option<&str>,
    out: Box<dyn std::io::Write + Send>,
    quiet: bool,
) -> anyhow::Result<Image> {
    let local = match policy {
        PullPolicy::Always => None,
        _ => match store.resolve(name) {
            Ok(image) => Some(image),
            Err(ImageError::NotFound(_)) if policy == PullPolicy::Missing => None,
            Err(e) => return Err(e.into()),
        },
    };
    if let Some(image) = local {
        return Ok(image);
    }
    let opts = PullOptions {
        platform: platform.map(Platform::parse).transpose()?,
        tls_verify: true,
    };
    if policy == PullPolicy::Missing && !quiet {
        eprintln!("Unable to find image '{name}' locally");
    }
    let progress = Progress::new(out, quiet);
    let outcome = registry::pull(store, name, &opts, &progress)
        .with_context(|| format!("cannot pull {name}"))?;
    Ok(outcome.image)
}
