//! `RUN --mount`: turns each mount flag into a host-side mount for the step's container.
//! `bind` shows a path of the context or of a stage/image (read-only unless `rw`, and then
//! writes go to a throw-away overlay), `cache` a directory under `$root/build-cache-mounts`
//! kept between builds, `tmpfs` a fresh tmpfs, `secret` a `--secret` file (or an env
//! variable) that is never part of a layer. It also gives the cache-key material of the
//! mounts (the content of bound sources; never a secret's value).

use super::super::*;
use crate::runtime::{Mount, MountKind as RtMount};
use dockerfile_parser::{MountKind, RunMount};
use sha2::{Digest, Sha256};
use std::os::unix::fs::{MetadataExt, PermissionsExt};

/// What the mounts of one RUN step need.
#[derive(Default)]
pub(in crate::build) struct PreparedMounts {
    pub mounts: Vec<Mount>,
    /// `NAME=value` for secrets with `env=`.
    pub env: Vec<String>,
    /// Cache-key material.
    pub key: String,
}

fn path_digest(p: &Path) -> std::io::Result<String> {
    let m = std::fs::metadata(p)?;
    if m.is_dir() {
        return cache::tree_digest(p);
    }
    let mut h = Sha256::new();
    h.update(std::fs::read(p)?);
    h.update(format!("{:o}", m.mode()));
    Ok(format!("{:x}", h.finalize()))
}

impl Builder<'_> {
    pub(in crate::build) fn prepare_run_mounts(
        &mut self,
        img: &StageImage,
        mounts: &[RunMount],
        line: usize,
        done: &[StageImage],
        work: &Path,
    ) -> Result<PreparedMounts, BuildError> {
        let mut out = PreparedMounts::default();
        let workdir = match img.config.config.working_dir.as_str() {
            "" => "/".to_string(),
            w => w.to_string(),
        };
        let abs = |t: &str| {
            let joined = if t.starts_with('/') {
                t.to_string()
            } else {
                format!("{workdir}/{t}")
            };
            format!("/{}", context::clean(&joined))
        };
        for (i, m) in mounts.iter().enumerate() {
            let file = self.opts.dockerfile_name.clone();
            let err = |msg: String| BuildError::At {
                file: file.clone(),
                line,
                message: format!("RUN --mount={}: {msg}", m.raw),
            };
            match m.kind {
                MountKind::Bind => {
                    let target = m
                        .target
                        .as_deref()
                        .ok_or_else(|| err("target= is required".into()))?;
                    let source = m.source.as_deref().unwrap_or(".");
                    let (root, key) = match &m.from {
                        None => (self.opts.context.clone(), None),
                        Some(f) => {
                            let key = self.source_key(f, done);
                            (
                                self.mount_from(f, line, done, work, &format!("mnt{i}"))?,
                                key,
                            )
                        }
                    };
                    // The source is resolved inside its tree by the kernel: a symlink in
                    // the context cannot make the bind mount show a host directory.
                    if copy::climbs_out(source) {
                        return Err(err(format!(
                            "forbidden path outside the build context: {source}"
                        )));
                    }
                    let path = crate::fs::Root::open(&root)
                        .and_then(|r| r.host_path(source))
                        .map_err(|e| err(format!("source \"{source}\": {e}")))?;
                    if std::fs::symlink_metadata(&path).is_err() {
                        return Err(err(format!("source \"{source}\" does not exist")));
                    }
                    let key = match key {
                        Some(k) => k,
                        None => path_digest(&path).map_err(|e| err(e.to_string()))?,
                    };
                    out.key.push_str(&format!("bind {target} {source} {key}\n"));
                    let path = if m.readonly || !path.is_dir() {
                        path
                    } else {
                        // Writes to a rw bind are thrown away after the step.
                        let (upper, ovl, merged) = (
                            work.join(format!("rw{i}-upper")),
                            work.join(format!("rw{i}-work")),
                            work.join(format!("rw{i}")),
                        );
                        for d in [&upper, &ovl, &merged] {
                            std::fs::create_dir_all(d).map_err(|e| err(e.to_string()))?;
                        }
                        crate::storage::mount_overlay_scratch(
                            &[path],
                            &upper,
                            &ovl,
                            &merged,
                            self.paths.rootless,
                        )
                        .map_err(|e| err(e.to_string()))?;
                        self.from_mounts.push(merged.clone());
                        merged
                    };
                    out.mounts.push(Mount {
                        source: path,
                        destination: abs(target),
                        kind: RtMount::Bind,
                        readonly: m.readonly,
                    });
                }
                MountKind::Cache => {
                    let target = m
                        .target
                        .as_deref()
                        .ok_or_else(|| err("target= is required".into()))?;
                    let id = m.id.clone().unwrap_or_else(|| abs(target));
                    let name = format!("{:x}", Sha256::digest(id.as_bytes()));
                    let dir = self.paths.root.join("build-cache-mounts").join(&name[..32]);
                    if !dir.is_dir() {
                        std::fs::create_dir_all(&dir).map_err(|e| err(e.to_string()))?;
                        let mode = m.mode.unwrap_or(0o755);
                        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode))
                            .and_then(|_| {
                                std::os::unix::fs::chown(
                                    &dir,
                                    Some(m.uid.unwrap_or(0)),
                                    Some(m.gid.unwrap_or(0)),
                                )
                            })
                            .map_err(|e| err(e.to_string()))?;
                    }
                    super::super::cache_prune::record_mount_use(
                        &dir,
                        &format!("cached mount {} (id {id})", abs(target)),
                        &self.opts.labels,
                    );
                    out.mounts.push(Mount {
                        source: dir,
                        destination: abs(target),
                        kind: RtMount::Bind,
                        readonly: m.readonly,
                    });
                }
                MountKind::Tmpfs => {
                    let target = m
                        .target
                        .as_deref()
                        .ok_or_else(|| err("target= is required".into()))?;
                    let options = m.size.map(|s| format!("size={s}")).unwrap_or_default();
                    out.mounts.push(Mount {
                        source: PathBuf::from("tmpfs"),
                        destination: abs(target),
                        kind: RtMount::Tmpfs { options },
                        readonly: false,
                    });
                }
                MountKind::Secret => {
                    let id =
                        m.id.clone()
                            .or_else(|| {
                                m.target
                                    .as_deref()
                                    .and_then(|t| t.rsplit('/').next())
                                    .map(str::to_string)
                            })
                            .ok_or_else(|| err("id= or target= is required".into()))?;
                    let Some(src) = self.opts.secrets.get(&id) else {
                        if m.required {
                            return Err(err(format!(
                                "secret {id} not found (pass it with --secret id={id},src=FILE)"
                            )));
                        }
                        continue;
                    };
                    if let Some(var) = &m.env {
                        let value = std::fs::read_to_string(src).map_err(|e| err(e.to_string()))?;
                        out.env.push(format!("{var}={value}"));
                        if m.target.is_none() {
                            continue;
                        }
                    }
                    let target = m
                        .target
                        .clone()
                        .unwrap_or_else(|| format!("/run/secrets/{id}"));
                    out.mounts.push(Mount {
                        source: src.clone(),
                        destination: abs(&target),
                        kind: RtMount::Bind,
                        readonly: true,
                    });
                }
                MountKind::Ssh => return Err(err("ssh mounts are not supported by kiste".into())),
            }
        }
        Ok(out)
    }

    /// Cache-key material for a stage or image named in `--from`.
    fn source_key(&self, from: &str, done: &[StageImage]) -> Option<String> {
        let lower = from.to_lowercase();
        done.iter()
            .find(|s| s.name.as_deref() == Some(lower.as_str()))
            .or_else(|| from.parse::<usize>().ok().and_then(|i| done.get(i)))
            .map(|s| s.key.clone())
            .or_else(|| self.images.resolve(from).ok().map(|i| i.id))
    }
}
