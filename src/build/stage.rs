//! One stage of a build: its base, then each instruction applied to the stage's image
//! (config changes, or a new layer from COPY/ADD/RUN), with a history entry for each.

use super::*;
use crate::image::config::{set_env, History};

/// Stage-scoped build args: declared names and their values (None when unset).
type Args = BTreeMap<String, Option<String>>;

impl Builder<'_> {
    pub(super) fn build_stage(
        &mut self,
        stage: &dockerfile_parser::Stage,
        done: &[StageImage],
    ) -> Result<StageImage, BuildError> {
        self.step += 1;
        self.progress
            .step(self.step, self.steps, &stage.from.original);
        let from = stage
            .from
            .node
            .expand(&self.lexer, &self.meta_args)
            .map_err(|e| self.at(stage.from.span.line, e.message.clone()))?;
        for k in self.meta_args.keys() {
            if stage.from.original.contains(k.as_str()) {
                self.used_args.insert(k.clone());
            }
        }
        // FROM --platform, else --platform, else this machine's (where the image's own
        // platform is taken as it is).
        let wanted =
            match &from.platform {
                Some(p) => Some(crate::registry::Platform::parse(p).map_err(|e| {
                    self.at(stage.from.span.line, format!("FROM --platform={p}: {e}"))
                })?),
                None => self.opts.platform.clone(),
            };
        let mut img = self.base_image(&from, stage.from.span.line, done, wanted.as_ref())?;
        img.name = stage.name.clone();
        // Both of docker's builders give an image without PATH the default one.
        let env = &mut img.config.config.env;
        if !env.iter().any(|e| e.starts_with("PATH=")) {
            env.insert(0, format!("PATH={}", crate::runtime::DEFAULT_PATH));
        }
        let mut args: Args = BTreeMap::new();
        let mut cmd_set = false;
        // ONBUILD triggers of the base image run first, as if written after FROM.
        let triggers = std::mem::take(&mut img.config.config.on_build);
        for t in &triggers {
            let parsed =
                dockerfile_parser::parse(&format!("FROM scratch\n{t}\n")).map_err(|e| {
                    self.at(
                        stage.from.span.line,
                        format!("ONBUILD trigger \"{t}\": {}", e.message),
                    )
                })?;
            for ins in &parsed.stages[0].instructions {
                let mut ins = ins.clone();
                ins.span = stage.from.span.clone();
                self.instruction(&mut img, &mut args, &mut cmd_set, &ins, done)?;
            }
        }
        for ins in &stage.instructions {
            self.step += 1;
            self.progress.step(self.step, self.steps, &ins.original);
            self.instruction(&mut img, &mut args, &mut cmd_set, ins, done)?;
        }
        Ok(img)
    }

    /// The variables visible to word expansion: build args, overridden by ENV.
    fn expansion_env(&self, img: &StageImage, args: &Args) -> BTreeMap<String, String> {
        let mut env: BTreeMap<String, String> = args
            .iter()
            .filter_map(|(k, v)| v.clone().map(|v| (k.clone(), v)))
            .collect();
        for e in &img.config.config.env {
            let (k, v) = e.split_once('=').unwrap_or((e.as_str(), ""));
            env.insert(k.to_string(), v.to_string());
        }
        env
    }

    fn shell_args(&self, img: &StageImage, cmd: &ShellOrExec) -> Vec<String> {
        match cmd {
            ShellOrExec::Exec(v) => v.clone(),
            ShellOrExec::Shell(s) => {
                let mut v = img
                    .config
                    .config
                    .shell
                    .clone()
                    .unwrap_or_else(default_shell);
                v.push(s.clone());
                v
            }
        }
    }

    fn history(
        &self,
        img: &mut StageImage,
        created: String,
        created_by: String,
        empty_layer: bool,
    ) {
        img.config.history.push(History {
            created: Some(created),
            created_by: Some(created_by),
            comment: (!empty_layer).then(|| "buildkit.dockerfile.v0".to_string()),
            empty_layer,
        });
    }

    fn instruction(
        &mut self,
        img: &mut StageImage,
        args: &mut Args,
        cmd_set: &mut bool,
        ins: &Spanned<Instruction>,
        done: &[StageImage],
    ) -> Result<(), BuildError> {
        let line = ins.span.line;
        let env = self.expansion_env(img, args);
        for k in args.keys() {
            if ins.original.contains(k.as_str()) {
                self.used_args.insert(k.clone());
            }
        }
        let node = ins
            .node
            .expand(&self.lexer, &env)
            .map_err(|e| self.at(line, e.message.clone()))?;
        let mut key = KeyBuilder::new(&img.key).instruction(&node);
        if let Instruction::Arg(a) = &node {
            for (k, _) in &a.args {
                key = key
                    .field(k)
                    .optional(self.opts.build_args.get(k).map(String::as_str));
            }
        }
        let key = key.finish();
        let c = &mut img.config.config;
        match node {
            Instruction::Env(pairs) => {
                for (k, v) in pairs {
                    set_env(&mut c.env, format!("{k}={v}"));
                }
            }
            Instruction::Label(pairs) => {
                for (k, v) in pairs {
                    c.labels.insert(k, v);
                }
            }
            Instruction::Arg(a) => {
                for (k, default) in a.args {
                    let v = if let Some(v) = self.opts.build_args.get(&k) {
                        self.used_args.insert(k.clone());
                        Some(v.clone())
                    } else if default.is_some() {
                        default
                    } else {
                        self.meta_args.get(&k).cloned()
                    };
                    args.insert(k, v);
                }
            }
            Instruction::Workdir(w) => {
                let base = if c.working_dir.is_empty() {
                    "/"
                } else {
                    c.working_dir.as_str()
                };
                // BuildKit keeps an absolute path as written (`/tmp/` stays `/tmp/`) and
                // joins a relative one to the current directory, cleaned.
                c.working_dir = if w.starts_with('/') {
                    w
                } else {
                    format!("/{}", context::clean(&format!("{base}/{w}")))
                };
                let dir = context::clean(&c.working_dir);
                let lower = LowerView::new(self.layer_dirs(&img.layers)?);
                if workdir_missing(&lower, &dir) {
                    let by = format!("{} # buildkit", ins.original);
                    return self.make_workdir(img, &lower, &dir, line, &key, by);
                }
            }
            Instruction::User(u) => c.user = u,
            Instruction::Expose(ports) => c.expose(ports),
            Instruction::Volume(vols) => c.add_volumes(vols),
            Instruction::StopSignal(s) => {
                crate::signal::parse_signal(&s).map_err(|e| self.at(line, e.to_string()))?;
                c.stop_signal = s;
            }
            Instruction::Cmd(cmd) => {
                let v = self.shell_args(img, &cmd);
                img.config.config.cmd = Some(v);
                *cmd_set = true;
            }
            Instruction::Entrypoint(ep) => {
                let v = self.shell_args(img, &ep);
                img.config.config.entrypoint = Some(v);
                // docker: a new ENTRYPOINT drops the CMD inherited from the base image.
                if !*cmd_set {
                    img.config.config.cmd = None;
                }
            }
            Instruction::Shell(s) => c.shell = Some(s),
            Instruction::Healthcheck(h) => c.healthcheck = Some(healthcheck_json(&h)),
            Instruction::Onbuild(_, text) => c.on_build.push(text),
            Instruction::Maintainer(m) => img.config.author = Some(m),
            Instruction::Run(run) => {
                let by = format!("{} # buildkit", ins.original);
                let result = self.run_instruction(img, args, &run, line, &key, by, done);
                self.release_mounts();
                return result;
            }
            Instruction::Copy(cp) => {
                let from = cp.from.clone();
                self.copy(
                    img,
                    line,
                    CopySpec {
                        sources: cp.sources,
                        dest: cp.dest,
                        heredocs: cp.heredocs,
                        from,
                        chown: cp.chown,
                        chmod: cp.chmod,
                        add: false,
                        checksum: None,
                        exclude: cp.exclude,
                        parents: cp.parents,
                        link: cp.link,
                    },
                    done,
                    &key,
                    format!("{} # buildkit", ins.original),
                )?;
                return Ok(());
            }
            Instruction::Add(add) => {
                self.copy(
                    img,
                    line,
                    CopySpec {
                        sources: add.sources,
                        dest: add.dest,
                        heredocs: add.heredocs,
                        from: None,
                        chown: add.chown,
                        chmod: add.chmod,
                        add: true,
                        checksum: add.checksum,
                        exclude: add.exclude,
                        parents: false,
                        link: add.link,
                    },
                    done,
                    &key,
                    format!("{} # buildkit", ins.original),
                )?;
                return Ok(());
            }
        }
        let entry = match self.cache_lookup(&key) {
            Some(e) => e,
            None => {
                let e = CacheEntry {
                    layer: None,
                    created: Some(self.now()),
                    ..Default::default()
                };
                let _ = self
                    .cache
                    .record_use(&key, &e, &ins.original, &self.opts.labels);
                e
            }
        };
        let created = entry.created.unwrap_or_else(|| self.now());
        img.inline.insert(
            key.clone(),
            super::inline_cache::InlineEntry {
                layer: None,
                created: Some(created.clone()),
            },
        );
        self.history(img, created, ins.original.clone(), true);
        img.key = key;
        Ok(())
    }

    /// WORKDIR on a path the image lacks: a layer with it (new directories 0755 root,
    /// existing parents as they are below), as docker's builders create it.
    fn make_workdir(
        &mut self,
        img: &mut StageImage,
        lower: &LowerView,
        dir: &str,
        line: usize,
        key: &str,
        created_by: String,
    ) -> Result<(), BuildError> {
        let key = KeyBuilder::new(key).field("mkdir").finish();
        let cached = self.cache_lookup(&key);
        // Directly in the scratch dir: a step dir around it would be one more directory
        // freed on the store (see `run_step::clear_volatile_mark`).
        let layer = self.scratch.join(format!("layer-{}", self.step));
        if cached.is_none() {
            let made = || -> std::io::Result<()> {
                std::fs::create_dir_all(&layer)?;
                let merged = lower.with_top(&layer)?;
                let layer_root = crate::fs::Root::open(&layer)?;
                let target = super::copy::Target {
                    layer: &layer_root,
                    lower,
                    merged: &merged,
                };
                super::copy::ensure_dir(&target, dir, None).map(|_| ())
            };
            made().map_err(|e| self.at(line, format!("WORKDIR /{dir}: cannot create it: {e}")))?;
        }
        let dir_arg = cached.is_none().then_some(layer.as_path());
        let result = self.layer_step(img, &key, cached, dir_arg, line, created_by);
        // Renamed into the layer store by then, unless the step failed.
        if result.is_err() {
            let _ = crate::fs::remove_tree(&layer);
        }
        result
    }

    /// The cache entry for `key` unless `--no-cache`; says " ---> Using cache" on a hit.
    pub(super) fn cache_lookup(&self, key: &str) -> Option<CacheEntry> {
        if self.opts.no_cache {
            return None;
        }
        if let Some(entry) = self.pending.lookup(key) {
            self.say(format_args!(" ---> Using cache"));
            return Some(entry);
        }
        let exists = |l: &LayerInfo| {
            self.pending.holds(&l.digest)
                || self.images.blob_path(&l.digest).is_ok_and(|p| p.exists())
        };
        // --cache-from: a hit seeds the local cache too. Either way the entry's last use
        // is now (for `builder prune --filter until=…/--keep-storage`).
        let entry = self
            .cache
            .lookup(key, exists)
            .or_else(|| self.cache_from.lookup(key, exists))?;
        let _ = self.cache.record_use(key, &entry, "", &self.opts.labels);
        self.say(format_args!(" ---> Using cache"));
        Some(entry)
    }

    /// Finish a step that makes a layer: reuse the cached one for `key`, or pack `dir`
    /// (when given) and remember it. `dir` is removed either way.
    pub(super) fn layer_step(
        &mut self,
        img: &mut StageImage,
        key: &str,
        cached: Option<CacheEntry>,
        dir: Option<&Path>,
        line: usize,
        created_by: String,
    ) -> Result<(), BuildError> {
        let entry = match (cached, dir) {
            (Some(e), _) => {
                if let Some(d) = dir {
                    let _ = std::fs::remove_dir_all(d);
                }
                e
            }
            (None, Some(d)) => {
                let (layer, blob) = self
                    .images
                    .create_layer_unsynced(d, self.opts.timestamp)
                    .map_err(|e| self.at(line, e.to_string()))?;
                let e = CacheEntry {
                    layer: Some(layer),
                    created: Some(self.now()),
                    ..Default::default()
                };
                self.pending.add(key, e.clone(), created_by.clone(), blob);
                e
            }
            (None, None) => {
                return Err(self.at(line, "internal error: a layer step without a layer"))
            }
        };
        let layer = entry
            .layer
            .clone()
            .ok_or_else(|| self.at(line, "build cache entry without a layer"))?;
        self.say(format_args!(
            " ---> {}",
            &layer.diff_id.trim_start_matches("sha256:")[..12]
        ));
        img.config.rootfs.diff_ids.push(layer.diff_id.clone());
        img.config.rootfs.kind = "layers".into();
        img.key = KeyBuilder::new(key).field(&layer.diff_id).finish();
        img.layers.push(layer);
        let created = entry.created.unwrap_or_else(|| self.now());
        img.inline.insert(
            key.to_string(),
            super::inline_cache::InlineEntry {
                layer: Some(img.layers.len() - 1),
                created: Some(created.clone()),
            },
        );
        self.history(img, created, created_by, false);
        Ok(())
    }
}

struct CopySpec {
    sources: Vec<String>,
    dest: String,
    heredocs: Vec<dockerfile_parser::Heredoc>,
    from: Option<String>,
    chown: Option<String>,
    chmod: Option<String>,
    add: bool,
    checksum: Option<String>,
    exclude: Vec<String>,
    parents: bool,
    /// `--link`: the layer is made as if on an empty base (no parent attributes or
    /// existing directories are consulted), so it can be reused under any base.
    link: bool,
}

/// docker's Healthcheck config: durations in nanoseconds.
fn healthcheck_json(h: &dockerfile_parser::Healthcheck) -> serde_json::Value {
    use dockerfile_parser::HealthTest;
    let test = match &h.test {
        HealthTest::None => vec!["NONE".to_string()],
        HealthTest::Cmd(ShellOrExec::Exec(v)) => {
            let mut t = vec!["CMD".to_string()];
            t.extend(v.iter().cloned());
            t
        }
        HealthTest::Cmd(ShellOrExec::Shell(s)) => vec!["CMD-SHELL".to_string(), s.clone()],
    };
    let mut m = serde_json::Map::new();
    m.insert("Test".into(), serde_json::json!(test));
    for (k, d) in [
        ("Interval", h.interval),
        ("Timeout", h.timeout),
        ("StartPeriod", h.start_period),
        ("StartInterval", h.start_interval),
    ] {
        if let Some(d) = d {
            m.insert(k.into(), serde_json::json!(d.as_nanos() as u64));
        }
    }
    if let Some(r) = h.retries {
        m.insert("Retries".into(), serde_json::json!(r));
    }
    serde_json::Value::Object(m)
}

mod copy_step;
mod run_instruction;
mod run_mounts;

/// Whether WORKDIR `dir` (clean, relative to the root) must be created: nothing is there,
/// and every existing parent is a real directory. Where a symlink or a file is on the way,
/// the directory is left to the RUN that uses it, which resolves it as the container sees it.
fn workdir_missing(lower: &LowerView, dir: &str) -> bool {
    if dir.is_empty() {
        return false;
    }
    let mut prefix = String::new();
    for part in dir.split('/') {
        prefix.push('/');
        prefix.push_str(part);
        match lower.metadata(&prefix) {
            Some(m) if m.is_dir() => {}
            Some(_) => return false,
            None => return true,
        }
    }
    false
}
