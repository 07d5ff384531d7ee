//! `kiste build`: executes a parsed Dockerfile (the typed layer of `dockerfile-parser`)
//! stage by stage. RUN and COPY/ADD make layers (RUN in a real container on an overlay of
//! the image so far); every other instruction changes the image config. The result is
//! committed to the image store as an OCI image with its history.

mod archive;
mod cache;
mod cache_prune;
mod context;
mod copy;
#[doc(hidden)]
pub mod fuzzing;
mod host;
mod inline_cache;
pub mod interrupt;
mod keep;
mod layers;
mod platform;
mod progress;
mod run_step;
mod scratch;

pub use cache_prune::{prune as prune_cache_by, CacheFilter, CacheKind};
pub use context::Ignore;
pub use host::{StepHost, StepNetwork};
pub use scratch::Scratch;

use crate::image::config::{ImageConfig, RootFs};
use crate::image::{ImageStore, LayerInfo, Reference};
use crate::paths::Paths;
use cache::{BuildCache, CacheEntry, KeyBuilder};
use context::has_glob;
use copy::{copy_sources, CopyOptions, Source};
use dockerfile_parser::shell::Lexer;
use dockerfile_parser::{Instruction, ShellOrExec, Spanned};
use layers::{resolve_owner, LowerView};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use run_step::RunFailure;

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A problem at a Dockerfile line.
    #[error("{file}:{line}: {message}")]
    At {
        file: String,
        line: usize,
        message: String,
    },
    /// The image store failed (opening it, committing the result).
    #[error(transparent)]
    Image(#[from] crate::image::ImageError),
    /// A file-system call failed: what was being done, and the cause.
    #[error("{action}: {source}")]
    Io {
        action: String,
        #[source]
        source: std::io::Error,
    },
    /// A RUN step could not be run (its container, its mounts): the line and the cause.
    #[error("{file}:{line}: RUN failed: {source}")]
    Run {
        file: String,
        line: usize,
        #[source]
        source: RunFailure,
    },
    /// The build context directory does not exist.
    #[error("unable to prepare context: path \"{}\" not found", .path.display())]
    ContextNotFound { path: PathBuf },
    /// `--target` names no stage of the Dockerfile.
    #[error("target stage \"{target}\" could not be found")]
    TargetNotFound { target: String },
    /// SIGINT or SIGTERM came during the build.
    #[error("the build was interrupted by signal {signal}")]
    Interrupted { signal: i32 },
}

pub struct BuildOptions {
    pub context: PathBuf,
    /// The Dockerfile's text and the name used in messages.
    pub dockerfile: String,
    pub dockerfile_name: String,
    /// Where the Dockerfile is (for `Dockerfile.dockerignore`), when it is a file.
    pub dockerfile_path: Option<PathBuf>,
    pub tags: Vec<Reference>,
    pub build_args: BTreeMap<String, String>,
    pub target: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub quiet: bool,
    /// Unix seconds for every timestamp (SOURCE_DATE_EPOCH / --timestamp).
    pub timestamp: Option<i64>,
    /// Build every step, ignoring (but refreshing) the cache.
    pub no_cache: bool,
    /// `--secret id=…,src=…`: secret id to the file holding it.
    pub secrets: BTreeMap<String, PathBuf>,
    /// When FROM images are pulled from their registry.
    pub pull: crate::registry::PullPolicy,
    /// How the RUN steps' containers are made (`--network`, `--add-host`, limits…).
    pub host: StepHost,
    /// `--platform`: the platform FROM picks from a multi-platform image (None: this
    /// machine's).
    pub platform: Option<crate::registry::Platform>,
    /// `--cache-from`: images whose history and layers seed the cache.
    pub cache_from: Vec<String>,
}

/// One stage's image as it is built.
#[derive(Clone)]
struct StageImage {
    name: Option<String>,
    layers: Vec<LayerInfo>,
    config: ImageConfig,
    /// The cache key of the state so far.
    key: String,
    /// The steps' keys, for `BUILDKIT_INLINE_CACHE=1` (see `inline_cache`).
    inline: inline_cache::InlineCache,
}

struct Builder<'a> {
    paths: &'a Paths,
    opts: &'a BuildOptions,
    images: ImageStore,
    ignore: Ignore,
    lexer: Lexer,
    /// Build args declared before the first FROM, with their values.
    meta_args: BTreeMap<String, String>,
    used_args: std::collections::BTreeSet<String>,
    step: usize,
    steps: usize,
    scratch: PathBuf,
    scratch_guard: scratch::Scratch,
    cache: BuildCache,
    /// The new layers' blobs and cache entries, stored when the build commits.
    pending: cache::Pending,
    /// `--cache-from` images.
    cache_from: inline_cache::CacheSources,
    /// A stage or image mounted for COPY --from, unmounted after the step.
    from_mounts: Vec<PathBuf>,
    /// Every stage name in the Dockerfile, in order (for "defined later" errors).
    stage_names: Vec<Option<String>>,
    progress: progress::Progress,
}

fn default_shell() -> Vec<String> {
    vec!["/bin/sh".into(), "-c".into()]
}

pub fn build(paths: &Paths, opts: &BuildOptions) -> Result<crate::image::Image, BuildError> {
    let file = &opts.dockerfile_name;
    let df = dockerfile_parser::parse(&opts.dockerfile).map_err(|e| BuildError::At {
        file: file.clone(),
        line: e.line,
        message: e.message.clone(),
    })?;
    if !opts.context.is_dir() {
        return Err(BuildError::ContextNotFound {
            path: opts.context.clone(),
        });
    }
    let ignore =
        Ignore::load(&opts.context, opts.dockerfile_path.as_deref()).map_err(|source| {
            BuildError::Io {
                action: format!("cannot read .dockerignore of {}", opts.context.display()),
                source,
            }
        })?;
    let images = ImageStore::open(&paths.images())?;
    let scratch_guard =
        scratch::Scratch::create(&paths.build_dir()).map_err(|source| BuildError::Io {
            action: format!(
                "cannot create a build directory in {}",
                paths.build_dir().display()
            ),
            source,
        })?;
    let scratch = scratch_guard.dir.clone();
    let target = match &opts.target {
        Some(t) => df
            .stages
            .iter()
            .position(|s| s.name.as_deref() == Some(t.to_lowercase().as_str()))
            .ok_or_else(|| BuildError::TargetNotFound { target: t.clone() })?,
        None => df.stages.len().saturating_sub(1),
    };
    let steps = df.stages[..=target]
        .iter()
        .map(|s| 1 + s.instructions.len())
        .sum();
    let mut b = Builder {
        paths,
        opts,
        images,
        ignore,
        lexer: Lexer::new(df.escape),
        meta_args: BTreeMap::new(),
        used_args: Default::default(),
        step: 0,
        steps,
        scratch,
        scratch_guard,
        cache: BuildCache::open(paths.build_cache()),
        pending: Default::default(),
        cache_from: Default::default(),
        from_mounts: Vec::new(),
        stage_names: df.stages.iter().map(|s| s.name.clone()).collect(),
        progress: progress::Progress::new(opts.quiet),
    };
    if !opts.cache_from.is_empty() {
        let out: Box<dyn std::io::Write + Send> = Box::new(std::io::stdout());
        let pulling = crate::registry::progress::Progress::new(out, opts.quiet);
        let fetch = |r: &str| {
            crate::registry::image_for_use(
                &b.images,
                r,
                crate::registry::PullPolicy::Missing,
                &crate::registry::PullOptions::default(),
                &pulling,
                &mut || {},
            )
            .map_err(|e| e.to_string())
        };
        let warn = |m: String| b.progress.line(format_args!("[Warning] {m}"));
        b.cache_from = inline_cache::CacheSources::load(&b.images, &opts.cache_from, &fetch, &warn);
    }
    let result = b.run(&df, target);
    if result.is_err() {
        // The steps that succeeded stay cached, as in docker, for the next attempt.
        let _ = b.store_pending();
    }
    let image = result?;
    let unused: Vec<_> = opts
        .build_args
        .keys()
        .filter(|k| !b.used_args.contains(*k) && !is_predefined_arg(k))
        .cloned()
        .collect();
    if !unused.is_empty() {
        b.progress.line(format_args!(
            "[Warning] One or more build-args [{}] were not consumed",
            unused.join(" ")
        ));
    }
    Ok(image)
}

/// Stop here if SIGINT or SIGTERM came (see `interrupt`).
fn interrupted() -> Result<(), BuildError> {
    match interrupt::pending() {
        Some(signal) => Err(BuildError::Interrupted { signal }),
        None => Ok(()),
    }
}

/// Remove what dead builds (killed with SIGKILL) left: their RUN processes, cgroups,
/// mounts and scratch dirs. Any kiste command calls this.
pub fn clean_dead_builds(paths: &Paths) {
    scratch::clean_stale(&paths.build_dir());
}

/// The layers the build cache still refers to.
pub fn cached_layers(paths: &Paths) -> Vec<LayerInfo> {
    BuildCache::open(paths.build_cache()).layers()
}

/// Forget every cached step and every RUN --mount=type=cache directory.
pub fn clear_cache(paths: &Paths) -> std::io::Result<()> {
    BuildCache::open(paths.build_cache()).clear()?;
    match std::fs::remove_dir_all(paths.build_cache_mounts()) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

fn is_predefined_arg(k: &str) -> bool {
    matches!(
        k.to_ascii_uppercase().as_str(),
        "HTTP_PROXY" | "HTTPS_PROXY" | "FTP_PROXY" | "NO_PROXY" | "ALL_PROXY"
    ) || k == "BUILDKIT_INLINE_CACHE"
}

impl Builder<'_> {
    fn at(&self, line: usize, message: impl Into<String>) -> BuildError {
        BuildError::At {
            file: self.opts.dockerfile_name.clone(),
            line,
            message: message.into(),
        }
    }

    fn say(&self, text: std::fmt::Arguments) {
        self.progress.line(text);
    }

    fn now(&self) -> String {
        match self.opts.timestamp {
            Some(t) => crate::image::format_rfc3339(t, 0),
            None => crate::image::now_rfc3339(),
        }
    }

    fn run(
        &mut self,
        df: &dockerfile_parser::Dockerfile,
        target: usize,
    ) -> Result<crate::image::Image, BuildError> {
        // BuildKit's automatic platform args: usable in FROM, and in a stage after `ARG NAME`.
        let native = crate::registry::Platform::host();
        let target_platform = self.opts.platform.clone().unwrap_or_else(|| native.clone());
        for (prefix, p) in [("TARGET", &target_platform), ("BUILD", &native)] {
            self.meta_args
                .insert(format!("{prefix}PLATFORM"), platform::show(p));
            self.meta_args.insert(format!("{prefix}OS"), p.os.clone());
            self.meta_args
                .insert(format!("{prefix}ARCH"), p.architecture.clone());
            self.meta_args.insert(
                format!("{prefix}VARIANT"),
                p.variant.clone().unwrap_or_default(),
            );
        }
        for a in &df.meta_args {
            for (k, default) in &a.node.args {
                let value = match self.opts.build_args.get(k) {
                    Some(v) => {
                        self.used_args.insert(k.clone());
                        Some(v.clone())
                    }
                    None => match default {
                        Some(d) => Some(
                            self.lexer
                                .expand_word(d, &self.meta_args)
                                .map_err(|e| self.at(a.span.line, e.message.clone()))?,
                        ),
                        None => None,
                    },
                };
                if let Some(v) = value {
                    self.meta_args.insert(k.clone(), v);
                }
            }
        }
        let mut done: Vec<StageImage> = Vec::new();
        for stage in &df.stages[..=target] {
            interrupted()?;
            let img = self.build_stage(stage, &done)?;
            done.push(img);
        }
        // A build interrupted by SIGINT/SIGTERM stores and tags nothing.
        interrupted()?;
        let mut fin = done.pop().expect("at least one stage");
        // The image is as old as its last step (a cached rebuild keeps its id).
        let last = fin.config.history.last().and_then(|h| h.created.clone());
        fin.config.created = Some(last.unwrap_or_else(|| self.now()));
        for (k, v) in &self.opts.labels {
            fin.config.config.labels.insert(k.clone(), v.clone());
        }
        if inline_cache::wanted(&self.opts.build_args) {
            let text = serde_json::to_string(&fin.inline).expect("the inline cache serializes");
            fin.config
                .config
                .labels
                .insert(inline_cache::LABEL.into(), text);
        }
        // One durable commit for every layer the build made: their blobs, config and
        // manifest, one directory sync, images.json; then the cache entries.
        let held = self.pending.take_blobs();
        // No RUN step comes after this: the overlay work dir they shared goes on a thread
        // of its own meanwhile (joined here; nothing forks after the last step). Each
        // directory it frees costs a synchronous discard on a store mounted with
        // `discard`, a wait that the commit's own syncs can overlap.
        let work = run_step::overlay_work_dir(&self.scratch);
        let ran = work.exists();
        let image = std::thread::scope(|s| {
            // What cannot go here goes with the scratch dir.
            let removing = ran.then(|| s.spawn(|| crate::fs::remove_tree(&work)));
            let image =
                self.images
                    .commit_image_held(&fin.config, &fin.layers, &self.opts.tags, held);
            self.pending.write(&self.cache, &self.opts.labels);
            if let Some(r) = removing {
                let _ = r.join();
            }
            image
        })?;
        let short = &image.id.trim_start_matches("sha256:")[..12];
        self.say(format_args!("Successfully built {short}"));
        for t in &self.opts.tags {
            self.say(format_args!("Successfully tagged {t}"));
        }
        Ok(image)
    }

    fn base_image(
        &self,
        from: &dockerfile_parser::From,
        line: usize,
        done: &[StageImage],
        wanted: Option<&crate::registry::Platform>,
    ) -> Result<StageImage, BuildError> {
        if from.image == "scratch" {
            let arch = wanted.map_or(crate::image::oci_architecture(), |p| &p.architecture);
            return Ok(StageImage {
                name: None,
                key: KeyBuilder::new("").field("scratch").finish(),
                inline: Default::default(),
                layers: Vec::new(),
                config: ImageConfig {
                    architecture: arch.into(),
                    os: "linux".into(),
                    rootfs: RootFs {
                        kind: "layers".into(),
                        diff_ids: Vec::new(),
                    },
                    ..Default::default()
                },
            });
        }
        let lower = from.image.to_lowercase();
        if let Some(s) = done
            .iter()
            .rev()
            .find(|s| s.name.as_deref() == Some(lower.as_str()))
        {
            return Ok(s.clone());
        }
        let out: Box<dyn std::io::Write + Send> = Box::new(std::io::stdout());
        let progress = crate::registry::progress::Progress::new(out, self.opts.quiet);
        let pull_opts = crate::registry::PullOptions {
            platform: wanted.cloned(),
            ..Default::default()
        };
        let base_err = |e: &dyn std::fmt::Display| {
            self.at(line, format!("base image \"{}\": {e}", from.image))
        };
        let mut img = crate::registry::image_for_use(
            &self.images,
            &from.image,
            self.opts.pull,
            &pull_opts,
            &progress,
            &mut || {},
        )
        .map_err(|e| base_err(&e))?;
        // A local image of another platform: BuildKit pulls the requested one.
        if let Some(w) = wanted.filter(|w| !platform::matches(&img.config, w)) {
            let mismatch = |c: &ImageConfig| {
                base_err(&format!(
                    "the image is {}/{}, not {} (--platform)",
                    c.os,
                    c.architecture,
                    platform::show(w)
                ))
            };
            if self.opts.pull == crate::registry::PullPolicy::Never {
                return Err(mismatch(&img.config));
            }
            let pulled = crate::registry::pull(&self.images, &from.image, &pull_opts, &progress)
                .map_err(|e| {
                    base_err(&format!(
                        "the local image is {}/{}, and {} cannot be pulled: {e}",
                        img.config.os,
                        img.config.architecture,
                        platform::show(w)
                    ))
                })?;
            img = pulled.image;
            if !platform::matches(&img.config, w) {
                return Err(mismatch(&img.config));
            }
        }
        let layers = self
            .images
            .layers_of(&img)
            .map_err(|e| self.at(line, e.to_string()))?;
        let mut config = img.config.clone();
        // A base image's inline cache is its own: the new image gets its own or none.
        config.config.labels.remove(inline_cache::LABEL);
        Ok(StageImage {
            name: None,
            key: KeyBuilder::new("").field(&img.id).finish(),
            inline: Default::default(),
            layers,
            config,
        })
    }

    /// Layer dirs, bottom first, for an overlay mount.
    /// Store the blobs of the layers made so far and write their cache entries: before
    /// anything reads those blobs (an intermediate image), or when the build fails.
    fn store_pending(&mut self) -> Result<(), BuildError> {
        self.images.sync_held(self.pending.take_blobs())?;
        self.pending.write(&self.cache, &self.opts.labels);
        Ok(())
    }

    fn layer_dirs(&self, layers: &[LayerInfo]) -> Result<Vec<PathBuf>, BuildError> {
        Ok(self.images.layer_dirs_for(layers)?)
    }
}

mod stage;
