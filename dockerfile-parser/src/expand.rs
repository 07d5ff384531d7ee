//! Variable substitution on the typed layer, mirroring which words BuildKit
//! expands per instruction: ADD/COPY sources, destination, `--chown`,
//! `--chmod`, `--checksum` and expandable heredoc bodies; ENV/LABEL keys and
//! values; ARG default values; EXPOSE (with word splitting), VOLUME, WORKDIR,
//! USER, STOPSIGNAL; `RUN --mount` values (not `--network`/`--security`);
//! FROM image and `--platform`. RUN, CMD, ENTRYPOINT, SHELL, HEALTHCHECK,
//! MAINTAINER and ONBUILD are left alone.

use crate::instructions::*;
use crate::mount::parse_mount;
use crate::shell::{Env, ExpandError, Lexer, NoEnv, Options};

fn opt(lexer: &Lexer, env: &dyn Env, v: &Option<String>) -> Result<Option<String>, ExpandError> {
    v.as_ref().map(|s| lexer.expand_word(s, env)).transpose()
}

fn all(lexer: &Lexer, env: &dyn Env, v: &[String]) -> Result<Vec<String>, ExpandError> {
    v.iter().map(|s| lexer.expand_word(s, env)).collect()
}

fn heredocs(env: &dyn Env, docs: &[Heredoc]) -> Result<Vec<Heredoc>, ExpandError> {
    docs.iter()
        .map(|d| {
            let mut d = d.clone();
            if d.expand {
                // BuildKit expands heredoc bodies with a `\\` lexer that
                // leaves quotes alone.
                let opts = Options {
                    skip_process_quotes: true,
                    ..Options::default()
                };
                d.content = Lexer::new('\\').process_with(&d.content, opts, env)?.0;
            }
            Ok(d)
        })
        .collect()
}

fn pairs(
    lexer: &Lexer,
    env: &dyn Env,
    v: &[(String, String)],
) -> Result<Vec<(String, String)>, ExpandError> {
    v.iter()
        .map(|(k, v)| Ok((lexer.expand_word(k, env)?, lexer.expand_word(v, env)?)))
        .collect()
}

impl Instruction {
    /// Expand exactly the words BuildKit expands for this instruction,
    /// using `env` (the stage's ARG and ENV values at this point).
    pub fn expand(&self, lexer: &Lexer, env: &dyn Env) -> Result<Instruction, ExpandError> {
        let w = |s: &String| lexer.expand_word(s, env);
        Ok(match self {
            Instruction::Copy(c) => {
                if let Some(from) = &c.from {
                    if lexer.expand_word(from, &NoEnv)? != *from {
                        return Err(ExpandError::new(
                            "variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround",
                        ));
                    }
                }
                Instruction::Copy(Copy {
                    sources: all(lexer, env, &c.sources)?,
                    dest: w(&c.dest)?,
                    heredocs: heredocs(env, &c.heredocs)?,
                    chown: opt(lexer, env, &c.chown)?,
                    chmod: opt(lexer, env, &c.chmod)?,
                    ..c.clone()
                })
            }
            Instruction::Add(a) => Instruction::Add(Add {
                sources: all(lexer, env, &a.sources)?,
                dest: w(&a.dest)?,
                heredocs: heredocs(env, &a.heredocs)?,
                chown: opt(lexer, env, &a.chown)?,
                chmod: opt(lexer, env, &a.chmod)?,
                checksum: opt(lexer, env, &a.checksum)?,
                ..a.clone()
            }),
            Instruction::Env(p) => Instruction::Env(pairs(lexer, env, p)?),
            Instruction::Label(p) => Instruction::Label(pairs(lexer, env, p)?),
            Instruction::Arg(a) => Instruction::Arg(Arg {
                args: a
                    .args
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), opt(lexer, env, v)?)))
                    .collect::<Result<_, ExpandError>>()?,
            }),
            Instruction::Expose(ports) => {
                let mut out = Vec::new();
                for p in ports {
                    out.extend(lexer.expand_words(p, env)?);
                }
                Instruction::Expose(out)
            }
            Instruction::Volume(v) => {
                let out = all(lexer, env, v)?;
                if out.iter().any(|s| s.is_empty()) {
                    return Err(ExpandError::new(
                        "VOLUME specified can not be an empty string",
                    ));
                }
                Instruction::Volume(out)
            }
            Instruction::Workdir(s) => Instruction::Workdir(w(s)?),
            Instruction::User(s) => Instruction::User(w(s)?),
            Instruction::StopSignal(s) => Instruction::StopSignal(w(s)?),
            Instruction::Run(r) => {
                let exp = |s: &str| lexer.expand_word(s, env);
                let mut mounts = Vec::new();
                for m in &r.mounts {
                    mounts.push(
                        parse_mount(&m.raw, Some(&exp))
                            .map_err(|e| ExpandError::new(format!("invalid --mount: {e}")))?,
                    );
                }
                // BuildKit uses --network and --security as written.
                Instruction::Run(Run {
                    mounts,
                    ..r.clone()
                })
            }
            other => other.clone(),
        })
    }
}

impl From {
    /// Expand the image and `--platform` (with the global ARGs).
    pub fn expand(&self, lexer: &Lexer, env: &dyn Env) -> Result<From, ExpandError> {
        Ok(From {
            image: lexer.expand_word(&self.image, env)?,
            platform: opt(lexer, env, &self.platform)?,
            alias: self.alias.clone(),
        })
    }
}
