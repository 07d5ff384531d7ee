//! COPY and ADD as a build step: resolve the sources (context with .dockerignore and
//! wildcards, heredocs, or another stage/image mounted read-only), apply docker's
//! destination rules, and turn the copied tree into a layer.

use super::super::*;
use super::CopySpec;
use crate::fs::Root;
use std::rc::Rc;

fn join_rel(base: &str, name: &str) -> String {
    if base.is_empty() {
        name.to_string()
    } else {
        format!("{base}/{name}")
    }
}

impl Builder<'_> {
    pub(super) fn copy(
        &mut self,
        img: &mut StageImage,
        line: usize,
        spec: CopySpec,
        done: &[StageImage],
        key: &str,
        created_by: String,
    ) -> Result<(), BuildError> {
        let verb = if spec.add { "ADD" } else { "COPY" };
        // The layer directly in the scratch dir, the step dir only for what needs one
        // (heredocs, downloads, a --from mount): one directory fewer freed on the store
        // per step (see `run_step::clear_volatile_mark`).
        let work = self.scratch.join(format!("step-{}", self.step));
        let layer = self.scratch.join(format!("layer-{}", self.step));
        std::fs::create_dir_all(&layer)
            .map_err(|e| self.at(line, format!("cannot create {}: {e}", layer.display())))?;
        let result = self.copy_into(img, line, &spec, done, &work, &layer, verb);
        let result = result.and_then(|()| {
            let digest = cache::tree_digest(&layer)
                .map_err(|e| self.at(line, format!("cannot read {}: {e}", layer.display())))?;
            let key = KeyBuilder::new(key).field(digest).finish();
            let cached = self.cache_lookup(&key);
            self.layer_step(img, &key, cached, Some(&layer), line, created_by)
        });
        self.release_mounts();
        if result.is_err() {
            let _ = crate::fs::remove_tree(&layer);
        }
        // Most often never made (NotFound).
        let _ = crate::fs::remove_tree(&work);
        result
    }

    #[allow(clippy::too_many_arguments)]
    fn copy_into(
        &mut self,
        img: &StageImage,
        line: usize,
        spec: &CopySpec,
        done: &[StageImage],
        work: &Path,
        layer: &Path,
        verb: &str,
    ) -> Result<(), BuildError> {
        // Names in --chown always resolve in the image below; with --link nothing else
        // of it is consulted (parent attributes, whether the destination is a directory).
        let base = LowerView::new(self.layer_dirs(&img.layers)?);
        let empty = LowerView::new(Vec::new());
        let view = if spec.link { &empty } else { &base };
        // Where sources come from: the context, heredocs, or a stage/image's filesystem.
        // Each tree is opened as a confined root: nothing in it resolves outside it.
        let (root_path, from_context) = match &spec.from {
            None => (self.opts.context.clone(), true),
            Some(f) => (self.mount_from(f, line, done, work, "from")?, false),
        };
        let open = |p: &Path| {
            Root::open(p)
                .map(Rc::new)
                .map_err(|e| self.at(line, format!("cannot open {}: {e}", p.display())))
        };
        let root = open(&root_path)?;
        let mut sources = Vec::new();
        // The step dir holds heredocs and downloads: made only for them.
        let is_url = |s: &str| s.starts_with("http://") || s.starts_with("https://");
        let scratch =
            if spec.heredocs.is_empty() && !(spec.add && spec.sources.iter().any(|s| is_url(s))) {
                None
            } else {
                std::fs::create_dir_all(work)
                    .map_err(|e| self.at(line, format!("cannot create {}: {e}", work.display())))?;
                Some(open(work)?)
            };
        let no_dir = || {
            self.at(
                line,
                "internal error: no step dir for heredocs and downloads",
            )
        };
        for h in &spec.heredocs {
            let p = work.join("heredoc").join(&h.name);
            std::fs::create_dir_all(p.parent().expect("heredoc path has a parent"))
                .and_then(|_| std::fs::write(&p, &h.content))
                .map_err(|e| self.at(line, format!("cannot write heredoc {}: {e}", h.name)))?;
            sources.push(Source {
                root: scratch.clone().ok_or_else(no_dir)?,
                path: format!("heredoc/{}", h.name),
                rel: None,
            });
        }
        let heredoc_names: Vec<&str> = spec.heredocs.iter().map(|h| h.name.as_str()).collect();
        for src in &spec.sources {
            if heredoc_names.contains(&src.trim_start_matches("<<").trim_start_matches('-')) {
                continue;
            }
            if spec.add && is_url(src) {
                let sub = format!("url/{}", sources.len());
                let dir = work.join(&sub);
                std::fs::create_dir_all(&dir).map_err(|e| self.at(line, e.to_string()))?;
                let name = archive::url_file_name(src);
                let path = dir.join(&name);
                let got = crate::http::download(src, &path)
                    .map_err(|e| self.at(line, format!("ADD failed: {e}")))?;
                if let Some(want) = &spec.checksum {
                    if !want.eq_ignore_ascii_case(&got) {
                        return Err(self.at(
                            line,
                            format!("ADD {src}: checksum mismatch: expected {want}, got {got}"),
                        ));
                    }
                }
                // docker: a downloaded file is mode 0600.
                use std::os::unix::fs::PermissionsExt;
                let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
                sources.push(Source {
                    root: scratch.clone().ok_or_else(no_dir)?,
                    path: format!("{sub}/{name}"),
                    rel: None,
                });
                continue;
            }
            if spec.add && src.starts_with("git@") {
                return Err(self.at(
                    line,
                    format!("ADD {src}: git sources are not supported by kiste yet"),
                ));
            }
            if spec.checksum.is_some() {
                return Err(self.at(
                    line,
                    format!("ADD --checksum: only supported for http(s) sources, not \"{src}\""),
                ));
            }
            let matches = self
                .expand_source(&root, src, from_context)
                .map_err(|m| self.at(line, format!("{verb} failed: {m}")))?;
            // docker: a wildcard may match nothing as long as some source matches.
            if matches.is_empty() && !has_glob(src) {
                return Err(self.not_found(line, verb, src));
            }
            sources.extend(matches);
        }
        if sources.is_empty() {
            return Err(self.not_found(line, verb, &spec.sources.join(" ")));
        }
        let workdir = if img.config.config.working_dir.is_empty() {
            "/"
        } else {
            img.config.config.working_dir.as_str()
        };
        let dest_abs = if spec.dest.starts_with('/') {
            spec.dest.clone()
        } else {
            format!("{workdir}/{}", spec.dest)
        };
        let cleaned = format!("/{}", context::clean(&dest_abs));
        let dest_is_dir = spec.dest.ends_with('/')
            || spec.dest == "."
            || spec.dest.ends_with("/.")
            || view.is_dir(&cleaned);
        if sources.len() > 1 && !dest_is_dir {
            return Err(self.at(line, format!("When using {verb} with more than one source file, the destination must be a directory and end with a /")));
        }
        let owner = match &spec.chown {
            Some(c) => Some(
                resolve_owner(&base, c)
                    .map_err(|e| self.at(line, format!("{verb} --chown={c}: {e}")))?,
            ),
            None => None,
        };
        let chmod = match &spec.chmod {
            Some(m) => Some(
                u32::from_str_radix(m, 8)
                    .ok()
                    .filter(|v| *v <= 0o7777)
                    .ok_or_else(|| self.at(line, format!("{verb} --chmod={m}: invalid mode: expected octal digits such as 0755")))?,
            ),
            None => None,
        };
        let ignore = from_context.then_some(&self.ignore);
        let opts = CopyOptions {
            dest: cleaned.trim_end_matches('/').to_string(),
            dest_is_dir,
            owner,
            chmod,
            ignore,
            exclude: (!spec.exclude.is_empty())
                .then(|| context::Ignore::parse(&spec.exclude.join("\n"))),
            parents: spec.parents,
        };
        let merged = view
            .with_top(layer)
            .map_err(|e| self.at(line, format!("cannot open {}: {e}", layer.display())))?;
        let layer_root = Root::open(layer)
            .map_err(|e| self.at(line, format!("cannot open {}: {e}", layer.display())))?;
        let target = copy::Target {
            layer: &layer_root,
            lower: view,
            merged: &merged,
        };
        // ADD unpacks local tar archives into the destination instead of copying them.
        if spec.add {
            let (archives, rest): (Vec<Source>, Vec<Source>) = sources
                .into_iter()
                .partition(|s| s.rel.is_some() && archive::is_archive(&s.root, &s.path));
            sources = rest;
            let dest_rel = opts.dest.trim_start_matches('/').to_string();
            for a in &archives {
                archive::unpack(&a.root, &a.path, &target, &dest_rel, opts.owner).map_err(|e| {
                    self.at(line, format!("ADD failed: cannot unpack {}: {e}", a.path))
                })?;
            }
        }
        copy_sources(&target, &sources, &opts)
            .map_err(|e| self.at(line, format!("{verb} failed: {e}")))
    }

    fn not_found(&self, line: usize, verb: &str, src: &str) -> BuildError {
        self.at(
            line,
            format!("{verb} failed: file not found in build context or excluded by .dockerignore: stat {src}: file does not exist"),
        )
    }

    /// Sources matching `src` (wildcards allowed in any component) under `root`.
    /// Sources matching `src` (wildcards allowed in any component) in `root`.
    fn expand_source(
        &self,
        root: &Rc<Root>,
        src: &str,
        from_context: bool,
    ) -> Result<Vec<Source>, String> {
        if copy::climbs_out(src) {
            return Err(format!("forbidden path outside the build context: {src}"));
        }
        let cleaned = context::clean(src);
        let parts: Vec<&str> = cleaned.split('/').filter(|p| !p.is_empty()).collect();
        let mut found: Vec<String> = vec![String::new()];
        for part in &parts {
            let mut next = Vec::new();
            for base in &found {
                if has_glob(part) {
                    let Ok(names) = root.read_dir(base) else {
                        continue;
                    };
                    for n in names {
                        let n = n.to_string_lossy();
                        if context::glob_match(part, &n) {
                            next.push(join_rel(base, &n));
                        }
                    }
                } else {
                    next.push(join_rel(base, part));
                }
            }
            found = next;
        }
        let mut out = Vec::new();
        for rel in found {
            // A symlink is followed inside the tree: one that leads nowhere there (say to
            // the host's /etc/shadow) is not found, as in docker.
            let st = root.stat(&rel);
            let is_dir = st.as_ref().is_ok_and(|s| s.is_dir());
            if from_context && self.ignore.visit(&rel, is_dir) == context::Visit::Skip {
                continue;
            }
            if st.is_ok() {
                out.push(Source {
                    root: root.clone(),
                    path: rel.clone(),
                    rel: from_context.then_some(rel),
                });
            }
        }
        Ok(out)
    }

    /// Unmount what `mount_from` mounted for this step.
    pub(in crate::build) fn release_mounts(&mut self) {
        for m in self.from_mounts.drain(..).rev() {
            let _ = crate::storage::unmount(&m);
        }
    }

    /// Mount the filesystem of stage (by name or index) or image `from` read-only under
    /// `work/<label>`; return its root.
    pub(in crate::build) fn mount_from(
        &mut self,
        from: &str,
        line: usize,
        done: &[StageImage],
        work: &Path,
        label: &str,
    ) -> Result<PathBuf, BuildError> {
        let lower = from.to_lowercase();
        let layers = if let Some(s) = done
            .iter()
            .find(|s| s.name.as_deref() == Some(lower.as_str()))
        {
            s.layers.clone()
        } else if let Some(s) = from.parse::<usize>().ok().and_then(|i| done.get(i)) {
            s.layers.clone()
        } else if self
            .stage_names
            .iter()
            .any(|n| n.as_deref() == Some(lower.as_str()))
        {
            return Err(self.at(
                line,
                format!("--from={from}: stage \"{from}\" is this stage or comes after it (circular dependency)"),
            ));
        } else {
            let img = self.images.resolve(from).map_err(|e| {
                self.at(
                    line,
                    format!("--from={from}: no stage or image of that name: {e}"),
                )
            })?;
            self.images
                .layers_of(&img)
                .map_err(|e| self.at(line, e.to_string()))?
        };
        let dirs = self.layer_dirs(&layers)?;
        let target = work.join(label);
        let upper = work.join(format!("{label}-upper"));
        let ovl_work = work.join(format!("{label}-work"));
        for d in [&target, &upper, &ovl_work] {
            std::fs::create_dir_all(d).map_err(|e| self.at(line, e.to_string()))?;
        }
        if dirs.is_empty() {
            return Ok(target);
        }
        crate::storage::mount_overlay_scratch(
            &dirs,
            &upper,
            &ovl_work,
            &target,
            self.paths.rootless,
        )
        .map_err(|e| self.at(line, e.to_string()))?;
        self.from_mounts.push(target.clone());
        Ok(target)
    }
}
