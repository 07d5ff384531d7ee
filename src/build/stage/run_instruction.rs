//! RUN as a build step: the command line (shell form, or a heredoc script) and its
//! environment, the cache key (with the mounts' material and the build's host flags),
//! then the step's container, whose upper directory becomes the layer; `--rm=false`
//! keeps the container. The container itself is `run_step::RunStep`'s work.

use super::super::run_step::{remove_step_dir, RunFailure, RunStep};
use super::super::{keep, platform, *};
use super::Args;
use crate::image::config::has_env;

impl Builder<'_> {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn run_instruction(
        &mut self,
        img: &mut StageImage,
        args: &Args,
        run: &dockerfile_parser::Run,
        line: usize,
        key: &str,
        created_by: String,
        done: &[StageImage],
    ) -> Result<(), BuildError> {
        let work = self.scratch.join(format!("step-{}", self.step));
        let upper = self.scratch.join(format!("upper-{}", self.step));
        let prepared = self.prepare_run_mounts(img, &run.mounts, line, done, &work)?;
        let mut argv = self.shell_args(img, &run.command);
        if let (Some(h), ShellOrExec::Shell(s)) = (run.heredocs.first(), &run.command) {
            // `RUN <<EOF … EOF`: the heredoc is the script.
            if s.trim().starts_with("<<") && !s.trim().contains(' ') {
                argv.pop();
                argv.push(h.content.clone());
            }
        }
        let c = &img.config.config;
        let mut env = c.env.clone();
        for (k, v) in args {
            if let Some(v) = v {
                if !has_env(&env, k) {
                    env.push(format!("{k}={v}"));
                }
            }
        }
        let key = KeyBuilder::new(key)
            .field(argv.join("\0"))
            .field(env.join("\0"))
            .field(&prepared.key);
        // The build's --network/--add-host/--ulimit/--shm-size/--cgroup-parent are in the
        // key as BuildKit's exec op carries them; without them the key is as before.
        let host_key = self.opts.host.key_material();
        let key = if host_key.is_empty() {
            key
        } else {
            key.field(host_key)
        }
        .finish();
        env.extend(prepared.env.iter().cloned());
        // The predefined proxy args reach RUN without an ARG, and stay out of the cache
        // key and the history (as in docker), so a proxy change does not rebuild.
        for (k, v) in &self.opts.build_args {
            if is_predefined_arg(k) && !has_env(&env, k) {
                env.push(format!("{k}={v}"));
            }
        }
        if let Some(entry) = self.cache_lookup(&key) {
            return self.layer_step(img, &key, Some(entry), None, line, created_by);
        }
        if let Some(why) = platform::cannot_run(&img.config.architecture) {
            return Err(self.at(line, why));
        }
        let lowers = self.layer_dirs(&img.layers)?;
        let (cgroup_name, shared_cgroup) = self
            .scratch_guard
            .run_cgroup(self.opts.host.cgroup_parent());
        let step = RunStep {
            id: crate::state::new_id(),
            paths: self.paths,
            lowers: &lowers,
            args: argv.clone(),
            env,
            cwd: if c.working_dir.is_empty() {
                "/".into()
            } else {
                c.working_dir.clone()
            },
            user: c.user.clone(),
            network: run
                .network
                .or(self.opts.host.network)
                .unwrap_or(dockerfile_parser::RunNetwork::Default),
            work: &work,
            upper: &upper,
            progress: &self.progress,
            cgroup_name,
            shared_cgroup,
            mounts: prepared.mounts,
            host: &self.opts.host,
        };
        // --rm=false keeps the step's container with the image before it.
        let kept = self.opts.host.keep_containers.then(|| keep::KeptStep {
            parent: (img.config.clone(), img.layers.clone()),
            id: step.id.clone(),
            argv: step.args.clone(),
            env: step.env.clone(),
            cwd: step.cwd.clone(),
            user: step.user.clone(),
            started: crate::image::now_rfc3339(),
        });
        let upper = match step.execute() {
            Ok(u) => u,
            Err(RunFailure::Exit { code, tail }) => {
                if let Some(k) = &kept {
                    let changes = keep::Changes::Upper(&upper);
                    self.keep_step(k, code, changes, line)?;
                }
                remove_step_dir(&work);
                let _ = crate::fs::remove_tree(&upper);
                let mut msg = format!(
                    "The command '{}' returned a non-zero code: {code}",
                    argv.join(" ")
                );
                if !tail.is_empty() && self.opts.quiet {
                    msg.push_str(&format!("\n{tail}"));
                }
                return Err(self.at(line, msg));
            }
            Err(e) => {
                remove_step_dir(&work);
                let _ = crate::fs::remove_tree(&upper);
                return Err(BuildError::Run {
                    file: self.opts.dockerfile_name.clone(),
                    line,
                    source: e,
                });
            }
        };
        let result = self.layer_step(img, &key, None, Some(&upper), line, created_by);
        remove_step_dir(&work);
        if let (Ok(()), Some(k), Some(layer)) = (&result, &kept, img.layers.last()) {
            self.keep_step(k, 0, keep::Changes::Layer(layer), line)?;
        }
        result
    }
}
