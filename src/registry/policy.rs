//! When an image is pulled for a container or a build's FROM: `--pull
//! always|missing|never` (docker's and podman's values; `true`/`false` as podman's
//! build takes them), and the lookup-then-pull that `run`, `create` and `build` share.

use super::progress::Progress;
use super::{pull, PullOptions, RegistryError};
use crate::image::{Image, ImageError, ImageStore};

/// When to pull the image a container or build needs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PullPolicy {
    /// Pull even when the image is present (a newer one may exist).
    Always,
    /// Pull only when the image is not in the store.
    #[default]
    Missing,
    /// Never pull: a missing image is an error.
    Never,
}

impl std::str::FromStr for PullPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "always" | "true" => Ok(PullPolicy::Always),
            "missing" | "false" => Ok(PullPolicy::Missing),
            "never" => Ok(PullPolicy::Never),
            other => Err(format!(
                "invalid pull policy {other:?}: use always, missing or never"
            )),
        }
    }
}

/// The image `name` from the store, pulled first as `policy` says. `announce` is
/// called before a pull of a missing image (docker's "Unable to find image" line).
pub fn image_for_use(
    store: &ImageStore,
    name: &str,
    policy: PullPolicy,
    opts: &PullOptions,
    progress: &Progress,
    announce: &mut dyn FnMut(),
) -> Result<Image, RegistryError> {
    if policy != PullPolicy::Always {
        match store.resolve(name) {
            Ok(image) => return Ok(image),
            Err(ImageError::NotFound(_)) if policy == PullPolicy::Missing => announce(),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(pull(store, name, opts, progress)?.image)
}
