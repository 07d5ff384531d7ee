//! `kiste pull`, and the pull that `run`, `create` and `build` do for a missing image
//! (`--pull always|missing|never`). Prints docker's lines; the last one, the fully
//! qualified reference, goes to stdout even with `-q`.

use crate::cli::PullArgs;
use crate::image::{Image, ImageError, ImageStore};
use crate::paths::Paths;
use crate::registry::progress::Progress;
use crate::registry::{self, Platform, PullOptions, PullPolicy};
use anyhow::Context;

pub fn pull(paths: &Paths, args: PullArgs) -> anyhow::Result<()> {
    super::refused::content_trust("pull", args.trust.disable_content_trust)?;
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
    // The registry errors carry their causes in their text; one line, no repeated chain.
    let outcome = registry::pull(&store, &args.image, &opts, &progress)
        .map_err(|e| anyhow::anyhow!("cannot pull {}: {e}", args.image))?;
    crate::events::pushed_or_pulled(paths, "pull", &args.image);
    println!("{}", outcome.canonical);
    Ok(())
}

/// The image for `run`/`create`, pulled as `policy` says; pull output goes to stderr,
/// as docker prints it there for `run`, and not at all when `quiet` (`run -q`).
pub fn image_for_container(
    store: &ImageStore,
    name: &str,
    policy: PullPolicy,
    platform: Option<&str>,
    quiet: bool,
) -> anyhow::Result<Image> {
    let opts = PullOptions {
        platform: platform.map(Platform::parse).transpose()?,
        tls_verify: true,
    };
    let progress = Progress::new(Box::new(std::io::stderr()), quiet);
    registry::image_for_use(store, name, policy, &opts, &progress, &mut || {
        if !quiet {
            eprintln!("Unable to find image '{name}' locally")
        }
    })
    .map_err(|e| match e {
        registry::RegistryError::Store(ImageError::NotFound(_)) => super::Exit {
            code: 125,
            message: format!("unable to find image '{name}' locally: {e}"),
        }
        .into(),
        e => anyhow::anyhow!("cannot pull {name}: {e}"),
    })
}
